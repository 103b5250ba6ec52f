"""Browser-test harness: the app served by uvicorn on loopback (a thread), Debian's Chromium
driven by Playwright, axe-core injected into each page, screenshots under var/test-artifacts/.

A missing Chromium or axe-core fails the test (never a skip): `make install` installs both."""
from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from app import migrations
from app.main import create_app
from app.settings import Settings
from tests.conftest import base_settings, seed

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GUICHET_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "var" / "test-artifacts"
# The flags this machine needs (docs/web.md): no sandbox as root, no calls to Google's hosts.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_browser_tools() -> None:
    missing = [str(p) for p in (Path(CHROMIUM), AXE) if not p.exists()]
    if missing:
        pytest.fail(f"browser tests need {', '.join(missing)}: run `make install` (apt chromium, npm ci)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(tmp_path: Path, **overrides) -> Iterator[tuple[str, Settings]]:
    """A seeded SQLite database and the app on http://127.0.0.1:<port> (jobs in process);
    `overrides`: settings of the test's own."""
    port = _free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'guichet.db'}"
    migrations.upgrade(url)
    asyncio.run(seed(url))
    settings = base_settings(database_url=url, public_url=f"http://127.0.0.1:{port}",
                             session_dir=str(tmp_path / "sessions"), attachment_dir=str(tmp_path / "attachments"),
                             **overrides)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", settings
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def browser_page() -> Iterator:
    """A fresh page; CSP is bypassed only so that axe-core can be injected."""
    from playwright.sync_api import sync_playwright

    require_browser_tools()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def axe_check(page, name: str) -> None:
    """Zero serious or critical axe-core violations on the page as it is now; a screenshot."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: axe-core violations {bad}"


def wait_for_focus(page, selector: str, timeout_ms: float = 10_000) -> None:
    """Wait until the page's own focus (autofocus) is on `selector`. Chromium applies autofocus
    at a rendering step after the load: keys typed before it went to the page (a loaded machine
    lost the first letter of a search that way)."""
    page.wait_for_function("s => document.activeElement && document.activeElement.matches(s)", arg=selector,
                           timeout=timeout_ms)


def tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus (keyboard only)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus with Tab")
