"""A scripted HTTP server on 127.0.0.1 for download tests, with a fake Google Drive.

`FakeServer` answers each route with a responder and logs every request it sees. Given a
server certificate (``tls``), it answers ``https://127.0.0.1:port/...`` on the same port as
plain HTTP: each connection that opens with a TLS handshake is served over TLS. It is
also an HTTP proxy: for ``CONNECT host:443`` to a host a responder claims, it terminates
TLS itself with a certificate from a throwaway CA (`make_test_ca`), so a client that
trusts that CA (``REQUESTS_CA_BUNDLE``) and uses the server as ``HTTPS_PROXY`` talks to
the fake instead of the real host. That is how the tests reach gdown, which always
rewrites Drive links to ``https://drive.google.com/uc?id=...``.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import socket
import ssl
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

QUOTA_HTML = (
    b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title>"
    b'<meta http-equiv="content-type" content="text/html; charset=utf-8"/></head>\n'
    b'<body><div class="uc-main"><div id="uc-text">\n'
    b'<p class="uc-error-caption">Sorry, you can&#39;t view or download this file at this time.</p>\n'
    b'<p class="uc-error-subcaption">Too many users have viewed or downloaded this file recently. '
    b"Please try accessing the file again later. If the file you are trying to access is "
    b"particularly large or is shared with many people, it may take up to 24 hours to be able "
    b"to view or download the file. If you still can't access a file after 24 hours, contact "
    b"your domain administrator.</p>\n"
    b"</div></div></body></html>\n"
)

NOT_FOUND_HTML = (
    b"<!DOCTYPE html><html><head><title>Google Drive - Page Not Found</title></head>\n"
    b"<body><p>Sorry, the file you have requested does not exist.</p></body></html>\n"
)


def virus_scan_html(file_id: str, filename: str, uuid: str) -> bytes:
    """Drive's "can't scan this file for viruses" page; gdown parses it line by line."""
    return (
        "<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>\n"
        '<body><div class="uc-main"><div id="uc-text"><p class="uc-warning-caption">Google Drive '
        "can't scan this file for viruses.</p><p class=\"uc-warning-subcaption\"><span "
        f'class="uc-name-size"><a href="/open?id={file_id}">{filename}</a> (1.3G)</span> is too '
        "large for Google to scan for viruses. Would you still like to download this file?</p>"
        '<form id="download-form" action="https://drive.usercontent.google.com/download" method="get">'
        '<input type="submit" id="uc-download-link" value="Download anyway"/>'
        f'<input type="hidden" name="id" value="{file_id}"><input type="hidden" name="export" '
        'value="download"><input type="hidden" name="confirm" value="t"><input type="hidden" '
        f'name="uuid" value="{uuid}"></form></div></div></body></html>\n'
    ).encode()


@dataclass
class Hit:
    """One request the server saw. ``url`` is absolute; header names are lower case."""

    method: str
    url: str
    headers: dict[str, str]

    @property
    def query(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.url).query))


@dataclass
class Blob:
    """Serve ``data``, honouring ``Range: bytes=N-`` unless ``ranges`` is False.

    With ``cut`` the server sends the full Content-Length but closes the connection after
    that fraction of the body, on every response or only on the first ``cut_times``.
    """

    data: bytes
    content_type: str = "application/octet-stream"
    ranges: bool = True
    cut: float | None = None
    cut_times: int | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def serve(self, h: "_Handler", hit: Hit, n: int) -> None:
        data, status, start = self.data, self.status, 0
        m = re.fullmatch(r"bytes=(\d+)-", hit.headers.get("range", ""))
        if self.ranges and status == 200 and m:
            start = int(m[1])
            if start >= len(data):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(data)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            status = 206
        body = data[start:]
        h.send_response(status)
        h.send_header("Content-Type", self.content_type)
        h.send_header("Content-Length", str(len(body)))
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if self.ranges:
            h.send_header("Accept-Ranges", "bytes")
        for k, v in self.headers.items():
            h.send_header(k, v)
        h.end_headers()
        if self.cut is not None and (self.cut_times is None or n < self.cut_times):
            h.wfile.write(body[: int(len(body) * self.cut)])
            h.drop()
        else:
            h.wfile.write(body)


class FakeDrive:
    """Google Drive's download endpoints, as gdown 6.5.1 walks them.

    ``add(id, data, mode=...)`` with mode ``direct`` (the file at once, as Drive does for
    small files), ``confirm`` (the virus-scan page first, then the file from
    drive.usercontent.google.com) or ``quota`` (the download quota page). Unknown ids get
    Drive's 404 page.
    """

    UC = "https://drive.google.com/uc"
    USERCONTENT = "https://drive.usercontent.google.com/download"

    def __init__(self, server: "FakeServer"):
        self.files: dict[str, tuple[str, Blob]] = {}
        server.route(self.UC, self._uc)
        server.route(self.USERCONTENT, self._usercontent)

    def add(self, file_id: str, data: bytes, *, filename: str = "file.bin", mode: str = "confirm",
            cut: float | None = None, cut_times: int | None = None) -> None:
        blob = Blob(data, cut=cut, cut_times=cut_times,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
        self.files[file_id] = (mode, blob)

    def _uc(self, h: "_Handler", hit: Hit, n: int) -> None:
        entry = self.files.get(hit.query.get("id", ""))
        if entry is None:
            return Blob(NOT_FOUND_HTML, "text/html; charset=utf-8", ranges=False, status=404).serve(h, hit, n)
        mode, blob = entry
        if mode == "quota":
            return Blob(QUOTA_HTML, "text/html; charset=utf-8", ranges=False).serve(h, hit, n)
        if mode == "confirm":
            filename = blob.headers["Content-Disposition"].split('"')[1]
            page = virus_scan_html(hit.query["id"], filename, uuid="0f1e2d3c")
            return Blob(page, "text/html; charset=utf-8", ranges=False).serve(h, hit, n)
        return blob.serve(h, hit, n)

    def _usercontent(self, h: "_Handler", hit: Hit, n: int) -> None:
        q = hit.query
        entry = self.files.get(q.get("id", ""))
        if entry is None or q.get("confirm") != "t" or q.get("uuid") != "0f1e2d3c":
            return Blob(NOT_FOUND_HTML, "text/html; charset=utf-8", ranges=False, status=400).serve(h, hit, n)
        return entry[1].serve(h, hit, n)


class _Writer:
    """wfile for a TLS socket: unbuffered, like socketserver's own writer."""

    def __init__(self, sock):
        self._sock, self.closed = sock, False

    def write(self, b):
        self._sock.sendall(b)
        return len(b)

    def flush(self):
        pass

    def close(self):
        self.closed = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    tunnel_host: str | None = None
    direct_tls = False

    def setup(self):
        tls = self.server.fake._tls
        # A TLS connection opens with a handshake record (0x16); an HTTP one with a method name.
        if tls is not None and self.request.recv(1, socket.MSG_PEEK) == b"\x16":
            self.request = tls.wrap_socket(self.request, server_side=True)
            self.direct_tls = True
        super().setup()

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self.server.fake._dispatch(self)

    def do_CONNECT(self):
        self.server.fake._tunnel(self)

    def drop(self) -> None:
        """Close the connection now, mid-body."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def finish(self):
        try:
            super().finish()
        finally:
            if self.tunnel_host is not None or self.direct_tls:
                self.connection.close()  # the server closes only the plain socket it accepted


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        # A client that hangs up mid-body (as the code under test should, on an HTML
        # answer) makes the handler's writes fail; that is expected. Anything else is a
        # bug in a responder and is reported as usual.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FakeServer:
    """ThreadingHTTPServer on 127.0.0.1 (ephemeral port) with routes and a request log.

    ``route("/x.zip", responder)`` serves ``url("/x.zip")``, an https URL when ``tls`` is
    given (a context from `make_test_ca` with ``127.0.0.1`` among its hosts; the client
    must trust the CA, e.g. through ``REQUESTS_CA_BUNDLE``), else an http one.
    ``route("https://host/path", responder)`` serves that host through the CONNECT proxy
    (needs ``tls``). A responder is a `Blob`, or a callable ``(handler, hit, n)`` with
    ``n`` the route's earlier hits.
    """

    def __init__(self, tls: ssl.SSLContext | None = None):
        self._tls = tls
        self._routes: dict[str, object] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.hits: list[Hit] = []
        self._httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self.port = self._httpd.server_address[1]
        self.proxy_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> "FakeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def url(self, path: str, scheme: str | None = None) -> str:
        """``scheme://127.0.0.1:port/path``; the scheme is https when the server has ``tls``."""
        scheme = scheme or ("https" if self._tls is not None else "http")
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def route(self, key: str, responder) -> str:
        """Serve ``key`` (a path here, or an absolute https URL) with ``responder``; return its URL."""
        url = key if "://" in key else self.url(key)
        self._routes[url] = responder
        return url

    def hits_for(self, url_prefix: str) -> list[Hit]:
        return [h for h in self.hits if h.url.startswith(url_prefix)]

    def _record(self, h: _Handler, url: str) -> Hit:
        hit = Hit(h.command, url, {k.lower(): v for k, v in h.headers.items()})
        with self._lock:
            self.hits.append(hit)
        return hit

    def _dispatch(self, h: _Handler) -> None:
        if h.path.startswith("http://"):
            url = h.path  # absolute form: a client using us as a plain HTTP proxy
        elif h.tunnel_host is not None:
            url = f"https://{h.tunnel_host}{h.path}"
        else:
            scheme = "https" if h.direct_tls else "http"
            url = f"{scheme}://{h.headers.get('Host', f'127.0.0.1:{self.port}')}{h.path}"
        hit = self._record(h, url)
        key = url.split("?", 1)[0]
        responder = self._routes.get(key)
        with self._lock:
            n = self._counts.get(key, 0)
            self._counts[key] = n + 1
        if responder is None:
            return Blob(b"not found\n", "text/plain", ranges=False, status=404).serve(h, hit, n)
        serve = responder.serve if isinstance(responder, Blob) else responder
        serve(h, hit, n)

    def _tunnel(self, h: _Handler) -> None:
        self._record(h, f"https://{h.path}")
        host = h.path.removesuffix(":443")  # as https URLs write it: host, or host:port
        known = {urllib.parse.urlsplit(u).netloc for u in self._routes if u.startswith("https://")}
        if self._tls is None or host not in known:
            # Nothing but the fakes: a test must never reach the real host.
            h.send_response(403)
            h.send_header("Content-Length", "0")
            h.end_headers()
            h.close_connection = True
            return
        h.send_response(200, "Connection established")
        h.end_headers()
        tls = self._tls.wrap_socket(h.connection, server_side=True)
        h.connection, h.tunnel_host = tls, host
        h.rfile, h.wfile = tls.makefile("rb"), _Writer(tls)
        h.close_connection = False


def make_test_ca(directory: Path, hosts: list[str]) -> tuple[Path, ssl.SSLContext]:
    """Create a throwaway CA and a server certificate for ``hosts`` (valid for two days).

    ``hosts`` are DNS names or IP addresses (``"127.0.0.1"`` for `FakeServer.url`).

    Returns the CA certificate's PEM path (for ``REQUESTS_CA_BUNDLE``) and a server-side
    SSL context that presents the host certificate.
    """
    # cryptography comes with dvc (via scmrepo -> asyncssh); imported here, used only here.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "latentspace test CA")])
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                 key_agreement=False, encipher_only=False, decipher_only=False)
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, **usage),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage),
                       critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem, cert_pem, key_pem = directory / "ca.pem", directory / "host.pem", directory / "host.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_pem, key_pem)
    return ca_pem, ctx


def _san(host: str):
    from cryptography import x509

    # Clients match an IP address only against IP entries, never against DNS names.
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
