"""CelebA's annotation file formats, shared by the real dataset and the synthetic one.

``list_attr_celeba.txt``: line 1 the number of images, line 2 the attribute names, then
``<file> <v1> <v2> ...`` with values 1 or -1 (right-aligned in 3-character fields in the
real file). ``list_eval_partition.txt``: ``<file> <0|1|2>`` (train, valid, test).

Kaggle's copy of CelebA ships the same tables as CSV: ``list_attr_celeba.csv``
(``image_id,5_o_Clock_Shadow,...``) and ``list_eval_partition.csv`` (``image_id,partition``).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np


def read_attr_file(path: str | os.PathLike) -> tuple[list[str], list[str], np.ndarray]:
    """Parse a CelebA ``list_attr_celeba.txt`` (real or synthetic).

    Parameters
    ----------
    path : str or os.PathLike
        The attribute file.  Runs of spaces, trailing spaces and CRLF line
        endings are accepted.

    Returns
    -------
    names : list of str
        Attribute names, length ``n_attr``.
    files : list of str
        Image file names, length ``n``.
    values : numpy.ndarray
        int8 array of shape ``(n, n_attr)`` with values 1 or -1.
    """
    with open(path, encoding="ascii") as fh:
        lines = [ln.split() for ln in fh]
    lines = [ln for ln in lines if ln]
    if len(lines) < 2 or len(lines[0]) != 1 or not lines[0][0].isdigit():
        raise ValueError(f"{path}: expected an image count on line 1 and attribute names on line 2")
    n = int(lines[0][0])
    names = lines[1]
    rows = lines[2:]
    if len(rows) != n:
        raise ValueError(f"{path}: header says {n} images but {len(rows)} rows follow")
    bad = next((r for r in rows if len(r) != len(names) + 1), None)
    if bad is not None:
        raise ValueError(f"{path}: row for {bad[0]} has {len(bad) - 1} values, expected {len(names)}")
    files = [r[0] for r in rows]
    values = np.array([r[1:] for r in rows], dtype=np.int8).reshape(n, len(names))
    if not np.isin(values, (-1, 1)).all():
        raise ValueError(f"{path}: attribute values must be 1 or -1")
    return names, files, values


def read_partition_file(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Parse a CelebA ``list_eval_partition.txt`` (real or synthetic).

    Parameters
    ----------
    path : str or os.PathLike
        The partition file; repeated spaces and CRLF line endings are accepted.

    Returns
    -------
    files : list of str
        Image file names, length ``n``.
    partition : numpy.ndarray
        int8 array of shape ``(n,)``: 0 train, 1 valid, 2 test.
    """
    with open(path, encoding="ascii") as fh:
        rows = [ln.split() for ln in fh]
    rows = [r for r in rows if r]
    bad = next((r for r in rows if len(r) != 2 or r[1] not in ("0", "1", "2")), None)
    if bad is not None:
        raise ValueError(f"{path}: expected '<file> <0|1|2>' lines, got {' '.join(bad)!r}")
    files = [r[0] for r in rows]
    return files, np.array([int(r[1]) for r in rows], dtype=np.int8)


def read_attr_csv(path: str | os.PathLike) -> tuple[list[str], list[str], np.ndarray]:
    """Parse Kaggle's ``list_attr_celeba.csv``; returns the same as :func:`read_attr_file`."""
    with open(path, newline="", encoding="ascii") as fh:
        rows = [r for r in csv.reader(fh) if r]
    if not rows or rows[0][0] != "image_id":
        raise ValueError(f"{path}: expected a header row starting with 'image_id'")
    names, rows = rows[0][1:], rows[1:]
    bad = next((r for r in rows if len(r) != len(names) + 1), None)
    if bad is not None:
        raise ValueError(f"{path}: row for {bad[0]} has {len(bad) - 1} values, expected {len(names)}")
    try:
        values = np.array([r[1:] for r in rows], dtype=np.int8).reshape(len(rows), len(names))
    except ValueError:
        raise ValueError(f"{path}: attribute values must be 1 or -1") from None
    if not np.isin(values, (-1, 1)).all():
        raise ValueError(f"{path}: attribute values must be 1 or -1")
    return names, [r[0] for r in rows], values


def read_partition_csv(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Parse Kaggle's ``list_eval_partition.csv``; returns the same as :func:`read_partition_file`."""
    with open(path, newline="", encoding="ascii") as fh:
        rows = [r for r in csv.reader(fh) if r]
    if not rows or rows[0] != ["image_id", "partition"]:
        raise ValueError(f"{path}: expected the header 'image_id,partition'")
    bad = next((r for r in rows[1:] if len(r) != 2 or r[1] not in ("0", "1", "2")), None)
    if bad is not None:
        raise ValueError(f"{path}: expected '<file>,<0|1|2>' rows, got {','.join(bad)!r}")
    return [r[0] for r in rows[1:]], np.array([int(r[1]) for r in rows[1:]], dtype=np.int8)


def read_partition(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """A partition table in CelebA's ``.txt`` or Kaggle's ``.csv`` format (by suffix)."""
    return (read_partition_csv if str(path).endswith(".csv") else read_partition_file)(path)


def read_attributes(path: str | os.PathLike) -> tuple[list[str], list[str], np.ndarray]:
    """An attribute table in CelebA's ``.txt`` or Kaggle's ``.csv`` format (by suffix)."""
    return (read_attr_csv if str(path).endswith(".csv") else read_attr_file)(path)


def format_partition_file(files: list[str], partition: np.ndarray) -> str:
    """The text of a ``list_eval_partition.txt`` for ``files`` (inverse of :func:`read_partition_file`)."""
    return "".join(f"{f} {p}\n" for f, p in zip(files, partition.tolist()))


def format_attr_file(names: list[str], files: list[str], values: np.ndarray) -> str:
    """The text of a ``list_attr_celeba.txt`` (inverse of :func:`read_attr_file`), with CelebA's
    3-character right-aligned value fields."""
    line = "%s" + "%3d" * len(names) + "\n"  # one %-format per line: far faster than value by value
    return f"{len(files)}\n" + " ".join(names) + "\n" + "".join([line % (f, *row) for f, row in zip(files, values.tolist())])


PARTITION_FILE, ATTR_FILE, FACTORS_FILE = "list_eval_partition.txt", "list_attr_celeba.txt", "factors.csv"


def read_annotations(raw_dir: str | os.PathLike, image_ids: list[str]) -> tuple[list[str], np.ndarray]:
    """Whatever annotations ``raw_dir`` has, joined by file name onto ``image_ids``.

    Parameters
    ----------
    raw_dir : path
        Folder that may hold ``list_eval_partition.txt``, ``list_attr_celeba.txt`` and, for
        the synthetic data, ``factors.csv`` (first column the image file name). Any of them
        may be missing (a plain folder of faces has none).
    image_ids : list of str
        The images, in dataset order; every one must be listed by each file present.

    Returns
    -------
    columns : list of str
        ``partition`` if present, the attribute names, then the factor names.
    values : ndarray of shape (len(image_ids), len(columns)), object
    """
    raw_dir = Path(raw_dir)
    tables = []  # (file, column names, row files, values of shape (rows, columns))
    if (raw_dir / PARTITION_FILE).exists():
        files, partition = read_partition_file(raw_dir / PARTITION_FILE)
        tables.append((PARTITION_FILE, ["partition"], files, partition[:, None]))
    if (raw_dir / ATTR_FILE).exists():
        names, files, attrs = read_attr_file(raw_dir / ATTR_FILE)
        tables.append((ATTR_FILE, names, files, attrs))
    if (raw_dir / FACTORS_FILE).exists():
        with open(raw_dir / FACTORS_FILE, newline="") as f:
            rows = list(csv.reader(f))
        tables.append((FACTORS_FILE, rows[0][1:], [r[0] for r in rows[1:]], np.array([r[1:] for r in rows[1:]])))

    columns, blocks = [], []
    for what, names, files, values in tables:
        row_of = {f: i for i, f in enumerate(files)}
        missing = [f for f in image_ids if f not in row_of]
        if missing:
            raise ValueError(f"{raw_dir / what}: does not list {len(missing)} of the {len(image_ids)} images "
                             f"(first: {missing[0]}); it belongs to another copy of the dataset")
        columns += names
        blocks.append(np.asarray(values, dtype=object)[[row_of[f] for f in image_ids]])
    if not blocks:
        return [], np.empty((len(image_ids), 0), dtype=object)
    return columns, np.concatenate(blocks, axis=1)


def write_normalised(tables: dict, out_dir: str | os.PathLike) -> None:
    """Parse CelebA's annotation tables (``.txt`` or Kaggle's ``.csv``) and write them to
    ``out_dir`` as CelebA's ``.txt`` files, so later stages read one format.

    Parameters
    ----------
    tables : dict
        ``"partition"`` and/or ``"attributes"`` -> path of the table.
    """
    out_dir = Path(out_dir)
    if "partition" in tables:
        files, partition = read_partition(tables["partition"])
        (out_dir / PARTITION_FILE).write_text(format_partition_file(files, partition))
    if "attributes" in tables:
        names, files, values = read_attributes(tables["attributes"])
        (out_dir / ATTR_FILE).write_text(format_attr_file(names, files, values))
