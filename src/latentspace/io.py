"""Atomic output writing and the error boundary every stage script runs inside.

A stage writes each output under a temporary name in the same directory. Inside
:func:`run_stage` the renames into place all wait for the stage's end and happen together
(:func:`stage_outputs`), so a crash, a kill or a bad input leaves the previous outputs or
none, never a truncated artifact that DVC could cache, nor new files beside old ones.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from latentspace.params import ParamsError, ParamsWarning, sections_read


class InputError(ValueError):
    """An input file or array is missing or does not satisfy the stage's contract."""


def _temp_prefix(path: Path, name: str) -> str:
    # Host and pid in the name let a later run tell a dead run's leftover from a live one's.
    return f".{name}.{socket.gethostname()}-{os.getpid()}."


def _remove_dead_leftovers(path: Path, name: str, suffix: str) -> None:
    """Delete temporaries of ``path`` left by killed runs on this host (SIGKILL skips cleanup)."""
    host = socket.gethostname()
    pattern = re.compile(rf"\.{re.escape(name)}\.{re.escape(host)}-(\d+)\.[^/]*{re.escape(suffix)}")
    for leftover in path.parent.glob(f".{glob.escape(name)}.*{glob.escape(suffix)}"):
        match = pattern.fullmatch(leftover.name)
        if match and not _alive(int(match[1])):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


# Renames waiting for the end of the stage: (temporary, final path); None outside a stage.
_pending: list[tuple[Path, Path]] | None = None
_after_commit: list[Callable[[], None]] = []


@contextlib.contextmanager
def atomic_path(path: str | Path, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    With ``directory=True`` the temporary path is an empty directory. On failure the
    temporary file or directory is removed and ``path`` is left untouched. Inside
    :func:`stage_outputs` the rename waits for the end of the stage. A run killed outright
    (SIGKILL, power loss) leaves its temporary behind, never a truncated ``path``; the next
    write of ``path`` on the same host deletes such leftovers.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        _remove_dead_leftovers(path, path.name, ".tmp")
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path, path.name), suffix=".tmp", dir=path.parent))
    else:
        # Keep the real suffix last: some writers (Keras) check it.
        suffix = f".tmp{path.suffix}"
        _remove_dead_leftovers(path, path.stem, suffix)
        fd, name = tempfile.mkstemp(prefix=_temp_prefix(path, path.stem), suffix=suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if _pending is None:
        _replace(tmp, path)
    else:
        _pending.append((tmp, path))


def _replace(tmp: Path, path: Path) -> None:
    if tmp.is_dir() and path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)


def _remove(tmp: Path) -> None:
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def stage_outputs() -> Iterator[None]:
    """Hold back every :func:`atomic_path` rename in the block; do them all when it ends
    without error (then run the :func:`after_commit` functions), or delete every temporary
    if it fails. The renames take microseconds, so a kill at any moment leaves the previous
    outputs or the new ones, not a mix. :func:`run_stage` wraps each stage in it.
    """
    global _pending
    outer, _pending = _pending, []
    try:
        yield
    except BaseException:
        for tmp, _ in _pending:
            _remove(tmp)
        _pending = outer
        raise
    pending, _pending = _pending, outer
    for tmp, path in pending:  # in the order the writes finished: nested temporaries first
        _replace(tmp, path)
    while _after_commit:
        _after_commit.pop(0)()


@contextlib.contextmanager
def written_now() -> Iterator[None]:
    """Inside a stage, let the block's atomic writes land at once (e.g. a training backup
    that must survive the stage being killed)."""
    global _pending
    outer, _pending = _pending, None
    try:
        yield
    finally:
        _pending = outer


def after_commit(function: Callable[[], None]) -> None:
    """Call ``function`` once the stage's outputs are in place (at once outside a stage)."""
    if _pending is None:
        function()
    else:
        _after_commit.append(function)


def save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def save_json(path: str | Path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_csv(path: str | Path, header: Sequence[str], rows) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def save_metrics(path: str | Path, numbers: dict) -> None:
    """A stage's headline numbers as ``{stem: numbers}`` (``metrics/train.json`` -> ``{"train": ...}``).

    One top-level key per file, named after it, keeps every file's columns apart in
    ``dvc metrics show`` and ``dvc exp show``; the full tables go to long-format CSV instead
    (:func:`save_scores_csv`).
    """
    save_json(path, {Path(path).stem: numbers})


def significant(x: float) -> float:
    """``x`` to 5 significant digits, how headline metrics are saved (a near-copy's distance of
    3e-4 keeps its digits, where rounding to decimals would not)."""
    return float(f"{x:.5g}")


def csv_cell(value) -> str:
    """How every table writes a value: integers whole, floats to 6 significant digits, None and
    non-finite numbers empty, booleans 0/1 (so the same setting reads the same in every file)."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}" if np.isfinite(value) else ""  # undefined, like None
    return str(value)


def save_series_csv(path: str | Path, x_name: str, x: np.ndarray, curves: dict[str, np.ndarray], *,
                    y_name: str = "density") -> None:
    """Curves sharing one x axis as long-format CSV: columns ``x_name, series, y_name``, one row per
    series and x. The series are values, not columns, so a curve that a param adds, drops or renames
    needs no edit of dvc.yaml (the ``series`` template colours by this column)."""
    short = [name for name, c in curves.items() if len(c) != len(x)]
    assert not short, f"curves {short} do not have one value per x ({len(x)})"
    save_csv(path, [x_name, "series", y_name],
             ([f"{xk:.4f}", name, f"{c[k]:.6g}"] for name, c in curves.items() for k, xk in enumerate(x)))


def save_scores_csv(path: str | Path, keys: Sequence[str], rows, *, intervals: bool = False) -> None:
    """Every number of a table in long format: columns ``*keys, metric, score`` (and ``low, high``).

    Parameters
    ----------
    keys : sequence of str
        The columns that say what a row is about, e.g. ``("setting", "sampler", "param", "value")``.
    rows : iterable of (key values, dict of metric name -> number)
        One entry per setting; each metric becomes one CSV row, so the columns stay the same
        whatever settings a params sweep adds.
    intervals : bool
        Each entry of ``rows`` has a third item, a dict of metric name -> (low, high): the
        metric's interval, written in the columns ``low`` and ``high`` (empty for a metric
        without one).
    """
    if not intervals:
        save_csv(path, [*keys, "metric", "score"], ([*map(csv_cell, ids), metric, csv_cell(score)]
                                                   for ids, scores in rows for metric, score in scores.items()))
        return
    save_csv(path, [*keys, "metric", "score", "low", "high"],
             ([*map(csv_cell, ids), metric, csv_cell(score), *map(csv_cell, bounds.get(metric, (None, None)))]
              for ids, scores, bounds in rows for metric, score in scores.items()))


def save_figure(path: str | Path, fig, *, dpi: int = 100) -> None:
    """Write a matplotlib Figure as PNG and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)


def save_png(path: str | Path, image: np.ndarray) -> None:
    """Write a uint8 array of shape (H, W, 3) as a PNG."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def require_file(path: str | Path, producer: str = "the stage that produces it") -> Path:
    """``path`` as a Path if it is a file; otherwise an InputError that says which stage makes it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: missing; run {producer} first (dvc repro)")
    return path


def load_json(path: str | Path, producer: str = "the stage that produces it"):
    """The parsed JSON of ``path``; an InputError naming it if it is missing (see :func:`require_file`)
    or not valid JSON."""
    path = require_file(path, producer)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def load_npy(path: str | Path, *, mmap: bool = False, ndim: int | None = None) -> np.ndarray:
    """Load a ``.npy`` file produced by an earlier stage, with a clear error if it is unusable."""
    path = require_file(path)
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc})") from None
    if ndim is not None and array.ndim != ndim:
        raise InputError(f"{path}: expected a {ndim}-D array, got shape {array.shape}")
    return array


def load_latents(path: str | Path, *, mmap: bool = True, latent_dim: int | None = None,
                 chunk_rows: int = 65536) -> np.ndarray:
    """Load latent vectors, refusing what would silently poison every statistic after it.

    Returns
    -------
    z : ndarray of shape (n, latent_dim), floating
        A memory map if ``mmap``.

    Raises
    ------
    InputError
        Not a 2-D float array, no rows, ``latent_dim`` given and not matched, or any NaN or
        Inf (a diverged model encodes to them); the message names the first bad row.
    """
    z = load_npy(path, mmap=mmap, ndim=2)
    if z.dtype.kind != "f" or not len(z):
        raise InputError(f"{path}: expected latent vectors, a float array of shape (n >= 1, dim); "
                         f"got {z.dtype} of shape {z.shape}")
    check_latent_dim(path, z, latent_dim)
    for start in range(0, len(z), chunk_rows):  # chunked: a memory map stays on disk
        bad = ~np.isfinite(z[start:start + chunk_rows])
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise InputError(f"{path}: vector {start + row} has {z[start + row, column]} in component {column}; "
                             "latent vectors must be finite (did training diverge? see metrics/train.json)")
    return z


def check_latent_dim(path: str | Path, z: np.ndarray, latent_dim: int | None,
                     expected_by: str = "the model's latent space") -> None:
    """InputError if the vectors in ``path`` do not have ``latent_dim`` components, the size
    that ``expected_by`` (named in the message) has."""
    if latent_dim is not None and z.shape[1] != latent_dim:
        raise InputError(f"{path}: vectors of {z.shape[1]} components, but {expected_by} has "
                         f"{latent_dim}; re-run the stages after train (dvc repro)")


_format_warning = warnings.formatwarning


def _one_line_params_warning(message, category, filename, lineno, line=None) -> str:
    if issubclass(category, ParamsWarning):
        return f"warning: {message}\n"
    return _format_warning(message, category, filename, lineno, line)


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; bad params or inputs end in one line on stderr and exit 2.

    Set ``LATENTSPACE_DEBUG=1`` to get the full traceback instead. A
    :class:`~latentspace.params.ParamsWarning` (a size the data shrinks, an output turned off)
    is one line too, ``warning: params.yaml: <key> = ...``.
    """
    warnings.formatwarning = _one_line_params_warning
    try:
        with stage_outputs():
            main()
    except (ValueError, ArithmeticError, MemoryError) as exc:  # ours, and the libraries' input checks
        if os.environ.get("LATENTSPACE_DEBUG"):
            raise
        print(f"error: {error_line(exc)}", file=sys.stderr)
        sys.exit(2)


def error_line(exc: BaseException) -> str:
    """The one line a stage ends with: our own errors as they are; a library's (NumPy, scikit-learn,
    Keras...) or running out of memory with where it came from and the params sections the stage
    read, since a param that passed its checks can still be what the library refused."""
    if isinstance(exc, (ParamsError, InputError)) or isinstance(exc, ValueError) and _raised_by_us(exc):
        return str(exc)
    text = str(exc).strip()
    message = text.splitlines()[0] if text else type(exc).__name__
    sections = ", ".join(f"{name}.*" for name in sections_read())
    suspects = f"likely a value of {sections} in params.yaml (what each key allows: docs/params.md)" if sections \
        else "likely a value in params.yaml (docs/params.md)"
    origin = "out of memory" if isinstance(exc, MemoryError) else f"{_raising_package(exc)} raised {type(exc).__name__}"
    return f"{origin}: {message}; {suspects}; LATENTSPACE_DEBUG=1 shows the traceback"


def _innermost_module(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals.get("__name__", "") if tb is not None else ""


def _raised_by_us(exc: BaseException) -> bool:
    """Raised by this package or a stage script (``__main__``), not inside a library."""
    module = _innermost_module(exc)
    return module == "__main__" or module.split(".")[0] == "latentspace"


def _raising_package(exc: BaseException) -> str:
    return _innermost_module(exc).split(".")[0] or "a library"
