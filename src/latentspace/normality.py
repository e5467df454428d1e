"""How Gaussian is the latent cloud: per-direction normality and 2-D ellipse coverage.

Part VIII of the series calls the cloud "approximately a multivariate normal". This module
measures how approximately, along two families of directions: the original components
(columns of ``z``) and the principal axes (columns of ``(z - mean) @ axes``). Per direction:

- the Kolmogorov-Smirnov distance ``D`` between the empirical CDF of all vectors and the
  normal with the column's own mean and std: an effect size in [0, 1] that does not grow
  with N (a normal sample of N vectors shows ``D ~ 1 / sqrt(N)``);
- skewness and excess kurtosis (both 0 for a normal);
- the p-value of D'Agostino-Pearson's K^2 test on a fixed-size subsample. With all ~170k
  vectors any tiny deviation is significant; a fixed ``n`` fixes the test's power, so the
  verdict is comparable across experiments and datasets.

In 2-D projections the fitted normal's k-sigma ellipse (Mahalanobis distance k) should hold
``1 - exp(-k^2 / 2)`` of the vectors; :func:`fit_plane` counts how many it really holds.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special, stats


@dataclass(frozen=True)
class ColumnNormality:
    """Normality statistics of each of ``k`` columns.

    Attributes
    ----------
    ks_distance, skewness, excess_kurtosis : ndarray of shape (k,)
        On all rows; NaN for a constant column.
    p_value : ndarray of shape (k,)
        D'Agostino-Pearson K^2 test on the ``test_size`` sampled rows; NaN for a column
        that is constant there.
    alpha : float
        Significance level of the verdict :attr:`normal`.
    test_size : int
        Rows the test used.
    """

    ks_distance: np.ndarray
    skewness: np.ndarray
    excess_kurtosis: np.ndarray
    p_value: np.ndarray
    alpha: float
    test_size: int

    @property
    def normal(self) -> np.ndarray:
        """Bool array of shape (k,): the test does not reject normality (p > alpha); False for NaN."""
        with np.errstate(invalid="ignore"):
            return self.p_value > self.alpha

    def summary(self) -> dict:
        """Scalar metrics (floats rounded; None where every column is constant)."""

        def rounded(fn, values, digits):
            finite = values[np.isfinite(values)]
            return round(float(fn(finite)), digits) if finite.size else None

        return {
            "normal_fraction": round(float(self.normal.mean()), 5),
            "median_ks_distance": rounded(np.median, self.ks_distance, 5),
            "max_ks_distance": rounded(np.max, self.ks_distance, 5),
            "max_abs_skewness": rounded(np.max, np.abs(self.skewness), 4),
            "max_excess_kurtosis": rounded(np.max, self.excess_kurtosis, 4),
        }


@dataclass(frozen=True)
class PlaneFit:
    """The normal fitted to a 2-D projection, and how much of the projection its ellipses hold.

    Attributes
    ----------
    mean : ndarray of shape (2,)
    cov : ndarray of shape (2, 2)
        Population (1/n) covariance of the projected vectors.
    sigmas : ndarray of shape (s,)
        Mahalanobis radii k of the ellipses.
    observed : ndarray of shape (s,)
        Fraction of the projected vectors at Mahalanobis distance <= k.
    """

    mean: np.ndarray
    cov: np.ndarray
    sigmas: np.ndarray
    observed: np.ndarray

    @property
    def expected(self) -> np.ndarray:
        """What a normal would put inside each ellipse, shape (s,)."""
        return expected_coverage(self.sigmas)

    def outlines(self, *, n_points: int = 181) -> list[np.ndarray]:
        """The k-sigma ellipses, one ndarray of shape (n_points, 2) per k (see :func:`ellipse`)."""
        return [ellipse(self.mean, self.cov, k, n_points=n_points) for k in self.sigmas]


def sample_rows(rng: np.random.Generator, n_rows: int, m: int) -> np.ndarray:
    """Indices of ``min(m, n_rows)`` rows drawn without replacement, increasing (memory maps read in order).

    Returns
    -------
    idx : ndarray of shape (min(m, n_rows),), int64
    """
    return np.sort(rng.choice(n_rows, size=min(m, n_rows), replace=False)).astype(np.int64)


def project(z: np.ndarray, directions: np.ndarray, *, centre: np.ndarray | None = None,
            chunk_rows: int = 16384) -> np.ndarray:
    """Coordinates ``(z - centre) @ directions`` in float64, computed over row chunks.

    Parameters
    ----------
    z : ndarray of shape (n, latent_dim)
        May be a memory map; only ``chunk_rows`` rows are converted at a time.
    directions : ndarray of shape (latent_dim, k)
    centre : ndarray of shape (latent_dim,), optional
        Zero by default.

    Returns
    -------
    coords : ndarray of shape (n, k), float64
    """
    n = len(z)
    centre = np.zeros(z.shape[1]) if centre is None else np.asarray(centre, dtype=np.float64)
    out = np.empty((n, directions.shape[1]))
    for start in range(0, n, chunk_rows):
        rows = np.asarray(z[start:start + chunk_rows], dtype=np.float64)
        out[start:start + chunk_rows] = (rows - centre) @ directions
    return out


def ks_distances(x: np.ndarray) -> np.ndarray:
    """Kolmogorov-Smirnov distance of each column from the normal with that column's mean and std.

    ``D = max_i max(i/n - F(x_(i)), F(x_(i)) - (i-1)/n)`` over the sorted column, with ``F``
    the CDF of N(mean, std^2) (std with 1/n). As :func:`scipy.stats.kstest` computes it,
    vectorised over columns.

    Parameters
    ----------
    x : ndarray of shape (n, k)

    Returns
    -------
    d : ndarray of shape (k,)
        NaN for a constant column.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    mean, std = x.mean(axis=0), x.std(axis=0)
    constant = _constant(mean, std)
    # (k, n) so that each column sorts as a contiguous row
    u = np.sort(x.T, axis=1) - mean[:, None]
    u /= np.where(constant, 1.0, std)[:, None]
    cdf = special.ndtr(u)
    steps = np.arange(n + 1) / n
    d = np.maximum((steps[1:] - cdf).max(axis=1), (cdf - steps[:-1]).max(axis=1))
    return np.where(constant, np.nan, d)


def moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Skewness and excess kurtosis of each column (the biased estimators scipy.stats uses by default).

    Parameters
    ----------
    x : ndarray of shape (n, k)

    Returns
    -------
    skewness, excess_kurtosis : ndarray of shape (k,)
        NaN for a constant column.
    """
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean(axis=0)
    m2 = np.mean(d**2, axis=0)
    constant = _constant(x.mean(axis=0), np.sqrt(m2))
    m2 = np.where(constant, 1.0, m2)
    skew = np.mean(d**3, axis=0) / m2**1.5
    kurt = np.mean(d**4, axis=0) / m2**2 - 3.0
    return np.where(constant, np.nan, skew), np.where(constant, np.nan, kurt)


def normality_p_values(x: np.ndarray) -> np.ndarray:
    """p-values of D'Agostino-Pearson's K^2 test (:func:`scipy.stats.normaltest`) per column.

    Parameters
    ----------
    x : ndarray of shape (n, k)
        n >= 8 (the skewness test's minimum); scipy warns below 20.

    Returns
    -------
    p : ndarray of shape (k,)
        NaN for a constant column.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 8:
        raise ValueError(f"the normality test needs at least 8 vectors, got {len(x)}")
    constant = _constant(x.mean(axis=0), x.std(axis=0))
    p = np.full(x.shape[1], np.nan)
    if (~constant).any():
        p[~constant] = stats.normaltest(x[:, ~constant], axis=0).pvalue
    return p


def column_normality(z: np.ndarray, test_rows: np.ndarray, *, alpha: float,
                     directions: np.ndarray | None = None, centre: np.ndarray | None = None,
                     chunk_rows: int = 16384, progress: bool = False) -> ColumnNormality:
    """Normality of each column of ``z``, or of each column of ``(z - centre) @ directions``.

    Columns are processed in blocks whose size is about ``chunk_rows`` full rows of ``z``
    (every statistic but the test needs a whole column), so memory stays bounded for
    N = 170k x 256.

    Parameters
    ----------
    z : ndarray of shape (n, latent_dim)
        May be a memory map.
    test_rows : ndarray of shape (test_size,), int
        Rows the K^2 test uses, the same for every column (see :func:`sample_rows`).
    alpha : float
        A column counts as normal when the test's p-value is above ``alpha``.
    directions : ndarray of shape (latent_dim, k), optional
        E.g. the principal axes; the columns of ``z`` themselves by default.
    centre : ndarray of shape (latent_dim,), optional
        Subtracted before projecting (only with ``directions``).
    progress : bool
        Show a tqdm bar on stderr.
    """
    n, dim = z.shape
    k = dim if directions is None else directions.shape[1]
    width = max(1, (chunk_rows * dim) // n)
    ks, skew, kurt = np.empty(k), np.empty(k), np.empty(k)
    blocks = range(0, k, width)
    if progress:
        from tqdm import tqdm

        what = "components" if directions is None else "axes"
        blocks = tqdm(blocks, desc=f"normality of the {what}", unit="block", file=sys.stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant columns are reported once below
        for start in blocks:
            cols = slice(start, min(start + width, k))
            if directions is None:
                x = np.asarray(z[:, cols], dtype=np.float64)
            else:
                x = project(z, directions[:, cols], centre=centre, chunk_rows=chunk_rows)
            ks[cols] = ks_distances(x)
            skew[cols], kurt[cols] = moments(x)
        sample = np.asarray(z[test_rows], dtype=np.float64)
        if directions is not None:
            sample = project(sample, directions, centre=centre, chunk_rows=chunk_rows)
        p = normality_p_values(sample)
    flat = np.isnan(ks)
    if flat.any():
        warnings.warn(f"normality: {int(flat.sum())} constant column(s) {np.flatnonzero(flat)[:10].tolist()}: "
                      "reported as NaN and not normal", RuntimeWarning, stacklevel=2)
    return ColumnNormality(ks, skew, kurt, p, float(alpha), len(test_rows))


def ks_reference(n: int, *, level: float = 0.99) -> float:
    """The KS distance a true normal sample of ``n`` points stays below with probability ``level``.

    From the asymptotic Kolmogorov distribution, ``kstwobign.ppf(level) / sqrt(n)``. Only
    indicative for :func:`ks_distances`: fitting the mean and std to the sample makes the
    distances smaller (Lilliefors), so this reference is on the generous side.
    """
    return float(stats.kstwobign.ppf(level) / np.sqrt(n))


def expected_coverage(sigmas) -> np.ndarray:
    """Fraction of a 2-D normal inside its k-sigma ellipse, ``1 - exp(-k^2 / 2)``, per k (shape of sigmas)."""
    k = np.asarray(sigmas, dtype=np.float64)
    return -np.expm1(-k**2 / 2)


def mahalanobis_2d(xy: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each point of ``xy`` (shape (n, 2)) under N(mean, cov): shape (n,).

    Eigenvalues of ``cov`` are floored at 1e-12 of the largest, so a flat direction gives
    huge, finite distances.
    """
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, max(1e-12 * values[-1], np.finfo(float).tiny))
    return np.linalg.norm((np.asarray(xy, dtype=np.float64) - mean) @ vectors / np.sqrt(values), axis=1)


def ellipse(mean: np.ndarray, cov: np.ndarray, k: float, *, n_points: int = 181) -> np.ndarray:
    """Outline of the k-sigma ellipse of N(mean, cov): the points at Mahalanobis distance ``k``.

    Its semi-axes lie along the eigenvectors of ``cov`` with lengths ``k * sqrt(eigenvalue)``.

    Parameters
    ----------
    mean : ndarray of shape (2,)
    cov : ndarray of shape (2, 2)

    Returns
    -------
    outline : ndarray of shape (n_points, 2)
        A closed curve: the last point repeats the first.
    """
    values, vectors = np.linalg.eigh(cov)
    t = np.linspace(0.0, 2 * np.pi, n_points)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)  # (n_points, 2) in the eigenbasis
    return np.asarray(mean, dtype=np.float64) + k * (circle * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def fit_plane(xy: np.ndarray, sigmas) -> PlaneFit:
    """Fit a normal to a 2-D projection and count the points inside its k-sigma ellipses.

    Parameters
    ----------
    xy : ndarray of shape (n, 2)
        All projected vectors.
    sigmas : sequence of float
        Ellipse radii in Mahalanobis units.
    """
    xy = np.asarray(xy, dtype=np.float64)
    mean = xy.mean(axis=0)
    d = xy - mean
    cov = d.T @ d / len(xy)
    distance = mahalanobis_2d(xy, mean, cov)
    sigmas = np.asarray(sigmas, dtype=np.float64)
    observed = np.array([np.mean(distance <= k) for k in sigmas])
    return PlaneFit(mean, cov, sigmas, observed)


def _constant(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Columns with (numerically) no spread, as :func:`latentspace.correlation.pearson` decides it."""
    return std <= 1e-12 * np.maximum(1.0, np.abs(mean))
