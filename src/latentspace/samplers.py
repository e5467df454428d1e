"""Statistical latent vectors: the recipes of parts II and VII of the series."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np


# sampler -> (its parameter's name, what it draws)
_SAMPLERS = {
    "uniform": ("b", "uniform [-b, b]"),
    "intervals": ("fact", "uniform [mu - fact*hw, mu + fact*hw]"),
}


@dataclass(frozen=True)
class SamplerSetting:
    """One sampler with one value of its parameter, e.g. ``intervals`` with ``fact = 1.0``."""

    sampler: str  # a key of _SAMPLERS
    value: float  # b for uniform, fact for intervals

    @property
    def name(self) -> str:
        """File-name stem that sorts settings by sampler, then by value, e.g. ``intervals_fact_01.00``."""
        return f"{self.sampler}_{_SAMPLERS[self.sampler][0]}_{self.value:05.2f}"

    @property
    def label(self) -> str:
        param, description = _SAMPLERS[self.sampler]
        return f"{description}, {param} = {self.value:g}"

    def draw(self, rng: np.random.Generator, n: int, mu: np.ndarray, hw: np.ndarray) -> np.ndarray:
        """``n`` vectors of this setting, shape (n, latent_dim), float32 (``mu``, ``hw``: see
        :func:`uniform_intervals`; the uniform box only takes latent_dim from them)."""
        if self.sampler == "uniform":
            return uniform_box(rng, n, len(mu), self.value)
        return uniform_intervals(rng, n, mu, hw, self.value)


def setting_rng(seed: int, setting: SamplerSetting) -> np.random.Generator:
    """A generator that depends on the seed and the setting only, not on list order,
    so adding a value to a params list leaves the other settings' vectors unchanged."""
    return np.random.default_rng([seed, zlib.crc32(setting.name.encode())])


def uniform_box(rng: np.random.Generator, n: int, latent_dim: int, b: float) -> np.ndarray:
    """Vectors with every component independent and uniform on ``[-b, b]``.

    Returns
    -------
    z : ndarray of shape (n, latent_dim), float32
    """
    if b <= 0:
        raise ValueError(f"uniform sampler: b = {b}: must be > 0")
    return rng.uniform(-b, b, size=(n, latent_dim)).astype(np.float32)


def uniform_intervals(
    rng: np.random.Generator, n: int, mu: np.ndarray, hw: np.ndarray, fact: float
) -> np.ndarray:
    """Vectors with component j independent and uniform on ``[mu_j - fact*hw_j, mu_j + fact*hw_j]``.

    Parameters
    ----------
    mu, hw : ndarray of shape (latent_dim,)
        Histogram peak and half-width of each component (see :mod:`latentspace.stats`).
    fact : float
        Width factor: small values stay near the cloud's centre, large ones reach its border.

    Returns
    -------
    z : ndarray of shape (n, latent_dim), float32
    """
    if fact <= 0:
        raise ValueError(f"intervals sampler: fact = {fact}: must be > 0")
    half = fact * np.abs(np.asarray(hw, dtype=np.float64))
    mu = np.asarray(mu, dtype=np.float64)
    return rng.uniform(mu - half, mu + half, size=(n, len(mu))).astype(np.float32)


def settings_from_params(sample_params: dict) -> list[SamplerSetting]:
    """All settings of the ``sample`` section: by sampler, then by increasing value, without repeats."""
    return [SamplerSetting("uniform", b) for b in sorted(set(sample_params["uniform"]["b"]))] + [
        SamplerSetting("intervals", f) for f in sorted(set(sample_params["intervals"]["fact"]))
    ]
