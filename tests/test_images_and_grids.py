"""Reading faces from a zip (crop/resize against a plain Pillow reference), tiling, atomic writes."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from latentspace import grids, images
from latentspace.io import atomic_path, save_npy


def jpeg_bytes(arr, quality=95):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def smooth_image(h=218, w=178):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], axis=-1).astype(np.uint8)


def test_load_face_matches_plain_pillow_crop_and_resize():
    arr = smooth_image()
    data = jpeg_bytes(arr)
    for crop, size in ((140, 32), (140, 64), (178, 89)):
        ours = images.load_face(data, crop=crop, size=size).astype(float)
        left, top = (178 - crop) // 2, (218 - crop) // 2
        ref = Image.open(io.BytesIO(data)).convert("RGB").crop((left, top, left + crop, top + crop))
        ref = np.asarray(ref.resize((size, size), Image.Resampling.LANCZOS), dtype=float)
        assert ours.shape == (size, size, 3)
        assert np.abs(ours - ref).mean() < 2.0, (crop, size)  # draft decoding differs by rounding only


def test_centre_box_and_too_large_crop():
    assert images.centre_box(178, 218, 140) == (19, 39, 159, 179)
    with pytest.raises(ValueError, match="prepare.crop = 200"):
        images.centre_box(178, 218, 200)


def test_image_members_sorted_and_unsafe_paths_refused(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("img/000002.jpg", "img/000001.jpg", "img/readme.txt"):
            zf.writestr(name, b"x")
    with zipfile.ZipFile(path) as zf:
        assert images.image_members(zf) == ["img/000001.jpg", "img/000002.jpg"]
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("../evil.jpg", b"x")
    with zipfile.ZipFile(path) as zf, pytest.raises(ValueError, match="unsafe member"):
        images.image_members(zf)


def test_tile_places_every_image():
    imgs = np.arange(5 * 2 * 2 * 3, dtype=np.uint8).reshape(5, 2, 2, 3)
    canvas = grids.tile(imgs, 3, pad=1, background=255)
    assert canvas.shape == (2 * 3 + 1, 3 * 3 + 1, 3)
    np.testing.assert_array_equal(canvas[1:3, 1:3], imgs[0])
    np.testing.assert_array_equal(canvas[4:6, 4:6], imgs[4])  # row 1, column 1
    assert np.all(canvas[4:6, 7:9] == 255)  # the empty last cell
    big = grids.tile(imgs, 3, pad=1, scale=2)
    np.testing.assert_array_equal(big[::2, ::2], canvas)
    assert big.shape == (2 * canvas.shape[0], 2 * canvas.shape[1], 3)
    np.testing.assert_array_equal(grids.to_uint8(np.array([-1.0, 0.5, 2.0])), [0, 128, 255])


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.npy"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    save_npy(target, np.arange(3))
    np.testing.assert_array_equal(np.load(target), [0, 1, 2])
    assert [p.name for p in tmp_path.iterdir()] == ["out.npy"]
