"""Tests for the synthetic CelebA-format face generator."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from latentspace import celeba_format, synthetic

N_FILES = 60  # images written by the file-format tests: small, but all three splits appear


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One small dataset written with workers=1, shared by the format tests."""
    out = tmp_path_factory.mktemp("celeba")
    synthetic.write_celeba_format(out, N_FILES, seed=3, workers=1, progress=False)
    return out


def _row(factors: dict[str, np.ndarray], i: int) -> dict:
    return {k: v[i] for k, v in factors.items()}


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


# ---------------------------------------------------------------------------
# factors
# ---------------------------------------------------------------------------


def test_sample_factors_keys_shapes_and_ranges():
    f = synthetic.sample_factors(np.random.default_rng(0), 500)
    assert set(f) == set(synthetic.FACTOR_NAMES) | set(synthetic.ATTRIBUTE_NAMES)
    for name in synthetic.FACTOR_NAMES:
        assert f[name].shape == (500,) and f[name].dtype == np.float64, name
        assert np.array_equal(f[name], np.round(f[name], 4)), name  # exactly what factors.csv holds
    for name in synthetic.ATTRIBUTE_NAMES:
        assert f[name].shape == (500,) and f[name].dtype == bool, name
    signed_or_physical = {"hair_part", "gaze_x", "brow_tilt", "bg_gradient_angle", "light_angle"}
    signed_or_physical |= {"shift_x", "shift_y", "scale", "rotation"}
    unit = [n for n in synthetic.FACTOR_NAMES if n not in signed_or_physical]
    for name in unit:
        assert 0.0 <= f[name].min() and f[name].max() <= 1.0, name
    assert set(np.unique(f["bg_gradient_angle"])) <= {0.0, 90.0, 180.0, 270.0}
    assert np.abs(f["rotation"]).max() <= 6.0 and np.abs(f["shift_x"]).max() <= 4.0
    assert synthetic.sample_factors(np.random.default_rng(0), 0)["age"].shape == (0,)


def test_attribute_names_are_celeba_names_in_celeba_order():
    celeba = (
        "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
        "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
        "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
        "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
        "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
    ).split()
    positions = [celeba.index(name) for name in synthetic.ATTRIBUTE_NAMES]
    assert positions == sorted(positions)


def test_built_in_correlations():
    f = synthetic.sample_factors(np.random.default_rng(1), 2000)
    masc = f["masculinity"]
    assert np.corrcoef(masc, f["hair_length"])[0, 1] < -0.5
    assert np.corrcoef(masc, f["brow_thickness"])[0, 1] > 0.5
    assert np.corrcoef(masc, f["face_width"])[0, 1] > 0.3
    assert np.corrcoef(f["age"], f["hair_grayness"])[0, 1] > 0.3
    assert np.corrcoef(f["skin_tone"], f["hair_darkness"])[0, 1] > 0.2
    male = masc > 0.5
    beard = f["beard_density"] > 0
    assert beard[male].mean() > 0.3 > 0.05 > beard[~male].mean()
    assert f["Mouth_Slightly_Open"][f["Smiling"]].mean() > f["Mouth_Slightly_Open"][~f["Smiling"]].mean() + 0.3
    # attributes are consistent with the factors they are thresholds of
    assert np.array_equal(f["Male"], male)
    assert not (f["Bald"] & (f["hair_length"] > 0)).any()
    assert beard[~f["No_Beard"]].all() and beard[f["Mustache"]].all()
    assert not (f["Black_Hair"] & f["Blond_Hair"]).any()


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------


def test_render_face_shape_and_determinism():
    f = synthetic.sample_factors(np.random.default_rng(2), 3)
    a = synthetic.render_face(_row(f, 0), seed=5)
    assert a.shape == (218, 178, 3) and a.dtype == np.uint8
    assert np.array_equal(a, synthetic.render_face(_row(f, 0), seed=5))
    assert not np.array_equal(a, synthetic.render_face(_row(f, 1), seed=5))
    assert not np.array_equal(a, synthetic.render_face(_row(f, 0), seed=6))  # per-image details


def test_face_centre_has_the_skin_colour_and_differs_from_background():
    f = synthetic.sample_factors(np.random.default_rng(4), 1)
    row = _row(f, 0)
    # a plain, unlit, unrotated face with a bare forehead
    row.update(Bangs=False, Bald=False, light_strength=0.0, age=0.0, bg_gradient_strength=0.0)
    row.update(rotation=0.0, shift_x=0.0, shift_y=0.0, scale=1.0)
    for tone in (0.1, 0.5, 0.9):
        row["skin_tone"] = tone
        img = synthetic.render_face(row, seed=0).astype(float)
        forehead = img[88:95, 84:93].reshape(-1, 3).mean(axis=0)  # between the hairline and the brows
        expected = synthetic._ramp(synthetic._SKIN_KEYS, np.array([tone]))[0]
        assert np.abs(forehead - expected).max() < 12, (tone, forehead, expected)
        corner = img[:6, :6].reshape(-1, 3).mean(axis=0)
        assert np.abs(forehead - corner).max() > 10 or np.abs(forehead - corner).sum() > 20


def test_faces_are_in_celeba_layout():
    """Eyes are dark-centred near (69, 111) and (108, 111) on an unshifted face."""
    f = synthetic.sample_factors(np.random.default_rng(5), 1)
    row = _row(f, 0)
    row.update(rotation=0.0, shift_x=0.0, shift_y=0.0, scale=1.0, gaze_x=0.0, Eyeglasses=False)
    img = synthetic.render_face(row, seed=0).astype(float).sum(axis=2)
    for x in (69, 108):
        pupil = img[110:113, x - 1 : x + 2].mean()
        cheek = img[125:130, x - 2 : x + 3].mean()
        assert pupil < 0.5 * cheek


# ---------------------------------------------------------------------------
# CelebA file format
# ---------------------------------------------------------------------------


def test_zip_members_are_celeba_named_jpegs(written):
    with zipfile.ZipFile(written / "img_align_celeba.zip") as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == [f"img_align_celeba/{k:06d}.jpg" for k in range(1, N_FILES + 1)]
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        for info in infos[:: N_FILES // 6]:
            with Image.open(io.BytesIO(zf.read(info))) as im:
                assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (178, 218))


def test_partition_file(written):
    path = written / "list_eval_partition.txt"
    files, part = celeba_format.read_partition_file(path)
    n_train = round(N_FILES * 162770 / 202599)
    n_valid = round(N_FILES * 19867 / 202599)
    assert files == [f"{k:06d}.jpg" for k in range(1, N_FILES + 1)]
    assert part.dtype == np.int8
    assert part.tolist() == [0] * n_train + [1] * n_valid + [2] * (N_FILES - n_train - n_valid)
    # an independent, naive reading of the same file
    lines = path.read_text().splitlines()
    assert all(len(line.split(" ")) == 2 for line in lines)
    assert [int(line.split()[1]) for line in lines] == part.tolist()


@pytest.mark.parametrize("n", [1, 2, 10, 1000, 202599])
def test_partition_counts_follow_celeba(n):
    counts = synthetic._partition_counts(n)
    assert sum(counts) == n and min(counts) >= 0
    assert counts[0] == round(n * 162770 / 202599)
    if n == 202599:
        assert counts == (162770, 19867, 19962)


def test_attr_file(written):
    path = written / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    assert lines[0] == str(N_FILES)
    assert lines[1] == " ".join(synthetic.ATTRIBUTE_NAMES)
    for k, line in enumerate(lines[2:], start=1):
        name, rest = line[:10], line[10:]
        assert name == f"{k:06d}.jpg"
        assert len(rest) == 3 * len(synthetic.ATTRIBUTE_NAMES)  # right-aligned 3-character fields
        assert {rest[j : j + 3] for j in range(0, len(rest), 3)} <= {" -1", "  1"}
    names, files, values = celeba_format.read_attr_file(path)
    assert names == list(synthetic.ATTRIBUTE_NAMES)
    assert files == [f"{k:06d}.jpg" for k in range(1, N_FILES + 1)]
    assert values.shape == (N_FILES, len(names)) and values.dtype == np.int8
    expected = synthetic.sample_factors(np.random.default_rng(3), N_FILES)
    assert np.array_equal(values == 1, np.stack([expected[a] for a in names], axis=1))


def test_attr_parser_tolerates_real_celeba_spacing(tmp_path):
    path = tmp_path / "list_attr_celeba.txt"
    path.write_bytes(b"2\r\nBangs Male Young \r\n000001.jpg -1  1  1\r\n000002.jpg  1 -1  -1 \r\n")
    names, files, values = celeba_format.read_attr_file(path)
    assert names == ["Bangs", "Male", "Young"] and files == ["000001.jpg", "000002.jpg"]
    assert values.tolist() == [[-1, 1, 1], [1, -1, -1]]
    part = tmp_path / "list_eval_partition.txt"
    part.write_bytes(b"000001.jpg  0\r\n000002.jpg 2 \r\n")
    assert celeba_format.read_partition_file(part)[1].tolist() == [0, 2]


def test_attr_parser_rejects_a_short_row(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1\nBangs Male\n000001.jpg -1\n")
    with pytest.raises(ValueError, match="000001.jpg"):
        celeba_format.read_attr_file(path)


def test_factors_csv(written):
    with open(written / "factors.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["image_id", *synthetic.FACTOR_NAMES]
    assert len(rows) == N_FILES + 1 and all(len(r) == len(rows[0]) for r in rows)
    assert rows[1][0] == "000001.jpg"
    values = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    expected = synthetic.sample_factors(np.random.default_rng(3), N_FILES)
    assert np.array_equal(values, np.stack([expected[n] for n in synthetic.FACTOR_NAMES], axis=1))
    assert all(len(v.split(".")[1]) == 4 for v in rows[1][1:])


def test_render_face_reproduces_a_zip_member(written):
    f = synthetic.sample_factors(np.random.default_rng(3), N_FILES)
    members = _members(written / "img_align_celeba.zip")
    for i in (0, 37):
        arr = synthetic.render_face(_row(f, i), seed=3, index=i)
        with Image.open(io.BytesIO(members[f"img_align_celeba/{i + 1:06d}.jpg"])) as im:
            decoded = np.asarray(im.convert("RGB"), dtype=float)
        again = np.asarray(Image.open(io.BytesIO(synthetic._encode_jpeg(arr))).convert("RGB"), dtype=float)
        assert np.abs(decoded - again).mean() < 0.5


def test_same_seed_same_bytes_any_workers_other_seed_differs(tmp_path, written):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    synthetic.write_celeba_format(a, N_FILES, seed=3, workers=2, progress=False)
    synthetic.write_celeba_format(b, N_FILES, seed=4, workers=2, progress=False)
    for name in ("img_align_celeba.zip", "list_attr_celeba.txt", "list_eval_partition.txt", "factors.csv"):
        assert (a / name).read_bytes() == (written / name).read_bytes(), name
    ma, mb = _members(a / "img_align_celeba.zip"), _members(b / "img_align_celeba.zip")
    assert ma.keys() == mb.keys()
    assert all(ma[k] != mb[k] for k in ma)
    assert (a / "factors.csv").read_bytes() != (b / "factors.csv").read_bytes()


# ---------------------------------------------------------------------------
# argument checking
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_images": 0}, "n_images"),
        ({"n_images": -5}, "n_images"),
        ({"n_images": 2.5}, "n_images"),
        ({"n_images": True}, "n_images"),
        ({"n_images": 1_000_000}, "n_images"),
        ({"workers": 0}, "workers"),
        ({"workers": 1.0}, "workers"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(tmp_path, kwargs, name):
    args = {"n_images": 3, "seed": 0, "workers": 1, "progress": False, **kwargs}
    n_images = args.pop("n_images")
    with pytest.raises(ValueError, match=name):
        synthetic.write_celeba_format(tmp_path, n_images, **args)
    assert list(tmp_path.iterdir()) == []


def test_missing_out_dir_raises(tmp_path):
    with pytest.raises(ValueError, match="out_dir"):
        synthetic.write_celeba_format(tmp_path / "missing", 3, seed=0, progress=False)
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ValueError, match="out_dir"):
        synthetic.write_celeba_format(a_file, 3, seed=0, progress=False)


def test_render_face_needs_every_factor():
    f = synthetic.sample_factors(np.random.default_rng(0), 1)
    row = _row(f, 0)
    del row["smile"]
    with pytest.raises(ValueError, match="smile"):
        synthetic.render_face(row, seed=0)
