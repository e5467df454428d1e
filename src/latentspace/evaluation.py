"""How good are a sampler's vectors? Every quality metric of one set of generated vectors
against held-out real ones, so the `evaluate` stage applies the same recipe to every sampler
setting and to the real-vs-real baseline.

The metrics themselves live in :mod:`latentspace.quality`; this module only fixes which
ones are reported, under which names.
"""

from __future__ import annotations

import numpy as np

from latentspace import bootstrap, quality

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


def set_quality_replicates(reference: np.ndarray, vectors: np.ndarray, *, k_precision: int, k_density: int,
                           reference_radii: dict[int, np.ndarray], resampling: bootstrap.Resampling,
                           reference_normal: bootstrap.ReferenceNormal) -> tuple[dict, dict]:
    """:func:`set_quality` and its bootstrap replicates from one pass over the distances.

    Parameters
    ----------
    reference, vectors, k_precision, k_density, reference_radii
        As :func:`set_quality` (the radii are required: the replicates keep them).
    resampling : bootstrap.Resampling
        The replicates' rows of the reference (shared by every set) and of the vectors.
    reference_normal : bootstrap.ReferenceNormal
        The reference's fitted normal, for the Fréchet distance and its rows' influences.

    Returns
    -------
    metrics : dict
        As :func:`set_quality`.
    replicates : dict of str -> ndarray of shape (resamples,)
        The same keys: each metric on every replicate's rows. Precision and density average
        over the vectors' rows, recall and coverage over the reference's; the Fréchet distance
        moves by the mean influence of the drawn rows of both (``bootstrap.frechet_influences``).
    """
    rows = quality.support_rows(reference, vectors, k_precision=k_precision, k_density=k_density,
                                real_radii=reference_radii)
    set_rows = resampling.set_rows(len(vectors))
    frechet, vector_influence, reference_influence = bootstrap.frechet_influences(reference_normal, vectors)
    metrics = {**{key: float(rows[key].mean()) for key in QUALITY_KEYS[:4]}, "frechet": frechet}
    replicates = {key: bootstrap.mean_replicates(rows[key], set_rows if key in ("precision", "density")
                                                 else resampling.reference_rows) for key in QUALITY_KEYS[:4]}
    replicates["frechet"] = (frechet + bootstrap.mean_replicates(vector_influence, set_rows)
                             + bootstrap.mean_replicates(reference_influence, resampling.reference_rows))
    return metrics, replicates


def reference_radii(reference: np.ndarray, *, k_precision: int, k_density: int) -> dict[int, np.ndarray]:
    """The reference's k-th neighbour radii for both k, for :func:`set_quality`'s ``reference_radii``."""
    return {k: quality.kth_neighbour_radii(reference, k=k) for k in {k_precision, k_density}}


def flat_scores(result: dict) -> dict[str, float]:
    """One setting's scores as one flat mapping, in a fixed order.

    Parameters
    ----------
    result : dict
        ``{"in_core": x, "latent": {...}, "reencoded": {...}, "memorisation": {...}, optional "fid": x}``.

    Returns
    -------
    scores : dict of str -> float
        ``in_core``, ``latent_<key>`` and ``reencoded_<key>`` for each of :data:`QUALITY_KEYS`, the
        memorisation keys (``nn_median``, ``ratio_to_real``, ``near_copy_fraction``) and ``fid`` when present.
    """
    return {"in_core": result["in_core"],
            **{f"latent_{k}": result["latent"][k] for k in QUALITY_KEYS},
            **{f"reencoded_{k}": result["reencoded"][k] for k in QUALITY_KEYS},
            **result["memorisation"], **({"fid": result["fid"]} if "fid" in result else {})}


def table_rows(results: dict[str, dict]) -> tuple[list[str], list[list]]:
    """The per-setting metrics flattened into one CSV table (one row per setting).

    Parameters
    ----------
    results : dict of setting name -> dict
        Each as :func:`flat_scores` takes it; every setting has the same keys.

    Returns
    -------
    header : list of str
        ``setting``, then :func:`flat_scores`' keys.
    rows : list of list
    """
    flat = {name: flat_scores(r) for name, r in results.items()}
    header = ["setting", *next(iter(flat.values()))]
    return header, [[name, *scores.values()] for name, scores in flat.items()]


# A sampler's headline: its best setting's value and the score that chose it. Precision, recall and
# every other score of every setting are rows of plots/sampling_scores.csv, so a new sampler adds
# two numbers to `dvc metrics show` and `dvc exp show`, not five.
HEADLINE_KEYS = ("reencoded_frechet",)


def best_per_sampler(scores: dict[str, dict[str, float]], samplers: dict[str, tuple[str, str, object]]) -> dict:
    """Each sampler's best setting by re-encoded Fréchet distance (lowest), under the sampler's name.

    Parameters
    ----------
    scores : dict of setting name -> dict
        :func:`flat_scores` of each setting.
    samplers : dict of setting name -> (sampler, param, value)
        Which sampler and value made each setting; a setting whose param is "" (the real
        baseline) is reported without a value.

    Returns
    -------
    headline : dict of sampler -> dict
        ``{param: value, **HEADLINE_KEYS}``: names that stay the same when a params sweep
        changes the values, so experiments line up column by column in ``dvc exp show``.
    """
    best: dict[str, str] = {}
    for name, (sampler, _, _) in samplers.items():
        if sampler not in best or scores[name]["reencoded_frechet"] < scores[best[sampler]]["reencoded_frechet"]:
            best[sampler] = name
    headline = {}
    for sampler, name in best.items():
        _, param, value = samplers[name]
        headline[sampler] = {**({param: value} if param else {}), **{k: scores[name][k] for k in HEADLINE_KEYS}}
    return headline
