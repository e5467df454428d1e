"""Decoding one face (crop/resize against a plain Pillow reference), tiling, splits, atomic writes."""

import io

import numpy as np
import pytest
from PIL import Image

from latentspace import grids, images, synthetic
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
        ours = images.load_face(data, crop=crop, size=size, max_pixels=10**6).astype(float)
        left, top = (178 - crop) // 2, (218 - crop) // 2
        ref = Image.open(io.BytesIO(data)).convert("RGB").crop((left, top, left + crop, top + crop))
        ref = np.asarray(ref.resize((size, size), Image.Resampling.LANCZOS), dtype=float)
        assert ours.shape == (size, size, 3)
        assert np.abs(ours - ref).mean() < 2.0, (crop, size)  # draft decoding differs by rounding only


def full_resolution_face(data, crop, size):
    """Reference: decode every pixel, Lanczos-resize the centre box (no draft mode)."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    return np.asarray(img.resize((size, size), Image.Resampling.LANCZOS, box=images.centre_box(*img.size, crop)))


@pytest.fixture(scope="module")
def face_jpegs():
    """Eight synthetic faces as CelebA-shaped JPEGs: hair, eyes and edges, not a smooth ramp."""
    factors = synthetic.sample_factors(np.random.default_rng(3), 8)
    rows = [{name: values[i] for name, values in factors.items()} for i in range(8)]
    return [jpeg_bytes(synthetic.render_face(row, seed=3, index=i), quality=90) for i, row in enumerate(rows)]


def psnr(a, b):
    return 10 * np.log10(255.0**2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_reducing_gap_none_decodes_at_full_resolution(face_jpegs):
    for size in (32, 64):
        for data in face_jpegs:
            got = images.load_face(data, crop=140, size=size, max_pixels=10**6, reducing_gap=None)
            np.testing.assert_array_equal(got, full_resolution_face(data, 140, size))


def test_reducing_gap_draft_scales_stay_within_the_stated_tolerance(face_jpegs):
    """docs/PERFORMANCE.md's figures: from a 140 px crop, gap 2 at 64 px needs 128 px > 70, so it decodes at
    full resolution (identical); gap 1 at 64 px and gap 2 at 32 px decode at 1/2 scale, 40.5 and
    50.6 dB from the full decode on the benchmark's faces (bilinear instead of Lanczos: 39.2 dB)."""
    def faces(size, gap):
        return np.stack([images.load_face(d, crop=140, size=size, max_pixels=10**6, reducing_gap=gap)
                         for d in face_jpegs])

    full = {size: np.stack([full_resolution_face(d, 140, size) for d in face_jpegs]) for size in (32, 64)}
    np.testing.assert_array_equal(faces(64, 2.0), full[64])
    half_64, half_32 = faces(64, 1.0), faces(32, 2.0)
    assert not np.array_equal(half_64, full[64]) and not np.array_equal(half_32, full[32])  # draft was used
    assert psnr(half_64, full[64]) >= 38.0
    assert psnr(half_32, full[32]) >= 45.0
    assert psnr(faces(32, 1.0), full[32]) < psnr(half_32, full[32])  # 1/4 scale: coarser


def test_centre_box_and_too_large_crop():
    assert images.centre_box(178, 218, 140) == (19, 39, 159, 179)
    with pytest.raises(images.BadImage, match=r"178x218 px is smaller than prepare.crop \(200 px\)"):
        images.centre_box(178, 218, 200)


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


def test_split_labels_first_count_fraction_and_official():
    from latentspace.splits import split_labels

    assert split_labels(10, "first", 0.75).tolist() == ["train"] * 7 + ["holdout"] * 3
    assert split_labels(10, "first", 4).tolist() == ["train"] * 4 + ["holdout"] * 6  # a count, as 170000
    with pytest.raises(ValueError, match=r"prepare.split.train_size = 0.05: leaves 0 training"):
        split_labels(10, "first", 0.05)
    with pytest.raises(ValueError, match=r"train_size = 10: leaves 10 training and 0 held-out"):
        split_labels(10, "first", 10)
    partition = np.array([0, 1, 0, 2, 0])
    assert split_labels(5, "official", 0.5, partition).tolist() == ["train", "holdout", "train", "holdout", "train"]
    with pytest.raises(ValueError, match="needs CelebA's list_eval_partition"):
        split_labels(5, "official", 0.5, None)


def test_read_annotations_joins_tables_by_file_name(tmp_path):
    from latentspace import celeba_format

    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 2\n")
    (tmp_path / "list_attr_celeba.txt").write_text("2\nMale Smiling \n000001.jpg  1 -1\n000002.jpg -1  1\n")
    (tmp_path / "factors.csv").write_text("image_id,age\n000001.jpg,0.5\n000002.jpg,0.25\n")
    columns, values = celeba_format.read_annotations(tmp_path, ["000001.jpg", "000002.jpg"])
    assert columns == ["partition", "Male", "Smiling", "age"]
    assert values.tolist() == [[0, 1, -1, "0.5"], [2, -1, 1, "0.25"]]
    columns, values = celeba_format.read_annotations(tmp_path, ["000002.jpg"])  # joined by name, not position
    assert values.tolist() == [[2, -1, 1, "0.25"]]
    with pytest.raises(ValueError, match=r"does not list 1 of the 2 images \(first: 000009.jpg\)"):
        celeba_format.read_annotations(tmp_path, ["000001.jpg", "000009.jpg"])
    assert celeba_format.read_annotations(tmp_path / "none", ["a.png"])[0] == []


def test_celeba_and_kaggle_tables_read_the_same(tmp_path):
    from latentspace import celeba_format

    (tmp_path / "list_attr_celeba.csv").write_text("image_id,Male,Smiling\n000001.jpg,1,-1\n000002.jpg,-1,1\n")
    (tmp_path / "list_eval_partition.csv").write_text("image_id,partition\n000001.jpg,0\n000002.jpg,2\n")
    tables = {"partition": tmp_path / "list_eval_partition.csv", "attributes": tmp_path / "list_attr_celeba.csv"}
    out = tmp_path / "out"
    out.mkdir()
    celeba_format.write_normalised(tables, out)
    names, files, values = celeba_format.read_attr_file(out / "list_attr_celeba.txt")
    assert (names, files, values.tolist()) == (["Male", "Smiling"], ["000001.jpg", "000002.jpg"], [[1, -1], [-1, 1]])
    assert (out / "list_attr_celeba.txt").read_text().splitlines()[2] == "000001.jpg  1 -1"  # CelebA's own layout
    files, partition = celeba_format.read_partition_file(out / "list_eval_partition.txt")
    assert partition.tolist() == [0, 2]
    (tmp_path / "bad.csv").write_text("image_id,partition\n000001.jpg,7\n")
    with pytest.raises(ValueError, match=r"bad.csv: expected '<file>,<0\|1\|2>' rows"):
        celeba_format.read_partition(tmp_path / "bad.csv")


def test_model_input_scaling_and_display_scale():
    from latentspace.training import to_model_input

    np.testing.assert_allclose(to_model_input(np.array([0, 51, 255], np.uint8)), [0.0, 0.2, 1.0])
    z = np.array([-3.5, 2.0], np.float64)
    assert to_model_input(z).dtype == np.float32 and to_model_input(z).tolist() == [-3.5, 2.0]
    assert [grids.display_scale(s, 96) for s in (16, 32, 64, 128)] == [6, 3, 1, 1]
