"""The series as a generated report: one document model, rendered as Markdown and as one HTML file.

The report follows :data:`latentspace.outline.SECTIONS`. Each section holds its outline title and
question, its figures (the outline's images; a curve, which has no image file, is a pointer to
``dvc plots show``), its key numbers read from ``metrics/`` and ``plots/`` (never typed here) and a
finding written from those numbers by rules, so that a finding stays true when the numbers change.

Three layers, top to bottom:

- reading (:func:`read_inputs`): the metrics, plot tables and images, checked against what this
  module uses; a missing or malformed file is an :class:`~latentspace.io.InputError` naming it;
- building (:func:`build_document`): one ``*_finding`` function per section turns loaded numbers into
  text, one ``*_section`` function gathers a section's finding, key numbers and tables;
- rendering (:func:`render_markdown`, :func:`render_html`): pure functions of the document. The
  Markdown links images relative to the report's folder (a forge shows them); the HTML embeds them
  as ``data:`` URIs, with inline CSS and no script, so that one file opens offline.

Curves are not redrawn here: ``dvc plots show`` draws them from dvc.yaml, which stays their only
definition, and the numbers behind them appear as tables. The report imports neither Keras nor
matplotlib and runs in well under a second.
"""

from __future__ import annotations

import base64
import csv
import html
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

from latentspace.io import InputError, load_json
from latentspace.outline import SECTIONS, Section
from latentspace.sample_sets import setting_name

# Rules of the findings: stated in the text wherever they decide a sentence.
COUNT_TOLERANCE = 0.05   # M-sample pair counts "agree" with the exact ones within this share
COPY_SHARE = 0.05        # a sampler setting "copies" when more of its vectors than this are near-copies
OVERFIT_MARGIN = 0.10    # held-out loss above (1 + margin) x training loss: the model overfits
SERIES_B_RANGE = (1.0, 2.0)   # part II: uniform [-b, b] vectors have about the right length for b here
INDEPENDENT = ("uniform", "intervals", "gaussian")          # samplers that ignore correlations
CORRELATED = ("normal", "principal_axes", "mixture", "mixture_chosen", "kde", "flow", "vae",  # samplers that
              "diffusion")                                                                # model them
HEADLINE = ("reencoded_frechet",)  # metrics/sampling.json: each sampler's best setting, by this score
QUALITY = ("reencoded_frechet", "reencoded_precision", "reencoded_recall")  # plots/sampling.csv, every setting
DIGITS = 3               # significant digits of every measured number in the report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------------------------
# Numbers as text


def fmt(value, digits: int = DIGITS) -> str:
    """A number as the report prints it: integers in full, floats to ``digits`` significant digits.

    Parameters
    ----------
    value : int, float, bool or None
    digits : int

    Returns
    -------
    text : str
        ``"n/a"`` for None; ``10200``; ``0.00213``, ``4.05``, ``161``, ``1.00`` (trailing zeros kept,
        so every float shows the same number of significant digits); never scientific notation.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    rounded = float(f"{value:.{digits}g}")  # 9.996 -> 10.0 before the decimals are counted
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:.{decimals}f}"


def pct(share: float | None) -> str:
    """A share in [0, 1] as a percentage with :func:`fmt`'s digits: ``0.0742`` -> ``7.42%``."""
    return "n/a" if share is None else f"{fmt(100.0 * share)}%"


def times(ratio: float) -> str:
    """A ratio as ``3.14×``."""
    return f"{fmt(ratio)}×"


def param(value) -> str:
    """A parameter value as params.yaml would write it: ``1.5``, ``10``, ``0.5``; text as it is."""
    if value is None:
        return "n/a"
    return value if isinstance(value, str) else f"{value:g}"


def param_pct(share: float) -> str:
    """A share set by a param or a rule as a percentage: ``0.9`` -> ``90%``, ``0.05`` -> ``5%``."""
    return f"{100.0 * share:g}%"


def edge_note(best, tried, name: str) -> str:
    """`` It is the largest b tried: a larger one may do better.`` when ``best`` is the smallest or
    largest of several ``tried`` values (the optimum may lie outside the sweep); else ``""``."""
    tried = sorted(tried)
    if len(tried) < 2 or best not in (tried[0], tried[-1]):
        return ""
    side, other = ("smallest", "smaller") if best == tried[0] else ("largest", "larger")
    return f" It is the {side} {name} tried: a {other} one may do better."


def listing(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ----------------------------------------------------------------------------------------------
# The document model


@dataclass(frozen=True)
class Number:
    """One key number and where it was read.

    Attributes
    ----------
    label : str
        What it is, e.g. ``"Core radius (Mahalanobis)"``.
    value : int, float or None
        As read from the file.
    source : str
        The file, e.g. ``"metrics/geometry.json"``.
    key : str
        Its key in the file, e.g. ``"geometry.core_radius"`` (what ``dvc metrics show`` prints).
    """

    label: str
    value: int | float | None
    source: str
    key: str

    @property
    def text(self) -> str:
        return fmt(self.value)


@dataclass(frozen=True)
class Table:
    """Rows of numbers read from a plot-data file; cells are text or raw numbers (formatted by :func:`fmt`)."""

    caption: str
    source: str
    header: tuple[str, ...]
    rows: tuple[tuple, ...]


@dataclass(frozen=True)
class Image:
    """A PNG file shown as a figure; ``caption`` is its plot id or, inside a folder, its file name."""

    caption: str
    path: Path


@dataclass(frozen=True)
class Curve:
    """A dvc.yaml curve (a plot id that is a title, not a file): drawn by ``dvc plots show``."""

    title: str


Figure = Union[Image, Curve]


@dataclass(frozen=True)
class Part:
    """One section of the report: the outline's section with what the outputs say about it."""

    section: Section
    finding: str
    numbers: tuple[Number, ...]
    tables: tuple[Table, ...]
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class Document:
    title: str
    preface: str
    parts: tuple[Part, ...]


# ----------------------------------------------------------------------------------------------
# Reading the inputs (the only functions here that touch files)

# Every metrics file: {stem: {key: number}}; these keys must be there (and numbers, None where allowed).
METRIC_KEYS = {
    "prepare": ("n_train", "n_holdout", "n_skipped"),
    "train": ("train_loss", "val_loss", "psnr_holdout_db", "mean_image_psnr_db"),
    "stats": ("n_dominant", "median_hw", "radius_mean", "radius_best_b"),
    "correlation": ("M", "pairs_above_sample", "pairs_above_full", "count_error_max", "sample_error_max_abs"),
    "geometry": ("centre_norm", "origin_mahalanobis", "origin_beyond_fraction", "core_radius",
                 "top_axis_variance_fraction"),
    "normality": ("component_normal_fraction", "axis_normal_fraction", "axis_median_ks"),
    "attributes": ("strongest_component_r", "judge_mean_balanced_accuracy"),
    "neighbours": ("real_nn_median", "near_copy_threshold"),
    "sample": (),
    "sampling": (),
    "conditional": ("share_gap", "real_share_gap", "frechet", "judge_mean_balanced_accuracy"),
}
NULLABLE = {("attributes", "strongest_component_r"), ("attributes", "judge_mean_balanced_accuracy"),
            *(("conditional", key) for key in METRIC_KEYS["conditional"])}  # None: no attribute drawn
MIXTURE = "best_mixture"  # metrics/sample.json: the mixture with the best held-out fit; absent when it is off
MIXTURE_KEYS = ("k", "log_likelihood_fitted", "log_likelihood_holdout", "overfit_gap")

SETTING = {"setting": str, "sampler": str, "param": str, "value": "number?"}
SCORES = {"metric": str, "score": "number?"}
# Every plot-data file the report reads (under --plots), with the columns it uses and their types.
TABLE_COLUMNS = {
    "sampling.csv": {**SETTING, "in_core": float, "latent_frechet": float, **{k: float for k in QUALITY},
                     **{f"reencoded_frechet_{end}": float for end in ("low", "high")}},
    "frechet_differences.csv": {"setting": str, "versus": str, "difference": float, "low": float, "high": float},
    "near_copies.csv": {**SETTING, **SCORES},
    "density_fit.csv": {**SETTING, **SCORES},
    "radius_by_b.csv": {"b": float, **SCORES},
    "uniform_core.csv": {"b": float, **SCORES},
    "variance_targets.csv": {"target": float, **SCORES},
    "normality_summary.csv": {"kind": str, **SCORES},
    "pairs_above.csv": {"threshold": float, "sample": int, "full": int},
    "top_attributes.csv": {"kind": str, "index": int, "dominant": str, "attribute": str, "r": float},
    "conditional.csv": {"attribute": str, "drawn": str, **SCORES},
}
# Long-format tables: the metrics every row key must have (key column, metrics), and never empty.
TABLE_METRICS = {
    "near_copies.csv": ("setting", ("nn_median", "ratio_to_real", "near_copy_fraction")),
    "density_fit.csv": ("setting", ("log_likelihood_fitted", "log_likelihood_holdout", "overfit_gap")),
    "radius_by_b.csv": ("b", ("uniform_radius_ratio", "radius_distance")),
    "uniform_core.csv": ("b", ("in_core",)),
    "variance_targets.csv": ("target", ("axes",)),
}
LOSS_FILES = {"train": "plots/metrics/train/loss.tsv", "val": "plots/metrics/val/loss.tsv"}  # under --live
PATHS_FILE = "paths.json"  # under --plots


@dataclass(frozen=True)
class Settings:
    """The params the findings quote (read by the stage script, which dvc.yaml's ``params`` list)."""

    latent_dim: int          # model.latent_dim
    hw_factor: float         # stats.dominant.hw_factor
    mu_factor: float         # stats.dominant.mu_factor
    pair_threshold: float    # correlate.pair_threshold
    core_quantile: float     # geometry.core_quantile
    alpha: float             # normality.alpha
    test_size: int           # normality.test_size
    sampler_core_quantile: float   # evaluate.core_quantile
    interval_level: float          # evaluate.bootstrap.level


@dataclass(frozen=True)
class Inputs:
    """Everything the report reads, checked.

    Attributes
    ----------
    metrics : dict of stem -> dict
        Each metrics file's headline numbers (the content under its one top-level key).
    tables : dict of file name -> list of dict
        Each plot-data CSV as rows, typed per :data:`TABLE_COLUMNS` (other columns as text).
    losses : dict of "train" / "val" -> list of float
        The loss per epoch from dvclive.
    paths : dict
        ``plots/paths.json``.
    images : dict of plot id -> tuple of Path
        The PNG files of each image or folder plot of the outline.
    sources : dict of name -> str
        The path each metrics stem, table and loss curve was read from (shown in the report).
    """

    metrics: dict
    tables: dict
    losses: dict
    paths: dict
    images: dict
    sources: dict


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_metrics(path: Path, stem: str, data) -> dict:
    """``data[stem]`` after checking it holds :data:`METRIC_KEYS` [stem] as numbers.

    Raises
    ------
    InputError
        Not ``{stem: {...}}``, or a key missing or not a number (None only where :data:`NULLABLE`).
    """
    if not isinstance(data, dict) or list(data) != [stem] or not isinstance(data[stem], dict):
        raise InputError(f"{path}: expected one top-level key {stem!r} holding the metrics, got "
                         f"{list(data) if isinstance(data, dict) else type(data).__name__}")
    numbers = data[stem]
    for key in METRIC_KEYS[stem]:
        value = numbers.get(key, "missing")
        if not (_is_number(value) or (value is None and (stem, key) in NULLABLE)):
            raise InputError(f"{path}: {stem}.{key} must be a number, got {value!r}")
    if stem == "sampling":
        _check_sampling(path, numbers)
    if stem == "sample" and MIXTURE in numbers:
        _check_entry(path, f"sample.{MIXTURE}", numbers[MIXTURE], MIXTURE_KEYS)
    return numbers


def _check_entry(path: Path, name: str, entry, keys) -> None:
    if not isinstance(entry, dict) or not all(_is_number(entry.get(k)) for k in keys):
        raise InputError(f"{path}: {name} must hold the numbers {', '.join(keys)}, got {entry!r}")


def _check_sampling(path: Path, numbers: dict) -> None:
    """``real`` with the :data:`HEADLINE` scores; every sampler with them and one param."""
    _check_entry(path, "sampling.real", numbers.get("real"), HEADLINE)
    for kind, entry in numbers.items():
        _check_entry(path, f"sampling.{kind}", entry, HEADLINE)
        extra = [k for k in entry if k not in HEADLINE]
        if kind != "real" and (len(extra) != 1 or not _is_number(entry[extra[0]])):
            raise InputError(f"{path}: sampling.{kind} must name its one swept param beside "
                             f"{', '.join(HEADLINE)}, got keys {list(entry)}")


def _cell(path: Path, row: int, column: str, text: str, kind):
    """One CSV cell converted to ``kind`` (str, int, float or "number?": a float or None when empty)."""
    if kind is str:
        return text
    if kind == "number?" and text == "":
        return None
    try:
        if kind is int or (kind == "number?" and re.fullmatch(r"[-+]?\d+", text)):
            return int(text)  # integers stay integers: counts, flags, k
        return float(text)
    except ValueError:
        raise InputError(f"{path}: row {row}, column {column!r}: {text!r} is not a number") from None


def read_table(path: Path, columns: dict, *, delimiter: str = ",") -> list[dict]:
    """Rows of a CSV (or TSV) file with a header row, the given columns typed, others as text.

    Raises
    ------
    InputError
        The file is missing or lacks one of ``columns``, or a cell does not convert.
    """
    if not path.is_file():
        raise InputError(f"{path}: missing; run the stage that writes it first (dvc repro)")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        lacking = [c for c in columns if c not in (reader.fieldnames or [])]
        if lacking:
            raise InputError(f"{path}: no column {', '.join(map(repr, lacking))} in header {reader.fieldnames}")
        return [{**row, **{c: _cell(path, k + 2, c, row[c] or "", kind) for c, kind in columns.items()}}
                for k, row in enumerate(reader)]


def check_long_table(path: Path, rows: list[dict], key: str, metrics) -> None:
    """InputError naming ``path`` if some ``key`` value lacks one of ``metrics`` or has no number for it."""
    for name, scores in pivot(rows, key).items():
        lacking = [m for m in metrics if scores.get(m) is None]
        if lacking:
            raise InputError(f"{path}: {key} {name!r} has no score for {', '.join(lacking)}")


def read_png(path: Path) -> bytes:
    """The bytes of a PNG file; InputError naming it if it is missing or not a PNG."""
    if not path.is_file():
        raise InputError(f"{path}: missing; run the stage that draws it first (dvc repro)")
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise InputError(f"{path}: not a PNG file")
    return data


def is_curve(plot_id: str) -> bool:
    """A dvc.yaml plot id is a curve's title (words and spaces), or else the path of an image or folder."""
    return re.fullmatch(r"[\w.\-/]+", plot_id) is None


def image_files(plot_id: str, plots_dir: Path) -> tuple[Path, ...]:
    """The PNG files of an image or folder plot id (``plots/...``), found under ``plots_dir``.

    A ``.png`` id is one file; any other path is a folder, of which every PNG counts, in file-name order.
    """
    relative = Path(plot_id).relative_to("plots")  # the outline's images all live under plots/
    path = plots_dir / relative
    if plot_id.endswith(".png"):
        return (path,)
    if not path.is_dir():
        raise InputError(f"{path}: missing folder of images; run the stage that draws it first (dvc repro)")
    return tuple(sorted(path.glob("*.png"), key=lambda p: p.name))


def read_inputs(metrics_dir: Path, plots_dir: Path, live_dir: Path) -> tuple[Inputs, dict[Path, bytes]]:
    """Read and check every file the report uses.

    Returns
    -------
    inputs : Inputs
    png : dict of Path -> bytes
        Every image's bytes (the HTML embeds them).
    """
    sources, metrics, tables, losses = {}, {}, {}, {}
    for stem in METRIC_KEYS:
        path = metrics_dir / f"{stem}.json"
        metrics[stem], sources[stem] = check_metrics(path, stem, load_json(path, "the stage that writes it")), path.as_posix()
    for name, columns in TABLE_COLUMNS.items():
        path = plots_dir / name
        tables[name], sources[name] = read_table(path, columns), path.as_posix()
        if name in TABLE_METRICS:
            check_long_table(path, tables[name], *TABLE_METRICS[name])
    for name, relative in LOSS_FILES.items():
        path = live_dir / relative
        rows = read_table(path, {"step": int, "loss": float}, delimiter="\t")
        losses[name], sources[f"{name}_loss"] = [r["loss"] for r in rows], path.as_posix()
    paths_file = plots_dir / PATHS_FILE
    paths = load_json(paths_file, "the stage that writes it")
    if not isinstance(paths, dict) or not isinstance(paths.get("paths"), list) or not all(
            isinstance(p, dict) and isinstance(p.get("kind"), str) and isinstance(p.get("t"), list)
            for p in paths["paths"]):
        raise InputError(f"{paths_file}: expected {{'extent': x, 'paths': [{{'kind': ..., 't': [...]}}, ...]}}")
    images = {plot: image_files(plot, plots_dir) for s in SECTIONS for plot in s.plots if not is_curve(plot)}
    png = {path: read_png(path) for files in images.values() for path in files}
    return Inputs(metrics, tables, losses, paths, images, sources), png


# ----------------------------------------------------------------------------------------------
# Helpers on the loaded tables


def pivot(rows: list[dict], key: str) -> dict:
    """Long-format rows (``key, metric, score``) as ``{key value: {metric: score}}``, in row order."""
    table: dict = {}
    for row in rows:
        table.setdefault(row[key], {})[row["metric"]] = row["score"]
    return table


def setting_label(kind: str, entry: dict) -> str:
    """``intervals fact=1.5``: a sampler's best setting as in ``plots/sampling.csv``'s ``setting`` column."""
    name = next((k for k in entry if k not in HEADLINE), "")
    return setting_name(kind, name, entry.get(name))


def samplers_by_frechet(sampling: dict) -> list[tuple[str, dict]]:
    """The samplers of ``metrics/sampling.json`` (not the real baseline), lowest re-encoded Fréchet first."""
    return sorted(((k, e) for k, e in sampling.items() if k != "real"), key=lambda ke: ke[1]["reencoded_frechet"])


# ----------------------------------------------------------------------------------------------
# Findings: one function per section, numbers in, text out


def autoencoder_finding(prepare: dict, train: dict, val_losses: list[float]) -> str:
    """Data sizes, held-out PSNR, the validation curve's trend and the gap between the two losses."""
    skipped = prepare["n_skipped"]
    text = (f"The autoencoder trained on {prepare['n_train']} images; {prepare['n_holdout']} more are held out"
            f"{'' if not skipped else f' ({skipped} unreadable images were skipped)'}. "
            f"It reconstructs held-out faces with a PSNR of {fmt(train['psnr_holdout_db'])} dB, against "
            f"{fmt(train['mean_image_psnr_db'])} dB for the trivial model that answers every face with the mean "
            f"training face" + (": it learned something." if train["psnr_holdout_db"] > train["mean_image_psnr_db"]
                                else ": it learned nothing, and every later section describes noise."))
    if len(val_losses) >= 2:
        first, last, before = val_losses[0], val_losses[-1], val_losses[-2]
        text += (f" Over {len(val_losses)} epochs the fit's validation loss went from {fmt(first)} to {fmt(last)}"
                 + (f"; it still fell in the last epoch (from {fmt(before)}), so more epochs would likely "
                    "lower it further." if last < before else f"; it did not fall in the last epoch "
                                                               f"(from {fmt(before)})."))
    ratio = train["val_loss"] / train["train_loss"] if train["train_loss"] > 0 else math.inf
    verdict = ("no sign of overfitting" if ratio <= 1 + OVERFIT_MARGIN else
               "the model fits its training images better than held-out ones")
    return text + (f" The saved model's held-out loss (BatchNorm recalibrated) is {times(ratio)} the last "
                   f"training loss ({fmt(train['val_loss'])} "
                   f"against {fmt(train['train_loss'])}): {verdict} (the rule: at most {1 + OVERFIT_MARGIN:g}×).")


def components_finding(stats: dict, by_b: dict, cfg: Settings) -> str:
    """Dominant components, and which uniform [-b, b] box has the real vectors' lengths."""
    text = (f"{stats['n_dominant']} of the {cfg.latent_dim} components ({pct(stats['n_dominant'] / cfg.latent_dim)}) "
            f"are dominant: their half-width is at least {param(cfg.hw_factor)}× the median half-width "
            f"{fmt(stats['median_hw'])}, or their peak lies at least {param(cfg.mu_factor)}× the median half-width "
            f"from 0. "
            f"Real vectors are {fmt(stats['radius_mean'])} long on average.")
    best = stats["radius_best_b"]
    if best not in by_b:
        return text
    tried = sorted(by_b)
    ranked = sorted(tried, key=lambda b: by_b[b]["radius_distance"])
    ratio = by_b[best]["uniform_radius_ratio"]
    runner_up = (f"; next b = {param(ranked[1])} at {fmt(by_b[ranked[1]]['radius_distance'])}"
                 if len(ranked) > 1 else "")
    text += (f" Of the uniform [-b, b] vectors tried (b = {', '.join(map(param, tried))}), b = {param(best)} has the "
             f"radius distribution nearest the real one (Wasserstein distance {fmt(by_b[best]['radius_distance'])}"
             f"{runner_up}). Its vectors are {times(ratio)} as long as real ones (RMS over mean length)")
    if ratio > 0:  # the uniform RMS length grows linearly with b, so the lengths match at best / ratio
        text += f", so the lengths would match at b = {fmt(best / ratio)}"
    low, high = SERIES_B_RANGE
    inside = low <= best <= high
    text += (f"; b = {param(best)} is {'inside' if inside else 'outside'} the series' range "
             f"{param(low)} ≤ b ≤ {param(high)}.")
    return text + edge_note(best, tried, "b")


def correlations_finding(corr: dict, pairs: list[dict], n_vectors: int, cfg: Settings) -> str:
    """Pairs above the threshold, and whether the M-sample counts agree with the exact ones."""
    total = cfg.latent_dim * (cfg.latent_dim - 1) // 2
    text = (f"With M = {corr['M']} of the {n_vectors} training vectors, {corr['pairs_above_sample']} pairs of "
            f"components have |r| > {param(cfg.pair_threshold)}; the exact correlation of all vectors counts "
            f"{corr['pairs_above_full']} ({pct(corr['pairs_above_full'] / total)} of the {total} pairs).")
    if corr["M"] >= n_vectors:
        text += " M is not below the number of vectors, so the sample is all of them."
    error = corr["count_error_max"]
    thresholds = [r["threshold"] for r in pairs if r["full"] > 0]  # where a relative error is defined
    span = f" from {param(min(thresholds))} to {param(max(thresholds))}" if thresholds else ""
    if error <= COUNT_TOLERANCE:
        text += (f" At every threshold{span} the M-sample counts are within {param_pct(COUNT_TOLERANCE)} of the exact "
                 f"counts (largest relative error {pct(error)}): M = {corr['M']} vectors suffice to count pairs.")
    else:
        counted = [r for r in pairs if r["full"] > 0]
        worst = max(counted, key=lambda r: abs(r["sample"] - r["full"]) / r["full"], default=None)
        where = f" at |r| > {param(worst['threshold'])}" if worst else ""
        text += (f" The M-sample counts miss the exact ones by more than {param_pct(COUNT_TOLERANCE)}: by up to "
                 f"{pct(error)}{where}. M = {corr['M']} vectors are too few to count pairs reliably.")
    return text + (" A single coefficient of the M-sample differs from the exact one by at most "
                   f"{fmt(corr['sample_error_max_abs'])}.")


def centre_finding(geometry: dict, uniform_core: dict, radius_mean: float, cfg: Settings) -> str:
    """Whether the origin lies inside the core, and where uniform vectors land."""
    om, core = geometry["origin_mahalanobis"], geometry["core_radius"]
    beyond = geometry["origin_beyond_fraction"]
    text = (f"The cloud's centre lies {fmt(geometry['centre_norm'])} from the origin (real vectors are "
            f"{fmt(radius_mean)} long on average). In the cloud's own spread the origin is at Mahalanobis distance "
            f"{fmt(om)}, {times(om / core)} the core radius {fmt(core)} (the distance within which "
            f"{param_pct(cfg.core_quantile)} of the real vectors lie): the origin lies "
            f"{'outside' if om > core else 'inside'} the core.")
    if beyond >= 1.0:
        text += " Every real vector is nearer the centre than the origin is: the origin lies beyond the cloud's edge."
    else:
        text += f" {pct(beyond)} of the real vectors are nearer the centre than the origin is."
    if uniform_core:
        shares = {b: s["in_core"] for b, s in uniform_core.items()}
        if max(shares.values()) == 0:
            text += f" No uniform [-b, b] vector (b = {', '.join(map(param, shares))}) lands in the core."
        else:
            best = max(shares, key=shares.get)
            text += (f" Of the uniform [-b, b] vectors, b = {param(best)} puts the most in the core: "
                     f"{pct(shares[best])}.")
    return text


def paths_finding(paths: dict) -> str:
    """What the strips show; this part has no metric."""
    kinds: dict[str, list] = {}
    for p in paths["paths"]:
        kinds.setdefault(p["kind"], []).append(p)
    names = {"principal_axes": "principal axes", "dominant_components": "dominant components",
             "interpolation": "straight lines between two real vectors"}
    parts = [f"{len(v)} along {names.get(k, k.replace('_', ' '))}" for k, v in kinds.items()]
    steps = sorted({len(p["t"]) for p in paths["paths"]})
    extent = paths.get("extent")
    if not parts:
        return "No path was drawn (params paths)."
    return (f"{sum(map(len, kinds.values()))} strips of decoded faces: {listing(parts)}"
            + (f"; walks from the centre reach ±{param(extent)} standard deviations of the cloud along their "
               "direction" if _is_number(extent) else "")
            + f", {'/'.join(map(str, steps))} faces per strip. This part has no metric: judge the faces by eye.")


def intervals_finding(sampling: dict, rows: list[dict], cfg: Settings) -> str:
    """The best interval width, its share in the core, and what ignoring correlations costs."""
    real = sampling["real"]["reencoded_frechet"]
    text = ""
    if "intervals" in sampling:
        best = sampling["intervals"]
        mine = [r for r in rows if r["sampler"] == "intervals"]
        top = max(mine, key=lambda r: r["in_core"], default=None)
        value = next(v for k, v in best.items() if k not in HEADLINE)
        text = (f"Of the interval widths tried, {setting_label('intervals', best)} comes nearest the held-out vectors "
                f"after a decode and re-encode: Fréchet distance {fmt(best['reencoded_frechet'])}, "
                f"{times(best['reencoded_frechet'] / real)} the real baseline's {fmt(real)}."
                + edge_note(value, {r["value"] for r in mine}, "fact"))
        if top is not None:
            core = (f"the core (Mahalanobis distance within the central {param_pct(cfg.sampler_core_quantile)} "
                    "of the held-out vectors' distances)")
            text += (f" None of the interval vectors lies in {core}." if top["in_core"] == 0 else
                     f" At most {pct(top['in_core'])} of the interval vectors ({top['setting']}) lie in {core}.")
    else:
        text = "The intervals sampler is off (params sample.intervals)."
    independent = [(k, sampling[k]) for k in INDEPENDENT if k in sampling]
    correlated = [(k, sampling[k]) for k in CORRELATED if k in sampling]
    if independent and correlated:
        ind = min(independent, key=lambda ke: ke[1]["reencoded_frechet"])
        cor = min(correlated, key=lambda ke: ke[1]["reencoded_frechet"])
        f_ind, f_cor = ind[1]["reencoded_frechet"], cor[1]["reencoded_frechet"]
        text += (f" Samplers that ignore correlations reach at best {fmt(f_ind)} ({setting_label(*ind)}), samplers "
                 f"that model them {fmt(f_cor)} ({setting_label(*cor)}): "
                 + (f"ignoring correlations costs a factor {fmt(f_ind / f_cor)} in Fréchet distance."
                    if f_ind > f_cor else "here ignoring correlations does not hurt."))
    return text


def normality_finding(normality: dict, cfg: Settings, n_vectors: int) -> str:
    """The shares of components and principal axes that pass the normality test, on the
    ``normality.test_size`` vectors drawn, or on all ``n_vectors`` where there are fewer."""
    comp, axis = normality["component_normal_fraction"], normality["axis_normal_fraction"]
    tested = min(cfg.test_size, n_vectors)
    text = (f"At alpha = {param(cfg.alpha)} on {tested} vectors, {pct(comp)} of the components and {pct(axis)} "
            f"of the principal axes pass D'Agostino-Pearson's normality test.")
    if comp >= 0.5 and axis >= 0.5:
        text += " Most pass: the cloud is consistent with a multivariate normal."
    elif comp < 0.5 and axis < 0.5:
        text += (" Most fail: the cloud is not exactly a multivariate normal; the KS distances say how far each "
                 f"is from one (median over the axes {fmt(normality['axis_median_ks'])}).")
    else:
        text += f" Most {'components' if comp >= 0.5 else 'principal axes'} pass, most of the others fail."
    return text


def axes_finding(geometry: dict, targets: dict, latent_dim: int) -> str:
    """How many principal axes explain the variance targets."""
    text = f"The first principal axis carries {pct(geometry['top_axis_variance_fraction'])} of the variance."
    for target, scores in sorted(targets.items()):
        n = int(scores["axes"])
        text += f" {n} of the {latent_dim} axes ({pct(n / latent_dim)}) explain {param_pct(target)} of it."
    return text


def attributes_finding(attributes: dict, top: list[dict]) -> str:
    """Which attribute the strongest component (and the first axis) follows; the judge's accuracy."""
    components = [r for r in top if r["kind"] == "component"]
    r = attributes["strongest_component_r"]
    if not components or r is None:
        text = "No attribute was correlated with the components (no attributes in the index)."
    else:
        row = min(components, key=lambda row: abs(row["r"] - r))  # the component the metric is about
        text = (f"The component most tied to an attribute is z[{row['index']}]"
                f"{' (a dominant one)' if row['dominant'] == '1' else ''}: it follows {row['attribute']} with "
                f"r = {fmt(r)}, so the attribute explains {pct(r * r)} of its variance.")
        first = next((a for a in top if a["kind"] == "axis" and a["index"] == 1), None)
        if first is not None:
            text += f" The first principal axis follows {first['attribute']} (r = {fmt(first['r'])})."
    judge = attributes["judge_mean_balanced_accuracy"]
    if judge is None:
        return text + " No attribute direction was judged."
    return text + (f" A pixel classifier fitted on decoded faces recognises the binary attributes in other decoded "
                   f"faces with a mean balanced accuracy of {fmt(judge)} (chance: 0.5).")


def neighbours_finding(neighbours: dict, copies: dict) -> str:
    """Whether any sampler setting makes near-copies of training vectors."""
    median, threshold = neighbours["real_nn_median"], neighbours["near_copy_threshold"]
    text = (f"A training vector's nearest other training vector lies {fmt(median)} away (median); a generated "
            f"vector nearer a training vector than {fmt(threshold)} counts as a near-copy.")
    if not copies:
        return text + " No sampler setting was drawn."
    copying = {s: c["near_copy_fraction"] for s, c in copies.items() if c["near_copy_fraction"] > COPY_SHARE}
    named = listing([f"{s} ({pct(f)})" for s, f in sorted(copying.items(), key=lambda sf: -sf[1])]) if copying else ""
    if len(copying) == 1:
        text += (f" Only {named} has more than {param_pct(COPY_SHARE)} near-copies: it makes near-copies of "
                 "training vectors.")
    elif copying:
        text += (f" {len(copying)} settings have more than {param_pct(COPY_SHARE)} near-copies, {named}: they "
                 "make near-copies of training vectors.")
    else:
        worst = max(copies, key=lambda s: copies[s]["near_copy_fraction"])
        text += (f" No setting has more than {param_pct(COPY_SHARE)} near-copies (the most: {worst}, "
                 f"{pct(copies[worst]['near_copy_fraction'])}).")
    closest = min(copies, key=lambda s: copies[s]["ratio_to_real"])
    ratio = copies[closest]["ratio_to_real"]
    return text + (f" The setting whose vectors lie nearest the training vectors is {closest}: median distance "
                   f"{times(ratio)} the training vectors' own" + (", closer than training vectors are to each other."
                                                                  if ratio < 1 else "."))


def setting_row(rows: list[dict], kind: str, entry: dict) -> dict:
    """The ``plots/sampling.csv`` row of a sampler's best setting (``real``: the baseline's)."""
    label = "real" if kind == "real" else setting_label(kind, entry)
    found = [r for r in rows if r["setting"] == label]
    if len(found) != 1:
        raise InputError(f"plots/sampling.csv: no single row for setting {label!r}, the best of sampling.{kind} in "
                         "metrics/sampling.json; re-run evaluate (dvc repro)")
    return found[0]


def new_faces_verdict(winner: str, rows: list[dict], copies: dict, real: float) -> str:
    """If the lowest Fréchet distance belongs to a setting that copies (more than COPY_SHARE of its
    vectors are near-copies), the best setting that does not: the best new faces."""
    share = copies.get(winner, {}).get("near_copy_fraction")
    if share is None or share <= COPY_SHARE:
        return ""
    text = (f" But {pct(share)} of its vectors are near-copies of training vectors (Neighbours above): it "
            "reproduces faces rather than making new ones.")
    top = best_new_faces(rows, copies)
    if top is None:
        return text + f" Every setting makes more than {param_pct(COPY_SHARE)} near-copies."
    return text + (f" The best new faces, among the settings with at most {param_pct(COPY_SHARE)} near-copies, come "
                   f"from {top['setting']}: Fréchet distance {fmt(top['reencoded_frechet'])}, "
                   f"{times(top['reencoded_frechet'] / real)} the real baseline's.")


def makes_new_faces(row: dict, copies: dict) -> bool:
    """Whether a setting's row has at most COPY_SHARE near-copies (``copies``: ``near_copies.csv`` by setting)."""
    return row["setting"] in copies and copies[row["setting"]]["near_copy_fraction"] <= COPY_SHARE


def best_new_faces(rows: list[dict], copies: dict) -> dict | None:
    """The row of ``plots/sampling.csv`` with the lowest re-encoded Fréchet distance among the
    settings that make new faces (:func:`makes_new_faces`)."""
    return min((r for r in rows if makes_new_faces(r, copies)), key=lambda r: r["reencoded_frechet"], default=None)


def interval(low: float, high: float, level: float) -> str:
    """``(90% interval 1.2 to 3.4)``."""
    return f"({param_pct(level)} interval {fmt(low)} to {fmt(high)})"


def lead_verdict(top: dict, rows: list[dict], copies: dict, differences: dict, level: float) -> str:
    """By how much the best new faces (row ``top``) beat the best new faces of every other sampler
    and the real baseline, and which of those differences exceed their paired bootstrap interval
    (``differences``: ``frechet_differences.csv`` as {(setting, versus): row})."""
    name = top["setting"]
    rivals = {}
    for r in rows:  # each other sampler's best setting that does not copy
        if r["sampler"] not in ("real", top["sampler"]) and makes_new_faces(r, copies):
            if r["sampler"] not in rivals or r["reencoded_frechet"] < rivals[r["sampler"]]["reencoded_frechet"]:
                rivals[r["sampler"]] = r
    text = (f" The best new faces' Fréchet distance, {fmt(top['reencoded_frechet'])} for {name}, has the "
            f"{param_pct(level)} bootstrap interval {fmt(top['reencoded_frechet_low'])} to "
            f"{fmt(top['reencoded_frechet_high'])}.")
    ranked = sorted(rivals.values(), key=lambda r: r["reencoded_frechet"])
    if ranked:
        second = ranked[0]
        d = differences[(second["setting"], name)]
        text += (f" The next sampler's best new faces, {second['setting']}, score {fmt(second['reencoded_frechet'])}: "
                 f"{name} leads by {fmt(d['difference'])} {interval(d['low'], d['high'], level)}, "
                 + ("beyond the noise of the two sample sets and the reference."
                    if d["low"] > 0 else "within the noise: these vectors cannot tell the two apart."))
        beaten = [r["setting"] for r in ranked if differences[(r["setting"], name)]["low"] > 0]
        tied = [r["setting"] for r in ranked if differences[(r["setting"], name)]["low"] <= 0]
        text += (f" Of the other samplers' best new faces, {len(beaten)} {'is' if len(beaten) == 1 else 'are'} worse "
                 "beyond the noise"
                 + (f" and {', '.join(tied)} within it." if tied else "."))
    d = differences[(name, "real")]
    text += (f" Against the real baseline the gap is {fmt(d['difference'])} {interval(d['low'], d['high'], level)}: "
             + ("real training vectors still score better beyond the noise." if d["low"] > 0 else
                "within the noise of what real training vectors score."))
    return text


def samplers_finding(sampling: dict, mixture: dict | None, rows: list[dict], copies: dict | None = None,
                     differences: dict | None = None, level: float = 0.9) -> str:
    """Which sampler's re-encoded faces are nearest held-out ones, against the real baseline, which
    setting does best among those that do not copy training vectors (``copies``: the neighbours
    stage's ``near_copies.csv`` by setting), and by how much, against the noise (``differences``:
    ``frechet_differences.csv`` by (setting, versus), with intervals at ``level``)."""
    real = sampling["real"]
    ranked = samplers_by_frechet(sampling)
    if not ranked:
        return "No sampler is on (params sample)."
    (kind, best), rest = ranked[0], ranked[1:]
    ratio = best["reencoded_frechet"] / real["reencoded_frechet"]
    mine, theirs = setting_row(rows, kind, best), setting_row(rows, "real", real)
    text = (f"The lowest re-encoded Fréchet distance comes from {setting_label(kind, best)}: "
            f"{fmt(best['reencoded_frechet'])}, {times(ratio)} the real baseline's {fmt(real['reencoded_frechet'])} "
            f"(training vectors, decoded, re-encoded and compared with the held-out vectors the same way). Its "
            f"precision is {fmt(mine['reencoded_precision'])} and its recall {fmt(mine['reencoded_recall'])}, against "
            f"{fmt(theirs['reencoded_precision'])} and {fmt(theirs['reencoded_recall'])} for the training vectors.")
    text += new_faces_verdict(setting_label(kind, best), rows, copies or {}, real["reencoded_frechet"])
    top = best_new_faces(rows, copies or {})
    if top is not None and differences:
        text += lead_verdict(top, rows, copies, differences, level)
    if rest:
        second, last = rest[0], rest[-1]
        text += (f" Next: {setting_label(*second)} ({fmt(second[1]['reencoded_frechet'])}); farthest: "
                 f"{setting_label(*last)} ({fmt(last[1]['reencoded_frechet'])}).")
    if mixture is not None:
        gap = mixture["overfit_gap"]
        text += (f" The Gaussian mixture with the best held-out fit (k = {param(mixture['k'])}) has a mean "
                 f"log-likelihood of {fmt(mixture['log_likelihood_holdout'])} per held-out vector and "
                 f"{fmt(mixture['log_likelihood_fitted'])} per fitted one: "
                 + (f"it fits its own vectors better by {fmt(gap)}." if gap > 0 else
                    "it fits held-out vectors as well as its own."))
    return text


# ----------------------------------------------------------------------------------------------
# Sections: finding, key numbers and tables from the inputs


def _numbers(inp: Inputs, stem: str, labels: dict[str, str]) -> tuple[Number, ...]:
    """Key numbers of one metrics file: ``labels`` maps each key to its label."""
    return tuple(Number(label, inp.metrics[stem][key], inp.sources[stem], f"{stem}.{key}")
                 for key, label in labels.items())


def _long_table(inp: Inputs, name: str, key: str, caption: str, key_label: str) -> Table:
    """A long-format table (``key, metric, score``) with one row per key value, one column per metric."""
    wide = pivot(inp.tables[name], key)
    metrics = list(dict.fromkeys(m for scores in wide.values() for m in scores))
    return Table(caption, inp.sources[name], (key_label, *metrics),
                 tuple((param(k), *(scores.get(m) for m in metrics)) for k, scores in wide.items()))


def autoencoder_section(inp: Inputs, cfg: Settings):
    m = inp.metrics
    finding = autoencoder_finding(m["prepare"], m["train"], inp.losses["val"])
    numbers = (_numbers(inp, "prepare", {"n_train": "Training images", "n_holdout": "Held-out images",
                                         "n_skipped": "Unreadable images skipped"})
               + _numbers(inp, "train", {"train_loss": "Final training loss", "val_loss": "Final validation loss",
                                         "psnr_holdout_db": "Held-out PSNR (dB)",
                                         "mean_image_psnr_db": "PSNR of the mean training face (dB)"}))
    curves = (inp.losses["train"], inp.losses["val"])
    epochs = range(1, max(map(len, curves)) + 1)
    table = Table("Loss per epoch", f"{inp.sources['train_loss']}, {inp.sources['val_loss']}",
                  ("epoch", "training loss", "validation loss"),
                  tuple((e, *(c[e - 1] if e <= len(c) else None for c in curves)) for e in epochs))
    return finding, numbers, (table,)


def components_section(inp: Inputs, cfg: Settings):
    by_b = pivot(inp.tables["radius_by_b.csv"], "b")
    numbers = _numbers(inp, "stats", {"n_dominant": "Dominant components", "median_hw": "Median half-width hw",
                                      "radius_mean": "Mean radius of real vectors",
                                      "radius_best_b": "Best b for uniform radii"})
    table = _long_table(inp, "radius_by_b.csv", "b", "Uniform [-b, b] vectors against the real radii", "b")
    return components_finding(inp.metrics["stats"], by_b, cfg), numbers, (table,)


def correlations_section(inp: Inputs, cfg: Settings):
    rows = inp.tables["pairs_above.csv"]
    n_vectors = inp.metrics["prepare"]["n_train"]
    numbers = _numbers(inp, "correlation", {
        "M": "Vectors in the sample M",
        "pairs_above_sample": f"Pairs with |r| > {param(cfg.pair_threshold)} (M-sample)",
        "pairs_above_full": f"Pairs with |r| > {param(cfg.pair_threshold)} (all vectors)",
        "count_error_max": "Largest relative error of the counts", "sample_error_max_abs": "Largest |r_M - r|"})
    table = Table("Pairs above each threshold", inp.sources["pairs_above.csv"],
                  ("|r| above", "M-sample", "all vectors", "relative error"),
                  tuple((param(r["threshold"]), r["sample"], r["full"],
                         abs(r["sample"] - r["full"]) / r["full"] if r["full"] else None) for r in rows))
    return correlations_finding(inp.metrics["correlation"], rows, n_vectors, cfg), numbers, (table,)


def centre_section(inp: Inputs, cfg: Settings):
    uniform_core = pivot(inp.tables["uniform_core.csv"], "b")
    numbers = _numbers(inp, "geometry", {
        "centre_norm": "Distance of the centre from the origin", "origin_mahalanobis": "Origin's Mahalanobis distance",
        "core_radius": f"Core radius ({param_pct(cfg.core_quantile)} of real vectors)",
        "origin_beyond_fraction": "Share of real vectors nearer the centre than the origin"})
    table = _long_table(inp, "uniform_core.csv", "b", "Share of uniform [-b, b] vectors in the core", "b")
    finding = centre_finding(inp.metrics["geometry"], uniform_core, inp.metrics["stats"]["radius_mean"], cfg)
    return finding, numbers, (table,)


def paths_section(inp: Inputs, cfg: Settings):
    return paths_finding(inp.paths), (), ()


def intervals_section(inp: Inputs, cfg: Settings):
    rows = inp.tables["sampling.csv"]
    mine = [r for r in rows if r["sampler"] == "intervals"]
    table = Table("The interval sampler's settings", inp.sources["sampling.csv"],
                  ("setting", "in core", "Fréchet (re-encoded)", "precision", "recall"),
                  tuple((r["setting"], r["in_core"], *(r[k] for k in QUALITY)) for r in mine))
    return intervals_finding(inp.metrics["sampling"], rows, cfg), (), (table,) if mine else ()


def normality_section(inp: Inputs, cfg: Settings):
    numbers = _numbers(inp, "normality", {"component_normal_fraction": "Share of components that pass",
                                          "axis_normal_fraction": "Share of principal axes that pass",
                                          "axis_median_ks": "Median KS distance of an axis"})
    table = _long_table(inp, "normality_summary.csv", "kind", "Normality of components and principal axes", "kind")
    # one column per kind reads better: transpose
    kinds = [row[0] for row in table.rows]
    transposed = Table(table.caption, table.source, ("statistic", *kinds),
                       tuple((metric, *(row[c] for row in table.rows))
                             for c, metric in enumerate(table.header[1:], start=1)))
    return normality_finding(inp.metrics["normality"], cfg, inp.metrics["prepare"]["n_train"]), numbers, (transposed,)


def axes_section(inp: Inputs, cfg: Settings):
    targets = pivot(inp.tables["variance_targets.csv"], "target")
    numbers = _numbers(inp, "geometry", {"top_axis_variance_fraction": "Variance share of the first axis"})
    table = Table("Principal axes needed for a share of the variance", inp.sources["variance_targets.csv"],
                  ("share of the variance", "axes"), tuple((param_pct(t), int(s["axes"])) for t, s in targets.items()))
    return axes_finding(inp.metrics["geometry"], targets, cfg.latent_dim), numbers, (table,)


def attributes_section(inp: Inputs, cfg: Settings):
    top = inp.tables["top_attributes.csv"]
    numbers = _numbers(inp, "attributes", {"strongest_component_r": "Strongest component-attribute r",
                                           "judge_mean_balanced_accuracy": "Judge's mean balanced accuracy"})
    axes = [r for r in top if r["kind"] == "axis"][:5]
    table = Table("The attribute each leading principal axis follows", inp.sources["top_attributes.csv"],
                  ("axis", "attribute", "r"), tuple((r["index"], r["attribute"], r["r"]) for r in axes))
    return attributes_finding(inp.metrics["attributes"], top), numbers, (table,) if axes else ()


def neighbours_section(inp: Inputs, cfg: Settings):
    copies = pivot(inp.tables["near_copies.csv"], "setting")
    numbers = _numbers(inp, "neighbours", {"real_nn_median": "Median distance between nearest training vectors",
                                           "near_copy_threshold": "Near-copy threshold"})
    table = _long_table(inp, "near_copies.csv", "setting", "Nearest training vector of each setting's vectors",
                        "setting")
    return neighbours_finding(inp.metrics["neighbours"], copies), numbers, (table,) if copies else ()


def conditional_section(inp: Inputs, cfg: Settings):
    rows = inp.tables["conditional.csv"]
    by = {}  # attribute -> drawn -> {metric: score}
    for r in rows:
        by.setdefault(r["attribute"], {}).setdefault(r["drawn"], {})[r["metric"]] = r["score"]
    numbers = _numbers(inp, "conditional", {"share_gap": "Judge's share, drawn with minus without (mean)",
                                            "real_share_gap": "Judge's share, real with minus without (mean)",
                                            "frechet": "Fréchet distance of each class's draws (mean)",
                                            "judge_mean_balanced_accuracy": "The judge's balanced accuracy (mean)"})
    drawn = ("with", "unconditional", "without", "real_with", "real_without")
    table = Table("The judge's share of faces showing the attribute, and the Fréchet distance of each class's draws "
                  "to held-out vectors of the class", inp.sources["conditional.csv"],
                  ("attribute", *(f"share: {d.replace('_', ' ')}" for d in drawn), "Fréchet: with", "Fréchet: without"),
                  tuple((a, *(d.get(k, {}).get("judge_share") for k in drawn),
                         d["with"].get("frechet"), d["without"].get("frechet")) for a, d in by.items()))
    return conditional_finding(inp.metrics["conditional"], by), numbers, (table,) if by else ()


def conditional_finding(metrics: dict, by: dict) -> str:
    """How often the judge sees the attribute on faces drawn with it, without it, unconditionally and
    on real held-out faces (``by``: attribute -> drawn -> metrics of ``plots/conditional.csv``)."""
    if not by:
        return "No face was drawn with or without an attribute (params conditional.attributes, or no attributes)."
    text = " ".join(
        f"Drawn with {a}, {pct(d['with']['judge_share'])} of the decoded faces show it to the judge, against "
        f"{pct(d['unconditional']['judge_share'])} for the same sampler fitted to every vector and "
        f"{pct(d['without']['judge_share'])} drawn without it (real held-out faces: "
        f"{pct(d['real_with']['judge_share'])} with, {pct(d['real_without']['judge_share'])} without)."
        for a, d in by.items())
    gap, real_gap = metrics["share_gap"], metrics["real_share_gap"]
    if gap is not None and real_gap is not None:
        text += (f" On average the draws' shares differ by {fmt(100 * gap)} points between the classes, real faces' "
                 f"by {fmt(100 * real_gap)}: " + ("the classes' densities separate the faces as well as real data does."
                                                  if gap >= real_gap else
                                                  f"the draws keep {pct(gap / real_gap) if real_gap > 0 else 'n/a'} "
                                                  "of the real separation."))
    accuracy = metrics["judge_mean_balanced_accuracy"]
    if accuracy is not None:
        text += (f" The judge's mean balanced accuracy on decoded training faces is {fmt(accuracy)} (0.5: chance), "
                 "which bounds how far apart any shares can be.")
    return text


def samplers_section(inp: Inputs, cfg: Settings):
    sampling, mixture = inp.metrics["sampling"], inp.metrics["sample"].get(MIXTURE)
    real = sampling["real"]["reencoded_frechet"]
    rows = inp.tables["sampling.csv"]
    level = param_pct(cfg.interval_level)
    best = Table(f"Each sampler's best setting (lowest re-encoded Fréchet distance; its {level} bootstrap interval, "
                 "precision and recall from plots/sampling.csv)", inp.sources["sampling"],
                 ("sampler", "best setting", "Fréchet", f"{level} interval", "× real", "precision", "recall"),
                 tuple((k, setting_label(k, e), e["reencoded_frechet"],
                        f"{fmt(r['reencoded_frechet_low'])} to {fmt(r['reencoded_frechet_high'])}",
                        e["reencoded_frechet"] / real, r["reencoded_precision"], r["reencoded_recall"])
                       for k, e in [("real", sampling["real"]), *samplers_by_frechet(sampling)]
                       for r in [setting_row(rows, k, e)]))
    extra = ["fid"] if rows and "fid" in rows[0] else []
    every = Table(f"Every setting (in core: Mahalanobis distance within the central "
                  f"{param_pct(cfg.sampler_core_quantile)} of the held-out vectors')",
                  inp.sources["sampling.csv"],
                  ("setting", "in core", "Fréchet (latent)", "Fréchet (re-encoded)", "precision", "recall", *extra),
                  tuple((r["setting"], r["in_core"], r["latent_frechet"], *(r[k] for k in QUALITY),
                         *(float(r[k]) if r[k] else None for k in extra)) for r in rows))
    tables = (best, every)
    if inp.tables["density_fit.csv"]:
        tables += (_long_table(inp, "density_fit.csv", "setting",
                               "Densities fitted ex post: mean log-likelihood per vector (nats) of the vectors fitted to and of held-out ones", "setting"),)
    shown = [("real", sampling["real"]), *samplers_by_frechet(sampling)[:1]]  # the baseline and the winner
    numbers = tuple(Number(f"Re-encoded Fréchet distance, {setting_label(kind, e)}", e["reencoded_frechet"],
                           inp.sources["sampling"], f"sampling.{kind}.reencoded_frechet") for kind, e in shown)
    if mixture is not None:
        numbers += tuple(Number(label, mixture[key], inp.sources["sample"], f"sample.{MIXTURE}.{key}") for key, label in
                         (("k", "Mixture components k"),
                          ("log_likelihood_holdout", "Mixture held-out log-likelihood (mean per vector)"),
                          ("overfit_gap", "Mixture overfit gap")))
    copies = pivot(inp.tables["near_copies.csv"], "setting")
    differences = {(r["setting"], r["versus"]): r for r in inp.tables["frechet_differences.csv"]}
    return (samplers_finding(sampling, mixture, rows, copies, differences, cfg.interval_level), numbers, tables)


BUILDERS: dict[str, Callable] = {
    "autoencoder": autoencoder_section, "components": components_section, "correlations": correlations_section,
    "centre": centre_section, "paths": paths_section, "intervals": intervals_section,
    "normality": normality_section, "axes": axes_section, "attributes": attributes_section,
    "neighbours": neighbours_section, "samplers": samplers_section, "conditional": conditional_section,
}


def figures(section: Section, images: dict) -> tuple[Figure, ...]:
    """The section's plots in outline order: each image, each folder's images, each curve's pointer."""
    out: list[Figure] = []
    for plot in section.plots:
        if is_curve(plot):
            out.append(Curve(plot))
        else:
            files = images[plot]
            out += [Image(plot if plot.endswith(".png") else f"{plot}/{f.name}", f) for f in files]
    return tuple(out)


def build_document(inp: Inputs, cfg: Settings) -> Document:
    """The report of every outline section, in order.

    Parameters
    ----------
    inp : Inputs
        What :func:`read_inputs` read.
    cfg : Settings
        The params the findings quote.

    Returns
    -------
    doc : Document
        One :class:`Part` per section of :data:`latentspace.outline.SECTIONS`, in order.

    Raises
    ------
    KeyError
        A section of the outline has no builder in :data:`BUILDERS` (add one with its finding).
    """
    parts = []
    for section in SECTIONS:
        finding, numbers, tables = BUILDERS[section.key](inp, cfg)
        parts.append(Part(section, finding, tuple(numbers), tuple(tables), figures(section, inp.images)))
    preface = ("Generated by the `report` stage (`stages/report.py`) from `metrics/`, `plots/` and `dvclive/`: every "
               "number is read from those files and every finding is written from them by a rule in "
               "`src/latentspace/report.py`. Do not edit by hand; run `dvc repro report`. Curves are drawn by "
               "`dvc plots show` (interactive, and `dvc plots diff` compares revisions).")
    return Document("The latent space of a face autoencoder: report", preface, tuple(parts))


# ----------------------------------------------------------------------------------------------
# Rendering


def cell(value) -> str:
    """A table cell as text: numbers through :func:`fmt`, text as it is."""
    return value if isinstance(value, str) else fmt(value)


def md_escape(text: str) -> str:
    """Text safe in Markdown paragraphs and table cells (GitHub and GitLab flavoured)."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text)


def md_anchor(title: str) -> str:
    """The anchor GitHub and GitLab give a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _md_table(header, rows) -> list[str]:
    header = list(header)
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def render_markdown(doc: Document, out_dir: Path) -> str:
    """The report as GitHub/GitLab Markdown.

    Parameters
    ----------
    doc : Document
    out_dir : Path
        The folder the Markdown file goes to: images are linked relative to it (``../plots/radii.png``).

    Returns
    -------
    markdown : str
    """
    lines = [f"# {md_escape(doc.title)}", "", doc.preface, "", "## Contents", ""]
    lines += [f"- [{md_escape(p.section.title)}](#{md_anchor(p.section.title)})" for p in doc.parts] + [""]
    for part in doc.parts:
        lines += [f"## {md_escape(part.section.title)}", "", f"*{md_escape(part.section.question)}*", "",
                  f"**Finding.** {md_escape(part.finding)}", ""]
        if part.numbers:
            lines += _md_table(("Key number", "Value", "Source"),
                               ((md_escape(n.label), n.text, f"`{n.source}` `{n.key}`") for n in part.numbers))
        for table in part.tables:
            lines += [f"**{md_escape(table.caption)}** (from `{table.source}`)", ""]
            lines += _md_table(map(md_escape, table.header),
                               ([md_escape(cell(v)) for v in row] for row in table.rows))
        for fig in part.figures:
            if isinstance(fig, Curve):
                lines += [f"*Curve \"{md_escape(fig.title)}\": run `dvc plots show` to draw it.*", ""]
            else:
                link = Path(os.path.relpath(os.path.abspath(fig.path), os.path.abspath(out_dir))).as_posix()
                lines += [f"![{md_escape(fig.caption)}]({link})", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0 auto; padding: 0 24px 48px; max-width: 1100px; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 24px 0 8px; }
h2 { font-size: 1.3em; margin: 40px 0 4px; padding-top: 8px; border-top: 2px solid #ccc; }
p.question { font-style: italic; color: #555; margin: 0 0 12px; }
p.finding { background: #f4f7fb; border-left: 4px solid #1a5fb4; padding: 8px 12px; }
nav ol { columns: 2; }
a { color: #1a5fb4; text-decoration: none; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; }
code { font-size: 0.9em; color: #555; }
figure { margin: 12px 0; }
figure img { max-width: 100%; height: auto; }
figcaption, p.curve { font-family: monospace; color: #555; font-size: 0.9em; }
"""


def _html_cell(value) -> str:
    numeric = "" if isinstance(value, str) else ' class="n"'
    return f"<td{numeric}>{html.escape(cell(value))}</td>"


def _html_table(caption: str, header, rows) -> str:
    """A table; ``caption`` is HTML already, header and cells are escaped here."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(map(_html_cell, row)) + "</tr>\n" for row in rows)
    return f"<table>\n<caption>{caption}</caption>\n<tr>{head}</tr>\n{body}</table>\n"


def code_spans(text: str) -> str:
    """Markdown code spans (`` `x` ``) of escaped text as ``<code>x</code>``."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def render_html(doc: Document, png: dict[Path, bytes]) -> str:
    """The report as one self-contained HTML file.

    Parameters
    ----------
    doc : Document
    png : dict of Path -> bytes
        The bytes of every :class:`Image` of ``doc``, embedded as ``data:image/png;base64`` URIs.

    Returns
    -------
    html : str
        Inline CSS, no script, no link to anything outside the file (only ``#section`` anchors).
    """
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(doc.title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
           f"<h1>{e(doc.title)}</h1>", f"<p>{code_spans(e(doc.preface))}</p>", "<nav><ol>"]
    out += [f'<li><a href="#{e(p.section.key)}">{e(p.section.title)}</a></li>' for p in doc.parts]
    out.append("</ol></nav>")
    for part in doc.parts:
        out += [f'<section id="{e(part.section.key)}">', f"<h2>{e(part.section.title)}</h2>",
                f'<p class="question">{e(part.section.question)}</p>',
                f'<p class="finding"><strong>Finding.</strong> {e(part.finding)}</p>']
        if part.numbers:
            out.append(_html_table("Key numbers", ("Key number", "Value", "Source"),
                                   ((n.label, n.value, f"{n.source}: {n.key}") for n in part.numbers)))
        for t in part.tables:
            out.append(_html_table(f"{e(t.caption)} <code>{e(t.source)}</code>", t.header, t.rows))
        for fig in part.figures:
            if isinstance(fig, Curve):
                out.append(f'<p class="curve">Curve "{e(fig.title)}": run <code>dvc plots show</code> to draw it.</p>')
            else:
                data = base64.b64encode(png[fig.path]).decode("ascii")
                out.append(f'<figure><img src="data:image/png;base64,{data}" alt="{e(fig.caption)}">'
                           f"<figcaption>{e(fig.caption)}</figcaption></figure>")
        out.append("</section>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
