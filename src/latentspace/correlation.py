"""Pearson correlations between latent components, counted as part III of the series counts them."""

from __future__ import annotations

import warnings

import numpy as np


def mean_and_covariance(z: np.ndarray, *, chunk_rows: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population, 1/n) covariance of the columns of ``z``, streamed over row chunks.

    Memory is one float64 chunk (chunk_rows x latent_dim) plus O(latent_dim^2), whatever the
    number of rows. Sums are accumulated in float64 around the first row to avoid cancellation.

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
        May be a memory map.

    Returns
    -------
    mean : ndarray of shape (latent_dim,), float64
    cov : ndarray of shape (latent_dim, latent_dim), float64
    """
    n, dim = z.shape
    if n < 2:
        raise ValueError(f"need at least 2 vectors, got {n}")
    shift = np.asarray(z[0], dtype=np.float64)
    s1 = np.zeros(dim)
    gram = np.zeros((dim, dim))
    # One float64 buffer for all chunks: a new converted chunk and its shifted copy each time
    # held three chunks at once (the last d too) and paid page faults on every fresh one.
    buffer = np.empty((min(chunk_rows, n), dim))
    for start in range(0, n, chunk_rows):
        chunk = z[start : start + chunk_rows]
        d = np.subtract(chunk, shift, out=buffer[: len(chunk)], dtype=np.float64)
        s1 += d.sum(axis=0)
        gram += d.T @ d
    mean_d = s1 / n
    return shift + mean_d, gram / n - np.outer(mean_d, mean_d)


def pearson(z: np.ndarray, *, chunk_rows: int = 16384) -> np.ndarray:
    """Pearson correlation matrix of the columns of ``z``, streamed over row chunks.

    Memory is O(latent_dim^2) whatever the number of rows (:func:`mean_and_covariance`), so
    the exact correlation of all vectors is as cheap to hold as the series' M-sample
    estimate. Equals ``np.corrcoef(z, rowvar=False)`` where every column varies.

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
        May be a memory map.

    Returns
    -------
    r : ndarray of shape (latent_dim, latent_dim), float64
        Constant columns (zero variance) get r = 0 with every other column and 1 on the
        diagonal, with a warning, instead of NaN.
    """
    mean, cov = mean_and_covariance(z, chunk_rows=chunk_rows)
    std = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    constant = std <= 1e-12 * max(1.0, float(np.abs(mean).max()))
    if constant.any():
        warnings.warn(
            f"pearson: {int(constant.sum())} constant component(s) "
            f"{np.flatnonzero(constant)[:10].tolist()}: their correlations are set to 0",
            RuntimeWarning,
            stacklevel=2,
        )
    safe = np.where(constant, 1.0, std)
    r = cov / np.outer(safe, safe)
    r[constant, :] = 0.0
    r[:, constant] = 0.0
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


def sample_rows(rng: np.random.Generator, n_rows: int, m: int) -> np.ndarray:
    """Indices of ``m`` of ``n_rows`` vectors drawn without replacement (in draw order).

    Returns
    -------
    idx : ndarray of shape (m,), int64
    """
    if not 2 <= m <= n_rows:
        raise ValueError(f"correlate.M = {m}: must be between 2 and the number of vectors ({n_rows})")
    return rng.choice(n_rows, size=m, replace=False).astype(np.int64)


def count_pairs_above(r: np.ndarray, thresholds) -> dict[float, int]:
    """Number of component pairs with ``|r| > t`` for each threshold ``t``.

    Each unordered pair (i, j), i != j, counts once; this equals the series'
    ``((|r| > t).sum() - latent_dim) / 2`` on a matrix with a unit diagonal.
    """
    upper = np.abs(r[np.triu_indices(r.shape[0], k=1)])
    return {float(t): int((upper > t).sum()) for t in thresholds}


def count_error(sample: dict[float, int], full: dict[float, int]) -> float:
    """Largest relative error of the sample's pair counts against the exact ones,
    ``max_t |sample[t] - full[t]| / full[t]`` over thresholds with ``full[t] > 0`` (0.0 when none has).

    Thresholds where no exact pair lies are left out: a relative error is undefined there, and a
    sample that finds a pair where there is none shows in the other thresholds' counts too.
    """
    errors = [abs(sample[t] - full[t]) / full[t] for t in full if full[t] > 0]
    return float(max(errors, default=0.0))


def pairs_above(r: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """All pairs ``(i, j, r_ij)`` with ``i < j`` and ``|r_ij| > threshold``, ordered by i, then j."""
    i, j = np.triu_indices(r.shape[0], k=1)
    keep = np.abs(r[i, j]) > threshold
    return [(int(a), int(b), float(r[a, b])) for a, b in zip(i[keep], j[keep])]


def top_pairs(r: np.ndarray, k: int) -> list[tuple[int, int, float]]:
    """The ``k`` pairs ``(i, j, r_ij)``, ``i < j``, with the largest ``|r_ij|``, strongest first."""
    i, j = np.triu_indices(r.shape[0], k=1)
    order = np.argsort(-np.abs(r[i, j]), kind="stable")[:k]
    return [(int(i[o]), int(j[o]), float(r[i[o], j[o]])) for o in order]


def slice_rows(z: np.ndarray, components, threshold: float) -> np.ndarray:
    """Rows whose components are all below ``threshold`` in absolute value, except two.

    The series' "slice": z-points close to the plane spanned by the two free axes.

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
    components : pair of int
        The two components left free.

    Returns
    -------
    idx : ndarray of shape (n_selected,), int64, increasing
    """
    free = np.zeros(z.shape[1], dtype=bool)
    free[list(components)] = True
    return np.flatnonzero((np.abs(z[:, ~free]) < threshold).all(axis=1)).astype(np.int64)


def sample_size_curve(z: np.ndarray, r_full: np.ndarray, m_values, thresholds, rng: np.random.Generator,
                      *, chunk_rows: int = 16384) -> dict[str, np.ndarray]:
    """How the series' M-sample estimate converges to the exact correlation as M grows.

    The samples are nested prefixes of one random permutation (the M = 1000 sample holds the
    M = 500 one), so the curve shows convergence rather than sample-to-sample noise.

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
        May be a memory map.
    r_full : ndarray of shape (latent_dim, latent_dim)
        The exact correlation of all rows (:func:`pearson`).
    m_values : non-empty sequence of int
        Sample sizes, each in [2, n_vectors].
    thresholds : sequence of float

    Returns
    -------
    curve : dict
        ``M`` (n_m,) the sorted distinct sizes; ``pairs`` (n_m, n_thresholds) pairs with
        |r_M| > t; ``max_abs``, ``median_abs`` (n_m,) of |r_M - r| over the pairs i < j.
    """
    m_values = np.array(sorted({int(m) for m in m_values}), dtype=np.int64)
    n = len(z)
    if not len(m_values) or not 2 <= m_values[0] <= m_values[-1] <= n:
        raise ValueError(f"sample sizes {m_values.tolist()}: need at least one, each between 2 and "
                         f"the number of vectors ({n})")
    order = rng.permutation(n)[: m_values[-1]]
    upper = np.triu_indices(r_full.shape[0], k=1)
    pairs, max_abs, median_abs = [], [], []
    for m in m_values:
        # sorted rows: memory-map reads go forward
        r_m = r_full if m == n else pearson(z[np.sort(order[:m])], chunk_rows=chunk_rows)
        counts = count_pairs_above(r_m, thresholds)
        pairs.append([counts[float(t)] for t in thresholds])
        error = np.abs(r_m - r_full)[upper]
        max_abs.append(error.max())
        median_abs.append(np.median(error))
    return {"M": m_values, "pairs": np.array(pairs, dtype=np.int64),
            "max_abs": np.array(max_abs), "median_abs": np.array(median_abs)}
