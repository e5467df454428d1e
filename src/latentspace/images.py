"""Decoding face images into the training array: centre crop and resize, in parallel.

An image that cannot be used (corrupt, truncated, not an image, too large, smaller than the
crop) does not stop the stage: it is reported with the reason, so the caller can skip it
and decide whether there are too many.
"""

from __future__ import annotations

import functools
import io
import math
import os
import warnings
import zipfile
import zlib

import numpy as np
from PIL import Image, UnidentifiedImageError

from latentspace.parallel import ordered_map
from latentspace.sources import ImageSource

CHUNK = 256  # images per task: large enough to amortise pickling, small for a smooth progress bar
# What sources lists (.jpg/.jpeg/.png): other decoders (EPS would run Ghostscript) never see the bytes
FORMATS = ("JPEG", "PNG")


class BadImage(ValueError):
    """One image cannot be used; the message says why."""


def centre_box(width: int, height: int, crop: int) -> tuple[int, int, int, int]:
    """The ``crop`` x ``crop`` box (left, top, right, bottom) centred in a width x height image."""
    if crop > min(width, height):
        raise BadImage(f"{width}x{height} px is smaller than prepare.crop ({crop} px)")
    left, top = (width - crop) // 2, (height - crop) // 2
    return left, top, left + crop, top + crop


def load_face(data: bytes, *, crop: int, size: int, max_pixels: int,
              reducing_gap: float | None = 2.0) -> np.ndarray:
    """Decode one image, take its centre ``crop`` square and resize it to ``size``.

    JPEG draft mode lets libjpeg decode at 1/2, 1/4 or 1/8 scale (DCT scaling, which
    averages and so does not alias) as long as the crop keeps at least ``reducing_gap`` x
    ``size`` pixels across, the rule of Pillow's ``Image.thumbnail``; the Lanczos resize
    then filters from there. ``None`` decodes at full resolution. Grayscale, CMYK, palette
    and alpha images are converted to RGB as Pillow does (alpha is dropped); 16-bit
    grayscale is scaled to 8 bits, where Pillow's own conversion would clip it to white.

    Returns
    -------
    image : ndarray of shape (size, size, 3), uint8

    Raises
    ------
    BadImage
        Not a JPEG or PNG Pillow can read, more than ``max_pixels`` pixels (checked from the
        header, before decoding: a decompression bomb never gets decoded), or smaller than
        ``crop``.
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit, which max_pixels never exceeds: refused below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=FORMATS)
        with opened as img:
            width, height = img.size
            if width * height > max_pixels:
                raise BadImage(f"{width}x{height} px exceeds prepare.max_image_pixels ({max_pixels})")
            box = centre_box(width, height, crop)
            want = 1.0 if reducing_gap is None else min(1.0, reducing_gap * size / crop)
            if want < 1.0:
                img.draft("RGB", (math.ceil(width * want), math.ceil(height * want)))
            scale = img.size[0] / width  # 1, 1/2, 1/4 or 1/8 after draft
            if img.mode.startswith("I"):  # 16-bit grayscale PNG: "I;16" (or "I")
                img = Image.fromarray(np.rint(np.asarray(img, dtype=np.float32) / 257).clip(0, 255).astype(np.uint8))
            if img.mode != "RGB":  # converting an RGB image would only copy it (a fifth of the time)
                img = img.convert("RGB")
            scaled_box = tuple(v * scale for v in box)
            out = img.resize((size, size), Image.Resampling.LANCZOS, box=scaled_box)
            return np.asarray(out, dtype=np.uint8)
    except UnidentifiedImageError:
        raise BadImage("not an image Pillow can read") from None
    except Image.DecompressionBombError:
        raise BadImage(f"more than {2 * Image.MAX_IMAGE_PIXELS} px (Pillow's decompression-bomb limit), "
                       f"above prepare.max_image_pixels ({max_pixels})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, BadImage):
            raise
        raise BadImage(f"cannot decode ({exc})") from None


@functools.lru_cache(maxsize=4)
def _reader(source: ImageSource, pid: int):
    # One open archive per process and source, reused by every chunk that process gets.
    # Keyed by pid: a forked worker must not share the parent's file offset.
    return source.open()


def _decode_chunk(task):
    source, ids, crop, size, max_pixels, reducing_gap = task
    reader = _reader(source, os.getpid())
    faces = np.zeros((len(ids), size, size, 3), np.uint8)
    bad = []
    for k, image_id in enumerate(ids):
        try:
            if reader.size(image_id) > 3 * max_pixels + (1 << 20):
                raise BadImage(f"{reader.size(image_id)} bytes: too large for prepare.max_image_pixels")
            faces[k] = load_face(reader.read(image_id), crop=crop, size=size, max_pixels=max_pixels,
                                 reducing_gap=reducing_gap)
        except (BadImage, zipfile.BadZipFile, zlib.error, OSError) as exc:  # corrupt member: bad CRC or stream
            bad.append((k, str(exc)))
    return faces, bad


def decode_faces(source: ImageSource, ids: list[str], out: np.ndarray, *, crop: int, max_pixels: int,
                 reducing_gap: float | None = 2.0, workers: int = 1, progress=None) -> list[tuple[int, str]]:
    """Fill ``out[k]`` with the cropped, resized image ``ids[k]`` of ``source``.

    Parameters
    ----------
    out : ndarray of shape (len(ids), S, S, 3), uint8
        Usually a memory map of the output ``.npy`` file, so the set never sits in RAM twice.
        Rows of images that cannot be used are set to zero.
    reducing_gap : float >= 1 or None
        See :func:`load_face`.
    workers : int
        Decoding processes; the result does not depend on it.
    progress : callable or None
        Called with the number of images done after each chunk.

    Returns
    -------
    bad : list of (int, str)
        Row and reason of every image that could not be used, in row order.
    """
    size = out.shape[1]
    starts = range(0, len(ids), CHUNK)
    tasks = ((source, ids[s:s + CHUNK], crop, size, max_pixels, reducing_gap) for s in starts)
    bad = []
    for start, (faces, chunk_bad) in zip(starts, ordered_map(_decode_chunk, tasks, workers)):
        out[start:start + len(faces)] = faces
        bad += [(start + k, reason) for k, reason in chunk_bad]
        if progress is not None:
            progress(len(faces))
    return bad
