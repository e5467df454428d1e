"""Image grids as plain arrays (no matplotlib), so stages that only tile images, such as
`train`, do not depend on the plotting module."""

from __future__ import annotations

import math

import numpy as np


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (values outside are clipped) -> uint8 of the same shape."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def display_scale(side: int, target: int) -> int:
    """Largest integer magnification that shows a ``side``-pixel image at no more than
    ``target`` pixels (at least 1), so small images are legible and stay crisp."""
    return max(1, target // side)


def tile(images: np.ndarray, columns: int, *, pad: int = 2, scale: int = 1, background: int = 255) -> np.ndarray:
    """Lay images out row by row on one canvas.

    Parameters
    ----------
    images : ndarray of shape (n, S, S, 3), uint8
    columns : int
        Images per row; the last row is filled with background.
    pad : int
        Background pixels between images and around the border (before scaling).
    scale : int
        Integer nearest-neighbour magnification, so small images stay crisp.

    Returns
    -------
    canvas : ndarray of shape (rows*(S+pad)+pad, columns*(S+pad)+pad, 3) times ``scale``, uint8
    """
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"tile: expected uint8 images of shape (n, H, W, 3), got {images.dtype} {images.shape}")
    n, h, w, c = images.shape
    rows = max(1, math.ceil(n / columns))
    canvas = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), background, np.uint8)
    for k in range(n):
        r, q = divmod(k, columns)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        canvas[y : y + h, x : x + w] = images[k]
    return canvas.repeat(scale, axis=0).repeat(scale, axis=1)
