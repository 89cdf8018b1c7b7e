"""Browser journeys: a real `streamlit run` on 127.0.0.1 driven by Playwright in Debian's chromium.

Never `playwright install`: the browser is Debian's (make test installs it when missing and root).
Screenshots of every step land in test-artifacts/screenshots/ so a person can look at them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from live_app import CHROMIUM, CHROMIUM_ARGS, ROOT, start_server, stop_server

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.browser


# The running server per base URL: its process and log (read by the server_process fixture).
SERVERS: dict[str, tuple[subprocess.Popen, Path]] = {}


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """A real Streamlit server for the whole browser session; yields its base URL."""
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (make test installs it when run as root)")
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    proc, url = start_server(log, tmp_path_factory.mktemp("store"))
    SERVERS[url] = (proc, log)
    try:
        yield url
    finally:
        stop_server(proc)
        server_log = log.read_text()
        if "Traceback" in server_log:
            print(server_log[-5000:])
            # A traceback in the server log is a failure even when every page looked fine.
            pytest.fail("the streamlit server logged a traceback (printed above)", pytrace=False)


@pytest.fixture
def server_process(app_server):
    """(pid, log path) of the app_server's streamlit process, for tests that watch it."""
    proc, log = SERVERS[app_server]
    return proc.pid, log


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (make test installs it when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def patient_expect():
    """expect() waits 30 s, not 5: the browser, the server and pytest share two cores."""
    from playwright.sync_api import expect

    before = expect._timeout
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=before)


@pytest.fixture
def page(browser, app_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app_server)
    yield pg
    context.close()


@pytest.fixture(scope="session")
def shots():
    """shots(page, name): a full-page screenshot into test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {SCREENSHOTS}")

    def take(pg, name: str) -> Path:
        # Streamlit scrolls an inner container, so full_page alone shows one screen: grow the
        # viewport to the content's height for the picture, then put it back.
        size = pg.viewport_size
        height = pg.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.body.scrollHeight; }"
        )
        pg.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, 5000))})
        pg.wait_for_timeout(400)
        path = SCREENSHOTS / f"{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        pg.set_viewport_size(size)
        return path

    return take
