"""Download one file from a list of mirrors, verified by MD5 and resumable.

CelebA's files live on Google Drive, which often answers with an HTML page instead of the
file: its download quota page ("Too many users have viewed or downloaded this file
recently") or its virus-scan confirmation page (torchvision issues #1920, #2262, #8283;
TFDS #1271, #1482). :func:`fetch` therefore never trusts an answer until its size, its
first bytes and its MD5 match, and only then renames it to its final name, so a later
stage can never take a quota page or a truncated zip for the dataset. URL mirrors must be
https, and so must every URL they redirect to: over plain http anyone on the path can
watch or answer, and MD5 alone is no safe guard against a crafted file.

Layout in ``dest_dir`` while ``name`` is being fetched:

- ``.{name}.{md5}.part``: bytes received so far from an https URL mirror whose file has
  MD5 ``md5``. A dropped connection or Ctrl-C leaves it, and the next call resumes it with
  an HTTP Range request. Keying it by the MD5 means bytes of one file are never continued
  with bytes of another.
- ``.{name}.{md5}.drive``: a Google Drive download that gdown finished, not yet verified;
  gdown keeps its own partial beside it as ``.{name}.{md5}.drive<8 random chars>.part``
  and resumes that one (``resume=True``).
- ``name``: only ever a verified copy.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3
from tqdm import tqdm

# gdown 6.5.1 rewrites every drive.google.com URL to this https form itself.
DRIVE_URL = "https://drive.google.com/uc?id={id}"
TIMEOUT = (10, 60)  # seconds to connect, and between two reads of the body
MAX_REDIRECTS = 10
CHUNK = 1 << 20
KINDS = ("any", "zip", "text")

ZIP_MAGIC = b"PK\x03\x04"
# Wording of Google Drive's download quota page (and of its page title).
QUOTA_MARKERS = ("too many users have viewed or downloaded", "quota exceeded")
HTML_REASON = "answered with an HTML page instead of the file (Google Drive's quota or virus-scan page?)"
QUOTA_REASON = ("answered with an HTML page instead of the file: Google Drive's download quota page "
                "(too many users have downloaded it recently)")
HINT = ("Try again later or add a mirror under data.celeba.mirrors, or download the files "
        'yourself and use data.source: folder (docs/celeba.md).')

_MD5_RE = re.compile(r"[0-9a-fA-F]{32}")
_DRIVE_ID_RE = re.compile(r"[-\w]+")
_CONTENT_RANGE_RE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_HTML_START_RE = re.compile(rb"\s*<(!doctype\s+html|html)[\s>]", re.IGNORECASE)
# What a dropped or stalled connection raises while the body streams in; a disk error
# (also an OSError) must not be mistaken for one and retried.
_DROPS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    urllib3.exceptions.SSLError,
    ConnectionError,
    TimeoutError,
)


class DownloadError(ValueError):
    """No mirror gave a verified copy of a file; the message is one line for the user."""


@dataclass(frozen=True)
class Mirror:
    """One place to download a file from, and what the file from there must hash to.

    Parameters
    ----------
    url : str, optional
        An ``https://`` URL; plain ``http://`` is refused.
    drive : str, optional
        A Google Drive file id (exactly one of ``url`` and ``drive``).
    md5 : str
        Expected MD5 of the file, 32 hex digits (stored in lower case).
    size : int, optional
        Expected size in bytes; checked before hashing, and against the size the server
        announces, so a wrong file fails before it is downloaded.
    """

    url: str | None = None
    drive: str | None = None
    md5: str = ""
    size: int | None = None

    def __post_init__(self):
        if (self.url is None) == (self.drive is None):
            raise ValueError("a mirror needs exactly one of url and drive")
        if self.url is not None and not (isinstance(self.url, str) and re.match(r"https://[^/\s]+", self.url)):
            raise ValueError(f"mirror url must start with https:// (only https is allowed), got {self.url!r}")
        if self.drive is not None and not (isinstance(self.drive, str) and _DRIVE_ID_RE.fullmatch(self.drive)):
            raise ValueError(f"Google Drive id may hold only letters, digits, '-' and '_', got {self.drive!r}")
        if not isinstance(self.md5, str) or not _MD5_RE.fullmatch(self.md5):
            raise ValueError(f"mirror md5 must be 32 hex digits, got {self.md5!r}")
        if self.size is not None and (type(self.size) is not int or self.size < 0):
            raise ValueError(f"mirror size must be a non-negative integer, got {self.size!r}")
        object.__setattr__(self, "md5", self.md5.lower())  # frozen: normalise once here

    def describe(self) -> str:
        """Return ``drive:<id>`` or the URL, as failure messages name the mirror."""
        return f"drive:{self.drive}" if self.drive is not None else str(self.url)


def mirrors_from_params(entries: list[dict]) -> list[Mirror]:
    """Build mirrors from params entries such as ``{"drive": id, "md5": hex, "size": n}``.

    Parameters
    ----------
    entries : list of dict
        Each with exactly one of ``url`` and ``drive``, an ``md5`` of 32 hex digits and
        optionally ``size`` (bytes).

    Returns
    -------
    list of Mirror
        In the order given, which is the order :func:`fetch` tries them.

    Raises
    ------
    ValueError
        Naming the index of the first bad entry and what is allowed there.
    """
    allowed = "exactly one of url (https URL) or drive (Google Drive id), md5 (32 hex digits), optional size (bytes)"
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"mirrors must be a non-empty list of mappings with {allowed}; got {entries!r}")
    mirrors = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"mirror {i}: expected a mapping with {allowed}; got {entry!r}")
        unknown = sorted(set(entry) - {"url", "drive", "md5", "size"})
        if unknown:
            raise ValueError(f"mirror {i}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {allowed}")
        try:
            mirrors.append(Mirror(url=entry.get("url"), drive=entry.get("drive"),
                                  md5=entry.get("md5", ""), size=entry.get("size")))
        except ValueError as e:
            raise ValueError(f"mirror {i}: {e}; allowed: {allowed}") from None
    return mirrors


def md5sum(path: str | Path, chunk: int = 1 << 20) -> str:
    """Return the MD5 hex digest of the file at ``path``, read ``chunk`` bytes at a time."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def fetch(name: str, mirrors: list[Mirror], dest_dir: Path, *, kind: str = "any",
          progress: bool = True, attempts: int = 3) -> Path:
    """Make ``dest_dir/name`` a verified copy of a file, downloading it if needed.

    Parameters
    ----------
    name : str
        File name inside ``dest_dir``.
    mirrors : list of Mirror
        Tried in order until one gives a copy whose size and MD5 match that mirror's.
    dest_dir : Path
        Directory of the file and of its partial downloads; created if missing.
    kind : {"any", "zip", "text"}
        What the file's first bytes must look like; an HTML answer is refused for all.
    progress : bool
        Show a tqdm progress bar on stderr.
    attempts : int
        Connections per mirror; each after the first resumes the bytes already received.

    Returns
    -------
    Path
        ``dest_dir/name``. An existing file is kept, without any request, when its MD5
        matches one of the mirrors; otherwise it is deleted and downloaded again.

    Raises
    ------
    DownloadError
        When no mirror gave a good copy; the one-line message has every mirror's reason.
        Partial downloads that can be resumed stay in ``dest_dir`` for the next call.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if type(attempts) is not int or attempts < 1:
        raise ValueError(f"attempts must be a positive integer, got {attempts!r}")
    if not mirrors:
        raise DownloadError(f"{name}: no mirrors to download from. {HINT}")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / name
    if final.is_file():
        if md5sum(final) in {m.md5 for m in mirrors}:
            _drop_partials(dest_dir, name)
            return final
        # A bad file must never stay where a later stage could take it for good.
        final.unlink()

    reasons = []
    with tqdm(desc=name, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
              disable=not progress) as bar:
        for mirror in mirrors:
            try:
                _fetch_one(name, mirror, dest_dir, kind, bar, attempts)
            except _MirrorFailed as e:
                reasons.append(f"{mirror.describe()}: {_one_line(str(e))}")
                continue
            _drop_partials(dest_dir, name)
            return final
    raise DownloadError(f"{name}: no mirror gave a good copy ({'; '.join(reasons)}). {HINT}")


class _MirrorFailed(Exception):
    """This mirror cannot give a good copy now; the message is the reason."""


class _Retry(Exception):
    """A transient failure (dropped connection, server error) that a new attempt may fix."""


class _SizeAnnounced(Exception):
    """Raised from gdown's progress callback to stop a download of the wrong size."""


def _fetch_one(name: str, mirror: Mirror, dest_dir: Path, kind: str, bar: tqdm, attempts: int) -> None:
    final = dest_dir / name
    for _ in range(2):
        if mirror.drive is not None:
            leftover = _drive_staged(dest_dir, name, mirror)
            resumed = leftover.exists() or bool(_gdown_parts(leftover))
            staged = _from_drive(mirror, leftover, bar, attempts)
        else:
            staged = dest_dir / f".{name}.{mirror.md5}.part"
            resumed = staged.exists() and staged.stat().st_size > 0
            _from_url(mirror, staged, kind, bar, attempts)
        reason = _verify(staged, mirror, kind)
        if reason is None:
            os.replace(staged, final)
            return
        staged.unlink(missing_ok=True)
        if not resumed:
            raise _MirrorFailed(reason)
        # Bytes kept from an earlier run may be what was wrong: one more try from zero.
    raise _MirrorFailed(reason)


def _verify(path: Path, mirror: Mirror, kind: str) -> str | None:
    """Return why the downloaded file at ``path`` is not the mirror's file, or None."""
    with open(path, "rb") as f:
        why = _sniff(f.read(1 << 16), "", kind)
    if why:
        return why
    size = path.stat().st_size
    if mirror.size is not None and size != mirror.size:
        return f"size {size} bytes != expected {mirror.size}"  # cheap, before the 1.4 GB hash
    got = md5sum(path)
    return None if got == mirror.md5 else f"md5 {got} != expected {mirror.md5}"


def _sniff(head: bytes, content_type: str, kind: str) -> str | None:
    """Return why the first bytes of a body cannot start the file, or None."""
    if _is_html_type(content_type) or _HTML_START_RE.match(head.removeprefix(b"\xef\xbb\xbf")):
        text = head.decode("utf-8", "replace").lower()
        return QUOTA_REASON if any(m in text for m in QUOTA_MARKERS) else HTML_REASON
    if kind == "zip" and not head.startswith(ZIP_MAGIC):
        return f"not a zip file (first bytes {head[:8]!r}, expected {ZIP_MAGIC!r})"
    if kind == "text" and b"\x00" in head:
        return "binary data where a text file was expected"
    return None


# --- https URLs --------------------------------------------------------------------------


def _from_url(mirror: Mirror, part: Path, kind: str, bar: tqdm, attempts: int) -> None:
    last = None
    for _ in range(attempts):
        try:
            _http_attempt(mirror, part, kind, bar)
            return
        except _Retry as e:
            last = e
    kept = part.exists() and part.stat().st_size > 0
    raise _MirrorFailed(f"{last} ({attempts} attempts"
                        + ("; the partial file is kept and the next run resumes it)" if kept else ")"))


def _http_attempt(mirror: Mirror, part: Path, kind: str, bar: tqdm) -> None:
    """One GET into ``part``, resuming from its length; returns once it holds the whole body."""
    have = part.stat().st_size if part.exists() else 0
    if mirror.size is not None and have >= mirror.size:
        if have == mirror.size:
            return  # complete from an earlier run; verification decides
        part.unlink()
        have = 0
    # Byte offsets must count the bytes on disk, so ask for no content encoding.
    headers = {"Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        r = _get_https(mirror.url, headers)
    except _DROPS as e:
        raise _Retry(f"connection failed ({type(e).__name__})") from e
    except requests.exceptions.RequestException as e:
        raise _MirrorFailed(f"request failed ({type(e).__name__}: {e})") from e
    with r:
        if have and r.status_code == 416:
            return  # nothing left to send: the partial is whole; verification decides
        if r.status_code not in (200, 206):
            why = f"HTTP {r.status_code} {r.reason or ''}".strip()
            if r.status_code >= 500 or r.status_code in (408, 429):
                raise _Retry(why)
            raise _MirrorFailed(why)
        encoded = r.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")
        if r.status_code == 206:
            m = _CONTENT_RANGE_RE.fullmatch(r.headers.get("Content-Range", ""))
            if (not have or encoded or m is None or int(m[1]) != have
                    or (m[3] != "*" and int(m[2]) != int(m[3]) - 1)):
                part.unlink(missing_ok=True)
                raise _Retry(f"inconsistent partial answer (Content-Range {r.headers.get('Content-Range')!r} "
                             f"for Range bytes={have}-), restarting from zero")
            offset, total = have, int(m[2]) + 1
        else:
            # 200: the server sent the whole file (it ignores Range): restart from zero.
            offset = 0
            length = r.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() and not encoded else None
        if mirror.size is not None and total is not None and total != mirror.size:
            raise _MirrorFailed(f"server announces {total} bytes, expected {mirror.size}")

        # Raw bytes as they arrive: requests' iter_content drops the last incomplete
        # chunk when the connection breaks, which would lose up to CHUNK bytes per drop.
        chunks = r.raw.stream(CHUNK, decode_content=encoded)
        got = offset
        try:
            first = next(chunks, b"")
            ctype = r.headers.get("Content-Type", "")
            # The body of a 206 is the middle of the file: only its declared type can tell.
            why = _sniff(first, ctype, kind) if offset == 0 or _is_html_type(ctype) else None
            if why:
                raise _MirrorFailed(why)  # nothing written: a partial being resumed stays intact
            bar.reset(total=total)
            bar.update(offset)
            with open(part, "ab" if offset else "wb") as f:
                for chunk in itertools.chain([first], chunks):
                    f.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
        except _DROPS as e:
            if encoded:
                part.unlink(missing_ok=True)  # decoded bytes do not map to Range offsets
            raise _Retry(f"connection dropped after {got} of {total if total is not None else '?'} bytes") from e
    if total is not None and got < total:
        raise _Retry(f"connection dropped after {got} of {total} bytes")


def _get_https(url: str, headers: dict[str, str]) -> requests.Response:
    """GET ``url`` as a stream, following redirects only to https URLs.

    Redirects are followed here rather than by requests so that a hop to plain http is
    refused before anything is sent to it.
    """
    for _ in range(MAX_REDIRECTS + 1):
        r = requests.get(url, headers=headers, stream=True, timeout=TIMEOUT, allow_redirects=False)
        if not r.is_redirect:
            return r
        r.close()
        url = urllib.parse.urljoin(url, r.headers["Location"])
        if urllib.parse.urlsplit(url).scheme != "https":
            raise _MirrorFailed(f"redirected to {url}, refused: only https is allowed")
    raise _MirrorFailed(f"more than {MAX_REDIRECTS} redirects")


# --- Google Drive, through gdown -----------------------------------------------------------


def _drive_staged(dest_dir: Path, name: str, mirror: Mirror) -> Path:
    return dest_dir / f".{name}.{mirror.md5}.drive"


def _gdown_parts(staged: Path) -> list[Path]:
    """gdown's partials of ``staged``: its name + 8 random characters + ``.part``."""
    n = len(staged.name) + 8 + len(".part")
    return [p for p in staged.parent.glob(f"{staged.name}*.part") if len(p.name) == n]


def _from_drive(mirror: Mirror, staged: Path, bar: tqdm, attempts: int) -> Path:
    try:
        import gdown
        from gdown.exceptions import DownloadError as GdownError
        from gdown.exceptions import FileURLRetrievalError
    except ImportError:
        raise _MirrorFailed("the gdown package, needed for Google Drive mirrors, is not installed") from None

    # gdown refuses to resume when it finds several partials: keep the longest.
    for extra in sorted(_gdown_parts(staged), key=lambda p: p.stat().st_size)[:-1]:
        extra.unlink()

    def on_progress(so_far: int, total: int | None) -> None:
        if mirror.size is not None and total is not None and total != mirror.size:
            raise _SizeAnnounced(total)
        if bar.total != total:
            bar.total = total
        bar.update(so_far - bar.n)

    last = None
    for _ in range(attempts):
        bar.reset()
        try:
            # quiet: gdown's own prints and bar would interleave with ours.
            # use_cookies=False: no reading or writing of ~/.cache/gdown/cookies.txt.
            # retries=0: the resumes are this loop's, so `attempts` means the same for all mirrors.
            gdown.download(url=DRIVE_URL.format(id=mirror.drive), output=str(staged), quiet=True,
                           resume=True, use_cookies=False, timeout=TIMEOUT, retries=0,
                           progress=on_progress)
            return staged
        except FileURLRetrievalError as e:
            # Drive answered with a page that has no download link: quota, or not shared.
            raise _MirrorFailed(_drive_reason(str(e))) from e
        except _SizeAnnounced as e:
            _remove(_gdown_parts(staged))
            raise _MirrorFailed(f"server announces {e.args[0]} bytes, expected {mirror.size}") from e
        except GdownError as e:
            msg = str(e)
            if "byte range" in msg:
                _remove(_gdown_parts(staged))  # the kept bytes cannot be continued: restart
            last = _one_line(msg.split("\n")[0].rstrip("."))
        except requests.exceptions.HTTPError as e:
            code = e.response.status_code if e.response is not None else 0
            if not (code >= 500 or code in (408, 429)):
                raise _MirrorFailed(f"HTTP {code}") from e
            last = f"HTTP {code}"
        except _DROPS as e:
            last = f"connection failed ({type(e).__name__})"
    kept = bool(_gdown_parts(staged))
    raise _MirrorFailed(f"{last} ({attempts} attempts"
                        + ("; the partial file is kept and the next run resumes it)" if kept else ")"))


def _drive_reason(message: str) -> str:
    """One-line reason from gdown's multi-line FileURLRetrievalError message."""
    text = _one_line(message)
    if any(m in text.lower() for m in QUOTA_MARKERS):
        return QUOTA_REASON
    # gdown wraps Drive's own words between these two phrases.
    inner = re.search(r"Failed to retrieve file url:\s*(.*?)\s*You may still be able", text)
    detail = inner[1] if inner else text
    why = ("Google Drive gave no download link (file not shared publicly, removed, or a quota "
           "or virus-scan page gdown could not read)")
    # gdown's generic wording only repeats the above; Drive's own words are worth keeping.
    return why if "Cannot retrieve the public link" in detail else f"{why}: {detail[:160]}"


# --- small helpers --------------------------------------------------------------------------


def _is_html_type(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _remove(paths: list[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _drop_partials(dest_dir: Path, name: str) -> None:
    """Delete partial downloads of ``name``: useless once a verified copy is in place."""
    pattern = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{32}}\.(part|drive(\w{{8}}\.part)?)")
    _remove([p for p in dest_dir.iterdir() if pattern.fullmatch(p.name)])
