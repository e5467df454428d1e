"""One interface for every statistical recipe of new latent vectors.

A :class:`Sampler` is one recipe with one value of its swept parameter (e.g. the uniform
box with ``b = 1.5``). It is *fitted* to the :class:`LatentCloud` of the training vectors
(most recipes only read summaries of it) and then *draws* new vectors. All randomness
comes from the generators passed in, so a setting's vectors depend on the seed only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from latentspace.geometry import PrincipalAxes
from latentspace.params import invalid


@dataclass(frozen=True)
class LatentCloud:
    """What samplers are fitted to: the training vectors and their summaries.

    Attributes
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
        The training vectors, float32, possibly a read-only memory map: samplers read
        only what they need (a row subset, or the rows near their anchors).
    mu, hw : ndarray of shape (latent_dim,)
        Histogram peak and half-width of each component (the stats stage).
    mean, std : ndarray of shape (latent_dim,)
        Mean and standard deviation of each component.
    pca : PrincipalAxes
        The fitted normal in its principal frame: column k of ``pca.axes`` is axis k, and
        the covariance is ``axes @ diag(variances) @ axes.T``.
    """

    z: np.ndarray
    mu: np.ndarray
    hw: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    pca: PrincipalAxes

    def __post_init__(self):
        if self.z.ndim != 2:
            raise ValueError(f"LatentCloud: z must have shape (n_vectors, latent_dim), got {self.z.shape}")
        d = self.latent_dim
        for name in ("mu", "hw", "mean", "std"):
            if np.shape(getattr(self, name)) != (d,):
                raise ValueError(f"LatentCloud: {name} must have shape ({d},) for latent_dim {d}, "
                                 f"got {np.shape(getattr(self, name))}")
        if self.pca.mean.shape != (d,) or self.pca.axes.shape != (d, d) or self.pca.variances.shape != (d,):
            raise ValueError(f"LatentCloud: principal axes must be for latent_dim {d}, got axes {self.pca.axes.shape}")

    @property
    def latent_dim(self) -> int:
        return int(self.z.shape[1])


def principal_frame(cloud: LatentCloud) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cloud's fitted normal as ``mean`` (d,), ``axes`` (d, d; column k = axis k) and the
    standard deviation along each axis (d,), all float64. An eigen-decomposition can give
    flat directions tiny negative variances: they are clipped to 0."""
    sd = np.sqrt(np.clip(np.asarray(cloud.pca.variances, dtype=np.float64), 0.0, None))
    return np.asarray(cloud.pca.mean, dtype=np.float64), np.asarray(cloud.pca.axes, dtype=np.float64), sd


class Sampler(ABC):
    """One recipe for new latent vectors with one value of its swept parameter.

    Subclasses set the class attributes and implement ``_fit`` and ``_draw``.

    Parameters
    ----------
    value : float, or int where ``value_type`` is int
        The swept value, key ``sample.<kind>.<param>`` of params.yaml.
    **options : int or float
        The section's other keys: a positive integer, or a positive number where the default is
        a float (a learning rate); missing ones take ``defaults``.

    Raises
    ------
    ValueError
        Naming the key ``sample.<kind>.<key>`` and what is allowed.
    """

    kind: ClassVar[str]  # its params section, e.g. "mixture"
    param: ClassVar[str]  # its swept value's key in that section, e.g. "k"
    description: ClassVar[str]  # what it draws, e.g. "Gaussian mixture, full covariances"
    value_type: ClassVar[type] = float  # float: value > 0; int: value >= 1
    value_max: ClassVar[float | None] = None  # inclusive upper bound of the value, if any
    defaults: ClassVar[dict[str, int | float]] = {}  # the allowed options and their defaults
    log_likelihood_is_lower_bound: ClassVar[bool] = False  # True: log_likelihood is a bound (a VAE's ELBO)

    def __init__(self, value, **options):
        self.value = self._checked_value(value)
        for key, option in options.items():
            if key not in self.defaults:
                allowed = ", ".join(self.defaults) or "none"
                raise invalid(self.key(key), option, f"unknown option of sampler '{self.kind}'; allowed: {allowed}")
            if isinstance(self.defaults[key], float):  # a rate: a positive number
                if isinstance(option, bool) or not isinstance(option, (int, float, np.number)) \
                        or not np.isfinite(option) or option <= 0:
                    raise invalid(self.key(key), option, "must be a number > 0")
            elif isinstance(option, bool) or not isinstance(option, (int, np.integer)) or option < 1:
                raise invalid(self.key(key), option, "must be an integer >= 1")
        self.options = {**self.defaults, **{k: type(self.defaults[k])(v) for k, v in options.items()}}
        self.latent_dim: int | None = None  # set by fit

    @classmethod
    def key(cls, name: str | None = None) -> str:
        """The dotted params key of the swept value (or of option ``name``), e.g. ``sample.mixture.k``."""
        return f"sample.{cls.kind}.{name or cls.param}"

    def _checked_value(self, value):
        is_number = isinstance(value, (int, np.integer)) if self.value_type is int \
            else isinstance(value, (int, float, np.integer, np.floating))
        if isinstance(value, bool) or not is_number or not np.isfinite(value):
            raise invalid(self.key(), value, f"must be {'an integer' if self.value_type is int else 'a number'}")
        if self.value_type is int:
            if value < 1:
                raise invalid(self.key(), value, "must be an integer >= 1")
            return int(value)
        if value <= 0 or (self.value_max is not None and value > self.value_max):
            upper = "" if self.value_max is None else f" and <= {self.value_max:g}"
            raise invalid(self.key(), value, f"must be > 0{upper}")
        return float(value)

    @property
    def name(self) -> str:
        """File-safe stem that sorts by kind, then value: ``intervals_fact_01.50``, ``mixture_k_10``."""
        value = f"{self.value:02d}" if self.value_type is int else f"{self.value:05.2f}"
        return f"{self.kind}_{self.param}_{value}"

    @property
    def label(self) -> str:
        """Human text, e.g. ``Gaussian mixture, full covariances, k = 10``."""
        return f"{self.description}, {self.param} = {self.value:g}"

    def __repr__(self) -> str:
        options = "".join(f", {k}={v}" for k, v in self.options.items())
        return f"{type(self).__name__}({self.value!r}{options})"

    def fit(self, cloud: LatentCloud, rng: np.random.Generator) -> Sampler:
        """Learn what the recipe needs from ``cloud``; returns ``self``."""
        self._fit(cloud, rng)
        self.latent_dim = cloud.latent_dim
        return self

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` new vectors: ndarray of shape (n, latent_dim), float32. Needs :meth:`fit` first."""
        if self.latent_dim is None:
            raise RuntimeError(f"{self!r}: call fit(cloud, rng) before draw")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{self!r}: n = {n!r}: must be an integer >= 0")
        z = np.asarray(self._draw(rng, int(n)), dtype=np.float32)
        assert z.shape == (n, self.latent_dim), (z.shape, n, self.latent_dim)
        return z

    def fitted_rows(self, n_vectors: int) -> np.ndarray:
        """The indices (int64) of the rows of the ``n_vectors`` training vectors the recipe was
        fitted to: its seeded subset ``rows_`` where it has one (mixtures, kde, networks), else all."""
        rows = getattr(self, "rows_", None)
        return np.arange(n_vectors) if rows is None else rows

    def fit_report(self) -> dict:
        """What the fit itself says, for plots/density_fit.csv beside the scores: e.g. whether
        EM converged, the number of components chosen, a network's final training loss."""
        return {}

    def log_likelihood(self, z: np.ndarray) -> np.ndarray | None:
        """Log density (nats) of each row of ``z`` (n, latent_dim) under the fitted recipe: shape (n,).

        None for a recipe without a density that is finite on real vectors (a bounded box, steps
        between neighbours). The ``sample`` stage compares the vectors a density was fitted to
        with held-out ones (plots/density_fit.csv): a density that learnt its vectors by heart
        scores them far higher.
        """
        return None

    @abstractmethod
    def _fit(self, cloud: LatentCloud, rng: np.random.Generator) -> None:
        """Store what ``_draw`` needs; may use ``rng`` (e.g. to pick rows)."""

    @abstractmethod
    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` vectors of shape (n, latent_dim), any float dtype."""
