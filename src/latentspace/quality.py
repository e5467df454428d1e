"""How good are generated latent vectors? Sample-quality metrics against real vectors.

Two questions are kept apart. *Fidelity*: do generated ("fake") vectors land where real
ones live? *Diversity*: do they spread over all of the places where real ones live? Both
are answered with k-nearest-neighbour balls, which estimate a cloud's support without
assuming its shape:

- precision / recall (Kynkaanniemi et al. 2019, "Improved precision and recall metric for
  assessing generative models"): the share of fake vectors inside the real manifold, and
  of real vectors inside the fake manifold; a manifold is the union of balls around each
  of its vectors with radius its distance to its k-th nearest *other* vector (inclusive).
- density / coverage (Naeem et al. 2020, "Reliable fidelity and diversity metrics for
  generative models"): how many real balls hold each fake vector on average (divided by
  k, so about 1 for a fake set distributed like the real one and robust to outliers), and
  the share of real balls that hold at least one fake vector. Computed as the reference
  implementation (clovaai/generative-evaluation-prdc) does: strict ``<`` against the
  radius, which is the (k+1)-th smallest distance counting the vector's own zero.

The Frechet distance compares the two clouds' fitted normals (the FID formula, used on
Inception features in :mod:`latentspace.fid` and directly on latent vectors here).

All functions are pure: arrays in, numbers out, float64 inside. Distances are Euclidean.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors

from latentspace.neighbours import nearest_real

# distances near a ball's edge are recomputed directly when |d^2 - r^2| is below this share
# of |x|^2 + |y|^2: far above the rounding of the fast |x|^2 - 2 x.y + |y|^2 expansion
_EDGE_TOLERANCE = 1e-8
# cross distances are computed in blocks of at most this many entries: a float64 block (2 MiB)
# and its boolean masks stay in cache for the elementwise edge tests
_BLOCK_ENTRIES = 2 ** 18


def precision_recall(real: np.ndarray, fake: np.ndarray, *, k: int = 3) -> dict:
    """Improved precision and recall of ``fake`` against ``real`` (Kynkaanniemi et al. 2019).

    Parameters
    ----------
    real : ndarray of shape (n_real, latent_dim)
    fake : ndarray of shape (n_fake, latent_dim)
    k : int
        Each ball's radius is the distance to the k-th nearest other vector of its own set;
        both sets need at least ``k + 1`` rows.

    Returns
    -------
    metrics : dict
        ``precision``: share of fake vectors within (``<=``) the radius of some real vector;
        ``recall``: share of real vectors within the radius of some fake vector.
    """
    return support_metrics(real, fake, k_precision=k)


def density_coverage(real: np.ndarray, fake: np.ndarray, *, k: int = 5) -> dict:
    """Density and coverage of ``fake`` against ``real`` (Naeem et al. 2020).

    With ``B_i`` the ball around real vector i with radius its distance to its k-th nearest
    other real vector, and ``<`` strict as in the reference implementation::

        density  = 1 / (k * n_fake) * sum_j sum_i 1[|fake_j - real_i| < r_i]
        coverage = 1 / n_real * sum_i 1[min_j |fake_j - real_i| < r_i]

    Parameters
    ----------
    real : ndarray of shape (n_real, latent_dim)
        At least ``k + 1`` rows.
    fake : ndarray of shape (n_fake, latent_dim)
    k : int

    Returns
    -------
    metrics : dict
        ``density`` (0 up to ``n_real / k``; about 1 when fake is distributed like real,
        exactly 1 for ``fake = real`` without ties) and ``coverage`` (0 to 1).
    """
    return support_metrics(real, fake, k_density=k)


def support_metrics(real: np.ndarray, fake: np.ndarray, *, k_precision: int | None = None,
                    k_density: int | None = None, real_radii: dict[int, np.ndarray] | None = None) -> dict:
    """Precision and recall (with ``k_precision``) and density and coverage (with ``k_density``)
    from one pass over the real-to-fake distances; see :func:`precision_recall` and
    :func:`density_coverage` for the definitions, and :func:`support_rows` for the parameters.

    Returns
    -------
    metrics : dict
        ``precision`` and ``recall`` and/or ``density`` and ``coverage``: the means of
        :func:`support_rows`' arrays.
    """
    return {key: float(values.mean()) for key, values in
            support_rows(real, fake, k_precision=k_precision, k_density=k_density, real_radii=real_radii).items()}


def support_rows(real: np.ndarray, fake: np.ndarray, *, k_precision: int | None = None,
                 k_density: int | None = None, real_radii: dict[int, np.ndarray] | None = None) -> dict:
    """Each row's share of the support metrics: the metric is the mean of its array.

    Parameters
    ----------
    real : ndarray of shape (n_real, latent_dim)
    fake : ndarray of shape (n_fake, latent_dim)
    k_precision, k_density : int or None
        None leaves that pair of metrics out; at least one is needed.
    real_radii : dict of int to ndarray of shape (n_real,), optional
        ``kth_neighbour_radii(real, k=k)`` for either k, when the same real set scores many
        fake sets: the radii are then found once instead of once per set.

    Returns
    -------
    rows : dict of str -> ndarray, float64
        ``precision`` (n_fake,): 1 where a fake row lies in a real row's k-NN ball;
        ``recall`` (n_real,): 1 where a real row lies in a fake row's ball; ``density``
        (n_fake,): the real balls holding the fake row, over k; ``coverage`` (n_real,): 1 where
        a real row's ball holds a fake row. Given the radii, the rows contribute independently,
        which is what the bootstrap intervals (:mod:`latentspace.bootstrap`) resample.
    """
    if k_precision is None and k_density is None:
        raise ValueError("support_metrics: give k_precision, k_density or both")
    for k, both in ((k_precision, True), (k_density, False)):
        if k is not None:
            real, fake = _pair(real, fake, k, both=both)
    radii = {}
    for k in {k_precision, k_density} - {None}:
        given = (real_radii or {}).get(k)
        if given is not None and np.shape(given) != (len(real),):
            raise ValueError(f"support_metrics: real_radii[{k}] has shape {np.shape(given)}, expected ({len(real)},)")
        radii[k] = kth_neighbour_radii(real, k=k) if given is None else np.asarray(given, dtype=np.float64)
    fake_radii = None if k_precision is None else kth_neighbour_radii(fake, k=k_precision)
    fake_inside, real_inside = np.zeros(len(fake), dtype=bool), np.zeros(len(real), dtype=bool)
    hits, covered = np.zeros(len(fake), dtype=np.int64), np.zeros(len(real), dtype=bool)
    for start, d in _cross_blocks(real, fake, list(radii.values()), fake_radii):
        rows = slice(start, start + len(d))
        if k_precision is not None:
            fake_inside |= (d <= radii[k_precision][rows, None]).any(axis=0)
            real_inside[rows] = (d <= fake_radii[None, :]).any(axis=1)
        if k_density is not None:
            inside = d < radii[k_density][rows, None]
            hits += inside.sum(axis=0)
            covered[rows] = inside.any(axis=1)
    out = {}
    if k_precision is not None:
        out.update(precision=fake_inside.astype(np.float64), recall=real_inside.astype(np.float64))
    if k_density is not None:
        out.update(density=hits / k_density, coverage=covered.astype(np.float64))
    return out


def kth_neighbour_radii(x: np.ndarray, *, k: int) -> np.ndarray:
    """Distance of every row of ``x`` to its k-th nearest other row: ndarray of shape (n,), float64.

    An exact duplicate counts as a neighbour at distance 0. scikit-learn's brute-force
    search finds the candidates; their distances are then recomputed directly in float64
    so that a radius equals, bit for bit, the same pair's distance in :func:`_cross_blocks`.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not 1 <= k <= len(x) - 1:
        raise ValueError(f"kth_neighbour_radii: k = {k} needs a 2-D array of at least {k + 1} rows, "
                         f"got shape {x.shape}")
    candidates = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(x).kneighbors(x, return_distance=False)
    d = _exact(x[:, None, :], x[candidates])
    # the row itself is not a neighbour; if ties at 0 pushed it out, all k + 1 candidates are others
    d[candidates == np.arange(len(x))[:, None]] = np.inf
    return np.sort(d, axis=1)[:, k - 1]


def frechet_distance(mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray, cov2: np.ndarray) -> float:
    """Frechet (2-Wasserstein squared) distance between N(mean1, cov1) and N(mean2, cov2).

    ``|m1 - m2|^2 + Tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2)``. The covariances are
    symmetrised; ``C1^1/2`` comes from an eigendecomposition with eigenvalues clipped at 0,
    and the trace of the square root of the symmetric PSD product from its eigenvalues
    (clipped at 0), so (nearly) singular covariances give a finite value; never negative.

    Parameters
    ----------
    mean1, mean2 : ndarray of shape (d,)
    cov1, cov2 : ndarray of shape (d, d)
    """
    m1, m2 = np.asarray(mean1, dtype=np.float64), np.asarray(mean2, dtype=np.float64)
    c1, c2 = np.asarray(cov1, dtype=np.float64), np.asarray(cov2, dtype=np.float64)
    d = m1.shape[0] if m1.ndim == 1 else -1
    if m1.shape != (d,) or m2.shape != (d,) or c1.shape != (d, d) or c2.shape != (d, d):
        raise ValueError(f"frechet_distance: expected means (d,) and covariances (d, d) of one d, "
                         f"got {m1.shape}, {c1.shape}, {m2.shape}, {c2.shape}")
    if not all(np.isfinite(a).all() for a in (m1, m2, c1, c2)):
        raise ValueError("frechet_distance: means and covariances must be finite")
    c1, c2 = (c1 + c1.T) / 2, (c2 + c2.T) / 2
    w, v = np.linalg.eigh(c1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    product = root1 @ c2 @ root1
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((product + product.T) / 2), 0.0, None)).sum()
    value = np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2.0 * trace_root
    return float(max(value, 0.0))


def frechet_distance_of(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between the normals fitted to the rows of ``a`` and of ``b``.

    The normals have the sets' means and covariances (ddof=1). With fewer vectors than
    dimensions (e.g. 1000 Inception features of width 2048) the same number comes faster
    and without clipping from the centred data: the eigenvalues of ``C_a C_b`` are the
    squared singular values of ``A B^T / sqrt((n_a - 1)(n_b - 1))``, so the trace term needs
    an SVD of an (n_a, n_b) matrix instead of eigendecompositions of (d, d) ones.

    Parameters
    ----------
    a : ndarray of shape (n_a, d)
    b : ndarray of shape (n_b, d)
        Both need at least 2 rows.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"frechet_distance_of: expected two 2-D arrays of at least 2 rows and the same width, "
                         f"got {a.shape} and {b.shape}")
    (n_a, d), n_b = a.shape, len(b)
    if n_a * n_b * min(n_a, n_b) >= d ** 3:  # the SVD would cost more than the (d, d) route
        return frechet_distance(a.mean(axis=0), np.cov(a, rowvar=False, ddof=1).reshape(d, d),
                                b.mean(axis=0), np.cov(b, rowvar=False, ddof=1).reshape(d, d))
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("frechet_distance_of: vectors must be finite")
    centred_a, centred_b = a - a.mean(axis=0), b - b.mean(axis=0)
    trace_root = np.linalg.svd(centred_a @ centred_b.T, compute_uv=False).sum() / np.sqrt((n_a - 1) * (n_b - 1))
    value = (np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2) + np.sum(centred_a ** 2) / (n_a - 1)
             + np.sum(centred_b ** 2) / (n_b - 1) - 2.0 * trace_root)
    return float(max(value, 0.0))


def mahalanobis_range(distances: np.ndarray, *, quantile: float = 0.99) -> tuple[float, float]:
    """The central interval holding ``quantile`` of ``distances``.

    Parameters
    ----------
    distances : ndarray of shape (n,)
        E.g. Mahalanobis distances of held-out real vectors from the cloud's centre.
    quantile : float in (0, 1]

    Returns
    -------
    low, high : float
        The ``(1 - quantile) / 2`` and ``(1 + quantile) / 2`` quantiles (linear interpolation).
    """
    distances = np.asarray(distances, dtype=np.float64).ravel()
    if not 0 < quantile <= 1:
        raise ValueError(f"mahalanobis_range: quantile = {quantile}: must be in (0, 1]")
    if len(distances) == 0 or not np.isfinite(distances).all():
        raise ValueError(f"mahalanobis_range: needs at least one finite distance, got {len(distances)} values")
    low, high = np.quantile(distances, [(1 - quantile) / 2, (1 + quantile) / 2])
    return float(low), float(high)


def fraction_within(values: np.ndarray, low: float, high: float) -> float:
    """Share of ``values`` (shape (n,), n >= 1) in the closed interval [low, high]."""
    return float(np.mean(within(values, low, high)))


def within(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Which of ``values`` (shape (n,), n >= 1) lie in the closed interval [low, high]: bool (n,)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if len(values) == 0 or not low <= high:
        raise ValueError(f"fraction_within: needs values and low <= high, got {len(values)} values, [{low}, {high}]")
    return (values >= low) & (values <= high)


def nearest_distances(real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """Distance of each fake vector to its nearest real vector: ndarray of shape (n_fake,), float64.

    Exact (see :func:`latentspace.neighbours.nearest_real`; vectors are compared as float32).
    """
    real, fake = np.asarray(real), np.asarray(fake)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1] or len(real) == 0:
        raise ValueError(f"nearest_distances: expected 2-D real (n >= 1) and fake arrays of the same width, "
                         f"got {real.shape} and {fake.shape}")
    return nearest_real(real, fake, k=1)[0][:, 0]


def _pair(real, fake, k: int, *, both: bool) -> tuple[np.ndarray, np.ndarray]:
    """``real`` and ``fake`` as float64, checked: 2-D, same width, finite, enough rows for ``k``."""
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"expected real and fake of shape (n, latent_dim) with the same latent_dim, "
                         f"got {real.shape} and {fake.shape}")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k = {k!r}: must be an integer >= 1")
    if len(real) < k + 1 or len(fake) < (k + 1 if both else 1):
        needs = f"{k + 1} real and {k + 1 if both else 1} fake"
        raise ValueError(f"k = {k}: needs at least {needs} vectors, got {len(real)} real and {len(fake)} fake")
    if not (np.isfinite(real).all() and np.isfinite(fake).all()):
        raise ValueError("real and fake vectors must be finite")
    return real, fake


def _exact(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Euclidean distances of broadcast rows, straight from the differences (no expansion)."""
    diff = x - y  # a fresh contiguous array: every row is summed the same way, whatever the shape
    return np.sqrt(np.sum(diff * diff, axis=-1))


def _cross_blocks(real: np.ndarray, fake: np.ndarray, row_radii: list[np.ndarray], col_radii: np.ndarray | None):
    """Yield ``(start, d)``: float64 distances ``d`` (rows, n_fake) of real rows from ``start`` to all fakes.

    The fast expansion gives every entry to about 1e-14 relative; entries near a ball's edge
    (any of ``row_radii``, each of shape (n_real,), or ``col_radii`` of the fakes) are
    recomputed directly, so every inside/outside decision is the one an exact double loop makes.
    """
    fake_sq_max = float(np.max(np.einsum("ij,ij->i", fake, fake)))
    real_sq = np.einsum("ij,ij->i", real, real)
    rows = max(1, _BLOCK_ENTRIES // max(1, len(fake)))
    for start in range(0, len(real), rows):
        block = real[start:start + rows]
        here = slice(start, start + len(block))
        d = pairwise_distances(block, fake, metric="euclidean")
        # One tolerance for the whole block, at least each entry's own: it marks a few more
        # entries as near an edge (recomputed, harmless), never fewer. Comparing d with the
        # band [sqrt(r^2 - tol), sqrt(r^2 + tol)] spares full-size float temporaries.
        tolerance = _EDGE_TOLERANCE * (float(real_sq[here].max()) + fake_sq_max)
        edge = np.zeros(d.shape, dtype=bool)
        bands = [(radii[here, None] ** 2) for radii in row_radii]
        if col_radii is not None:
            bands.append(col_radii[None, :] ** 2)
        for r2 in bands:
            edge |= (d >= np.sqrt(np.maximum(r2 - tolerance, 0.0))) & (d <= np.sqrt(r2 + tolerance))
        i, j = np.nonzero(edge)
        d[i, j] = _exact(block[i], fake[j])
        yield start, d
