"""Straight paths through the latent cloud (parts V-VI of the series).

A path is a row of latent vectors on one straight line. Walking from the cloud's centre
along a principal axis or a single component, in steps measured in the cloud's own
standard deviation along that direction, shows what the direction changes in the decoded
face and where, far out, the faces stop being faces. Interpolating between two real
vectors shows whether the straight line between two faces stays inside the cloud.

Every function returns the vectors as an array of shape (n_paths, steps, latent_dim);
decoding them is the stage's job.
"""

from __future__ import annotations

import numpy as np


def offsets(extent: float, steps: int) -> np.ndarray:
    """Evenly spaced offsets from ``-extent`` to ``+extent``, exactly symmetric.

    Built from integers so the ends are exactly +-extent and, for odd ``steps``, the
    middle offset is exactly 0 (``np.linspace`` does not promise either).

    Returns
    -------
    t : ndarray of shape (steps,), float64
    """
    if steps < 2:
        raise ValueError(f"offsets: steps = {steps}: must be >= 2")
    half = (steps - 1) / 2
    return extent * ((np.arange(steps) - half) / half)


def fractions(steps: int) -> np.ndarray:
    """Interpolation weights ``t`` from exactly 0 to exactly 1: ndarray of shape (steps,)."""
    if steps < 2:
        raise ValueError(f"fractions: steps = {steps}: must be >= 2")
    return np.arange(steps) / (steps - 1)


def line_paths(centre: np.ndarray, directions: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``centre + t * direction`` for every direction and every offset.

    Parameters
    ----------
    centre : ndarray of shape (latent_dim,)
    directions : ndarray of shape (n_paths, latent_dim)
        Step vectors: offset 1 lies one whole direction away from the centre.
    t : ndarray of shape (steps,)

    Returns
    -------
    paths : ndarray of shape (n_paths, steps, latent_dim), float64
    """
    centre = np.asarray(centre, dtype=np.float64)
    directions = np.asarray(directions, dtype=np.float64).reshape(-1, centre.shape[0])
    return centre + np.asarray(t, dtype=np.float64)[None, :, None] * directions[:, None, :]


def principal_axis_paths(mean: np.ndarray, axes: np.ndarray, variances: np.ndarray, *, n_axes: int,
                         t: np.ndarray) -> np.ndarray:
    """Paths from the centre along the first ``n_axes`` principal axes, in standard deviations.

    Step ``j`` of path ``k`` is ``mean + t[j] * sqrt(variances[k]) * axes[:, k]``, so its
    Mahalanobis distance from the centre is ``|t[j]|``.

    Parameters
    ----------
    mean : ndarray of shape (latent_dim,)
    axes : ndarray of shape (latent_dim, latent_dim)
        Column k is the k-th principal direction (unit length).
    variances : ndarray of shape (latent_dim,)
    n_axes : int
        At most latent_dim.
    t : ndarray of shape (steps,)
        Offsets in standard deviations, e.g. :func:`offsets`.

    Returns
    -------
    paths : ndarray of shape (n_axes, steps, latent_dim), float64
    """
    if not 0 <= n_axes <= axes.shape[1]:
        raise ValueError(f"principal_axis_paths: n_axes = {n_axes}: must be between 0 and {axes.shape[1]}")
    directions = (axes[:, :n_axes] * np.sqrt(np.clip(variances[:n_axes], 0.0, None))).T
    return line_paths(mean, directions, t)


def walked_components(std: np.ndarray, dominant: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """The ``n`` components to walk: the dominant ones by decreasing std, then, if there
    are fewer than ``n``, the other components with the largest std.

    Parameters
    ----------
    std : ndarray of shape (latent_dim,)
    dominant : ndarray of shape (latent_dim,), bool
    n : int
        At most latent_dim.

    Returns
    -------
    components : ndarray of shape (n,), int64
        Dominant first; each group by decreasing std (ties: lower index first).
    n_filled : int
        How many of them are not dominant.
    """
    std, dominant = np.asarray(std), np.asarray(dominant, dtype=bool)
    if not 0 <= n <= len(std):
        raise ValueError(f"walked_components: n = {n}: must be between 0 and {len(std)}")
    order = np.argsort(-std, kind="stable")
    ranked = np.concatenate([order[dominant[order]], order[~dominant[order]]])[:n]
    return ranked.astype(np.int64), int(np.count_nonzero(~dominant[ranked]))


def component_paths(mean: np.ndarray, std: np.ndarray, components: np.ndarray, *, t: np.ndarray) -> np.ndarray:
    """Paths from the centre along single components: ``mean + t * std[c] * e_c``.

    Parameters
    ----------
    mean, std : ndarray of shape (latent_dim,)
    components : ndarray of shape (n_paths,), int
    t : ndarray of shape (steps,)
        Offsets in standard deviations of each component.

    Returns
    -------
    paths : ndarray of shape (n_paths, steps, latent_dim), float64
    """
    components = np.asarray(components, dtype=np.int64)
    directions = np.zeros((len(components), len(mean)))
    directions[np.arange(len(components)), components] = np.asarray(std, dtype=np.float64)[components]
    return line_paths(mean, directions, t)


def draw_pairs(rng: np.random.Generator, n_vectors: int, pairs: int) -> np.ndarray:
    """``pairs`` pairs of distinct row indices in ``range(n_vectors)``.

    Returns
    -------
    ends : ndarray of shape (pairs, 2), int64
        Start and end row of each pair; the two differ (different pairs may share a row).
    """
    if pairs and n_vectors < 2:
        raise ValueError(f"draw_pairs: {n_vectors} vector(s): a pair needs at least 2")
    ends = [rng.choice(n_vectors, size=2, replace=False) for _ in range(pairs)]
    return np.asarray(ends, dtype=np.int64).reshape(pairs, 2)


def interpolation_paths(z: np.ndarray, ends: np.ndarray, *, t: np.ndarray) -> np.ndarray:
    """Straight lines between pairs of vectors: ``(1 - t) z[a] + t z[b]``.

    At ``t = 0`` and ``t = 1`` the path is exactly ``z[a]`` and ``z[b]``.

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
        May be a memory map; only the rows in ``ends`` are read.
    ends : ndarray of shape (n_paths, 2), int
    t : ndarray of shape (steps,)
        Weights in [0, 1], e.g. :func:`fractions`.

    Returns
    -------
    paths : ndarray of shape (n_paths, steps, latent_dim), float64
    """
    ends = np.asarray(ends, dtype=np.int64).reshape(-1, 2)
    a = np.asarray(z[ends[:, 0]], dtype=np.float64)[:, None, :]
    b = np.asarray(z[ends[:, 1]], dtype=np.float64)[:, None, :]
    t = np.asarray(t, dtype=np.float64)[None, :, None]
    return (1.0 - t) * a + t * b


def offset_label(t: float) -> str:
    """Column label of an offset in standard deviations: ``-3``, ``-2.25``, ``0``, ``+3``."""
    return "0" if t == 0 else f"{t:+.3g}"
