"""Browser journeys: a real `streamlit run` on 127.0.0.1 driven by Playwright in Debian's chromium.

Never `playwright install`: the browser is Debian's (make test installs it when missing and root).
Screenshots of every step land in test-artifacts/screenshots/ so a person can look at them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.browser

# Flags for a closed network: no background traffic, no sandbox as root, no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout} s")


# The running server per base URL: its process and log (read by the server_process fixture).
SERVERS: dict[str, tuple[subprocess.Popen, Path]] = {}


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """A real Streamlit server for the whole browser session; yields its base URL."""
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (make test installs it when run as root)")
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = dict(os.environ, WORKBENCH_MODEL_STORE=str(tmp_path_factory.mktemp("store")))
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    SERVERS[url] = (proc, log)
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
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
