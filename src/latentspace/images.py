"""Reading CelebA-format JPEGs straight from their zip archive: centre crop and resize."""

from __future__ import annotations

import io
import math
import posixpath
import zipfile

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def image_members(archive: zipfile.ZipFile) -> list[str]:
    """Names of the image members of an archive, sorted by file name (CelebA's order).

    Members with absolute paths or ``..`` components are refused rather than skipped:
    an archive that contains them was not made by CelebA's tools.
    """
    names = []
    for info in archive.infolist():
        name = info.filename
        if name.startswith("/") or ".." in posixpath.normpath(name).split("/"):
            raise ValueError(f"{archive.filename}: refusing unsafe member path {name!r}")
        if not info.is_dir() and name.lower().endswith(IMAGE_SUFFIXES):
            names.append(name)
    if not names:
        raise ValueError(f"{archive.filename}: no .jpg/.png images in the archive")
    return sorted(names, key=posixpath.basename)


def centre_box(width: int, height: int, crop: int) -> tuple[int, int, int, int]:
    """The ``crop`` x ``crop`` box (left, top, right, bottom) centred in a width x height image."""
    if crop > min(width, height):
        raise ValueError(f"prepare.crop = {crop}: must be <= the image's smaller side ({min(width, height)} px)")
    left, top = (width - crop) // 2, (height - crop) // 2
    return left, top, left + crop, top + crop


def load_face(data: bytes, *, crop: int, size: int) -> np.ndarray:
    """Decode one image, take its centre ``crop`` square and resize it to ``size``.

    JPEG draft mode lets libjpeg decode at 1/2, 1/4 or 1/8 scale when the target is that
    much smaller, which skips most of the decoding work (DCT scaling also averages pixels,
    so it does not alias).

    Returns
    -------
    image : ndarray of shape (size, size, 3), uint8
    """
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
        box = centre_box(width, height, crop)
        # Ask for at least twice the target resolution so the final resize still filters.
        want = min(1.0, 2 * size / crop)
        img.draft("RGB", (math.ceil(width * want), math.ceil(height * want)))
        scale = img.size[0] / width  # 1, 1/2, 1/4 or 1/8 after draft
        img = img.convert("RGB")
        scaled_box = tuple(v * scale for v in box)
        out = img.resize((size, size), Image.Resampling.LANCZOS, box=scaled_box)
        return np.asarray(out, dtype=np.uint8)


def read_faces(archive: zipfile.ZipFile, names, out: np.ndarray, *, crop: int, progress=None) -> None:
    """Fill ``out[k]`` with the cropped, resized image ``names[k]`` of ``archive``.

    Parameters
    ----------
    out : ndarray of shape (len(names), S, S, 3), uint8
        Usually a memory map of the output ``.npy`` file, so the set never sits in RAM twice.
    progress : callable or None
        Called with 1 after each image.
    """
    size = out.shape[1]
    for k, name in enumerate(names):
        out[k] = load_face(archive.read(name), crop=crop, size=size)
        if progress is not None:
            progress(1)
