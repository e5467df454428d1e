"""Are generated latent vectors new, or near-copies of training vectors?

The series asks whether a statistically generated z-point decodes into a new face or
into (almost) the face of its nearest real vector. The yardstick is the real cloud
itself: how far a real vector lies from its nearest *other* real vector. A sampler whose
vectors sit much nearer their nearest real vector than real vectors sit to each other is
copying; one whose vectors sit much farther away is off the cloud.

Distances are Euclidean in latent space.
"""

from __future__ import annotations

import numpy as np


def nearest_real(real: np.ndarray, queries: np.ndarray, *, k: int, exclude: np.ndarray | None = None,
                 chunk_rows: int = 2048, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest real vectors of every query (exact, brute force).

    scikit-learn's brute-force search finds the candidates chunk by chunk (its
    ``|x|^2 - 2 x.y + |y|^2`` expansion loses digits for near-equal vectors), then the
    distances of the found neighbours are recomputed directly in float64 and re-sorted,
    so a near-copy gets a near-zero distance.

    Parameters
    ----------
    real : ndarray of shape (n_real, latent_dim)
    queries : ndarray of shape (n_queries, latent_dim)
    k : int
        Neighbours per query; at most ``n_real`` (``n_real - 1`` with ``exclude``).
    exclude : ndarray of shape (n_queries,), int, or None
        For each query, a row of ``real`` never to return: the query itself when the
        queries are real vectors. Other rows at distance 0 (duplicates) still count.
    chunk_rows : int
        Queries per call of the search (memory: about ``chunk_rows * n_real`` floats).
    progress : callable or None
        Called with the number of queries done after each chunk (e.g. ``tqdm.update``).

    Returns
    -------
    distances : ndarray of shape (n_queries, k), float64, increasing along each row
    indices : ndarray of shape (n_queries, k), int64, rows of ``real``
    """
    from sklearn.neighbors import NearestNeighbors

    real = np.ascontiguousarray(real, dtype=np.float32)
    queries = np.asarray(queries, dtype=np.float32)
    extra = 0 if exclude is None else 1
    if not 1 <= k <= len(real) - extra:
        raise ValueError(f"nearest_real: k = {k}: must be between 1 and {len(real) - extra} "
                         f"for {len(real)} real vectors{' (excluding self)' if extra else ''}")
    index = NearestNeighbors(n_neighbors=k + extra, algorithm="brute").fit(real)
    found = []
    for start in range(0, len(queries), chunk_rows):
        found.append(index.kneighbors(queries[start:start + chunk_rows], return_distance=False))
        if progress is not None:
            progress(len(found[-1]))
    candidates = np.concatenate(found) if found else np.zeros((0, k + extra), np.int64)
    if exclude is not None:
        candidates = _drop_row(candidates, np.asarray(exclude, dtype=np.int64), k)
    distances = np.linalg.norm(real[candidates].astype(np.float64) - queries[:, None, :].astype(np.float64), axis=2)
    order = np.argsort(distances, axis=1, kind="stable")
    return np.take_along_axis(distances, order, 1), np.take_along_axis(candidates, order, 1).astype(np.int64)


def _drop_row(candidates: np.ndarray, exclude: np.ndarray, k: int) -> np.ndarray:
    """``k`` of the ``k + 1`` candidates per row: without ``exclude[i]`` if present, else the first k."""
    keep = candidates != exclude[:, None]
    # a row without its excluded index (ties at distance 0) keeps its first k candidates
    keep[keep.all(axis=1), -1] = False
    return candidates[keep].reshape(len(candidates), k)


def reference_rows(rng: np.random.Generator, n_vectors: int, n_real: int) -> np.ndarray:
    """``min(n_real, n_vectors)`` distinct rows drawn without replacement, increasing: shape (m,), int64."""
    return np.sort(rng.choice(n_vectors, size=min(n_real, n_vectors), replace=False)).astype(np.int64)


def copy_summary(generated_nn: np.ndarray, real_nn: np.ndarray, *, quantile: float = 0.05) -> dict:
    """How the generated vectors' nearest-neighbour distances compare with the real ones'.

    Parameters
    ----------
    generated_nn : ndarray of shape (n,)
        Distance of each generated vector to its nearest real vector.
    real_nn : ndarray of shape (m,)
        Distance of each reference real vector to its nearest other real vector.
    quantile : float
        A generated vector nearer than this quantile of ``real_nn`` counts as a near-copy.

    Returns
    -------
    summary : dict
        ``nn_median``; ``ratio_to_real`` (its median over the real median: << 1 copying,
        about 1 like real data, >> 1 off the cloud); ``near_copy_fraction``.
    """
    summary = copy_replicates(generated_nn, real_nn, np.arange(len(generated_nn))[None, :], quantile=quantile)
    return {key: float(value[0]) for key, value in summary.items()}


def copy_replicates(generated_nn: np.ndarray, real_nn: np.ndarray, rows: np.ndarray, *,
                    quantile: float = 0.05) -> dict:
    """:func:`copy_summary` of the generated rows ``rows[b]`` in each replicate ``b``.

    Parameters
    ----------
    generated_nn, real_nn, quantile
        As :func:`copy_summary`; the real distances (the yardstick) stay whole.
    rows : ndarray of shape (resamples, m)
        Rows of ``generated_nn``, e.g. a bootstrap's draws with replacement.

    Returns
    -------
    replicates : dict of str -> ndarray of shape (resamples,)
        ``nn_median``, ``ratio_to_real`` and ``near_copy_fraction`` of each replicate.
    """
    real_median = float(np.median(real_nn))
    threshold = float(np.quantile(real_nn, quantile))
    drawn = np.asarray(generated_nn, dtype=np.float64)[rows]  # (resamples, m)
    median = np.median(drawn, axis=1)
    ratio = median / real_median if real_median > 0 else np.full(len(rows), np.inf)
    return {"nn_median": median, "ratio_to_real": ratio, "near_copy_fraction": (drawn < threshold).mean(axis=1)}
