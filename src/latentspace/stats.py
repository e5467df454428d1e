"""Per-component number distributions of latent vectors (part II of the series).

Definitions used throughout the project:

- **mu** of a component is the centre of the highest bin of its binned number
  distribution. Bins have width ``w`` (``stats.bin_width``) and are centred on the
  multiples of ``w``: bin ``k`` holds the values in ``[(k - 1/2) w, (k + 1/2) w)``. So mu
  lies on the ``w`` grid (the series lists mu on a 0.25 grid). Ties go to the lower bin.
- **hw** (half-width) is half the full width at half maximum of the same histogram: the
  contiguous run of bins around the peak bin whose counts are at least half the peak count
  has ``L`` bins, and ``hw = L * w / 2``. So hw lies on the ``w / 2`` grid (the series:
  0.125). For a Gaussian of standard deviation s and ``w << s``, hw -> 1.1774 s.
- A component is **dominant** if ``hw >= hw_factor * median(hw)`` or
  ``|mu| >= mu_factor * median(hw)``: wider than typical, or centred off the origin by
  more than a typical half-width. Relative thresholds carry over between trained models,
  whose latent scales differ.
"""

from __future__ import annotations

import numpy as np


def component_moments(z: np.ndarray, *, chunk_rows: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) standard deviation of every component.

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
        May be a memory map; it is read in chunks and accumulated in float64.
    chunk_rows : int
        Rows per chunk; memory is one float64 chunk (4096 x 256: 8 MiB). Chunks that fit
        in cache are faster than larger ones; the sums' rounding depends on the size.

    Returns
    -------
    mean, std : ndarray of shape (latent_dim,), float64
    """
    n = z.shape[0]
    if n == 0:
        raise ValueError("component_moments: z has no rows")
    shift = np.asarray(z[0], dtype=np.float64)  # shifted sums avoid cancellation
    s1 = np.zeros(z.shape[1])
    s2 = np.zeros(z.shape[1])
    # One reused buffer: fresh chunks and their shifted copies held three chunks at once and
    # paid page faults on each new allocation.
    buffer = np.empty((min(chunk_rows, n), z.shape[1]))
    for start in range(0, n, chunk_rows):
        chunk = z[start : start + chunk_rows]
        d = np.subtract(chunk, shift, out=buffer[: len(chunk)], dtype=np.float64)
        s1 += d.sum(axis=0)
        s2 += np.einsum("ij,ij->j", d, d)
    mean_d = s1 / n
    var = np.maximum(s2 / n - mean_d**2, 0.0)
    return shift + mean_d, np.sqrt(var)


def binned_counts(
    z: np.ndarray, bin_width: float, *, chunk_rows: int = 4096, value_range: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of every component on the common grid of bins centred on multiples of ``bin_width``.

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
    bin_width : float
        Width ``w`` of every bin; bin ``k`` is ``[(k - 1/2) w, (k + 1/2) w)``.
    chunk_rows : int
        Rows per chunk; memory is two 8-byte chunks (4096 x 256: 16 MiB). The counts do not
        depend on it.
    value_range : (float, float), optional
        ``(z.min(), z.max())`` when the caller has them already: no second pass over ``z``.

    Returns
    -------
    centres : ndarray of shape (n_bins,)
        Bin centres ``k * w`` from the lowest to the highest occupied bin of any component.
    counts : ndarray of shape (latent_dim, n_bins), int64
    """
    if bin_width <= 0:
        raise ValueError(f"bin_width must be > 0, got {bin_width}")
    n, dim = z.shape
    # The bin index never decreases with the value, so the lowest and highest bins are those
    # of the extreme values: found in z's own dtype, without a converting pass.
    low, high = value_range if value_range is not None else (np.min(z), np.max(z))
    lo, hi = int(_bin_index(low, bin_width)), int(_bin_index(high, bin_width))
    n_bins = hi - lo + 1
    counts = np.zeros(dim * n_bins, dtype=np.int64)
    offset = np.arange(dim) * n_bins - lo  # one bincount over (component, bin) pairs
    # _bin_index in place in two reused buffers: its temporaries (five chunk-sized arrays)
    # held most of the memory and time, page faults included.
    scaled = np.empty((min(chunk_rows, n), dim))
    index = np.empty((min(chunk_rows, n), dim), dtype=np.int64)
    for start in range(0, n, chunk_rows):
        chunk = z[start : start + chunk_rows]
        x, k = scaled[: len(chunk)], index[: len(chunk)]
        np.divide(chunk, bin_width, out=x, dtype=np.float64)
        x += 0.5
        np.floor(x, out=k, casting="unsafe")  # = _bin_index's floor(...).astype(np.int64)
        k += offset
        counts += np.bincount(k.ravel(), minlength=dim * n_bins)
    return np.arange(lo, hi + 1) * bin_width, counts.reshape(dim, n_bins)


def _bin_index(values, bin_width: float) -> np.ndarray:
    return np.floor(np.asarray(values, dtype=np.float64) / bin_width + 0.5).astype(np.int64)


def peak_and_halfwidth(
    centres: np.ndarray, counts: np.ndarray, bin_width: float
) -> tuple[np.ndarray, np.ndarray]:
    """``mu`` and ``hw`` of every component from its binned counts (see the module docstring).

    Parameters
    ----------
    centres : ndarray of shape (n_bins,)
    counts : ndarray of shape (latent_dim, n_bins)

    Returns
    -------
    mu, hw : ndarray of shape (latent_dim,)
    """
    peak = counts.argmax(axis=1)  # first maximum = lowest bin on ties
    peak_count = counts[np.arange(len(counts)), peak]
    above = 2 * counts >= peak_count[:, None]
    n_bins = counts.shape[1]
    bins = np.arange(n_bins)
    # Walk out from the peak: the run ends at the first bin below half maximum on each side.
    below_left = ~above & (bins[None, :] < peak[:, None])
    below_right = ~above & (bins[None, :] > peak[:, None])
    left = np.where(below_left.any(axis=1), n_bins - 1 - np.argmax(below_left[:, ::-1], axis=1) + 1, 0)
    right = np.where(below_right.any(axis=1), np.argmax(below_right, axis=1) - 1, n_bins - 1)
    run_length = right - left + 1
    return centres[peak], run_length * bin_width / 2


def dominant_components(
    mu: np.ndarray, hw: np.ndarray, *, hw_factor: float, mu_factor: float
) -> np.ndarray:
    """Boolean mask of shape (latent_dim,) of the dominant components (module docstring)."""
    typical = np.median(hw)
    return (hw >= hw_factor * typical) | (np.abs(mu) >= mu_factor * typical)


def vector_radii(z: np.ndarray, *, chunk_rows: int = 4096) -> np.ndarray:
    """Euclidean length of every row: ndarray of shape (n_vectors,), float64.

    ``z`` (n_vectors, latent_dim) may be a memory map; memory is one float64 chunk.
    """
    n = z.shape[0]
    radii = np.empty(n)
    # np.linalg.norm(chunk, axis=1) = sqrt(add.reduce(chunk * chunk, axis=1)), computed in one
    # reused buffer instead of a converted chunk plus its squares per chunk.
    squares = np.empty((min(chunk_rows, n), z.shape[1]))
    for start in range(0, n, chunk_rows):
        chunk = z[start : start + chunk_rows]
        sq = np.multiply(chunk, chunk, out=squares[: len(chunk)], dtype=np.float64)
        np.sqrt(np.add.reduce(sq, axis=1), out=radii[start : start + len(chunk)])
    return radii


def expected_uniform_radius(b: float, latent_dim: int) -> float:
    """Root-mean-square length of a vector with i.i.d. components uniform on [-b, b].

    Each component has variance b^2/3, so the RMS radius is ``b * sqrt(latent_dim / 3)``
    (9.24 b for 256 dimensions, as the series notes); the radius distribution is narrow
    around it.
    """
    return b * np.sqrt(latent_dim / 3.0)


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's (Wasserstein-1) distance between two 1-D samples, in their units:
    the mean horizontal gap between their quantile functions. Sensitive to both the
    position and the width of the distributions, unlike a difference of means."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(a, b))


def best_matching_b(real_radii: np.ndarray, uniform_radii: dict[float, np.ndarray]) -> tuple[float, dict]:
    """The b whose uniform ``[-b, b]`` radii are nearest the real radii (:func:`wasserstein_1d`).

    Returns
    -------
    best_b : float
    distances : dict of b -> float
    """
    distances = {b: wasserstein_1d(real_radii, r) for b, r in uniform_radii.items()}
    return min(distances, key=distances.get), distances


def uniform_label(b: float) -> str:
    """Series name of the uniform-b vectors in ``plots/radii.csv`` and ``plots/mahalanobis.csv``
    and in the figures' legends, e.g. ``uniform b=1.5``."""
    return f"uniform b={b:g}"


def common_histograms(
    radii: dict[str, np.ndarray], *, bins: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Densities of several samples (radii, distances) on one common set of bins.

    Parameters
    ----------
    radii : dict of name -> ndarray of shape (n_i,)
    bins : int
        Number of equal bins spanning the smallest to the largest radius of all samples.

    Returns
    -------
    centres : ndarray of shape (bins,)
    densities : dict of name -> ndarray of shape (bins,), each integrating to 1
    """
    lo = min(float(r.min()) for r in radii.values())
    hi = max(float(r.max()) for r in radii.values())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    dens = {name: np.histogram(r, bins=edges, density=True)[0] for name, r in radii.items()}
    return (edges[:-1] + edges[1:]) / 2, dens
