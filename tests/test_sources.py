"""Local copies of CelebA (zip, folder, Kaggle layout, plain images) and the parallel decoder.

A small fake CelebA comes from the synthetic renderer; the other layouts are built from it.
The stage-level tests run `download` and `prepare` as DVC runs them and check that bad
inputs end in one line on stderr, exit 2, and leave nothing in the output folder.
"""

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from fake_http import QUOTA_HTML, Blob, FakeDrive, FakeServer, make_test_ca
from latentspace import images, sources, synthetic

REPO = Path(__file__).resolve().parents[1]
N = 30
CROP, SIZE = 140, 16


@pytest.fixture(scope="module")
def celeba(tmp_path_factory):
    """A fake CelebA in its original layout: the zip and the two annotation tables."""
    root = tmp_path_factory.mktemp("celeba")
    synthetic.write_celeba_format(root, N, seed=3, workers=1, progress=False)
    (root / "factors.csv").unlink()  # real CelebA has no generating factors
    return root


def jpegs(celeba):
    with zipfile.ZipFile(celeba / "img_align_celeba.zip") as zf:
        return {Path(n).name: zf.read(n) for n in sorted(zf.namelist())}


def naive_face(data, crop=CROP, size=SIZE):
    """Reference: full decode, crop the centre, LANCZOS resize; no draft mode."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    left, top = (img.width - crop) // 2, (img.height - crop) // 2
    return np.asarray(img.crop((left, top, left + crop, top + crop)).resize((size, size), Image.Resampling.LANCZOS))


def kaggle_layout(celeba, root):
    """Kaggle's copy: img_align_celeba/img_align_celeba/*.jpg and CSV tables."""
    folder = root / "img_align_celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    for name, data in jpegs(celeba).items():
        (folder / name).write_bytes(data)
    rows = [ln.split() for ln in (celeba / "list_attr_celeba.txt").read_text().splitlines()]
    with open(root / "list_attr_celeba.csv", "w", newline="") as f:
        csv.writer(f).writerows([["image_id", *rows[1]], *rows[2:]])
    parts = [ln.split() for ln in (celeba / "list_eval_partition.txt").read_text().splitlines()]
    with open(root / "list_eval_partition.csv", "w", newline="") as f:
        csv.writer(f).writerows([["image_id", "partition"], *parts])
    return root


def png_folder(celeba, root):
    """Any faces: PNGs in nested folders, no annotations, plus a file that is not an image."""
    for k, (name, data) in enumerate(jpegs(celeba).items()):
        sub = root / ("b" if k % 2 else "a")
        sub.mkdir(parents=True, exist_ok=True)
        Image.open(io.BytesIO(data)).save(sub / name.replace(".jpg", ".png"))
    (root / "notes.txt").write_text("not an image")
    return root


def zip_with(tmp_path, members: dict) -> Path:
    path = tmp_path / "faces.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_locate_finds_each_layout(celeba, tmp_path):
    found = sources.locate(celeba)
    assert (found.layout, found.images.kind, found.n_images) == ("celeba zip", "zip", N)
    assert set(found.annotations) == {"partition", "attributes"}
    assert sources.locate(celeba / "img_align_celeba.zip").layout == "celeba zip"

    kaggle = sources.locate(kaggle_layout(celeba, tmp_path / "kaggle"))
    assert (kaggle.layout, kaggle.images.kind, kaggle.n_images) == ("kaggle", "dir", N)
    assert kaggle.annotations["attributes"].name == "list_attr_celeba.csv"

    plain = sources.locate(png_folder(celeba, tmp_path / "png"))
    assert (plain.layout, plain.n_images, plain.annotations) == ("images", N, {})
    with plain.images.open() as reader:
        assert reader.ids[:2] == ["a/000001.png", "a/000003.png"]  # relative paths, sorted

    for bad, message in ((tmp_path / "absent", "no such file or folder"),
                         (celeba / "list_attr_celeba.txt", "expected a .zip archive or a folder")):
        with pytest.raises(sources.SourceError, match=message):
            sources.locate(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(sources.SourceError, match="no .jpg/.jpeg/.png images found"):
        sources.locate(tmp_path / "empty")


def test_zip_ids_drop_the_shared_folder_and_skip_macos_forks(tmp_path):
    path = zip_with(tmp_path, {"faces/2.jpg": b"x", "faces/1.png": b"x", "faces/readme.txt": b"x",
                               "__MACOSX/faces/._1.png": b"x"})
    with sources.ZipImages(path) as reader:
        assert reader.ids == ["1.png", "2.jpg"]
        assert reader.read("2.jpg") == b"x"


@pytest.mark.parametrize("member", ["../evil.jpg", "/etc/evil.jpg", "faces/../../evil.jpg", "C:/evil.jpg"])
def test_archive_with_a_traversal_member_is_refused(tmp_path, member):
    path = zip_with(tmp_path, {"faces/000001.jpg": b"x", member: b"x"})
    with pytest.raises(sources.SourceError, match="refusing an archive with the unsafe member path"):
        sources.ZipImages(path)


def test_changed_folder_is_noticed(celeba, tmp_path):
    found = sources.locate(png_folder(celeba, tmp_path / "png"))
    with found.images.open() as reader:
        sources.check_unchanged(found.images, reader.ids)
        first = tmp_path / "png" / reader.ids[0]
        first.write_bytes(first.read_bytes() + b"\0")
        with pytest.raises(sources.SourceError, match="changed since the download stage recorded it"):
            sources.check_unchanged(found.images, reader.ids)


def test_decode_matches_naive_reference_and_does_not_depend_on_workers(celeba):
    source = sources.locate(celeba).images
    with source.open() as reader:
        ids = reader.ids
    size = 32  # the default: draft mode decodes at 1/2 scale
    serial, parallel = (np.zeros((N, size, size, 3), np.uint8) for _ in range(2))
    assert images.decode_faces(source, ids, serial, crop=CROP, max_pixels=10**6, workers=1) == []
    assert images.decode_faces(source, ids, parallel, crop=CROP, max_pixels=10**6, workers=2) == []
    np.testing.assert_array_equal(serial, parallel)
    reference = np.stack([naive_face(d, size=size) for d in jpegs(celeba).values()]).astype(float)
    assert np.abs(serial - reference).mean() < 1.0  # draft decoding only changes rounding


def test_bad_images_are_reported_and_zeroed(celeba, tmp_path):
    good = list(jpegs(celeba).values())
    bomb = io.BytesIO()
    Image.new("L", (4000, 4000)).save(bomb, format="PNG")  # 16 Mpx, a few kB on disk
    small = io.BytesIO()
    Image.new("RGB", (100, 100)).save(small, format="JPEG")
    path = zip_with(tmp_path, {"f/1.jpg": good[0], "f/2.jpg": good[1][: len(good[1]) // 2], "f/3.jpg": b"GIF89a nope",
                               "f/4.png": bomb.getvalue(), "f/5.jpg": small.getvalue(), "f/6.jpg": good[2]})
    source = sources.ImageSource("zip", str(path))
    with source.open() as reader:
        ids = reader.ids
    out = np.full((6, SIZE, SIZE, 3), 7, np.uint8)
    bad = images.decode_faces(source, ids, out, crop=CROP, max_pixels=1_000_000, workers=1)
    reasons = dict(bad)
    assert sorted(reasons) == [1, 2, 3, 4]
    assert "cannot decode" in reasons[1] and "truncated" in reasons[1]
    assert reasons[2] == "not an image Pillow can read"
    assert reasons[3] == "4000x4000 px exceeds prepare.max_image_pixels (1000000)"
    assert reasons[4] == "100x100 px is smaller than prepare.crop (140 px)"
    assert not out[1:5].any()
    assert np.abs(out[0].astype(float) - naive_face(good[0])).mean() < 4.0  # 1/4-scale draft at 16 px
    assert np.abs(out[5].astype(float) - naive_face(good[2])).mean() < 4.0


def test_a_corrupt_member_crc_is_reported(celeba, tmp_path):
    good = list(jpegs(celeba).values())
    path = zip_with(tmp_path, {"f/1.jpg": good[0], "f/2.jpg": good[1]})
    raw = bytearray(path.read_bytes())
    at = raw.index(good[1]) + len(good[1]) // 2  # flip bytes in the middle of the second member (stored)
    raw[at:at + 8] = b"\xff" * 8
    path.write_bytes(bytes(raw))
    source = sources.ImageSource("zip", str(path))
    out = np.zeros((2, SIZE, SIZE, 3), np.uint8)
    bad = images.decode_faces(source, ["1.jpg", "2.jpg"], out, crop=CROP, max_pixels=10**6)
    assert [row for row, _ in bad] == [1] and "CRC" in bad[0][1]


# --- the stages, as `dvc repro` runs them -------------------------------------------------

def run_stages(tmp_path, params_changes, stages=("download", "prepare"), env=None):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prepare"]["image_size"] = SIZE
    for dotted, value in params_changes.items():
        *parents, last = dotted.split(".")
        node = params
        for key in parents:
            node = node[key]
        node[last] = value
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    args = {"download": ["--out", "data/raw"],
            "prepare": ["--raw", "data/raw", "--images", "data/images.npy", "--index", "data/index.csv",
                        "--skipped", "data/skipped.csv", "--metrics", "metrics/prepare.json"]}
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO / "src")}
    for stage in stages:
        proc = subprocess.run([sys.executable, str(REPO / "stages" / f"{stage}.py"), *args[stage]],
                              cwd=work, env=env, capture_output=True, text=True)
        if proc.returncode:
            return work, proc
    return work, proc


def index_rows(work):
    with open(work / "data/index.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_kaggle_layout_through_folder_keeps_attributes_and_official_split(celeba, tmp_path):
    kaggle = kaggle_layout(celeba, tmp_path / "kaggle")
    work, proc = run_stages(tmp_path, {"data.source": "folder", "data.folder.path": str(kaggle),
                                       "prepare.split.method": "official"})
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((work / "data/raw/source.json").read_text())
    assert manifest["layout"] == "kaggle" and manifest["images"]["path"] == str(kaggle / "img_align_celeba/img_align_celeba")
    assert sorted(p.name for p in (work / "data/raw").iterdir()) == ["list_attr_celeba.txt", "list_eval_partition.txt",
                                                                      "source.json"]  # the images stay where they are
    rows = index_rows(work)
    assert [r["image_id"] for r in rows] == sorted(jpegs(celeba))
    assert [r["split"] for r in rows] == ["train" if r["partition"] == "0" else "holdout" for r in rows]
    assert "Smiling" in rows[0]
    zip_work, _ = run_stages(tmp_path / "z", {"data.source": "folder", "data.folder.path": str(celeba),
                                             "prepare.split.method": "official"})
    np.testing.assert_array_equal(np.load(work / "data/images.npy"), np.load(zip_work / "data/images.npy"))


def test_png_folder_without_annotations(celeba, tmp_path):
    folder = png_folder(celeba, tmp_path / "png")
    work, proc = run_stages(tmp_path, {"data.source": "folder", "data.folder.path": str(folder),
                                       "prepare.split.train_size": 20})
    assert proc.returncode == 0, proc.stderr
    rows = index_rows(work)
    assert list(rows[0]) == ["image_id", "split"] and [r["split"] for r in rows] == ["train"] * 20 + ["holdout"] * 10
    metrics = json.loads((work / "metrics/prepare.json").read_text())
    assert metrics == {"prepare": {"n_train": 20, "n_holdout": 10, "n_skipped": 0}}
    assert re.search(rf"^prepare: {N} images in \d+\.\d s \(\d+ img/s\)$", proc.stdout, re.M), proc.stdout  # the log
    # no draft mode for PNG; resizing from the box (not a cropped copy) shifts a few levels at the edges
    first = (folder / rows[0]["image_id"]).read_bytes()
    assert np.abs(np.load(work / "data/images.npy")[0].astype(float) - naive_face(first)).mean() < 0.5
    _, official = run_stages(tmp_path, {"data.source": "folder", "data.folder.path": str(folder),
                                        "prepare.split.method": "official"}, stages=("prepare",))
    assert official.returncode == 2 and "needs CelebA's list_eval_partition" in official.stderr


def assert_failed_cleanly(work, proc, message):
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, proc.stderr
    data = work / "data"
    leftovers = [p for p in data.rglob("*")] if data.exists() else []
    return leftovers


def test_corrupt_jpeg_is_skipped_and_logged_below_the_threshold(celeba, tmp_path):
    members = {f"img_align_celeba/{k}": v for k, v in jpegs(celeba).items()}
    members["img_align_celeba/000007.jpg"] = members["img_align_celeba/000007.jpg"][:500]
    folder = tmp_path / "copy"
    folder.mkdir()
    zip_with(folder, members).rename(folder / "img_align_celeba.zip")
    for table in ("list_eval_partition.txt", "list_attr_celeba.txt"):
        shutil.copy(celeba / table, folder)
    work, proc = run_stages(tmp_path, {"data.source": "folder", "data.folder.path": str(folder),
                                       "prepare.max_bad_fraction": 0.05})
    assert proc.returncode == 0 and "skipped 000007.jpg: cannot decode" in proc.stderr
    rows = index_rows(work)
    assert [r["image_id"] for r in rows if r["split"] == "skipped"] == ["000007.jpg"]
    with open(work / "data/skipped.csv", newline="") as f:
        assert [r["image_id"] for r in csv.DictReader(f)] == ["000007.jpg"]
    metrics = json.loads((work / "metrics/prepare.json").read_text())["prepare"]
    assert metrics["n_skipped"] == 1 and metrics["n_train"] + metrics["n_holdout"] == 30 - 1
    assert "prepare: 30 images in " in proc.stdout  # all of them read, one of them skipped

    # 1 of 30 is more than 1%: the stage fails and writes nothing
    for out in ("images.npy", "index.csv", "skipped.csv"):
        (work / "data" / out).unlink()
    _, proc = run_stages(tmp_path, {"data.source": "folder", "data.folder.path": str(folder),
                                    "prepare.max_bad_fraction": 0.01}, stages=("prepare",))
    assert_failed_cleanly(work, proc, "1 of 30 images cannot be used, more than prepare.max_bad_fraction (0.01); "
                                      "first: 000007.jpg: cannot decode")
    assert sorted(p.name for p in (work / "data").iterdir()) == ["raw"]


def test_traversal_archive_fails_the_download_stage_and_writes_nothing(celeba, tmp_path):
    members = {f"img_align_celeba/{k}": v for k, v in jpegs(celeba).items()}
    members["img_align_celeba/../../outside.jpg"] = b"x"
    path = zip_with(tmp_path, members)
    work, proc = run_stages(tmp_path, {"data.source": "folder", "data.folder.path": str(path)})
    leftovers = assert_failed_cleanly(work, proc, "refusing an archive with the unsafe member path "
                                                  "'img_align_celeba/../../outside.jpg'")
    assert leftovers == []


def test_changed_source_fails_prepare(celeba, tmp_path):
    folder = png_folder(celeba, tmp_path / "png")
    work, proc = run_stages(tmp_path, {"data.source": "folder", "data.folder.path": str(folder)}, stages=("download",))
    assert proc.returncode == 0
    os.remove(next(folder.rglob("*.png")))
    _, proc = run_stages(tmp_path, {"data.source": "folder", "data.folder.path": str(folder)}, stages=("prepare",))
    assert_failed_cleanly(work, proc, "changed since the download stage recorded it; run `dvc repro -f download`")
    assert sorted(p.name for p in (work / "data").iterdir()) == ["raw"]


# --- data.source: celeba, downloading from a local server ---------------------------------

CELEBA_FILES = {"images": "img_align_celeba.zip", "partition": "list_eval_partition.txt",
                "attributes": "list_attr_celeba.txt"}


def mirrors_on(server, celeba, drive=None, images_blob=None):
    """One mirror per file: a URL on the local server, or a Drive id on the fake Drive."""
    mirrors = {}
    for key, name in CELEBA_FILES.items():
        data = (celeba / name).read_bytes()
        md5 = hashlib.md5(data).hexdigest()
        if drive is not None:
            drive.add(f"id-{key}", data, filename=name, mode="confirm" if key == "images" else "direct")
            mirrors[key] = [{"drive": f"id-{key}", "md5": md5, "size": len(data)}]
        else:
            blob = images_blob if key == "images" and images_blob is not None else Blob(data)
            mirrors[key] = [{"url": server.route(f"/celeba/{name}", blob), "md5": md5}]
    return mirrors


@pytest.fixture
def no_proxy_env(monkeypatch):
    for key in list(os.environ):
        if key.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(key)


def test_celeba_download_then_prepare_reads_the_verified_zip_in_place(celeba, tmp_path, no_proxy_env):
    downloads = tmp_path / "downloads"
    ca_file, tls = make_test_ca(tmp_path / "ca", ["127.0.0.1"])
    env = {"REQUESTS_CA_BUNDLE": str(ca_file)}
    with FakeServer(tls=tls) as server:
        params = {"data.source": "celeba", "data.celeba.download_dir": str(downloads),
                  "data.celeba.mirrors": mirrors_on(server, celeba)}
        work, proc = run_stages(tmp_path, params, env=env)
        assert proc.returncode == 0, proc.stderr
        assert len(server.hits) == 3
        manifest = json.loads((work / "data/raw/source.json").read_text())
        assert manifest["images"]["path"] == str(downloads / "img_align_celeba.zip")
        assert sorted(os.listdir(downloads)) == sorted(CELEBA_FILES.values())
        assert len(index_rows(work)) == N
        run_stages(tmp_path, params, stages=("download",), env=env)  # verified copies: no new request
        assert len(server.hits) == 3


def test_celeba_quota_page_fails_the_stage_with_the_ways_out(celeba, tmp_path, no_proxy_env):
    downloads = tmp_path / "downloads"
    ca_file, tls = make_test_ca(tmp_path / "ca", ["127.0.0.1"])
    with FakeServer(tls=tls) as server:
        params = {"data.source": "celeba", "data.celeba.download_dir": str(downloads),
                  "data.celeba.mirrors": mirrors_on(server, celeba, images_blob=Blob(QUOTA_HTML, "text/html"))}
        work, proc = run_stages(tmp_path, params, env={"REQUESTS_CA_BUNDLE": str(ca_file)})
    assert_failed_cleanly(work, proc, "img_align_celeba.zip: no mirror gave a good copy")
    last = proc.stderr.strip().splitlines()[-1]
    assert "quota" in last and "Try again later or add a mirror" in last and "data.source: folder" in last
    assert not (work / "data" / "raw").exists()
    assert "img_align_celeba.zip" not in os.listdir(downloads)


def test_celeba_from_google_drive_ids(celeba, tmp_path, tmp_path_factory, no_proxy_env):
    """The real gdown code against a fake Drive (virus-scan page first for the zip)."""
    ca_file, tls = make_test_ca(tmp_path_factory.mktemp("ca"), ["drive.google.com", "drive.usercontent.google.com"])
    with FakeServer(tls=tls) as server:
        drive = FakeDrive(server)
        params = {"data.source": "celeba", "data.celeba.download_dir": str(tmp_path / "downloads"),
                  "data.celeba.mirrors": mirrors_on(server, celeba, drive=drive)}
        env = {"HTTPS_PROXY": server.proxy_url, "REQUESTS_CA_BUNDLE": str(ca_file)}
        work, proc = run_stages(tmp_path, params, env=env)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(
        np.load(work / "data/images.npy"),
        np.load(run_stages(tmp_path / "local", {"data.source": "folder", "data.folder.path": str(celeba)})[0]
                / "data/images.npy"))
