"""The train / held-out split recorded in ``data/index.csv``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def split_indices(index_csv: str | Path, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the training and held-out images, each increasing.

    Row i of ``data/z.npy`` is the i-th training image, so the order matters. Rows marked
    ``skipped`` (images ``prepare`` could not decode) are in neither.

    Returns
    -------
    train, holdout : ndarray of shape (n_train,), (n_holdout,), int64
    """
    with open(index_csv, newline="") as f:
        split = [row["split"] for row in csv.DictReader(f)]
    if len(split) != n_images:
        raise ValueError(f"{index_csv}: has {len(split)} rows but the image array has {n_images}")
    unknown = set(split) - {"train", "holdout", "skipped"}
    if unknown:
        raise ValueError(f"{index_csv}: split must be 'train', 'holdout' or 'skipped', got {sorted(unknown)}")
    split = np.array(split)
    return np.flatnonzero(split == "train"), np.flatnonzero(split == "holdout")


def train_count(n_images: int, train_size: int | float) -> int:
    """How many of ``n_images`` train the AE: ``train_size`` itself if it is an int (the
    series: 170,000), ``floor(train_size * n_images)`` if it is a fraction (as scikit-learn's
    ``train_size``). Both sides must keep at least one image."""
    n_train = train_size if isinstance(train_size, int) else int(np.floor(train_size * n_images))
    if not 1 <= n_train < n_images:
        raise ValueError(
            f"params.yaml: prepare.split.train_size = {train_size}: leaves {n_train} training and "
            f"{n_images - n_train} held-out images of {n_images}; both must be at least 1"
        )
    return n_train


def split_labels(n_images: int, method: str, train_size: int | float, partition=None) -> np.ndarray:
    """Split labels of shape (n_images,), ``"train"`` or ``"holdout"``, in dataset order.

    ``method="first"``: the first :func:`train_count` images train, the rest are held out
    (the series). ``method="official"``: CelebA's partition 0 trains, 1 and 2 are held out.

    Parameters
    ----------
    partition : ndarray of shape (n_images,) or None
        CelebA's partition (0 train, 1 valid, 2 test); required by ``"official"``.
    """
    if method == "official":
        if partition is None:
            raise ValueError("params.yaml: prepare.split.method = 'official': needs CelebA's "
                             "list_eval_partition file, which this dataset does not have; use 'first'")
        train = np.asarray(partition).astype(int) == 0
        if train.all() or not train.any():
            raise ValueError("params.yaml: prepare.split.method = 'official': the partition puts "
                             "every image on one side; use 'first'")
    else:
        train = np.arange(n_images) < train_count(n_images, train_size)
    return np.where(train, "train", "holdout")
