"""`latentspace.fetch` against a local HTTPS server: verification, resume, HTML pages, Drive.

Every failing case must end in a one-line DownloadError and leave no file named `name`
(and nothing that cannot be resumed) in the destination. URL mirrors are
https://127.0.0.1:port/... on the test server, whose certificate comes from a throwaway
CA that the tests trust through REQUESTS_CA_BUNDLE (see fake_http.py). The Google Drive
cases run the real gdown code: the same server doubles as an HTTPS proxy that terminates
TLS for drive.google.com and drive.usercontent.google.com, because gdown always rewrites
Drive links to https://drive.google.com/uc?id=...
"""

import hashlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from fake_http import QUOTA_HTML, Blob, FakeDrive, FakeServer, make_test_ca
from latentspace import fetch as fetch_mod
from latentspace.fetch import DownloadError, Mirror, fetch, md5sum, mirrors_from_params

DRIVE_HOSTS = ["drive.google.com", "drive.usercontent.google.com", "docs.google.com"]
SRC = Path(fetch_mod.__file__).resolve().parents[1]


def _zip_bytes() -> bytes:
    rng = random.Random(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(4):
            info = zipfile.ZipInfo(f"img_align_celeba/{i + 1:06d}.jpg", date_time=(2015, 1, 1, 0, 0, 0))
            z.writestr(info, rng.randbytes(9000))
    return buf.getvalue()


ZIP = _zip_bytes()
TEXT = b"".join(f"{i + 1:06d}.jpg {i % 3}\n".encode() for i in range(500))


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def part_name(name: str, data_or_md5) -> str:
    digest = data_or_md5 if isinstance(data_or_md5, str) else md5(data_or_md5)
    return f".{name}.{digest}.part"


def listing(d) -> list[str]:
    return sorted(os.listdir(d)) if d.exists() else []


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch):
    # A proxy from the environment must not see (or swallow) requests to 127.0.0.1.
    for key in list(os.environ):
        if key.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("ca"), [*DRIVE_HOSTS, "127.0.0.1"])


@pytest.fixture
def server(test_ca, monkeypatch):
    """The test server, serving https://127.0.0.1:port/...; requests trusts its CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_ca[0]))
    with FakeServer(tls=test_ca[1]) as s:
        yield s


@pytest.fixture
def drive(server, monkeypatch):
    """A fake Google Drive on `server`, reached by gdown through HTTPS_PROXY."""
    for key in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(key, server.proxy_url)
    return FakeDrive(server)


def fail(name, mirrors, dest, **kw) -> str:
    """Run fetch expecting DownloadError; check the message shape and that no final file exists."""
    with pytest.raises(DownloadError) as info:
        fetch(name, mirrors, dest, progress=False, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{name}: no mirror gave a good copy (")
    assert msg.endswith('use data.source: folder (docs/celeba.md).')
    assert not (dest / name).exists()
    return msg


# --- https URLs ------------------------------------------------------------------------------


def test_good_download_is_verified_and_a_second_call_makes_no_request(server, tmp_path, capsys):
    url = server.route("/img.zip", Blob(ZIP, "application/zip"))
    assert url.startswith("https://127.0.0.1:")
    mirrors = [Mirror(url=url, md5=md5(ZIP).upper(), size=len(ZIP))]
    path = fetch("img.zip", mirrors, tmp_path / "raw", kind="zip", progress=True)
    assert path == tmp_path / "raw" / "img.zip"
    assert path.read_bytes() == ZIP and md5sum(path) == md5(ZIP)
    assert zipfile.ZipFile(path).testzip() is None
    assert listing(tmp_path / "raw") == ["img.zip"]
    assert [h.url for h in server.hits] == [url]  # over TLS: the server saw an https request
    assert server.hits[0].headers["accept-encoding"] == "identity"

    assert fetch("img.zip", mirrors, tmp_path / "raw", kind="zip", progress=True) == path
    assert len(server.hits) == 1
    out, err = capsys.readouterr()
    assert out == "" and "img.zip" in err  # only tqdm's bar, on stderr


def test_text_file(server, tmp_path):
    url = server.route("/list_eval_partition.txt", Blob(TEXT, "text/plain"))
    path = fetch("list_eval_partition.txt", [Mirror(url=url, md5=md5(TEXT))], tmp_path, kind="text",
                 progress=False)
    assert path.read_bytes() == TEXT


def test_quota_page_instead_of_the_zip(server, tmp_path):
    url = server.route("/img.zip", Blob(QUOTA_HTML, "text/html; charset=utf-8"))
    msg = fail("img.zip", [Mirror(url=url, md5=md5(ZIP))], tmp_path, kind="zip")
    assert f"{url}: answered with an HTML page instead of the file: Google Drive's download quota page" in msg
    assert listing(tmp_path) == []


@pytest.mark.parametrize("kind", ["any", "text", "zip"])
def test_html_body_is_refused_early_whatever_its_content_type(server, tmp_path, kind):
    # 5 MB of HTML sent as octet-stream: refused from the first chunk, nothing written.
    page = b" \r\n<!DOCTYPE HTML>\n<html><body>" + b"<p>virus scan</p>" * 300_000 + b"</body></html>"
    url = server.route("/f", Blob(page, "application/octet-stream"))
    msg = fail("f", [Mirror(url=url, md5=md5(ZIP))], tmp_path, kind=kind)
    assert f"{url}: answered with an HTML page instead of the file (Google Drive's quota or virus-scan page?)" in msg
    assert listing(tmp_path) == []


def test_not_a_zip(server, tmp_path):
    url = server.route("/img.zip", Blob(TEXT))
    msg = fail("img.zip", [Mirror(url=url, md5=md5(TEXT))], tmp_path, kind="zip")
    assert "not a zip file" in msg
    assert listing(tmp_path) == []


def test_truncated_every_time_keeps_the_resumable_partial(server, tmp_path):
    url = server.route("/img.zip", Blob(ZIP, "application/zip", cut=0.5))
    msg = fail("img.zip", [Mirror(url=url, md5=md5(ZIP), size=len(ZIP))], tmp_path, kind="zip", attempts=3)
    assert re.search(rf"connection dropped after \d+ of {len(ZIP)} bytes \(3 attempts; the partial file "
                     r"is kept and the next run resumes it\)", msg), msg
    assert listing(tmp_path) == [part_name("img.zip", ZIP)]
    partial = (tmp_path / part_name("img.zip", ZIP)).read_bytes()
    assert 0 < len(partial) < len(ZIP) and ZIP.startswith(partial)
    assert len(server.hits) == 3
    half = len(ZIP) // 2
    assert "range" not in server.hits[0].headers
    assert server.hits[1].headers["range"] == f"bytes={half}-"  # each attempt resumes


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    url = server.route("/img.zip", Blob(ZIP))
    wanted = md5(b"the real file")
    msg = fail("img.zip", [Mirror(url=url, md5=wanted)], tmp_path, kind="zip")
    assert f"{url}: md5 {md5(ZIP)} != expected {wanted}" in msg
    assert listing(tmp_path) == []


def test_wrong_announced_size_fails_before_the_body(server, tmp_path):
    url = server.route("/img.zip", Blob(ZIP))
    msg = fail("img.zip", [Mirror(url=url, md5=md5(ZIP), size=len(ZIP) + 1)], tmp_path)
    assert f"server announces {len(ZIP)} bytes, expected {len(ZIP) + 1}" in msg
    assert listing(tmp_path) == [] and len(server.hits) == 1


def test_dropped_connection_is_resumed_with_range(server, tmp_path):
    url = server.route("/img.zip", Blob(ZIP, cut=0.5, cut_times=1))
    path = fetch("img.zip", [Mirror(url=url, md5=md5(ZIP))], tmp_path, kind="zip", progress=False)
    assert path.read_bytes() == ZIP
    assert [h.headers.get("range") for h in server.hits] == [None, f"bytes={len(ZIP) // 2}-"]
    assert listing(tmp_path) == ["img.zip"]


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    url = server.route("/img.zip", Blob(ZIP, ranges=False, cut=0.5, cut_times=1))
    path = fetch("img.zip", [Mirror(url=url, md5=md5(ZIP))], tmp_path, kind="zip", progress=False)
    assert path.read_bytes() == ZIP  # the 200 answer replaced the partial, not appended to it
    assert server.hits[1].headers["range"] == f"bytes={len(ZIP) // 2}-"
    assert listing(tmp_path) == ["img.zip"]


def test_interrupt_keeps_the_partial_and_the_next_run_resumes_it(server, tmp_path, monkeypatch):
    url = server.route("/img.zip", Blob(ZIP))
    mirrors = [Mirror(url=url, md5=md5(ZIP))]

    class CtrlCAfterThreeChunks(fetch_mod.tqdm):
        def update(self, n=1):
            self.chunks = getattr(self, "chunks", 0) + (n > 0)
            if self.chunks > 3:
                raise KeyboardInterrupt
            return super().update(n)

    with monkeypatch.context() as patch:  # undone on exit; the server fixture's CA setting stays
        patch.setattr(fetch_mod, "CHUNK", 4096)
        patch.setattr(fetch_mod, "tqdm", CtrlCAfterThreeChunks)
        with pytest.raises(KeyboardInterrupt):
            fetch("img.zip", mirrors, tmp_path, progress=False)
    assert listing(tmp_path) == [part_name("img.zip", ZIP)]
    assert (tmp_path / part_name("img.zip", ZIP)).read_bytes() == ZIP[:4 * 4096]

    assert fetch("img.zip", mirrors, tmp_path, progress=False).read_bytes() == ZIP
    assert server.hits[-1].headers["range"] == f"bytes={4 * 4096}-"
    assert listing(tmp_path) == ["img.zip"]


def test_bad_leftover_partial_is_discarded_and_downloaded_again(server, tmp_path):
    url = server.route("/img.zip", Blob(ZIP))
    (tmp_path / part_name("img.zip", ZIP)).write_bytes(b"x" * 100)  # not a prefix of the file
    other = tmp_path / part_name("img.zip", "0" * 32)  # another mirror's file: never resumed into
    other.write_bytes(ZIP[:50])
    path = fetch("img.zip", [Mirror(url=url, md5=md5(ZIP))], tmp_path, kind="zip", progress=False)
    assert path.read_bytes() == ZIP
    assert [h.headers.get("range") for h in server.hits] == ["bytes=100-", None]
    assert listing(tmp_path) == ["img.zip"]  # partials of a verified file are dropped


def test_first_mirror_fails_second_is_used(server, tmp_path):
    bad = server.url("/missing.zip")  # no route: 404
    html = server.route("/quota.zip", Blob(QUOTA_HTML, "text/html"))
    good = server.route("/img.zip", Blob(ZIP))
    mirrors = [Mirror(url=bad, md5=md5(b"other")), Mirror(url=html, md5=md5(b"other")),
               Mirror(url=good, md5=md5(ZIP))]
    path = fetch("img.zip", mirrors, tmp_path, kind="zip", progress=False)
    assert path.read_bytes() == ZIP
    assert [h.url for h in server.hits] == [bad, html, good]
    assert listing(tmp_path) == ["img.zip"]


def test_all_mirrors_fail_names_each_with_its_reason(server, tmp_path):
    bad = server.url("/missing.zip")
    html = server.route("/page", Blob(b"<html><body>hello</body></html>", "text/html"))
    msg = fail("img.zip", [Mirror(url=bad, md5=md5(ZIP)), Mirror(url=html, md5=md5(ZIP))], tmp_path)
    assert f"({bad}: HTTP 404 Not Found; {html}: answered with an HTML page instead of the file" in msg
    assert listing(tmp_path) == []


def test_existing_bad_file_is_deleted_even_when_no_mirror_works(server, tmp_path):
    (tmp_path / "img.zip").write_bytes(b"PK\x03\x04 but truncated")
    fail("img.zip", [Mirror(url=server.url("/missing"), md5=md5(ZIP))], tmp_path)
    assert listing(tmp_path) == []


def test_untrusted_certificate_is_refused(server, tmp_path, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # the test CA is then unknown: verification must fail
    url = server.route("/img.zip", Blob(ZIP))
    msg = fail("img.zip", [Mirror(url=url, md5=md5(ZIP))], tmp_path, attempts=1)
    assert f"{url}: connection failed (SSLError)" in msg
    assert listing(tmp_path) == [] and server.hits == []  # no request got through the handshake


def redirect(location: str, status: int = 302) -> Blob:
    return Blob(b"", ranges=False, status=status, headers={"Location": location})


def test_redirect_to_plain_http_is_refused_before_anything_is_sent_there(server, tmp_path):
    server.route("/img.zip", Blob(ZIP))
    plain = server.url("/img.zip", scheme="http")  # the same server would answer over http
    moved = server.route("/moved", redirect(plain, 301))
    good = server.route("/good.zip", Blob(ZIP))
    msg = fail("img.zip", [Mirror(url=moved, md5=md5(ZIP))], tmp_path)
    assert f"({moved}: redirected to {plain}, refused: only https is allowed)" in msg
    assert [h.url for h in server.hits] == [moved]
    assert listing(tmp_path) == []

    # The refusal is the mirror's alone: the next mirror is still tried.
    mirrors = [Mirror(url=moved, md5=md5(ZIP)), Mirror(url=good, md5=md5(ZIP))]
    assert fetch("img.zip", mirrors, tmp_path, progress=False).read_bytes() == ZIP
    assert plain not in [h.url for h in server.hits]


def test_https_redirects_are_followed_and_keep_the_range(server, tmp_path):
    real = server.route("/files/img.zip", Blob(ZIP))
    second = server.route("/b", redirect("/files/img.zip", 307))  # relative: stays on https
    first = server.route("/a", redirect(second))
    (tmp_path / part_name("img.zip", ZIP)).write_bytes(ZIP[:1000])
    path = fetch("img.zip", [Mirror(url=first, md5=md5(ZIP))], tmp_path, kind="zip", progress=False)
    assert path.read_bytes() == ZIP
    assert [(h.url, h.headers.get("range")) for h in server.hits] == [
        (first, "bytes=1000-"), (second, "bytes=1000-"), (real, "bytes=1000-")]
    assert listing(tmp_path) == ["img.zip"]


def test_redirect_loop_is_bounded(server, tmp_path):
    loop = server.route("/loop", redirect("/loop"))
    msg = fail("img.zip", [Mirror(url=loop, md5=md5(ZIP))], tmp_path)
    assert f"{loop}: more than {fetch_mod.MAX_REDIRECTS} redirects" in msg
    assert len(server.hits) == fetch_mod.MAX_REDIRECTS + 1


def trickle_then_stall(data: bytes, release: threading.Event, piece: int = 64 << 10):
    """First request: ``data`` in pieces 10 ms apart, stalling half-way until ``release``
    is set; later requests: a `Blob` of ``data`` (honouring Range)."""
    blob = Blob(data)

    def serve(h, hit, n):
        if n:
            return blob.serve(h, hit, n)
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Accept-Ranges", "bytes")
        h.end_headers()
        for start in range(0, len(data), piece):
            if start >= len(data) // 2:
                release.wait(30)
            h.wfile.write(data[start:start + piece])
            time.sleep(0.01)

    return serve


def test_download_killed_mid_way_leaves_a_partial_that_the_next_run_resumes(server, tmp_path):
    """A real interruption: SIGKILL of the downloading process, then a new fetch in this one."""
    data = b"PK\x03\x04" + random.Random(2).randbytes(3 << 20)  # several of fetch's 1 MiB chunks
    release = threading.Event()
    url = server.route("/img.zip", trickle_then_stall(data, release))
    part = tmp_path / part_name("img.zip", data)
    driver = ("import sys; from latentspace.fetch import Mirror, fetch; "
              "fetch('img.zip', [Mirror(url=sys.argv[1], md5=sys.argv[2])], sys.argv[3], progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", driver, url, md5(data), str(tmp_path)],
                            env={**os.environ, "PYTHONPATH": str(SRC)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not (part.exists() and part.stat().st_size > 0):
            assert proc.poll() is None, f"fetch ended before it was killed: {proc.communicate()[1][-2000:]!r}"
            assert time.monotonic() < deadline, "no partial file after 30 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        release.set()

    assert listing(tmp_path) == [part.name]  # nothing under the final name
    kept = part.stat().st_size
    assert 0 < kept < len(data) and data.startswith(part.read_bytes())

    path = fetch("img.zip", [Mirror(url=url, md5=md5(data))], tmp_path, kind="zip", progress=False)
    assert md5sum(path) == md5(data)
    assert [h.headers.get("range") for h in server.hits] == [None, f"bytes={kept}-"]
    assert listing(tmp_path) == ["img.zip"]


# --- Google Drive, through gdown -------------------------------------------------------------


def test_drive_file_behind_the_virus_scan_page(server, drive, tmp_path):
    drive.add("0B7EVK8r0v71pZjFTYXZWM3FlRnM", ZIP, filename="img_align_celeba.zip", mode="confirm")
    mirror = Mirror(drive="0B7EVK8r0v71pZjFTYXZWM3FlRnM", md5=md5(ZIP), size=len(ZIP))
    path = fetch("img_align_celeba.zip", [mirror], tmp_path, kind="zip", progress=False)
    assert path.read_bytes() == ZIP
    assert listing(tmp_path) == ["img_align_celeba.zip"]
    gets = [h.url for h in server.hits if h.method == "GET"]
    assert gets == ["https://drive.google.com/uc?id=0B7EVK8r0v71pZjFTYXZWM3FlRnM",
                    "https://drive.usercontent.google.com/download?id=0B7EVK8r0v71pZjFTYXZWM3FlRnM"
                    "&export=download&confirm=t&uuid=0f1e2d3c"]
    assert fetch("img_align_celeba.zip", [mirror], tmp_path, progress=False) == path
    assert len([h for h in server.hits if h.method == "GET"]) == 2


def test_drive_small_text_file_served_directly(drive, tmp_path):
    drive.add("TXT1", TEXT, filename="list_eval_partition.txt", mode="direct")
    path = fetch("list_eval_partition.txt", [Mirror(drive="TXT1", md5=md5(TEXT))], tmp_path, kind="text",
                 progress=False)
    assert path.read_bytes() == TEXT


def test_drive_quota_page(drive, tmp_path):
    drive.add("QUOTA", ZIP, mode="quota")
    msg = fail("img_align_celeba.zip", [Mirror(drive="QUOTA", md5=md5(ZIP))], tmp_path, kind="zip")
    assert ("(drive:QUOTA: answered with an HTML page instead of the file: Google Drive's download quota "
            "page (too many users have downloaded it recently))") in msg
    assert listing(tmp_path) == []


def test_drive_unknown_file(drive, tmp_path):
    msg = fail("img_align_celeba.zip", [Mirror(drive="NOPE", md5=md5(ZIP))], tmp_path)
    assert "drive:NOPE: Google Drive gave no download link" in msg
    assert listing(tmp_path) == []


def test_drive_wrong_checksum_leaves_nothing(drive, tmp_path):
    drive.add("ID", ZIP, mode="confirm")
    wanted = md5(b"the real file")
    msg = fail("img_align_celeba.zip", [Mirror(drive="ID", md5=wanted)], tmp_path, kind="zip")
    assert f"drive:ID: md5 {md5(ZIP)} != expected {wanted}" in msg
    assert listing(tmp_path) == []


def test_drive_dropped_connection_is_resumed(server, drive, tmp_path):
    big = b"PK\x03\x04" + random.Random(1).randbytes(1_500_000)  # several of gdown's 512 KiB chunks
    drive.add("BIG", big, mode="confirm", cut=0.6, cut_times=1)
    path = fetch("img_align_celeba.zip", [Mirror(drive="BIG", md5=md5(big), size=len(big))], tmp_path,
                 kind="zip", progress=False)
    assert path.read_bytes() == big
    ranges = [h.headers.get("range") for h in server.hits_for(FakeDrive.USERCONTENT)]
    starts = [int(m[1]) for r in ranges if r and (m := re.fullmatch(r"bytes=(\d+)-", r))]
    assert starts and 0 < starts[0] < len(big)  # gdown resumed its partial with a Range request
    assert listing(tmp_path) == ["img_align_celeba.zip"]


def test_drive_quota_then_url_mirror(server, drive, tmp_path):
    drive.add("QUOTA", ZIP, mode="quota")
    url = server.route("/img.zip", Blob(ZIP))
    mirrors = mirrors_from_params([{"drive": "QUOTA", "md5": md5(ZIP)}, {"url": url, "md5": md5(ZIP)}])
    assert fetch("img.zip", mirrors, tmp_path, kind="zip", progress=False).read_bytes() == ZIP


def test_drive_existing_file_with_wrong_md5_is_replaced(server, drive, tmp_path):
    drive.add("ID", ZIP, mode="confirm")
    (tmp_path / "img_align_celeba.zip").write_bytes(ZIP[:-1] + b"!")
    path = fetch("img_align_celeba.zip", [Mirror(drive="ID", md5=md5(ZIP))], tmp_path, kind="zip",
                 progress=False)
    assert path.read_bytes() == ZIP
    assert len(server.hits_for(FakeDrive.USERCONTENT)) == 1
    assert listing(tmp_path) == ["img_align_celeba.zip"]


# --- mirrors, md5sum, arguments --------------------------------------------------------------


def test_mirrors_from_params():
    mirrors = mirrors_from_params([{"drive": "0B7E-x_1", "md5": "A" * 32, "size": 10},
                                   {"url": "https://example.org/img.zip", "md5": "b" * 32}])
    assert mirrors == [Mirror(drive="0B7E-x_1", md5="a" * 32, size=10),
                       Mirror(url="https://example.org/img.zip", md5="b" * 32)]
    assert [m.describe() for m in mirrors] == ["drive:0B7E-x_1", "https://example.org/img.zip"]


@pytest.mark.parametrize("entries, where", [
    ([{"url": "https://a/b", "drive": "x", "md5": "a" * 32}], "mirror 0: a mirror needs exactly one"),
    ([{"md5": "a" * 32}], "mirror 0: a mirror needs exactly one"),
    ([{"drive": "x", "md5": "a" * 32}, {"drive": "y", "md5": "abc"}], "mirror 1: mirror md5 must be 32 hex"),
    ([{"drive": "x"}], "mirror 0: mirror md5 must be 32 hex"),
    ([{"drive": "x", "md5": "a" * 32, "size": -1}], "mirror 0: mirror size must be"),
    ([{"drive": "x", "md5": "a" * 32, "size": True}], "mirror 0: mirror size must be"),
    ([{"url": "ftp://a/b", "md5": "a" * 32}], "mirror 0: mirror url must start with https://"),
    ([{"drive": "x", "md5": "a" * 32}, {"url": "http://example.org/img.zip", "md5": "a" * 32}],
     ("mirror 1: mirror url must start with https:// (only https is allowed), got 'http://example.org/img.zip'; "
      "allowed: exactly one of url (https URL)")),
    ([{"drive": "x/../y", "md5": "a" * 32}], "mirror 0: Google Drive id may hold only"),
    ([{"drive": "x", "md5": "a" * 32, "sha1": "f"}], "mirror 0: unknown key(s) sha1"),
    (["https://a/b"], "mirror 0: expected a mapping"),
    ([], "mirrors must be a non-empty list"),
])
def test_mirrors_from_params_rejects(entries, where):
    with pytest.raises(ValueError) as info:
        mirrors_from_params(entries)
    assert str(info.value).startswith(where)
    assert "allowed" in str(info.value) or "with exactly one of url" in str(info.value)


def test_plain_http_mirror_is_refused():
    with pytest.raises(ValueError) as info:
        Mirror(url="http://example.org/img.zip", md5="a" * 32)
    assert str(info.value) == ("mirror url must start with https:// (only https is allowed), "
                               "got 'http://example.org/img.zip'")


def test_md5sum(tmp_path):
    (tmp_path / "f").write_bytes(ZIP)
    assert md5sum(tmp_path / "f", chunk=7) == md5(ZIP)


def test_bad_arguments(tmp_path):
    m = [Mirror(url="https://127.0.0.1:9/x", md5="a" * 32)]
    with pytest.raises(ValueError, match="kind"):
        fetch("x", m, tmp_path, kind="tar")
    with pytest.raises(ValueError, match="attempts"):
        fetch("x", m, tmp_path, attempts=0)
    with pytest.raises(DownloadError, match="no mirrors"):
        fetch("x", [], tmp_path)
