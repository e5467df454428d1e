"""Headless Chromium with the network unreachable, for tests that open a page as a reader would.

Not a test module: ``tests/test_plots_page.py`` imports it. Every request that is not for a local
file goes to a proxy that does not exist and every host name fails to resolve, so a page that
still needs a CDN shows up as a page without its charts.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome")
# Headless, no sandbox (root in CI), nothing fetched in the background, nothing reachable.
OFFLINE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    # Lets the page's timers and promises (vega-embed renders asynchronously) finish before the dump.
    "--virtual-time-budget=20000",
)


def find_chromium() -> str | None:
    """Path of a Chromium or Chrome executable, or None."""
    return next((path for path in map(shutil.which, NAMES) if path), None)


def _run(page: Path, *flags: str, timeout: float) -> subprocess.CompletedProcess:
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        command = [chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile}", *flags, Path(page).resolve().as_uri()]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)


def dump_dom(page: Path, timeout: float = 60) -> str:
    """The page's DOM after its scripts ran, as HTML.

    Parameters
    ----------
    page : Path
        A local HTML file.
    timeout : float
        Seconds before Chromium is given up on.
    """
    return _run(page, "--dump-dom", timeout=timeout).stdout


def screenshot(page: Path, png: Path, height: int = 8000, width: int = 1400, timeout: float = 60) -> Path:
    """A screenshot of the page's first ``height`` pixels (make it the full page's height).

    Parameters
    ----------
    page : Path
        A local HTML file.
    png : Path
        Where to write the PNG.
    height, width : int
        Window size in CSS pixels.
    timeout : float
        Seconds before Chromium is given up on.
    """
    _run(page, f"--screenshot={Path(png).resolve()}", f"--window-size={width},{height}",
         "--hide-scrollbars", timeout=timeout)
    return Path(png)
