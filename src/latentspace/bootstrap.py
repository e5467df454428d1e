"""Bootstrap intervals for the sampler metrics, paired across the settings that share a reference.

Every sampler metric of the ``evaluate`` stage is either the mean (or median) of one number per
row of a vector set, given neighbour radii found once on the full sets (precision, density,
in-core share and near-copy share per generated row; recall and coverage per reference row),
or the Fréchet distance of the two sets' fitted normals. A replicate redraws, with
replacement, the rows of the generated set and of the reference, and recomputes the metric;
the interval is the central ``level`` share of the replicates (percentile bootstrap).

Why the bootstrap over rows, not repeated seeds: a seed changes the generated set only, while
the reference (held-out vectors) is as finite as the sample; redrawing both answers "how
different would the number be with other vectors from the same two distributions" at no cost
of new draws or decodes. The k-NN radii stay those of the full sets: resampling with
replacement puts duplicate rows at distance 0 from each other, which would shrink every radius.
The intervals therefore leave out the radii's own noise (and the autoencoder's training seed,
which only repeated training measures).

The Fréchet distance is not a mean of rows, and recomputing it per replicate costs an
eigendecomposition each (at 256 dimensions, the evaluate stage's whole budget): its replicates
come from each row's first-order influence instead (:func:`frechet_influences`), like those of
the other metrics, as a mean over the drawn rows.

Paired: replicate ``b`` uses the same reference rows for every setting, so the difference of
two settings' replicates is a replicate of their difference (:func:`difference_interval`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Resampling:
    """The reference's row draws, shared by every setting, and the generator of the sets' draws.

    Attributes
    ----------
    reference_rows : ndarray of shape (resamples, n_reference), int64
        Row ``b`` lists the reference rows of replicate ``b`` (drawn with replacement).
    seed : int
        Each generated set's rows come from ``default_rng([seed, n_rows])``: the same for every
        set of one size, so the outcome does not depend on the order settings are scored in.
    """

    reference_rows: np.ndarray
    seed: int
    _set_rows: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def draw(cls, seed: int, n_reference: int, resamples: int) -> Resampling:
        rng = np.random.default_rng([seed, 0])
        return cls(rng.integers(n_reference, size=(resamples, n_reference)), seed)

    @property
    def resamples(self) -> int:
        return len(self.reference_rows)

    def set_rows(self, n_rows: int) -> np.ndarray:
        """The rows of a generated set of ``n_rows`` vectors in each replicate: (resamples, n_rows).

        Drawn once per size and kept: every setting's metrics (latent, re-encoded, shares) share them."""
        if n_rows not in self._set_rows:
            rows = np.random.default_rng([self.seed, 1, n_rows]).integers(n_rows, size=(self.resamples, n_rows))
            rows.flags.writeable = False  # shared by every caller
            self._set_rows[n_rows] = rows
        return self._set_rows[n_rows]


def mean_replicates(per_row: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The mean of ``per_row`` (n,) over each replicate's ``rows`` (resamples, n): shape (resamples,)."""
    return np.asarray(per_row, dtype=np.float64)[rows].mean(axis=1)


def median_replicates(per_row: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The median of ``per_row`` (n,) over each replicate's ``rows`` (resamples, n): shape (resamples,)."""
    return np.median(np.asarray(per_row, dtype=np.float64)[rows], axis=1)


@dataclass(frozen=True)
class ReferenceNormal:
    """What every setting's Fréchet influences need of the reference, found once.

    Attributes
    ----------
    mean : ndarray of shape (d,)
    root, inverse_root : ndarray of shape (d, d)
        Symmetric square root of the reference covariance (ddof=1), and of its inverse
        (eigenvalues floored at ``1e-12`` times the largest: a reference spans its space).
    centred : ndarray of shape (n_reference, d)
        The reference rows minus their mean.
    trace : float
        The trace of the reference covariance.
    """

    mean: np.ndarray
    root: np.ndarray
    inverse_root: np.ndarray
    centred: np.ndarray
    trace: float

    @classmethod
    def of(cls, reference: np.ndarray) -> ReferenceNormal:
        """``reference`` (n_reference, d)."""
        mean, cov = _moments(reference)
        w, v = np.linalg.eigh(cov)
        w = np.clip(w, w.max() * 1e-12, None)
        return cls(mean, (v * np.sqrt(w)) @ v.T, (v / np.sqrt(w)) @ v.T, np.asarray(reference, np.float64) - mean,
                   float(np.trace(cov)))


def frechet_influences(reference: ReferenceNormal, vectors: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The Fréchet distance between the reference's normal and the one fitted to ``vectors``
    (n, d), and each row's first-order influence on it.

    ``FD = |m1 - m2|^2 + tr C1 + tr C2 - 2 tr P^1/2`` with ``P = C1^1/2 C2 C1^1/2`` (1: reference,
    2: vectors). Its gradients are ``dFD/dm2 = 2 (m2 - m1)``, ``dFD/dC2 = I - C1^1/2 P^-1/2 C1^1/2``
    and ``dFD/dC1 = I - C1^-1/2 P^1/2 C1^-1/2`` (the matrix geometric mean of C1^-1 and C2), so a
    row x of either set moves it by ``2 (m_own - m_other) . (x - m_own) + (x - m_own)^T G (x - m_own)
    - tr(G C_own)`` (to first order; covariances with ddof=1 differ by a factor 1 + 1/n). A replicate is then the distance plus the mean influence of its rows in each
    set (a linearised bootstrap): one eigendecomposition per set instead of one per replicate,
    which at 256 dimensions is the whole cost (``tests/test_bootstrap.py`` checks it against
    exact replicates). Influences average to 0 over their set.

    Returns
    -------
    distance : float
        As ``quality.frechet_distance`` of the two fitted normals (ddof=1).
    vector_influence : ndarray of shape (n,)
    reference_influence : ndarray of shape (n_reference,)
    """
    mean2, cov2 = _moments(vectors)
    product = reference.root @ cov2 @ reference.root
    w, v = np.linalg.eigh((product + product.T) / 2)
    w = np.clip(w, 0.0, None)
    root_p = (v * np.sqrt(w)) @ v.T
    inverse_root_p = (v / np.sqrt(np.clip(w, w.max() * 1e-12, None))) @ v.T
    shift = mean2 - reference.mean
    distance = float(max(shift @ shift + reference.trace + np.trace(cov2) - 2.0 * np.sqrt(w).sum(), 0.0))
    grad2 = np.eye(len(shift)) - reference.root @ inverse_root_p @ reference.root
    grad1 = np.eye(len(shift)) - reference.inverse_root @ root_p @ reference.inverse_root
    centred2 = np.asarray(vectors, dtype=np.float64) - mean2
    return distance, _influence(centred2, 2.0 * shift, grad2), _influence(reference.centred, -2.0 * shift, grad1)


def _influence(centred: np.ndarray, mean_gradient: np.ndarray, cov_gradient: np.ndarray) -> np.ndarray:
    """Each row's ``g . d + d^T G d - tr(G C)`` for rows ``d`` of ``centred`` (n, d), C their
    plug-in covariance (the mean of ``d d^T``, so the influences sum to 0): shape (n,)."""
    quadratic = np.einsum("ij,ij->i", centred @ cov_gradient, centred)
    return centred @ mean_gradient + quadratic - quadratic.mean()


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d, d; ddof=1, as ``quality.frechet_distance_of``) of the rows of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    return mean, centred.T @ centred / (len(x) - 1)


def percentile_interval(replicates: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` share of ``replicates`` (resamples,): (low, high)."""
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(np.asarray(replicates, dtype=np.float64), [tail, 1.0 - tail])
    return float(low), float(high)


def difference_interval(a: np.ndarray, b: np.ndarray, level: float) -> tuple[float, float]:
    """The interval of ``metric(A) - metric(B)`` from two settings' paired replicates (resamples,):
    it excludes 0 when the difference exceeds the noise of both sets and of the shared reference."""
    return percentile_interval(np.asarray(a) - np.asarray(b), level)


def pairwise_differences(replicates: dict[str, np.ndarray], values: dict[str, float], level: float):
    """Every ordered pair of settings' difference of one metric, with its paired interval.

    Parameters
    ----------
    replicates : dict of setting -> ndarray of shape (resamples,)
        The metric's paired replicates (same reference rows in replicate b).
    values : dict of setting -> float
        The metric on the full sets.
    level : float

    Yields
    ------
    (a, b, (difference, low, high))
        ``values[a] - values[b]`` and :func:`difference_interval` of the replicates, for a != b.
    """
    for a in values:
        for b in values:
            if a != b:
                yield a, b, (values[a] - values[b], *difference_interval(replicates[a], replicates[b], level))
