"""Untrusted archives, folders and images: each is refused with one line naming it, or
skipped with a reason, or converted to a sensible RGB face; never a crash.

One table of cases, checked through the library (``sources.locate`` and
``images.decode_faces``); a few of them also through the ``download`` stage script.
"""

import io
import os
import stat
import struct
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from latentspace import images, sources, synthetic
from stage_helpers import REPO, run_stage, write_params

CROP, SIZE, MAX_PIXELS = 140, 32, 1_000_000
LIMITS = sources.ArchiveLimits(max_members=1000, max_total_gib=1.0)


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> list[bytes]:
    """Six 178x218 JPEG faces from the synthetic renderer, as CelebA's zip holds them."""
    root = tmp_path_factory.mktemp("celeba")
    synthetic.write_celeba_format(root, 6, seed=3, workers=1, progress=False)
    with zipfile.ZipFile(root / "img_align_celeba.zip") as zf:
        return [zf.read(n) for n in sorted(zf.namelist())]


# --- inputs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    """A zip member that is a symbolic link to ``target`` (as Info-ZIP stores one)."""

    target: str


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def zip_of(*members: tuple[str, object]):
    """A builder of ``faces.zip``; member data ``"face"`` is a real face (pairs allow repeated names)."""
    def build(tmp, faces):
        path = tmp / "faces.zip"
        with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as zf:
            warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": wanted here
            for name, data in members:
                data = faces[0] if data == "face" else data
                if isinstance(data, Link):
                    info = zipfile.ZipInfo(name)
                    info.create_system, info.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
                    zf.writestr(info, data.target)
                else:
                    zf.writestr(name, data)
        return path
    return build


def folder_of(**files):
    """A builder of folder ``faces/``: file name (``__`` for ``/``) -> bytes, ``"face"``, or a
    callable given the entry's path that makes it (links, FIFOs). Beside the folder lie
    ``outside.jpg`` and ``outside/7.jpg``, for links to point at."""
    def build(tmp, faces):
        root = tmp / "faces"
        root.mkdir()
        (tmp / "outside.jpg").write_bytes(faces[1])
        (tmp / "outside").mkdir()
        (tmp / "outside" / "7.jpg").write_bytes(faces[2])
        for name, data in files.items():
            path = root / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            if callable(data):
                data(path)
            else:
                path.write_bytes(faces[0] if data == "face" else data)
        return root
    return build


def symlink(target):
    """``target`` relative to the link's folder, as ``ln -s`` takes it."""
    return lambda path: path.symlink_to(target)


def encoded(mode: str, fmt: str, **save):
    """A face converted to ``mode`` and saved as ``fmt``; ``"I;16"`` holds 16-bit grey levels."""
    def make(faces):
        face = Image.open(io.BytesIO(faces[0]))
        if mode == "I;16":
            img = Image.fromarray(np.asarray(face.convert("L")).astype(np.uint16) * 257)
        elif mode == "RGBA":
            img = face.convert("RGBA")
            img.putalpha(Image.linear_gradient("L").resize(face.size))
        elif mode == "P":
            img = face.quantize(64)
        else:
            img = face.convert(mode)
        buf = io.BytesIO()
        img.save(buf, format=fmt, **save)
        assert Image.open(io.BytesIO(buf.getvalue())).mode == mode  # the case is what it claims
        return buf.getvalue()
    return make


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` RGB pixels, followed by one byte of them."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
            + chunk(b"IEND", b""))


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def solid(mode: str, size: tuple[int, int], fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format=fmt)
    return buf.getvalue()


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 200 200\nshowpage\n%%EOF\n"


def image(name: str, make: Callable):
    """A folder holding the one image ``name`` whose bytes ``make(faces)`` returns."""
    def build(tmp, faces):
        root = tmp / "faces"
        root.mkdir()
        (root / name).write_bytes(make(faces))
        return root
    return build


# --- references -----------------------------------------------------------------------------

def naive_face(img: Image.Image) -> np.ndarray:
    """Reference: full decode (no draft), convert to RGB, crop the centre, LANCZOS resize."""
    img = img.convert("RGB")
    left, top = (img.width - CROP) // 2, (img.height - CROP) // 2
    return np.asarray(img.crop((left, top, left + CROP, top + CROP)).resize((SIZE, SIZE), Image.Resampling.LANCZOS))


def naive(data: bytes) -> np.ndarray:
    return naive_face(Image.open(io.BytesIO(data)))


def naive_16bit(data: bytes) -> np.ndarray:
    """Pillow's I;16 -> RGB clips at 255 (a white square); scale the grey levels to 8 bits first."""
    grey = np.asarray(Image.open(io.BytesIO(data)), dtype=np.float64) / 257
    return naive_face(Image.fromarray(np.rint(grey).astype(np.uint8)))


# --- the table --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refused:
    """``locate`` raises SourceError with this text (and the path it names)."""

    message: str
    names: str  # relative to tmp: the archive or folder the message must start with


@dataclass(frozen=True)
class Listed:
    """``locate`` accepts the input and lists exactly these image ids."""

    ids: list


@dataclass(frozen=True)
class Skipped:
    """The one image is listed but skipped by ``decode_faces`` with this reason."""

    reason: str


@dataclass(frozen=True)
class Converted:
    """The one image is decoded; it matches ``reference(data)`` to ``tol`` grey levels on average."""

    reference: Callable = naive
    tol: float = 1.0


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable  # (tmp_path, faces) -> the path given to sources.locate
    expect: object
    limits: sources.ArchiveLimits = LIMITS
    stage: bool = False  # also run through the download stage


LINK_REFUSED = "refusing the symbolic link {!r}, which leads outside the folder"
CASES = [
    # zip archives
    Case("zip-symlink-member", zip_of(("faces/1.jpg", "face"), ("faces/2.jpg", Link("/etc/passwd"))),
         Refused("refusing an archive with the symbolic link member 'faces/2.jpg' "
                 "(only files and folders are allowed)", "faces.zip"), stage=True),
    Case("zip-symlink-member-not-an-image", zip_of(("faces/1.jpg", "face"), ("faces/up", Link(".."))),
         Refused("the symbolic link member 'faces/up'", "faces.zip")),
    Case("zip-dotdot-member", zip_of(("faces/1.jpg", "face"), ("faces/../../evil.jpg", b"x")),
         Refused("refusing an archive with the unsafe member path 'faces/../../evil.jpg'", "faces.zip")),
    Case("zip-absolute-member", zip_of(("faces/1.jpg", "face"), ("/etc/evil.jpg", b"x")),
         Refused("refusing an archive with the unsafe member path '/etc/evil.jpg'", "faces.zip")),
    Case("zip-duplicate-name", zip_of(("faces/1.jpg", "face"), ("faces/2.jpg", "face"), ("faces/1.jpg", b"x")),
         Refused("refusing an archive with two members at 'faces/1.jpg' (each image path must appear once)",
                 "faces.zip")),
    Case("zip-duplicate-after-normalising", zip_of(("faces/1.jpg", "face"), ("faces//1.jpg", b"x")),
         Refused("two members at 'faces/1.jpg' and 'faces//1.jpg'", "faces.zip")),
    Case("zip-too-many-members", zip_of(*[(f"faces/{k}.jpg", "face") for k in range(4)], ("faces/", b"")),
         Refused("refusing an archive with 5 members, more than data.archive.max_members (4)", "faces.zip"),
         limits=sources.ArchiveLimits(max_members=4), stage=True),
    Case("zip-at-max-members", zip_of(*[(f"faces/{k}.jpg", "face") for k in range(4)]),
         Listed(["0.jpg", "1.jpg", "2.jpg", "3.jpg"]), limits=sources.ArchiveLimits(max_members=4)),
    Case("zip-too-large-uncompressed", zip_of(("faces/1.jpg", bytes(100)), ("faces/zeros.bin", bytes(2000))),
         Refused("refusing an archive with 2100 bytes (1.96e-06 GiB) uncompressed, more than "
                 "data.archive.max_total_gib (1e-06)", "faces.zip"),
         limits=sources.ArchiveLimits(max_total_gib=1e-6)),
    Case("zip-empty", zip_of(), Refused("no .jpg/.jpeg/.png images found", "faces.zip")),
    Case("zip-without-images", zip_of(("faces/readme.txt", b"hello")),
         Refused("no .jpg/.jpeg/.png images found", "faces.zip")),
    Case("zip-not-a-zip", lambda tmp, faces: write_bytes(tmp / "faces.zip", b"PK\x03\x04 not really"),
         Refused("not a readable zip archive", "faces.zip")),
    # folders
    Case("folder-empty", folder_of(), Refused("no .jpg/.jpeg/.png images found", "faces"), stage=True),
    Case("folder-text-file-ignored", folder_of(**{"1.jpg": "face", "notes.txt": b"hi", "sub__2.jpg": "face",
                                                  ".hidden.jpg": b"x", "sub__readme": b"x"}),
         Listed(["1.jpg", "sub/2.jpg"])),
    Case("folder-symlinked-image-outside", folder_of(**{"1.jpg": "face", "2.jpg": symlink("../outside.jpg")}),
         Refused(LINK_REFUSED.format("2.jpg"), "faces")),
    Case("folder-symlinked-folder-outside", folder_of(**{"1.jpg": "face", "more": symlink("../outside")}),
         Refused(LINK_REFUSED.format("more"), "faces")),
    Case("folder-symlink-inside-kept", folder_of(**{"a__1.jpg": "face", "2.jpg": symlink("a/1.jpg"),
                                                    "b": symlink("a")}),
         Listed(["2.jpg", "a/1.jpg"])),
    Case("folder-broken-symlink", folder_of(**{"1.jpg": "face", "2.jpg": symlink("gone.jpg")}),
         Refused("refusing the broken symbolic link '2.jpg'", "faces")),
    Case("folder-fifo-named-jpg", folder_of(**{"1.jpg": "face", "2.jpg": os.mkfifo}),
         Refused("refusing '2.jpg', which is not a regular file", "faces")),
    # images: converted and used
    Case("grayscale-jpeg", image("1.jpg", encoded("L", "JPEG", quality=95)), Converted()),
    Case("cmyk-jpeg", image("1.jpg", encoded("CMYK", "JPEG", quality=95)), Converted()),
    Case("rgba-png", image("1.png", encoded("RGBA", "PNG")), Converted(tol=0.5)),
    Case("palette-png", image("1.png", encoded("P", "PNG")), Converted(tol=0.5)),
    Case("palette-png-with-transparency", image("1.png", encoded("P", "PNG", transparency=0)), Converted(tol=0.5)),
    Case("16-bit-png", image("1.png", encoded("I;16", "PNG")), Converted(naive_16bit, tol=0.5)),
    Case("png-named-jpg", image("1.jpg", encoded("RGB", "PNG")), Converted(tol=0.5)),
    # images: skipped with a reason
    Case("1x1-png", image("1.png", lambda faces: solid("RGB", (1, 1), "PNG")),
         Skipped("1x1 px is smaller than prepare.crop (140 px)")),
    Case("tall-thin-jpeg", image("1.jpg", lambda faces: solid("RGB", (139, 2000), "JPEG")),
         Skipped("139x2000 px is smaller than prepare.crop (140 px)")),
    Case("header-claims-20000x20000", image("1.png", lambda faces: png_claiming(20000, 20000)),
         Skipped("more than 178956970 px (Pillow's decompression-bomb limit), "
                 "above prepare.max_image_pixels (1000000)")),
    Case("header-claims-10000x10000", image("1.png", lambda faces: png_claiming(10000, 10000)),
         Skipped("10000x10000 px exceeds prepare.max_image_pixels (1000000)")),
    Case("header-claims-2000x2000", image("1.png", lambda faces: png_claiming(2000, 2000)),
         Skipped("2000x2000 px exceeds prepare.max_image_pixels (1000000)")),
    Case("truncated-jpeg", image("1.jpg", lambda faces: half(faces[0])),
         Skipped("cannot decode (image file is truncated")),
    Case("truncated-png", image("1.png", lambda faces: half(encoded("RGB", "PNG")(faces))),
         Skipped("cannot decode (")),
    Case("truncated-png-header", image("1.png", lambda faces: png_claiming(200, 200)[:30]),
         Skipped("not an image Pillow can read")),
    Case("text-named-jpg", image("1.jpg", lambda faces: b"hello, not a face\n"),
         Skipped("not an image Pillow can read")),
    Case("eps-named-jpg", image("1.jpg", lambda faces: EPS), Skipped("not an image Pillow can read")),
    Case("empty-file-named-png", image("1.png", lambda faces: b""), Skipped("not an image Pillow can read")),
]


def one_line(text: str) -> str:
    assert "\n" not in text.strip(), text
    return text.strip()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_untrusted_input(case, faces, tmp_path):
    path = case.build(tmp_path, faces)
    expect = case.expect
    if isinstance(expect, Refused):
        with pytest.raises(sources.SourceError) as err:
            sources.locate(path, limits=case.limits)
        message = one_line(str(err.value))
        assert message.startswith(f"{tmp_path / expect.names}: ") and expect.message in message, message
        return

    found = sources.locate(path, limits=case.limits)
    with found.images.open() as reader:
        ids = reader.ids
    if isinstance(expect, Listed):
        assert ids == expect.ids
        return

    assert len(ids) == 1
    data = (path / ids[0]).read_bytes()
    out = np.full((1, SIZE, SIZE, 3), 7, np.uint8)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bad = images.decode_faces(found.images, ids, out, crop=CROP, max_pixels=MAX_PIXELS)
    seconds = time.perf_counter() - start
    assert [str(w.message) for w in caught] == []  # no DecompressionBombWarning, no palette warnings
    if isinstance(expect, Skipped):
        assert len(bad) == 1 and bad[0][0] == 0 and bad[0][1].startswith(expect.reason), bad
        assert "\n" not in bad[0][1]
        assert not out.any()  # the row is zeroed
        assert seconds < 1.0  # nothing large gets decoded (20000x20000 RGB would be 1.2 GB)
    else:
        assert bad == []
        reference = expect.reference(data).astype(float)
        assert reference.shape == (SIZE, SIZE, 3) and reference.std() > 10  # a face, not a flat square
        assert np.abs(out[0] - reference).mean() < expect.tol


def test_16_bit_png_is_not_clipped_to_white(faces, tmp_path):
    """The naive reference would be wrong here: Pillow's own conversion clips I;16 at 255."""
    data = encoded("I;16", "PNG")(faces)
    out = images.load_face(data, crop=CROP, size=SIZE, max_pixels=MAX_PIXELS)
    assert (naive(data) == 255).mean() > 0.9 and (out == 255).mean() < 0.1
    grey = np.asarray(naive(encoded("L", "PNG")(faces)), dtype=float)
    assert np.abs(out - grey).mean() < 1.0  # the same face as its 8-bit copy


def test_pillow_bomb_limit_is_left_in_place():
    """No latentspace module may switch Pillow's own decompression-bomb check off."""
    import importlib

    users = [p.stem for p in (REPO / "src/latentspace").glob("*.py") if "PIL" in p.read_text()]
    assert "images" in users
    for name in users:
        importlib.import_module(f"latentspace.{name}")
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's default, the cap of prepare.max_image_pixels


# --- through the download stage -----------------------------------------------------------------

STAGE_CASES = [c for c in CASES if c.stage]


@pytest.mark.parametrize("case", STAGE_CASES, ids=[c.id for c in STAGE_CASES])
def test_download_stage_refuses_with_one_line(case, faces, tmp_path):
    path = case.build(tmp_path, faces)
    archive = {"max_members": case.limits.max_members or 1000, "max_total_gib": case.limits.max_total_gib or 1.0}
    write_params(tmp_path / "params.yaml", "data", source="folder", folder={"path": str(path)}, archive=archive)
    work = tmp_path / "work"
    work.mkdir()
    proc = run_stage("download", ["--params", tmp_path / "params.yaml", "--out", "raw"], cwd=work)
    assert proc.returncode == 2, proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith(f"error: {path}: ") and case.expect.message in line, line
    assert list(work.iterdir()) == []  # no --out, and no temporary folder beside it


def test_prepare_stage_checks_the_bounds_before_decoding(tmp_path):
    """The bounds hold in prepare too (here on the synthetic zip, which download writes unchecked)."""
    archive = {"max_members": 2, "max_total_gib": 1.0}
    write_params(tmp_path / "params.yaml", "data", source="synthetic", archive=archive,
                 synthetic={"n_images": 4, "seed": 0, "workers": 1})
    download = run_stage("download", ["--params", "params.yaml", "--out", "raw"], cwd=tmp_path)
    assert download.returncode == 0, download.stderr
    outs = ["images.npy", "index.csv", "skipped.csv", "prepare.json"]
    proc = run_stage("prepare", ["--params", "params.yaml", "--raw", "raw", "--images", outs[0], "--index", outs[1],
                                 "--skipped", outs[2], "--metrics", outs[3]], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert one_line(proc.stderr) == ("error: raw/img_align_celeba.zip: refusing an archive with 4 members, "
                                     "more than data.archive.max_members (2)")
    assert not any((tmp_path / name).exists() for name in outs)
