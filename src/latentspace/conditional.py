"""Faces with or without a chosen attribute: one sampler fitted separately to the training vectors
that have a binary attribute and to those that lack it (a class-conditional ex-post density).

A registered sampler (:data:`latentspace.samplers.SAMPLERS`) fitted to all training vectors draws
faces whatever their attributes. Fitted to the vectors *with* an attribute only, its draws should
show the attribute about as often as real faces with it do; fitted to those *without*, as rarely
as real faces without it. Each subset gets its own :class:`~latentspace.samplers.LatentCloud`
(mean, spread, histogram peak and half width, principal axes), computed as the pipeline computes
the whole cloud's. Whether a decoded draw shows the attribute is decided by the pixel judge of
:mod:`latentspace.attributes`; how close the draws come to real faces of their class, by
:func:`latentspace.evaluation.set_quality` against held-out vectors of that class.
"""

from __future__ import annotations

import csv
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from latentspace import geometry, stats
from latentspace.attributes import PixelJudge
from latentspace.io import InputError
from latentspace.params import ParamsError, invalid
from latentspace.samplers import SAMPLERS, LatentCloud, Sampler

CLASSES = ("with", "without")  # the two subsets of the training vectors, by one attribute
UNCONDITIONAL = "unconditional"  # the same sampler fitted to all training vectors
REAL = {"with": "real_with", "without": "real_without"}  # held-out vectors of each class
DRAWN = (*CLASSES, UNCONDITIONAL, *REAL.values())  # plots/conditional.csv's `drawn` column, in order


def class_rows(labels: np.ndarray) -> dict[str, np.ndarray]:
    """The rows of each class of one binary attribute.

    Parameters
    ----------
    labels : ndarray of shape (n,), bool
        Whether each vector has the attribute.

    Returns
    -------
    rows : dict of "with" / "without" -> ndarray of shape (n_class,), int64, increasing
    """
    labels = np.asarray(labels, dtype=bool)
    return {"with": np.flatnonzero(labels), "without": np.flatnonzero(~labels)}


def subset_cloud(z: np.ndarray, rows: np.ndarray, *, bin_width: float) -> LatentCloud:
    """The :class:`LatentCloud` of some training vectors, summarised as the stats and geometry
    stages summarise all of them.

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
        May be a memory map; only ``rows`` are read.
    rows : ndarray of shape (m,), int, m >= 2
        Increasing, so a memory map is read front to back.
    bin_width : float
        ``stats.bin_width``: the histogram grid of ``mu`` and ``hw``.

    Returns
    -------
    cloud : LatentCloud with ``z`` of shape (m, latent_dim), float32
    """
    subset = np.asarray(z[rows], dtype=np.float32)
    if len(subset) < 2:
        raise ValueError(f"subset_cloud: need at least 2 vectors, got {len(subset)}")
    mean, std = stats.component_moments(subset)
    centres, counts = stats.binned_counts(subset, bin_width)
    mu, hw = stats.peak_and_halfwidth(centres, counts, bin_width)
    return LatentCloud(z=subset, mu=mu, hw=hw, mean=mean, std=std, pca=geometry.principal_axes(subset))


def make_sampler(kind: str, value: float) -> Sampler:
    """An unfitted sampler of the registry with its default options; ``value`` is its swept
    param (an integer-valued float is accepted where the sampler takes an integer)."""
    cls = SAMPLERS[kind]
    return cls(int(value) if cls.value_type is int and float(value).is_integer() else value)


def draw_rng(seed: int, sampler: Sampler, attribute: str, drawn: str) -> np.random.Generator:
    """A generator that depends on the seed, the sampler setting, the attribute and the class only
    (``attribute`` is ``""`` for the unconditional draws), as :func:`latentspace.samplers.setting_rng`:
    adding an attribute to the list leaves the other attributes' draws unchanged."""
    return np.random.default_rng([seed, zlib.crc32(sampler.name.encode()), zlib.crc32(attribute.encode()),
                                  zlib.crc32(drawn.encode())])


def fit_and_draw(sampler: Sampler, cloud: LatentCloud, rng: np.random.Generator, n: int, *,
                 vectors: str) -> np.ndarray:
    """Fit ``sampler`` to ``cloud`` and draw ``n`` vectors, all from ``rng``.

    Parameters
    ----------
    vectors : str
        Which training vectors ``cloud`` holds, e.g. ``"with Smiling"``, for the error below.

    Returns
    -------
    z : ndarray of shape (n, cloud.latent_dim), float32

    Raises
    ------
    ParamsError
        Naming ``conditional.value`` where the sampler refuses the cloud (a mixture with more
        components than vectors): the sampler's own message names its key in ``sample``.
    """
    try:
        sampler.fit(cloud, rng)
    except ParamsError as exc:
        reason = str(exc).removeprefix("params.yaml: ")
        raise invalid("conditional.value", sampler.value, f"the {sampler.kind} sampler cannot be fitted to the "
                      f"{len(cloud.z)} training vectors {vectors} ({reason})") from None
    return sampler.draw(rng, n)


def class_draws(kind: str, value: float, z: np.ndarray, labels: np.ndarray, *, attribute: str, seed: int,
                n: int, bin_width: float) -> dict[str, np.ndarray]:
    """The sampler fitted separately to the vectors with and without one attribute, ``n`` draws each.

    Parameters
    ----------
    z : ndarray of shape (n_vectors, latent_dim)
    labels : ndarray of shape (n_vectors,), bool
        Each class must hold at least 2 vectors.

    Returns
    -------
    draws : dict of "with" / "without" -> ndarray of shape (n, latent_dim), float32
    """
    draws = {}
    for drawn, rows in class_rows(labels).items():
        sampler = make_sampler(kind, value)
        cloud = subset_cloud(z, rows, bin_width=bin_width)
        draws[drawn] = fit_and_draw(sampler, cloud, draw_rng(seed, sampler, attribute, drawn), n,
                                    vectors=f"{drawn} {attribute}")
    return draws


def judge_share(judge: PixelJudge, images: np.ndarray, attribute: str) -> float:
    """Fraction of ``images`` (shape (m, S, S, 3)) in which the judge sees ``attribute``
    (its probability above 1/2); NaN where the judge has no classifier for it or m = 0."""
    if not len(images):
        return float("nan")
    p = judge.probabilities(images)[:, judge.names.index(attribute)]
    return float(np.mean(p > 0.5)) if np.isfinite(p).all() else float("nan")


def holdout_labels(index_csv: str | Path, names: Sequence[str], n_holdout: int) -> np.ndarray:
    """Presence of binary attributes in the ``holdout`` rows of ``data/index.csv``, in file order
    (row i = row i of ``data/z_holdout.npy``), as :func:`latentspace.attributes.read_annotations`
    reads the ``train`` rows.

    Returns
    -------
    labels : ndarray of shape (n_holdout, len(names)), bool

    Raises
    ------
    InputError
        The number of held-out rows differs from ``n_holdout``, or a value is not -1 or 1.
    """
    with open(index_csv, newline="") as f:
        values = [[row[a] for a in names] for row in csv.DictReader(f) if row["split"] == "holdout"]
    if len(values) != n_holdout:
        raise InputError(f"{index_csv}: has {len(values)} 'holdout' rows but the held-out vectors have "
                         f"{n_holdout} rows; re-run the encode stage (dvc repro)")
    labels = np.array(values, dtype=str).reshape(n_holdout, len(names))
    if not np.isin(labels, ("1", "-1")).all():
        raise InputError(f"{index_csv}: the held-out rows of {list(names)} must be -1 or 1")
    return labels == "1"


def score_rows(shares: dict[str, dict[str, float]], qualities: dict[str, dict[str, dict]],
               counts: dict[str, dict[str, int]]) -> list[tuple[list[str], dict[str, float]]]:
    """The long table of plots/conditional.csv: one entry per attribute and :data:`DRAWN` set.

    Parameters
    ----------
    shares : dict of attribute -> dict of drawn -> float
        The judge's share of each set (:func:`judge_share`).
    qualities : dict of attribute -> dict of drawn -> dict of metric -> float
        ``set_quality`` of the sets scored against held-out vectors of their class; sets not
        scored are absent.
    counts : dict of attribute -> dict of drawn -> int
        Vectors behind each set: the training vectors a sampler was fitted to, or the held-out
        vectors judged.

    Returns
    -------
    rows : list of ([attribute, drawn], dict of metric -> number)
        For :func:`latentspace.io.save_scores_csv` with keys ``("attribute", "drawn")``.
    """
    rows = []
    for attribute, by_set in shares.items():
        for drawn in DRAWN:
            if drawn in by_set:
                metrics = {"judge_share": by_set[drawn], "vectors": counts[attribute][drawn],
                           **qualities.get(attribute, {}).get(drawn, {})}
                rows.append(([attribute, drawn], metrics))
    return rows


def headline(shares: dict[str, dict[str, float]], qualities: dict[str, dict[str, dict]],
             judged: dict[str, float]) -> dict:
    """metrics/conditional.json's few numbers, averaged over the attributes (NaNs left out; the
    per-attribute numbers are in plots/conditional.csv).

    Parameters
    ----------
    shares, qualities : as for :func:`score_rows`
    judged : dict of attribute -> float
        The judge's balanced accuracy on decoded training vectors it was not fitted on.

    Returns
    -------
    metrics : dict of str -> float or None (None where nothing is finite: JSON has no NaN)
        ``share_gap``: the judge's share of the draws with minus without the attribute;
        ``real_share_gap``: the same for real held-out faces (the ceiling); ``frechet``: the
        Fréchet distance of each class's draws to held-out vectors of the class;
        ``judge_mean_balanced_accuracy``.
    """
    def mean(values) -> float | None:
        finite = [v for v in values if v is not None and np.isfinite(v)]
        return round(float(np.mean(finite)), 4) if finite else None

    return {
        "share_gap": mean(s["with"] - s["without"] for s in shares.values()),
        "real_share_gap": mean(s[REAL["with"]] - s[REAL["without"]] for s in shares.values()),
        "frechet": mean(q["frechet"] for by_class in qualities.values() for q in by_class.values() if q),
        "judge_mean_balanced_accuracy": mean(judged.values()),
    }
