"""Load and validate ``params.yaml`` against a schema that rejects unknown keys.

Every error is a one-line :class:`ParamsError` naming the dotted key, the value and what
is allowed, e.g. ``params.yaml: sample.uniform.b[1] = -1.0: must be > 0``. YAML reads ``.nan``
and ``.inf`` as floats and a typo's ten extra zeros as a fine integer: every number must be
finite, and every size, count and seed has an upper bound (see the bounds above :data:`SECTIONS`).
Each section's keys are the module ``latentspace.schema.<section>``.
"""

from __future__ import annotations

import difflib
import importlib
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml


class ParamsError(ValueError):
    """A parameter is unknown, missing, of the wrong type or out of range."""


class ParamsWarning(UserWarning):
    """A legal param that the data shrinks, or that turns a part of the outputs off.

    :func:`latentspace.io.run_stage` prints it as one line, ``warning: params.yaml: <key> = ...``.
    """


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
            _fail(key, value, f"must be {'>' if self.low_open else '>='} {_bound(self.low)}")
        if self.high is not None and value > self.high:
            _fail(key, value, f"must be <= {_bound(self.high)}")
        return float(value) if self.kind is float else value

    def allowed(self) -> str:
        """What :meth:`check` accepts, for the params reference: ``integer, 1 to 65,536``."""
        kind = "integer" if self.kind is int else "finite number"
        if self.low is None:
            return kind
        low = f"{_number(self.low)}{' (excluded)' if self.low_open else ''}"
        return f"{kind}, {low} to {_number(self.high)}" if self.high is not None else (
            f"{kind}, {'>' if self.low_open else '>='} {_number(self.low)}")


@dataclass(frozen=True)
class Choice:
    options: tuple

    def check(self, key: str, value: Any) -> Any:
        if value not in self.options:
            _fail(key, value, "must be one of " + ", ".join(map(str, self.options)))
        return value

    def allowed(self) -> str:
        return "one of " + ", ".join(f"`{o}`" for o in self.options)


@dataclass(frozen=True)
class Boolean:
    def check(self, key: str, value: Any) -> Any:
        if not isinstance(value, bool):
            _fail(key, value, "must be true or false")
        return value

    def allowed(self) -> str:
        return "true or false"


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

    def allowed(self) -> str:
        if self.max_len == self.min_len:
            size = f"{self.min_len} items"
        elif self.max_len is not None:
            size = f"{self.min_len} to {self.max_len} items"
        else:
            size = "any number of items" if self.min_len == 0 else f"at least {self.min_len} item{'s' * (self.min_len > 1)}"
        return f"list of {size}, each {self.item.allowed()}"


@dataclass(frozen=True)
class Text:
    allow_empty: bool = True

    def check(self, key: str, value: Any) -> Any:
        if value is None and self.allow_empty:
            return ""
        if not isinstance(value, str) or (not value and not self.allow_empty):
            _fail(key, value, "must be a non-empty string" if not self.allow_empty else "must be a string")
        return value

    def allowed(self) -> str:
        return "string" if self.allow_empty else "non-empty string"


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

    def allowed(self) -> str:
        return f"{self.inner.allowed()}, or null: {self.meaning}"


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

    def allowed(self) -> str:
        return f"a count (integer, 1 to {_number(self.high)}) or a fraction (0 < x < 1)"


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

    def allowed(self) -> str:
        return ("`{url: https://..., md5: <32 hex digits>}` or `{drive: <Google Drive id>, md5: ...}`, "
                f"optional `size` in bytes ({MIRROR_SIZE.allowed()})")


def invalid(key: str, value: Any, allowed: str) -> ParamsError:
    """The one-line error for a param: ``params.yaml: <key> = <value>: <what is allowed>``.
    Stages use it for checks that need the data, e.g. ``correlate.M`` against N."""
    return ParamsError(f"params.yaml: {key} = {_shown(value)}: {allowed}")


def at_most(key: str, value: int, available: int, what: str) -> int:
    """``min(value, available)``, with a :class:`ParamsWarning` naming ``key`` when the data
    shrinks it: a sample of ``neighbours.n_real`` vectors from a dataset that has fewer uses them
    all. ``what`` names what there are, e.g. ``"held-out vectors in data/z_holdout.npy"``."""
    if value <= available:
        return value
    warnings.warn(f"params.yaml: {key} = {value}: more than the {available} {what}; using {available}",
                  ParamsWarning, stacklevel=2)
    return available


def switched_off(key: str, value: Any, result: str) -> None:
    """A :class:`ParamsWarning` for a legal value that turns an output off (zero paths, an empty
    list); ``result`` says what the outputs hold instead."""
    warnings.warn(f"params.yaml: {key} = {_shown(value)}: {result}", ParamsWarning, stacklevel=2)


def _shown(value: Any) -> str:
    try:
        return repr(value)
    except ValueError:  # an int beyond Python's 4300-digit str() limit, alone or in a list
        return f"<{type(value).__name__} too long to print>"


def _bound(x: float) -> str:
    """A bound as an error message gives it: ``65536``, ``0.5``, ``1e+09`` (not ``1000000000.0``)."""
    return str(x) if isinstance(x, int) else f"{x:g}"


def _number(x: float) -> str:
    """A bound as the reference prints it: 65,536; 0.5; 2^32 - 1 for the seeds' bound."""
    if x == SEED_MAX:
        return "2^32 - 1"
    return f"{x:,}" if float(x).is_integer() else f"{x:g}"


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
FLOAT_MAX = 1e9  # magnitude of every float: finite is not enough, since NumPy's uniform refuses a range
#                  of 1.8e308 (OverflowError) and squares overflow from 1.3e154; no setting needs 10^9

FLOAT_POS = Number(float, 0, FLOAT_MAX, low_open=True)
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

# The sections of params.yaml, in order; each one's keys, checks and off-switches are the module
# latentspace.schema.<section>. A stage's dvc.yaml deps name the modules of the sections it reads
# (and this one), so a key added under `sample` re-runs the stages that read `sample`, not `train`.
# Every stage still checks every section (a typo anywhere stops the first stage run), but another
# section's checks can only refuse, never change what a stage computes.
SECTIONS = ("data", "prepare", "model", "train", "encode", "stats", "correlate", "geometry", "normality", "paths",
            "attributes", "conditional", "neighbours", "sample", "decode", "evaluate")


def section_schema(name: str) -> ModuleType:
    """The module ``latentspace.schema.<name>``: ``SECTION`` (its keys), and optionally ``check(p)``
    (checks across keys, given all validated params) and ``SWITCHED_OFF`` (key -> what 0 or [] does)."""
    return importlib.import_module(f"latentspace.schema.{name}")


def __getattr__(name: str):
    if name == "SCHEMA":  # the whole schema, assembled on use: {section: its keys}
        return {section: section_schema(section).SECTION for section in SECTIONS}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warn_switched_off(section: str, values: dict) -> None:
    """A :class:`ParamsWarning` for each key of the section's ``SWITCHED_OFF`` set to 0 or [].

    Legal values that turn an output off: each stage warns of its own, so an experiment that
    sets one by mistake is told, and one that sets it on purpose still runs. ``values`` is the
    validated section, e.g. ``load_params()["paths"]``.
    """
    for key, result in getattr(section_schema(section), "SWITCHED_OFF", {}).items():
        value = values
        for part in key.split("."):
            value = value[part]
        if value in (0, []):
            switched_off(f"{section}.{key}", value, result)


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


def validate(values: dict) -> dict:
    """Check a parsed params mapping against every section's schema (:data:`SECTIONS`).

    Returns the same structure with floats normalised to ``float``; raises
    :class:`ParamsError` on the first problem found.
    """
    schemas = {name: section_schema(name) for name in SECTIONS}
    out = _validate({name: module.SECTION for name, module in schemas.items()}, values, "")
    for module in schemas.values():
        if hasattr(module, "check"):
            module.check(out)
    return out


_SECTIONS_READ: list[str] = []  # what this process took from load_params(), for error messages only


class LoadedParams(dict):
    """The validated params :func:`load_params` returns. It remembers which sections the stage
    reads, so that an error raised inside a library can name them (:func:`latentspace.io.run_stage`)."""

    def __getitem__(self, section: str):
        if section not in _SECTIONS_READ:
            _SECTIONS_READ.append(section)
        return super().__getitem__(section)


def sections_read() -> list[str]:
    """The sections this process has read from :func:`load_params`'s result, in the order read."""
    return list(_SECTIONS_READ)


def load_params(path: str | Path = "params.yaml") -> LoadedParams:
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
    return LoadedParams(validate(values))
