"""Load and validate ``params.yaml`` against a schema that rejects unknown keys.

Every error is a one-line :class:`ParamsError` naming the dotted key, the value and what
is allowed, e.g. ``params.yaml: sample.uniform.b[1] = -1.0: must be > 0``. YAML reads ``.nan``
and ``.inf`` as floats and a typo's ten extra zeros as a fine integer: every number must be
finite, and every size, count and seed has an upper bound (see the bounds above :data:`SCHEMA`).
"""

from __future__ import annotations

import difflib
import math
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
        if self.kind is float and not _finite(value):
            _fail(key, value, "must be a finite number")
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
    """An int >= 1 (a count, at most ``high``) or a float in (0, 1) (a fraction), like
    scikit-learn's train_size."""

    high: int | None = None

    def check(self, key: str, value: Any) -> Any:
        allowed = "a count (integer >= 1) or a fraction (0 < x < 1)"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(key, value, f"must be {allowed}")
        if isinstance(value, float) and not _finite(value):
            _fail(key, value, f"must be a finite number: {allowed}")
        if isinstance(value, int) and value < 1 or isinstance(value, float) and not 0 < value < 1:
            _fail(key, value, f"must be {allowed}")
        if isinstance(value, int) and self.high is not None and value > self.high:
            _fail(key, value, f"must be <= {self.high} as a count, or a fraction (0 < x < 1)")
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
            MIRROR_SIZE.check(f"{key}.size", value["size"])
        return {**value, "md5": md5.lower()}


def invalid(key: str, value: Any, allowed: str) -> ParamsError:
    """The one-line error for a param: ``params.yaml: <key> = <value>: <what is allowed>``.
    Stages use it for checks that need the data, e.g. ``correlate.M`` against N."""
    return ParamsError(f"params.yaml: {key} = {_shown(value)}: {allowed}")


def _shown(value: Any) -> str:
    try:
        return repr(value)
    except ValueError:  # an int beyond Python's 4300-digit str() limit, alone or in a list
        return f"<{type(value).__name__} too long to print>"


def _finite(value: int | float) -> bool:
    """False for nan, +-inf, and an int too large for a float (YAML reads 1 followed by 400
    zeros as an int; ``float()`` of it overflows)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _fail(key: str, value: Any, allowed: str):
    raise invalid(key, value, allowed)


# Upper bounds of sizes, counts and seeds. Each is far above any sensible value and below
# what would fail deep in a library or exhaust memory, so a typo's extra zeros stop here with
# the key's name. Data-dependent bounds (a sample larger than N) are checked by the stages.
SEED_MAX = 2**32 - 1  # NumPy's default_rng takes any int, but Keras' set_random_seed (train.seed) and
#                       scikit-learn's random_state (attributes.seed) refuse more than 32 bits
MAX_IMAGES = 10_000_000  # images (so vectors) of a dataset: CelebA has 202,599; data/images.npy at
#                          the default 32 px is 3 KiB an image, about 30 GB for 10^7
SYNTHETIC_MAX = 999_999  # synthetic faces: their file names have six digits, as CelebA's (latentspace.synthetic)
MAX_MEMBERS = 10 * MAX_IMAGES  # zip members: Python's zipfile holds an object per member in memory
WORKERS_MAX = 256  # processes on one machine
IMAGE_SIZE_MAX = 1024  # px side of a square image: a 1024 px batch of 64 is already 800 MB of float32
PILLOW_MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb warning limit
CROP_MAX = math.isqrt(PILLOW_MAX_PIXELS)  # 9459: the largest square crop of an image Pillow decodes
LATENT_MAX = 4096  # latent_dim: latent_dim^2 covariances (geometry, normality, the normal and mixture
#                    samplers) are 128 MiB each in float64 at 4096
FILTERS_MAX = 4096  # channels of a conv layer: wide image CNNs (VGG, ResNet) stop at 512-2048
KERNEL_MAX = 64  # weights grow with k^2: one 64 x 64 layer of 64 -> 64 filters is already 17 M weights
STRIDE_MAX = IMAGE_SIZE_MAX  # the product of the strides must divide prepare.image_size anyway
EPOCHS_MAX = 100_000  # passes over the training images: CelebA runs use tens
BATCH_MAX = 65_536  # images or vectors per model call: 65,536 images of 32 px are 800 MB of float32 input
SAMPLE_MAX = 1_000_000  # vectors drawn at once (samples, uniform reference clouds, points drawn in a
#                         plot): 10^6 x 256 float64 are 2 GB
CHUNK_MAX = MAX_IMAGES  # rows per chunk of a streamed pass: a chunk larger than N is N rows anyway
BINS_MAX = 1000  # histogram bins: more than a figure has pixels across
EM_ITER_MAX = 100_000  # scikit-learn's EM iterations for the mixture sampler: 100 converge
GRID_MAX = 32  # images per row or column of decode's grids (32 x 32 images of 32 px: 2180 px a side)
DOWNLOAD_MAX = 2**40  # bytes of one mirrored file (1 TiB): CelebA's image zip is 1.4 GB

INT_POS, INT_NONNEG = Number(int, 1), Number(int, 0)  # unbounded: a new key needs a bounded Number
#                                                     (tests/test_params_fuzz.py checks every int key has one)
FLOAT_POS = Number(float, 0, low_open=True)  # like every float: finite, so no upper bound beyond that
UNIT = Number(float, 0, 1)  # thresholds on |r| and fractions
SEED = Number(int, 0, SEED_MAX)
IMAGES = Number(int, 1, MAX_IMAGES)  # a number of images or real vectors
BATCH = Number(int, 1, BATCH_MAX)
CHUNK = Number(int, 1, CHUNK_MAX)
BINS = Number(int, 5, BINS_MAX)
DRAWN = Number(int, 1, SAMPLE_MAX)  # vectors drawn at once
MIRROR_SIZE = Number(int, 1, DOWNLOAD_MAX)  # bytes of a mirrored file (MirrorSpec's optional size)

# train.precision: Keras dtype policies; train.distribution: see latentspace.distribution
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
DISTRIBUTIONS = ("none", "data_parallel")
LR_SCHEDULES = ("constant", "cosine")

SCHEMA: dict = {
    "data": {
        "source": Choice(("synthetic", "celeba", "folder")),
        "synthetic": {"n_images": Number(int, 2, SYNTHETIC_MAX), "seed": SEED, "workers": Number(int, 1, WORKERS_MAX)},
        "celeba": {
            "download_dir": Text(allow_empty=False),
            "mirrors": {key: ListOf(MirrorSpec()) for key in ("images", "partition", "attributes")},
        },
        "folder": {"path": Text()},
        # Bounds on an image archive (a zip bomb or a mistaken path stops here, before any decoding)
        "archive": {"max_members": Number(int, 1, MAX_MEMBERS), "max_total_gib": FLOAT_POS},
    },
    "prepare": {
        "crop": Number(int, 8, CROP_MAX),
        "image_size": Number(int, 8, IMAGE_SIZE_MAX),
        "reducing_gap": OrNull(Number(float, 1), "full-resolution decoding"),
        "split": {"method": Choice(("first", "official")), "train_size": CountOrFraction(MAX_IMAGES)},
        "workers": Number(int, 1, WORKERS_MAX),
        "max_bad_fraction": UNIT,
        "max_image_pixels": Number(int, 64 * 64, PILLOW_MAX_PIXELS),
    },
    "model": {
        "latent_dim": Number(int, 2, LATENT_MAX),
        "filters": ListOf(Number(int, 1, FILTERS_MAX)),
        "kernel_sizes": ListOf(Number(int, 1, KERNEL_MAX)),
        "strides": ListOf(Number(int, 1, STRIDE_MAX)),
        "batch_norm": Boolean(),
        "activation": Choice(("relu", "leaky_relu", "elu", "gelu", "selu", "swish", "tanh")),
        "dropout": Number(float, 0, 0.9),
    },
    "train": {
        "seed": SEED,
        "epochs": Number(int, 1, EPOCHS_MAX),
        "batch_size": BATCH,
        "optimizer": Choice(("adam", "adamw", "rmsprop", "sgd")),
        "learning_rate": FLOAT_POS,
        "lr_schedule": Choice(LR_SCHEDULES),
        "loss": Choice(("mse", "mae", "binary_crossentropy")),
        "loader_threads": Number(int, 1, 64),
        "validation_images": IMAGES,
        "n_reconstructions": Number(int, 1, 32),
        "precision": Choice(PRECISIONS),
        "distribution": Choice(DISTRIBUTIONS),
        "steps_per_execution": Number(int, 1, 10_000),
        "deterministic": Boolean(),
        "bn_recalibration_images": Number(int, 0, MAX_IMAGES),
        "fail_if_trivial": Boolean(),  # a model no better than the mean training face: error, not warning
        "backup_dir": Text(allow_empty=False),
    },
    "encode": {"batch_size": BATCH},
    "stats": {
        "bin_width": FLOAT_POS,
        "dominant": {"hw_factor": FLOAT_POS, "mu_factor": FLOAT_POS},
        "radius": {
            "b": ListOf(FLOAT_POS),
            "n_uniform": DRAWN,
            "bins": BINS,
            "seed": SEED,
        },
        "max_histograms": Number(int, 1, LATENT_MAX),  # at most one per component
    },
    "correlate": {
        "M": Number(int, 3, MAX_IMAGES),
        "seed": SEED,
        "thresholds": ListOf(UNIT),
        "pair_threshold": UNIT,
        "chunk_rows": CHUNK,
        "m_curve": ListOf(Number(int, 3, MAX_IMAGES), min_len=0),
        "slice": {
            "components": ListOf(Number(int, 0, LATENT_MAX - 1), min_len=2, max_len=2),
            "threshold": FLOAT_POS,
        },
        "scatter": {
            "max_pairs": Number(int, 1, 64),
            "b": FLOAT_POS,
            "n_uniform": Number(int, 0, SAMPLE_MAX),
            "special_index": Number(int, 0, MAX_IMAGES - 1),
            "seed": SEED,
        },
    },
    "geometry": {
        "chunk_rows": CHUNK,
        "core_quantile": Number(float, 0, 1, low_open=True),
        "variance_targets": ListOf(Number(float, 0, 1, low_open=True)),
        "uniform": {"b": ListOf(FLOAT_POS, min_len=0), "n": DRAWN, "seed": SEED},
        "top_axes": Number(int, 1, LATENT_MAX),  # at most one per principal axis
        "loadings_per_axis": Number(int, 1, LATENT_MAX),
        "bins": BINS,
    },
    "normality": {
        "test_size": Number(int, 20, MAX_IMAGES),
        "alpha": Number(float, 0, 1, low_open=True),
        "seed": SEED,
        "chunk_rows": CHUNK,
        "pairs": Number(int, 0, 16),
        "planes": Number(int, 0, 16),
        "sigmas": ListOf(FLOAT_POS, max_len=5),
        "max_points": DRAWN,
    },
    "paths": {
        "axes": Number(int, 0, 32),
        "components": Number(int, 0, 32),
        "extent": FLOAT_POS,
        "steps": Number(int, 2, 25),
        "interpolation": {"pairs": Number(int, 0, 32), "steps": Number(int, 2, 25), "seed": SEED},
        "batch_size": BATCH,
    },
    "attributes": {
        "chunk_rows": CHUNK,
        "heatmap_rows": Number(int, 1, 128),
        "directions": ListOf(Text(allow_empty=False), min_len=0, max_len=16),
        "strengths": ListOf(Number(float), max_len=15),
        "faces": Number(int, 1, 16),
        "seed": SEED,
        "judge": {"n_train": Number(int, 20, MAX_IMAGES), "n_test": Number(int, 20, MAX_IMAGES)},
        "batch_size": BATCH,
    },
    "neighbours": {
        "k": Number(int, 1, 16),
        "n_real": Number(int, 2, MAX_IMAGES),
        "examples": Number(int, 1, 16),
        "bins": BINS,
        "seed": SEED,
        "batch_size": BATCH,
    },
    "sample": {
        "seed": SEED,
        "n": Number(int, 2, SAMPLE_MAX),
        "uniform": {"b": ListOf(FLOAT_POS, min_len=0)},
        "intervals": {"fact": ListOf(FLOAT_POS, min_len=0)},
        "gaussian": {"scale": ListOf(FLOAT_POS, min_len=0)},
        "normal": {"scale": ListOf(FLOAT_POS, min_len=0)},
        "principal_axes": {"truncation": ListOf(FLOAT_POS, min_len=0)},
        "mixture": {"k": ListOf(Number(int, 1, 100), min_len=0), "fit_rows": Number(int, 2, MAX_IMAGES),
                    "max_iter": Number(int, 1, EM_ITER_MAX)},
        "neighbourhood": {"t_max": ListOf(Number(float, 0, 1, low_open=True), min_len=0), "k": Number(int, 1, 64)},
    },
    "decode": {"columns": Number(int, 1, GRID_MAX), "rows": Number(int, 1, GRID_MAX), "batch_size": BATCH},
    "evaluate": {
        "n_reference": Number(int, 10, MAX_IMAGES),
        "k_precision": Number(int, 1, 64),
        "k_density": Number(int, 1, 64),
        "core_quantile": Number(float, 0, 1, low_open=True),
        "near_copy_quantile": Number(float, 0, 0.5, low_open=True),
        "bins": BINS,
        "seed": SEED,
        "batch_size": BATCH,
        # fid.n: decoded samples come from sample.n; image_size: InceptionV3 is trained at 299 px
        "fid": {"n": Number(int, 2, SAMPLE_MAX), "image_size": Number(int, 75, IMAGE_SIZE_MAX)},
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
        _fail("correlate.slice.components[1]", c2, "must differ from correlate.slice.components[0]: "
              "the slice must name two different components")
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
    except ValueError as exc:  # an integer of more than 4300 digits: Python refuses to read it
        raise ParamsError(f"{path}: a value cannot be read ({str(exc).splitlines()[0]})") from None
    return validate(values)
