"""The train / held-out split recorded in ``data/index.csv``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def split_indices(index_csv: str | Path, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the training and held-out images, each increasing.

    Row i of ``data/z.npy`` is the i-th training image, so the order matters.

    Returns
    -------
    train, holdout : ndarray of shape (n_train,), (n_holdout,), int64
    """
    with open(index_csv, newline="") as f:
        split = [row["split"] for row in csv.DictReader(f)]
    if len(split) != n_images:
        raise ValueError(f"{index_csv}: has {len(split)} rows but the image array has {n_images}")
    unknown = set(split) - {"train", "holdout"}
    if unknown:
        raise ValueError(f"{index_csv}: split must be 'train' or 'holdout', got {sorted(unknown)}")
    split = np.array(split)
    return np.flatnonzero(split == "train"), np.flatnonzero(split == "holdout")


def first_fraction_split(n_images: int, train_fraction: float) -> np.ndarray:
    """Split labels of shape (n_images,): the first ``floor(train_fraction * n)`` images are
    ``"train"``, the rest ``"holdout"`` (the series trains on CelebA's first 170,000)."""
    n_train = int(np.floor(train_fraction * n_images))
    if not 1 <= n_train < n_images:
        raise ValueError(
            f"prepare.train_fraction = {train_fraction}: leaves {n_train} training and "
            f"{n_images - n_train} held-out images of {n_images}; both must be at least 1"
        )
    return np.where(np.arange(n_images) < n_train, "train", "holdout")
