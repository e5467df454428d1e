"""Each component uniform on an interval around its histogram peak (part VII of the series)."""

from __future__ import annotations

import numpy as np

from latentspace.samplers.base import LatentCloud, Sampler


def uniform_intervals(
    rng: np.random.Generator, n: int, mu: np.ndarray, hw: np.ndarray, fact: float
) -> np.ndarray:
    """Vectors with component j independent and uniform on ``[mu_j - fact*|hw_j|, mu_j + fact*|hw_j|]``.

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


class UniformIntervals(Sampler):
    """Component j uniform on ``[mu_j - fact*|hw_j|, mu_j + fact*|hw_j|]``, independently.

    Part VII of the series: the box follows each component's own centre and width
    (``mu``, ``hw`` from the stats stage) but still ignores the correlations between
    components; growing ``fact`` moves the faces from bland to broken.
    """

    kind = "intervals"
    param = "fact"
    description = "uniform [mu - fact*hw, mu + fact*hw]"

    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        self.mu = np.asarray(cloud.mu, dtype=np.float64)
        self.hw = np.asarray(cloud.hw, dtype=np.float64)

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return uniform_intervals(rng, n, self.mu, self.hw, self.value)
