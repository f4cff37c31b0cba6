"""A real browser for the tests: Debian's Chromium driven by Playwright.

Playwright's own browser download cannot run here (no internet), so the tests drive the
system's Chromium (`apt-get install chromium`; `.ci/run` installs it). Where it is
missing and the tests run as root with apt-get, it is installed once; otherwise the tests
fail with one line saying what to install: a browser test never turns into a skip.

Every request a page makes is recorded (`Recorder`), so a test can assert that nothing
left loopback. Screenshots go to ARTIFACTS (``$LINKINDEX_ARTIFACTS``, else
``test-artifacts/`` in the repo, ignored by git).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("LINKINDEX_ARTIFACTS", REPO / "test-artifacts"))
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# As the machine's probe starts it: no sandbox as root, and none of Chromium's own
# background traffic (updates, sync, safe browsing), which a closed network refuses.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions"]


def chromium_path() -> str:
    """The Chromium binary: $LINKINDEX_CHROMIUM, else one on PATH, else installed now
    (root with apt-get only); else an AssertionError naming what to install."""
    given = os.environ.get("LINKINDEX_CHROMIUM")
    if given:
        return given
    found = next((path for name in CANDIDATES if (path := shutil.which(name))), None)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
        found = shutil.which("chromium")
        if found:
            return found
    raise AssertionError("the browser tests need Chromium: `apt-get install chromium` "
                         "(or set LINKINDEX_CHROMIUM to a Chromium or Chrome binary)")


@contextmanager
def launched() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Recorder:
    """The URLs of every request a page made, and its script errors."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: self.errors.append(message.text)
                if message.type == "error" else None)
        return page


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def chart_points(page: Page, chart_id: str) -> list[int]:
    """How many points each trace of a drawn Plotly chart has (from Plotly's own data)."""
    return page.evaluate(
        "id => document.getElementById(id).data.map(trace => trace.x.length)", chart_id)


def drawn_marks(page: Page, chart_id: str) -> int:
    """How many bars or markers Plotly drew in the chart's SVG."""
    return page.evaluate(
        """id => document.querySelectorAll(
            '#' + id + ' .barlayer .point, #' + id + ' .scatterlayer .points path').length""",
        chart_id)


def table_rows(page: Page, table_id: str) -> list[list[str]]:
    """The cell texts of a table's body rows (without a row's mark cell)."""
    return page.evaluate(
        """id => Array.from(document.querySelectorAll('#' + id + ' tbody tr')).map(
            tr => Array.from(tr.querySelectorAll('td:not(.mark)')).map(td => td.textContent))""",
        table_id)
