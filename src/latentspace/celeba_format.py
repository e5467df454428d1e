"""CelebA's annotation file formats, shared by the real dataset and the synthetic one.

``list_attr_celeba.txt``: line 1 the number of images, line 2 the attribute names, then
``<file> <v1> <v2> ...`` with values 1 or -1 (right-aligned in 3-character fields in the
real file). ``list_eval_partition.txt``: ``<file> <0|1|2>`` (train, valid, test).
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


def read_annotations(raw_dir: str | os.PathLike, image_files: list[str]) -> tuple[list[str], np.ndarray]:
    """Partition, attributes and, where ``factors.csv`` exists (synthetic data), the
    generating factors of every image, in the order of ``image_files``.

    Parameters
    ----------
    raw_dir : path
        Folder with ``list_eval_partition.txt``, ``list_attr_celeba.txt`` and optionally
        ``factors.csv`` (first column the image file name).
    image_files : list of str
        Base names of the archive's images, in archive order; both annotation files must
        list exactly these, in this order.

    Returns
    -------
    columns : list of str
        ``partition``, the attribute names, then the factor names.
    values : ndarray of shape (n_images, len(columns)), object
    """
    raw_dir = Path(raw_dir)
    part_files, partition = read_partition_file(raw_dir / "list_eval_partition.txt")
    attr_names, attr_files, attrs = read_attr_file(raw_dir / "list_attr_celeba.txt")
    for what, files in (("list_eval_partition.txt", part_files), ("list_attr_celeba.txt", attr_files)):
        if list(files) != list(image_files):
            raise ValueError(f"{raw_dir / what}: its file names do not match the images of the archive")
    columns, values = ["partition", *attr_names], [partition[:, None], attrs]
    factors = raw_dir / "factors.csv"
    if factors.exists():
        with open(factors, newline="") as f:
            rows = list(csv.reader(f))
        columns += rows[0][1:]
        values.append(np.array([r[1:] for r in rows[1:]], dtype=object))
    return columns, np.concatenate([v.astype(object) for v in values], axis=1)
