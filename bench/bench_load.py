"""Four analysts at once on one real server: load, train, explain, and the server's memory.

Starts `streamlit run` on 127.0.0.1 (as the browser tests do), then four Playwright browser
contexts at the same time (one asyncio loop, one Debian chromium), each a different user:
load a different sample, train gradient boosting on the Train page, open Explain and wait for
the importance chart. Each session is checked (its own data set, model and target on screen);
the server must answer /_stcore/health afterwards.

A warm-up session (wine) walks the same path first, so imports (shap, the models) and first
renders are not counted as the four sessions' memory.

Memory: the streamlit process's VmRSS sampled every 0.2 s in a thread, and VmHWM (the kernel's
peak) from /proc/<pid>/status, before, during and after; then again once the sessions closed
and, with --wait-expiry (default on), after Streamlit's 2-minute window for reconnecting a
closed session has passed and a new session made it drop the old ones.

Run: .venv/bin/python bench/bench_load.py [--no-wait-expiry]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from live_app import CHROMIUM, CHROMIUM_ARGS, health, start_server, stop_server  # noqa: E402

# sample -> target the Data page guesses (checked on the Explain page's caption)
SESSIONS = {"loan_applications": "Loan_Status", "iris": "species", "height_weight": "Weight-Pounds", "tips": "tip"}
MODEL = "Gradient boosting"
WARM_UP = ("wine", "cultivar")
STEP_TIMEOUT_MS = 600_000  # a busy 2-core machine: generous, the figures say how long it really took


def status_kb(pid: int, name: str) -> int:
    """A VmXXX line of /proc/<pid>/status, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise KeyError(name)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """VmRSS of one process every `interval` seconds; keeps the peak and the samples."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        began = time.monotonic()
        while not self._stop_event.is_set():
            try:
                self.samples.append((time.monotonic() - began, status_kb(self.pid, "VmRSS")))
            except (OSError, KeyError):
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def peak_kb(self) -> int:
        return max(kb for _, kb in self.samples)


@dataclass
class SessionResult:
    sample: str
    steps: dict[str, float] = field(default_factory=dict)
    ok: bool = False
    error: str = ""


async def choose(page, label: str, option: str) -> None:
    await page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    await page.get_by_role("option").filter(has_text=option).first.click()


async def nav(page, title: str) -> None:
    from playwright.async_api import expect

    await page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    await expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible()


async def one_session(browser, url: str, sample: str, target: str, shots: Path | None) -> SessionResult:
    from playwright.async_api import expect

    result = SessionResult(sample)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    began = step = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal step
        now = time.perf_counter()
        result.steps[name] = now - step
        step = now

    try:
        await page.goto(url)
        await expect(sidebar.get_by_text("No data set loaded")).to_be_visible()
        lap("open")
        await choose(page, "Built-in sample", sample)
        await page.get_by_role("button", name="Load sample").click()
        await expect(sidebar.get_by_text(f"Data: {sample}", exact=True)).to_be_visible()
        lap("load")
        await nav(page, "Train")
        await choose(page, "Model", MODEL)
        await page.get_by_role("button", name="Train", exact=True).click()
        await expect(page.get_by_role("heading", name=f"{MODEL} · run")).to_be_visible()
        await expect(sidebar.get_by_text(f"Model: {MODEL}", exact=True)).to_be_visible()
        lap("train")
        await nav(page, "Explain")
        await expect(page.get_by_role("heading", name="Which columns drive the model")).to_be_visible()
        await expect(page.get_by_test_id("stPlotlyChart").first.locator(".js-plotly-plot")).to_be_visible()
        lap("explain")
        # Each session sees its own data set and target, nothing of the others.
        await expect(page.get_by_test_id("stCaptionContainer").filter(has_text=f"target {target}").first).to_be_visible()
        for other in [s for s in [*SESSIONS, WARM_UP[0]] if s != sample]:
            await expect(sidebar.get_by_text(f"Data: {other}", exact=True)).to_have_count(0)
        result.ok = True
        if shots is not None:
            await page.screenshot(path=str(shots / f"load-{sample}.png"))
    except Exception as exc:  # reported in the table; the other sessions go on
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    result.steps["total"] = time.perf_counter() - began
    await context.close()
    return result


async def run_sessions(url: str, shots: Path | None) -> tuple[list[SessionResult], float]:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=STEP_TIMEOUT_MS)  # assertions wait as long as actions do

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        began = time.perf_counter()
        results = await asyncio.gather(*(one_session(browser, url, s, t, shots) for s, t in SESSIONS.items()))
        wall = time.perf_counter() - began
        await browser.close()
    return list(results), wall


async def warm_up(url: str) -> SessionResult:
    """One session through the same path first (another sample): imports (shap, the models) and
    first renders are paid once, as on a server that has been up a while."""
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        result = await one_session(browser, url, WARM_UP[0], WARM_UP[1], None)
        await browser.close()
    return result


async def one_idle_session(url: str) -> None:
    """Open and close one page: a new session makes Streamlit drop expired disconnected ones."""
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(url)
        await expect(page.get_by_test_id("stSidebar").get_by_text("No data set loaded")).to_be_visible(timeout=120_000)
        await browser.close()


def mb(kb: int) -> str:
    return f"{kb / 1024:,.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-wait-expiry", action="store_true", help="skip the 2-minute wait for closed sessions to expire")
    parser.add_argument("--shots", type=Path, default=None, help="folder for one screenshot per session")
    args = parser.parse_args()
    if CHROMIUM is None:
        print("Debian chromium is not installed: nothing to measure.")
        return 1
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        log = Path(tmp) / "server.log"
        proc, url = start_server(log, Path(tmp) / "store")
        pid = proc.pid
        rows: list[tuple[str, str]] = []
        try:
            start_rss = status_kb(pid, "VmRSS")
            warm = asyncio.run(warm_up(url))
            if not warm.ok:
                raise RuntimeError(f"the warm-up session failed: {warm.error}")
            time.sleep(3)
            idle_rss, idle_hwm, cpu_before = status_kb(pid, "VmRSS"), status_kb(pid, "VmHWM"), cpu_seconds(pid)
            sampler = RssSampler(pid)
            sampler.start()
            results, wall = asyncio.run(run_sessions(url, args.shots))
            sampler.stop()
            cpu_used = cpu_seconds(pid) - cpu_before
            up_after = health(url)
            time.sleep(5)
            closed_rss, hwm = status_kb(pid, "VmRSS"), status_kb(pid, "VmHWM")
            expired_rss = None
            if not args.no_wait_expiry:
                time.sleep(125)  # Streamlit keeps a closed session 2 minutes for a reconnect
                asyncio.run(one_idle_session(url))
                time.sleep(3)
                expired_rss = status_kb(pid, "VmRSS")
            alive = proc.poll() is None
        finally:
            stop_server(proc)
        server_log = log.read_text()

    print(f"bench_load: {len(SESSIONS)} browser sessions at once on one `streamlit run` — {date.today()}, "
          f"{platform.machine()} with {os.cpu_count()} CPU cores, no GPU, Python {platform.python_version()}")
    print(f"each session: open the app, load its sample, train {MODEL} (catalog defaults) on the Train page, "
          "open Explain and wait for the importance chart\n")
    header = f"{'session (sample)':<20} {'open':>7} {'load':>7} {'train':>8} {'explain':>8} {'total':>8}  result"
    print(header)
    print("-" * len(header))
    for r in results:
        cells = "".join(f" {r.steps[k]:>7.1f}s" if k in r.steps else f" {'-':>7} " for k in ("open", "load", "train", "explain"))
        print(f"{r.sample:<20}{cells} {r.steps['total']:>7.1f}s  {'ok' if r.ok else 'FAILED ' + r.error}")
    print(f"\nall {len(results)} sessions, wall time: {wall:.1f} s; server CPU time used: {cpu_used:.1f} s")
    rows = [
        ("server VmRSS just after start", mb(start_rss)),
        (f"server VmRSS after one warm-up session ({WARM_UP[0]}, {warm.steps['total']:.0f} s), idle", mb(idle_rss)),
        ("server VmRSS peak while the 4 sessions ran (0.2 s samples)", mb(sampler.peak_kb())),
        ("server VmHWM (kernel's peak RSS since start)", mb(hwm)),
        ("server VmHWM before the 4 sessions", mb(idle_hwm)),
        ("server VmRSS 5 s after the sessions closed", mb(closed_rss)),
    ]
    if expired_rss is not None:
        rows.append(("server VmRSS after the 2-minute reconnect window + a new session", mb(expired_rss)))
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value:>9}")
    tracebacks = len(re.findall(r"^Traceback", server_log, re.M))
    print(f"\nserver up afterwards: health {up_after}, process {'alive' if alive else 'DEAD'}; "
          f"tracebacks in the server log: {tracebacks}")
    ok = all(r.ok for r in results) and up_after == 200 and alive and tracebacks == 0
    print("RESULT:", "all sessions finished correctly" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
