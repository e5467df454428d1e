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
import stat
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MANIFEST = "source.json"
CELEBA_ZIP, CELEBA_DIR = "img_align_celeba.zip", "img_align_celeba"
ANNOTATION_NAMES = {"partition": "list_eval_partition", "attributes": "list_attr_celeba"}


class SourceError(ValueError):
    """The images' location does not hold usable images, or changed since it was recorded."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on an image zip, checked from its central directory before anything is read.

    The stages take them from params.yaml: ``ArchiveLimits(**params["data"]["archive"])``.

    Parameters
    ----------
    max_members : int or None
        Most members (files and folders) allowed; None is unbounded.
    max_total_gib : float or None
        Most uncompressed bytes of all members together, in GiB; None is unbounded.
    """

    max_members: int | None = None
    max_total_gib: float | None = None


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

    def open(self, limits: ArchiveLimits | None = None) -> "ZipImages | DirImages":
        """A reader of the images; ``limits`` bound a zip (a folder has none)."""
        return ZipImages(self.path, limits) if self.kind == "zip" else DirImages(self.path)


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

    The whole archive is refused (:class:`SourceError` naming it and the member) if a
    member has an absolute path or ``..`` component, or is a symbolic link (CelebA's tools
    never write them, and a later unpack would escape its folder), or if two images have
    the same id (which one is meant would depend on the reader). ``limits`` are checked
    first, from the central directory, before any member is read.
    """

    def __init__(self, path: str | os.PathLike, limits: ArchiveLimits | None = None):
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise SourceError(f"{self.path}: not a readable zip archive ({exc})") from None
        infos = self._zip.infolist()
        if limits is not None:
            self._check_limits(infos, limits)
        members = {}
        for info in infos:
            name = info.filename
            if name.startswith("/") or ".." in posixpath.normpath(name).split("/") or ":" in name.split("/")[0]:
                self._refuse(f"the unsafe member path {name!r} (member paths must be relative, without '..')")
            if stat.S_ISLNK(info.external_attr >> 16):
                self._refuse(f"the symbolic link member {name!r} (only files and folders are allowed)")
            key = posixpath.normpath(name)  # "a//b.jpg" and "./a/b.jpg" would unpack onto "a/b.jpg"
            if not info.is_dir() and _is_image(key):
                if key in members:
                    first = members[key].filename
                    both = repr(name) if first == name else f"{first!r} and {name!r}"
                    self._refuse(f"two members at {both} (each image path must appear once)")
                members[key] = info
        prefix = _common_folder(list(members))
        self._members = {name[len(prefix):]: info for name, info in members.items()}
        self.ids = sorted(self._members)

    def _refuse(self, what: str) -> NoReturn:
        self._zip.close()
        raise SourceError(f"{self.path}: refusing an archive with {what}")

    def _check_limits(self, infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
        if limits.max_members is not None and len(infos) > limits.max_members:
            self._refuse(f"{len(infos)} members, more than data.archive.max_members ({limits.max_members})")
        total = sum(info.file_size for info in infos)
        if limits.max_total_gib is not None and total > limits.max_total_gib * 2**30:
            self._refuse(f"{total} bytes ({total / 2**30:.3g} GiB) uncompressed, more than "
                         f"data.archive.max_total_gib ({limits.max_total_gib})")

    def size(self, image_id: str) -> int:
        return self._members[image_id].file_size

    def read(self, image_id: str) -> bytes:
        return self._zip.read(self._members[image_id])

    def close(self) -> None:
        self._zip.close()


class DirImages(_Reader):
    """Read access to the image files under a folder (recursively), by path relative to it.

    Hidden files and folders are skipped. A symbolic link to an image or a folder must stay
    inside the folder: one that leads outside it (or nowhere) is refused with a
    :class:`SourceError` naming it, since the folder would not hold the images it lists and
    an unpacked download could point the stage at any file. A link to a folder inside is
    not descended (its images are listed under their own path). An image name that is not
    a regular file is refused too (reading a FIFO would block the stage).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_dir():
            raise SourceError(f"{self.path}: not a folder")
        root = os.path.realpath(self.path)
        ids, todo = [], [""]
        while todo:
            rel = todo.pop()
            try:
                entries = list(os.scandir(self.path / rel))
            except OSError as exc:
                raise SourceError(f"{self.path / rel}: cannot list the folder ({exc.strerror})") from None
            for entry in entries:
                name = rel + entry.name
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink() and (entry.is_dir() or _is_image(entry.name)):
                    self._check_link(name, root)
                    if entry.is_dir():
                        continue  # its images are listed under their own path
                if entry.is_dir():
                    todo.append(f"{name}/")
                elif _is_image(entry.name):
                    if not entry.is_file():
                        raise SourceError(f"{self.path}: refusing {name!r}, which is not a regular file")
                    ids.append(name)
        self.ids = sorted(ids)

    def _check_link(self, name: str, root: str) -> None:
        target = os.path.realpath(self.path / name)
        if os.path.commonpath([root, target]) != root:
            raise SourceError(f"{self.path}: refusing the symbolic link {name!r}, which leads outside the "
                              f"folder (to {target}); links must stay inside it")
        if not os.path.exists(target):
            raise SourceError(f"{self.path}: refusing the broken symbolic link {name!r}")

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


def locate(path: str | os.PathLike, *, limits: ArchiveLimits | None = None) -> Located:
    """Find the images (and annotations) of a local copy of CelebA, or of any faces.

    Accepted, in this order:

    - ``img_align_celeba.zip`` or any other zip of JPEG/PNG images;
    - a folder holding ``img_align_celeba.zip``;
    - a folder holding ``img_align_celeba/`` (CelebA's layout) or
      ``img_align_celeba/img_align_celeba/`` (Kaggle's layout);
    - any folder of JPEG/PNG images (searched recursively).

    Annotation tables (``list_eval_partition`` and ``list_attr_celeba``, ``.txt`` or
    Kaggle's ``.csv``) are taken from the folder given, or the zip's folder. ``limits``
    bound a zip (see :class:`ZipImages`); None leaves it unbounded.

    Raises
    ------
    SourceError
        Nothing usable at ``path``, no images, or an archive or folder refused by
        :class:`ZipImages` or :class:`DirImages`.
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
    with ImageSource(kind, str(images)).open(limits) as reader:
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
