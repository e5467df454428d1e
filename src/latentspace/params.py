"""Load and validate ``params.yaml`` against a schema that rejects unknown keys.

Every error is a one-line :class:`ParamsError` naming the dotted key, the value and what
is allowed, e.g. ``params.yaml: sample.uniform.b[1] = -1.0: must be > 0``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ParamsError(ValueError):
    """A parameter is unknown, missing, of the wrong type or out of range."""


@dataclass(frozen=True)
class Number:
    kind: type  # int or float
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is not allowed

    def check(self, key: str, value: Any) -> Any:
        # bool is an int in Python; a YAML `true` is never a valid number here.
        ok = isinstance(value, int) if self.kind is int else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            _fail(key, value, f"must be {'an integer' if self.kind is int else 'a number'}")
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            _fail(key, value, f"must be {'>' if self.low_open else '>='} {self.low}")
        if self.high is not None and value > self.high:
            _fail(key, value, f"must be <= {self.high}")
        return float(value) if self.kind is float else value


@dataclass(frozen=True)
class Choice:
    options: tuple

    def check(self, key: str, value: Any) -> Any:
        if value not in self.options:
            _fail(key, value, "must be one of " + ", ".join(map(str, self.options)))
        return value


@dataclass(frozen=True)
class Boolean:
    def check(self, key: str, value: Any) -> Any:
        if not isinstance(value, bool):
            _fail(key, value, "must be true or false")
        return value


@dataclass(frozen=True)
class ListOf:
    item: Any
    min_len: int = 1
    max_len: int | None = None

    def check(self, key: str, value: Any) -> Any:
        if not isinstance(value, list):
            _fail(key, value, "must be a list")
        if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
            size = f"{self.min_len}" if self.max_len == self.min_len else f"at least {self.min_len}"
            _fail(key, value, f"must have {size} items")
        return [self.item.check(f"{key}[{i}]", v) for i, v in enumerate(value)]


@dataclass(frozen=True)
class Text:
    allow_empty: bool = True

    def check(self, key: str, value: Any) -> Any:
        if value is None and self.allow_empty:
            return ""
        if not isinstance(value, str) or (not value and not self.allow_empty):
            _fail(key, value, "must be a non-empty string" if not self.allow_empty else "must be a string")
        return value


@dataclass(frozen=True)
class OrNull:
    """``null``, or a value ``inner`` accepts; ``meaning`` says what null does."""

    inner: Any
    meaning: str

    def check(self, key: str, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.inner.check(key, value)
        except ParamsError as exc:
            raise ParamsError(f"{exc}, or null ({self.meaning})") from None


@dataclass(frozen=True)
class CountOrFraction:
    """An int >= 1 (a count) or a float in (0, 1) (a fraction), like scikit-learn's train_size."""

    def check(self, key: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(key, value, "must be a count (integer >= 1) or a fraction (0 < x < 1)")
        if isinstance(value, int) and value < 1 or isinstance(value, float) and not 0 < value < 1:
            _fail(key, value, "must be a count (integer >= 1) or a fraction (0 < x < 1)")
        return value


@dataclass(frozen=True)
class MirrorSpec:
    """``{url: ..., md5: ...}`` or ``{drive: <Google Drive id>, md5: ...}``, optional ``size``."""

    def check(self, key: str, value: Any) -> Any:
        if not isinstance(value, dict):
            _fail(key, value, "must be a mapping like {url: https://..., md5: <32 hex>} or {drive: <id>, md5: ...}")
        extra = set(value) - {"url", "drive", "md5", "size"}
        if extra:
            _fail(key, value, f"unknown field {sorted(extra)[0]!r}; allowed: url, drive, md5, size")
        if ("url" in value) == ("drive" in value):
            _fail(key, value, "needs exactly one of url or drive")
        where = value.get("url", value.get("drive"))
        if not isinstance(where, str) or not where:
            _fail(key, value, "url / drive must be a non-empty string")
        if "url" in value and not where.startswith("https://"):
            _fail(f"{key}.url", where, "must start with https:// (plain http is refused: nothing checks who answers)")
        md5 = value.get("md5")
        if not isinstance(md5, str) or len(md5) != 32 or any(c not in "0123456789abcdef" for c in md5.lower()):
            _fail(f"{key}.md5", md5, "must be the file's MD5, 32 hex digits")
        if "size" in value:
            Number(int, 1).check(f"{key}.size", value["size"])
        return {**value, "md5": md5.lower()}


def invalid(key: str, value: Any, allowed: str) -> ParamsError:
    """The one-line error for a param: ``params.yaml: <key> = <value>: <what is allowed>``.
    Stages use it for checks that need the data, e.g. ``correlate.M`` against N."""
    return ParamsError(f"params.yaml: {key} = {value!r}: {allowed}")


def _fail(key: str, value: Any, allowed: str):
    raise invalid(key, value, allowed)


INT_POS, INT_NONNEG = Number(int, 1), Number(int, 0)
FLOAT_POS = Number(float, 0, low_open=True)
UNIT = Number(float, 0, 1)  # thresholds on |r| and fractions

# train.precision: Keras dtype policies; train.distribution: see latentspace.distribution
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
DISTRIBUTIONS = ("none", "data_parallel")
LR_SCHEDULES = ("constant", "cosine")

SCHEMA: dict = {
    "data": {
        "source": Choice(("synthetic", "celeba", "folder")),
        "synthetic": {"n_images": Number(int, 2), "seed": INT_NONNEG, "workers": INT_POS},
        "celeba": {
            "download_dir": Text(allow_empty=False),
            "mirrors": {key: ListOf(MirrorSpec()) for key in ("images", "partition", "attributes")},
        },
        "folder": {"path": Text()},
        # Bounds on an image archive (a zip bomb or a mistaken path stops here, before any decoding)
        "archive": {"max_members": INT_POS, "max_total_gib": FLOAT_POS},
    },
    "prepare": {
        "crop": Number(int, 8),
        "image_size": Number(int, 8),
        "reducing_gap": OrNull(Number(float, 1), "full-resolution decoding"),
        "split": {"method": Choice(("first", "official")), "train_size": CountOrFraction()},
        "workers": Number(int, 1, 256),
        "max_bad_fraction": UNIT,
        "max_image_pixels": Number(int, 64 * 64, 89_478_485),  # Pillow's own bomb-warning limit
    },
    "model": {
        "latent_dim": Number(int, 2),
        "filters": ListOf(INT_POS),
        "kernel_sizes": ListOf(INT_POS),
        "strides": ListOf(INT_POS),
        "batch_norm": Boolean(),
        "activation": Choice(("relu", "leaky_relu", "elu", "gelu", "selu", "swish", "tanh")),
        "dropout": Number(float, 0, 0.9),
    },
    "train": {
        "seed": INT_NONNEG,
        "epochs": INT_POS,
        "batch_size": INT_POS,
        "optimizer": Choice(("adam", "adamw", "rmsprop", "sgd")),
        "learning_rate": FLOAT_POS,
        "lr_schedule": Choice(LR_SCHEDULES),
        "loss": Choice(("mse", "mae", "binary_crossentropy")),
        "loader_threads": Number(int, 1, 64),
        "validation_images": INT_POS,
        "n_reconstructions": Number(int, 1, 32),
        "precision": Choice(PRECISIONS),
        "distribution": Choice(DISTRIBUTIONS),
        "steps_per_execution": Number(int, 1, 10_000),
        "deterministic": Boolean(),
        "bn_recalibration_images": INT_NONNEG,
        "backup_dir": Text(allow_empty=False),
    },
    "encode": {"batch_size": INT_POS},
    "stats": {
        "bin_width": FLOAT_POS,
        "dominant": {"hw_factor": FLOAT_POS, "mu_factor": FLOAT_POS},
        "radius": {
            "b": ListOf(FLOAT_POS),
            "n_uniform": INT_POS,
            "bins": Number(int, 5),
            "seed": INT_NONNEG,
        },
        "max_histograms": INT_POS,
    },
    "correlate": {
        "M": Number(int, 3),
        "seed": INT_NONNEG,
        "thresholds": ListOf(UNIT),
        "pair_threshold": UNIT,
        "chunk_rows": INT_POS,
        "m_curve": ListOf(Number(int, 3), min_len=0),
        "slice": {
            "components": ListOf(INT_NONNEG, min_len=2, max_len=2),
            "threshold": FLOAT_POS,
        },
        "scatter": {
            "max_pairs": Number(int, 1, 64),
            "b": FLOAT_POS,
            "n_uniform": INT_NONNEG,
            "special_index": INT_NONNEG,
            "seed": INT_NONNEG,
        },
    },
    "geometry": {
        "chunk_rows": INT_POS,
        "core_quantile": Number(float, 0, 1, low_open=True),
        "variance_targets": ListOf(Number(float, 0, 1, low_open=True)),
        "uniform": {"b": ListOf(FLOAT_POS, min_len=0), "n": INT_POS, "seed": INT_NONNEG},
        "top_axes": INT_POS,
        "loadings_per_axis": INT_POS,
        "bins": Number(int, 5),
    },
    "normality": {
        "test_size": Number(int, 20),
        "alpha": Number(float, 0, 1, low_open=True),
        "seed": INT_NONNEG,
        "chunk_rows": INT_POS,
        "pairs": Number(int, 0, 16),
        "planes": Number(int, 0, 16),
        "sigmas": ListOf(FLOAT_POS, max_len=5),
        "max_points": INT_POS,
    },
    "paths": {
        "axes": Number(int, 0, 32),
        "components": Number(int, 0, 32),
        "extent": FLOAT_POS,
        "steps": Number(int, 2, 25),
        "interpolation": {"pairs": Number(int, 0, 32), "steps": Number(int, 2, 25), "seed": INT_NONNEG},
        "batch_size": INT_POS,
    },
    "attributes": {
        "chunk_rows": INT_POS,
        "heatmap_rows": Number(int, 1, 128),
        "directions": ListOf(Text(allow_empty=False), min_len=0, max_len=16),
        "strengths": ListOf(Number(float), max_len=15),
        "faces": Number(int, 1, 16),
        "seed": INT_NONNEG,
        "judge": {"n_train": Number(int, 20), "n_test": Number(int, 20)},
        "batch_size": INT_POS,
    },
    "neighbours": {
        "k": Number(int, 1, 16),
        "n_real": Number(int, 2),
        "examples": Number(int, 1, 16),
        "bins": Number(int, 5),
        "seed": INT_NONNEG,
        "batch_size": INT_POS,
    },
    "sample": {
        "seed": INT_NONNEG,
        "n": Number(int, 2),
        "uniform": {"b": ListOf(FLOAT_POS, min_len=0)},
        "intervals": {"fact": ListOf(FLOAT_POS, min_len=0)},
        "gaussian": {"scale": ListOf(FLOAT_POS, min_len=0)},
        "normal": {"scale": ListOf(FLOAT_POS, min_len=0)},
        "principal_axes": {"truncation": ListOf(FLOAT_POS, min_len=0)},
        "mixture": {"k": ListOf(Number(int, 1, 100), min_len=0), "fit_rows": Number(int, 2), "max_iter": INT_POS},
        "neighbourhood": {"t_max": ListOf(Number(float, 0, 1, low_open=True), min_len=0), "k": Number(int, 1, 64)},
    },
    "decode": {"columns": INT_POS, "rows": INT_POS, "batch_size": INT_POS},
    "evaluate": {
        "n_reference": Number(int, 10),
        "k_precision": Number(int, 1, 64),
        "k_density": Number(int, 1, 64),
        "core_quantile": Number(float, 0, 1, low_open=True),
        "near_copy_quantile": Number(float, 0, 0.5, low_open=True),
        "bins": Number(int, 5),
        "seed": INT_NONNEG,
        "batch_size": INT_POS,
        "fid": {"n": Number(int, 2), "image_size": Number(int, 75)},
    },
}


def _validate(schema: dict, values: Any, prefix: str) -> dict:
    where = prefix or "the top level"
    if not isinstance(values, dict):
        raise ParamsError(f"params.yaml: {where} must be a mapping of keys, got {values!r}")
    for key in values:
        if key not in schema:
            close = difflib.get_close_matches(str(key), schema, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ParamsError(
                f"params.yaml: unknown key '{prefix}{key}'{hint}; allowed in {where}: "
                + ", ".join(schema)
            )
    out = {}
    for key, spec in schema.items():
        if key not in values:
            raise ParamsError(f"params.yaml: missing key '{prefix}{key}'")
        if isinstance(spec, dict):
            out[key] = _validate(spec, values[key], f"{prefix}{key}.")
        else:
            out[key] = spec.check(prefix + key, values[key])
    return out


def _check_cross_fields(p: dict) -> None:
    if p["data"]["source"] == "folder" and not p["data"]["folder"]["path"]:
        _fail("data.folder.path", p["data"]["folder"]["path"], "must name img_align_celeba.zip, a folder holding "
              "it or img_align_celeba/, or any folder or zip of JPEG/PNG faces when data.source is 'folder'")
    latent_dim = p["model"]["latent_dim"]
    c1, c2 = p["correlate"]["slice"]["components"]
    for i, c in enumerate((c1, c2)):
        if c >= latent_dim:
            _fail(f"correlate.slice.components[{i}]", c, f"must be < model.latent_dim ({latent_dim})")
    if c1 == c2:
        _fail("correlate.slice.components", [c1, c2], "must name two different components")
    m = p["model"]
    if len(m["filters"]) != len(m["kernel_sizes"]) or len(m["filters"]) != len(m["strides"]):
        _fail("model.kernel_sizes", m["kernel_sizes"], "must have one entry per model.filters entry")
    total_stride = 1
    for s in m["strides"]:
        total_stride *= s
    size = p["prepare"]["image_size"]
    if size % total_stride:
        _fail("prepare.image_size", size, f"must be divisible by the product of model.strides ({total_stride})")
    settings = sum(len(section[key]) for section in p["sample"].values() if isinstance(section, dict)
                   for key in section if isinstance(section[key], list))
    if not settings:
        _fail("sample", "(every list empty)", "must list at least one sampler setting")


def validate(values: dict) -> dict:
    """Check a parsed params mapping against :data:`SCHEMA`.

    Returns the same structure with floats normalised to ``float``; raises
    :class:`ParamsError` on the first problem found.
    """
    out = _validate(SCHEMA, values, "")
    _check_cross_fields(out)
    return out


def load_params(path: str | Path = "params.yaml") -> dict:
    """Read and validate a params file; see :func:`validate`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read the params file ({exc.strerror})") from None
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return validate(values)
