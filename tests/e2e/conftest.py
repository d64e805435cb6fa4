"""The real local server (`genai-stack serve` over the mini knowledge base of tests/fixtures,
MiniLM and the extractive answerer; the full sample one takes minutes to embed on a busy machine) on a free port, and Debian's Chromium driven by Playwright.

Skipped, with the reason, where the browser or Playwright is missing; `make test` installs both.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.api.demo import WIDGET_BUNDLE
from tests.conftest import MINI_KB

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).parent / "screenshots"
AXE = REPO / "widget" / "node_modules" / "axe-core" / "axe.min.js"
CLI = [sys.executable, "-m", "functions.cli"]

if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium (make test installs it)", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (make test installs it)"
)
if not WIDGET_BUNDLE.is_file():
    pytest.skip("the widget is not built (make widget)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[str, Path]]:
    """The server's base URL and its data directory (its SQLite file holds feedback and tickets)."""
    data_dir = Path(tempfile.mkdtemp(prefix="genai-stack-e2e-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    subprocess.run(
        [
            *CLI,
            "ingest",
            str(MINI_KB),
            "--data-dir",
            str(data_dir),
            "--quiet",
            "--pii-allow",
            "@northwind.example",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--data-dir", str(data_dir), "--port", str(port), "--quiet-metrics"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the local server did not start") from None
            time.sleep(0.3)
    yield url, data_dir
    process.terminate()
    process.wait(timeout=10)


BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def playwright() -> Iterator[sync_api.Playwright]:
    """Module-scoped: while it runs, Playwright's event loop is this thread's running loop, which
    later tests that run an event loop themselves (Mangum's handlers) cannot share."""
    with sync_api.sync_playwright() as playwright:
        yield playwright


def open_page(
    playwright: sync_api.Playwright, server: tuple[str, Path], name: str, **options: object
) -> Iterator[sync_api.Page]:
    """A new browser (a fresh, empty profile) on the demo store page; its screenshot is saved
    under tests/e2e/screenshots/ when the test ends, pass or fail."""
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS)
    context = browser.new_context(**options)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(server[0] + "/")
    try:
        yield page
    finally:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        browser.close()


@pytest.fixture
def page(
    playwright: sync_api.Playwright, server: tuple[str, Path], request: pytest.FixtureRequest
) -> Iterator[sync_api.Page]:
    yield from open_page(playwright, server, request.node.name, viewport={"width": 1280, "height": 800})


@pytest.fixture
def phone_page(
    playwright: sync_api.Playwright, server: tuple[str, Path], request: pytest.FixtureRequest
) -> Iterator[sync_api.Page]:
    yield from open_page(
        playwright,
        server,
        request.node.name,
        viewport={"width": 375, "height": 667},
        is_mobile=True,
        has_touch=True,
    )
