"""What the report reads, and how it checks it: the only functions of the report that touch files.

The metrics files must hold :data:`METRIC_KEYS`, the plot-data files :data:`TABLE_COLUMNS` (and the
long-format ones every metric of :data:`TABLE_METRICS` for each row key); :func:`read_inputs` reads
them, dvclive's loss curves and the outline's images into :class:`Inputs`. A missing or malformed
file is an :class:`~latentspace.io.InputError` naming it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from latentspace.io import InputError, load_json
from latentspace.outline import SECTIONS

HEADLINE = ("reencoded_frechet",)  # metrics/sampling.json: each sampler's best setting, by this score
QUALITY = ("reencoded_frechet", "reencoded_precision", "reencoded_recall")  # plots/sampling.csv, every setting

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

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


def is_number(value) -> bool:
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
        if not (is_number(value) or (value is None and (stem, key) in NULLABLE)):
            raise InputError(f"{path}: {stem}.{key} must be a number, got {value!r}")
    if stem == "sampling":
        _check_sampling(path, numbers)
    if stem == "sample" and MIXTURE in numbers:
        _check_entry(path, f"sample.{MIXTURE}", numbers[MIXTURE], MIXTURE_KEYS)
    return numbers


def _check_entry(path: Path, name: str, entry, keys) -> None:
    if not isinstance(entry, dict) or not all(is_number(entry.get(k)) for k in keys):
        raise InputError(f"{path}: {name} must hold the numbers {', '.join(keys)}, got {entry!r}")


def _check_sampling(path: Path, numbers: dict) -> None:
    """``real`` with the :data:`HEADLINE` scores; every sampler with them and one param."""
    _check_entry(path, "sampling.real", numbers.get("real"), HEADLINE)
    for kind, entry in numbers.items():
        _check_entry(path, f"sampling.{kind}", entry, HEADLINE)
        extra = [k for k in entry if k not in HEADLINE]
        if kind != "real" and (len(extra) != 1 or not is_number(entry[extra[0]])):
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


def pivot(rows: list[dict], key: str) -> dict:
    """Long-format rows (``key, metric, score``) as ``{key value: {metric: score}}``, in row order."""
    table: dict = {}
    for row in rows:
        table.setdefault(row[key], {})[row["metric"]] = row["score"]
    return table
