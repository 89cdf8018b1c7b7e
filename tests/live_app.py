"""A real `streamlit run` of the workbench on 127.0.0.1, and Debian's chromium to drive it.

Shared by the browser tests (tests/browser/conftest.py) and the load benchmarks (bench/), so both
start the app the same way. No pytest here: the benchmarks import it too.
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

ROOT = Path(__file__).resolve().parents[1]
# Debian's chromium; never `playwright install` (make test installs it when missing and root).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(url: str) -> int:
    """The HTTP status of the server's health check, 0 when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
            return response.status
    except OSError:
        return 0


def start_server(log: Path, store: Path, timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """Start the app with its output in `log` and its model store in `store`; wait until it answers."""
    port = free_port()
    env = dict(os.environ, WORKBENCH_MODEL_STORE=str(store))
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while health(url) != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"streamlit did not start within {timeout:.0f} s; see {log}")
        time.sleep(0.5)
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
