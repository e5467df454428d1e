"""Where the raw images are: a zip archive or a folder, in CelebA's, Kaggle's or no layout.

The ``download`` stage records the images' location in ``data/raw/source.json`` instead of
copying a 1.4 GB archive or 202,599 files into the DVC cache; ``prepare`` reads the images
straight from there. :class:`ImageSource` is small and picklable, so each worker process
of ``prepare`` opens its own handle.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MANIFEST = "source.json"
CELEBA_ZIP, CELEBA_DIR = "img_align_celeba.zip", "img_align_celeba"
ANNOTATION_NAMES = {"partition": "list_eval_partition", "attributes": "list_attr_celeba"}


class SourceError(ValueError):
    """The images' location does not hold usable images, or changed since it was recorded."""


@dataclass(frozen=True)
class ImageSource:
    """A zip archive or folder of images.

    Parameters
    ----------
    kind : {"zip", "dir"}
    path : str
        The archive or folder; relative paths are relative to the folder holding
        ``source.json`` (the synthetic data keeps its archive there).
    fingerprint : str
        What the images were when recorded: for a zip its size and modification time,
        for a folder a hash of every image's path, size and modification time.
    """

    kind: str
    path: str
    fingerprint: str = ""

    def resolve(self, base: str | os.PathLike) -> "ImageSource":
        return ImageSource(self.kind, str(Path(base, self.path)), self.fingerprint)

    def open(self) -> "ZipImages | DirImages":
        return ZipImages(self.path) if self.kind == "zip" else DirImages(self.path)


def _is_image(relpath: str) -> bool:
    name = posixpath.basename(relpath)
    # macOS zips carry "__MACOSX/._name.jpg" resource forks that are not images
    return (name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".")
            and not relpath.startswith("__MACOSX/"))


def _common_folder(paths: list[str]) -> str:
    """``"top/"`` if every path lies under the same top-level folder, else ``""``."""
    tops = {p.split("/", 1)[0] for p in paths}
    return f"{tops.pop()}/" if len(tops) == 1 and all("/" in p for p in paths) else ""


class _Reader:
    """``ids`` (sorted image ids), ``size(id)``, ``read(id)``; a context manager that closes."""

    ids: list[str]

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ZipImages(_Reader):
    """Read access to the images of a zip archive, by image id (member path without a
    shared top-level folder: ``000001.jpg`` for CelebA's ``img_align_celeba/000001.jpg``).

    Members with absolute paths or ``..`` components make the whole archive refused:
    CelebA's tools never write them, and a later unpack would escape its folder.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise SourceError(f"{self.path}: not a readable zip archive ({exc})") from None
        members = {}
        for info in self._zip.infolist():
            name = info.filename
            if name.startswith("/") or ".." in posixpath.normpath(name).split("/") or ":" in name.split("/")[0]:
                raise SourceError(f"{self.path}: refusing an archive with the unsafe member path {name!r}")
            if not info.is_dir() and _is_image(name):
                members[name] = info
        prefix = _common_folder(list(members))
        self._members = {name[len(prefix):]: info for name, info in members.items()}
        self.ids = sorted(self._members)

    def size(self, image_id: str) -> int:
        return self._members[image_id].file_size

    def read(self, image_id: str) -> bytes:
        return self._zip.read(self._members[image_id])

    def close(self) -> None:
        self._zip.close()


class DirImages(_Reader):
    """Read access to the image files under a folder (recursively), by path relative to it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_dir():
            raise SourceError(f"{self.path}: not a folder")
        ids = []
        for root, dirs, files in os.walk(self.path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel = Path(root).relative_to(self.path).as_posix()
            ids += [f if rel == "." else f"{rel}/{f}" for f in files if _is_image(f)]
        self.ids = sorted(ids)

    def size(self, image_id: str) -> int:
        return (self.path / image_id).stat().st_size

    def read(self, image_id: str) -> bytes:
        return (self.path / image_id).read_bytes()


def fingerprint(kind: str, path: str | os.PathLike, ids: list[str] | None = None) -> str:
    """A cheap identity of the images: a zip's size and mtime, or for a folder a hash of
    the path, size and mtime of every image in ``ids``."""
    path = Path(path)
    if kind == "zip":
        st = path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    digest = hashlib.md5()
    for image_id in ids:
        st = (path / image_id).stat()
        digest.update(f"{image_id}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return f"{len(ids)}:{digest.hexdigest()}"


@dataclass(frozen=True)
class Located:
    """What :func:`locate` found: the images and any CelebA annotation tables."""

    images: ImageSource
    layout: str  # "celeba zip", "celeba folder", "kaggle", "images"
    n_images: int
    annotations: dict  # "partition" / "attributes" -> Path of a .txt or .csv table


def _annotations(folder: Path) -> dict:
    found = {}
    for key, stem in ANNOTATION_NAMES.items():
        for suffix in (".txt", ".csv"):
            if (folder / (stem + suffix)).is_file():
                found[key] = folder / (stem + suffix)
                break
    return found


def locate(path: str | os.PathLike) -> Located:
    """Find the images (and annotations) of a local copy of CelebA, or of any faces.

    Accepted, in this order:

    - ``img_align_celeba.zip`` or any other zip of JPEG/PNG images;
    - a folder holding ``img_align_celeba.zip``;
    - a folder holding ``img_align_celeba/`` (CelebA's layout) or
      ``img_align_celeba/img_align_celeba/`` (Kaggle's layout);
    - any folder of JPEG/PNG images (searched recursively).

    Annotation tables (``list_eval_partition`` and ``list_attr_celeba``, ``.txt`` or
    Kaggle's ``.csv``) are taken from the folder given, or the zip's folder.
    """
    path = Path(path).expanduser().absolute()
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise SourceError(f"{path}: expected a .zip archive or a folder of images")
        kind, images, layout, notes = "zip", path, "celeba zip" if path.name == CELEBA_ZIP else "images zip", path.parent
    elif path.is_dir():
        notes = path
        if (path / CELEBA_ZIP).is_file():
            kind, images, layout = "zip", path / CELEBA_ZIP, "celeba zip"
        elif (path / CELEBA_DIR / CELEBA_DIR).is_dir():
            kind, images, layout = "dir", path / CELEBA_DIR / CELEBA_DIR, "kaggle"
        elif (path / CELEBA_DIR).is_dir():
            kind, images, layout = "dir", path / CELEBA_DIR, "celeba folder"
        else:
            kind, images, layout = "dir", path, "images"
    else:
        raise SourceError(f"{path}: no such file or folder")
    with ImageSource(kind, str(images)).open() as reader:
        ids = reader.ids
    if not ids:
        raise SourceError(f"{images}: no .jpg/.jpeg/.png images found")
    source = ImageSource(kind, str(images), fingerprint(kind, images, ids))
    return Located(source, layout, len(ids), _annotations(notes))


def write_manifest(raw_dir: str | os.PathLike, images: ImageSource, **info) -> None:
    """Record where the ``images`` are (and descriptive ``info``) in ``raw_dir/source.json``."""
    text = json.dumps({"images": asdict(images), **info}, indent=2) + "\n"
    Path(raw_dir, MANIFEST).write_text(text)


def read_manifest(raw_dir: str | os.PathLike) -> ImageSource:
    """The :class:`ImageSource` recorded by the download stage, checked to be unchanged.

    Raises
    ------
    SourceError
        If the manifest is missing or unreadable, or the images changed since.
    """
    path = Path(raw_dir, MANIFEST)
    try:
        images = json.loads(path.read_text())["images"]
        source = ImageSource(images["kind"], images["path"], images["fingerprint"]).resolve(raw_dir)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"{path}: missing or unreadable ({exc}); run the download stage first (dvc repro)") from None
    return source


def check_unchanged(source: ImageSource, ids: list[str]) -> None:
    """Fail if the images at ``source.path`` are not those the download stage recorded
    (sources without a fingerprint live inside ``data/raw``, where DVC tracks them)."""
    if not source.fingerprint:
        return
    try:
        now = fingerprint(source.kind, source.path, ids)
    except OSError as exc:
        raise SourceError(f"{source.path}: cannot read the recorded images ({exc.strerror})") from None
    if now != source.fingerprint:
        raise SourceError(f"{source.path}: changed since the download stage recorded it; "
                          "run `dvc repro -f download` and then `dvc repro`")
