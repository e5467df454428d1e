"""How good are a sampler's vectors? Every quality metric of one set of generated vectors
against held-out real ones, so the `evaluate` stage applies the same recipe to every sampler
setting and to the real-vs-real baseline.

The metrics themselves live in :mod:`latentspace.quality`; this module only fixes which
ones are reported, under which names.
"""

from __future__ import annotations

import numpy as np

from latentspace import quality

QUALITY_KEYS = ("precision", "recall", "density", "coverage", "frechet")


def set_quality(reference: np.ndarray, vectors: np.ndarray, *, k_precision: int, k_density: int,
                reference_radii: dict[int, np.ndarray] | None = None) -> dict:
    """Fidelity and diversity of ``vectors`` against ``reference``, in the space they are given in.

    Parameters
    ----------
    reference : ndarray of shape (n_reference, d)
        Real vectors not used to fit anything (the held-out encodings).
    vectors : ndarray of shape (n, d)
        Generated vectors (or, for the baseline, training vectors).
    k_precision, k_density : int
        Neighbourhood sizes of precision/recall and of density/coverage.
    reference_radii : dict of int to ndarray of shape (n_reference,), optional
        The reference's k-th neighbour radii for both k (:func:`reference_radii`): found
        once when many sets are scored against the same reference.

    Returns
    -------
    metrics : dict
        ``precision``, ``recall`` (Kynkaanniemi et al. 2019), ``density``, ``coverage``
        (Naeem et al. 2020) and ``frechet`` (Frechet distance of the fitted normals), as in
        :data:`QUALITY_KEYS`.
    """
    out = {**quality.support_metrics(reference, vectors, k_precision=k_precision, k_density=k_density,
                                     real_radii=reference_radii),
           "frechet": quality.frechet_distance_of(reference, vectors)}
    return {key: float(out[key]) for key in QUALITY_KEYS}


def reference_radii(reference: np.ndarray, *, k_precision: int, k_density: int) -> dict[int, np.ndarray]:
    """The reference's k-th neighbour radii for both k, for :func:`set_quality`'s ``reference_radii``."""
    return {k: quality.kth_neighbour_radii(reference, k=k) for k in {k_precision, k_density}}


def table_rows(results: dict[str, dict]) -> tuple[list[str], list[list]]:
    """The per-setting metrics flattened into one CSV table (one row per setting).

    Parameters
    ----------
    results : dict of setting name -> dict
        ``{"in_core": x, "latent": {...}, "reencoded": {...}, "memorisation": {...}, optional "fid": x}``.

    Returns
    -------
    header : list of str
        ``setting``, then ``in_core``, ``latent_<key>``, ``reencoded_<key>``, the memorisation keys
        (``nn_median``, ``ratio_to_real``, ``near_copy_fraction``) and ``fid`` when present.
    rows : list of list
    """
    first = next(iter(results.values()))
    header = ["setting", "in_core", *(f"latent_{k}" for k in QUALITY_KEYS), *(f"reencoded_{k}" for k in QUALITY_KEYS),
              *first["memorisation"], *(["fid"] if "fid" in first else [])]
    rows = []
    for name, r in results.items():
        rows.append([name, r["in_core"], *(r["latent"][k] for k in QUALITY_KEYS),
                     *(r["reencoded"][k] for k in QUALITY_KEYS), *r["memorisation"].values(),
                     *([r["fid"]] if "fid" in first else [])])
    return header, rows
