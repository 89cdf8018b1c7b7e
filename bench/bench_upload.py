"""A 500 MB CSV upload does not take the server down: what the user sees, what the server holds.

Starts `streamlit run` on 127.0.0.1, writes a ~500 MB CSV into a temp folder (deleted at the
end), opens the Data page in Debian's chromium and:

1. picks the 500 MB file in the real file chooser: the browser refuses it (maxUploadSize) with
   its own message, which is printed, and sends nothing;
2. PUTs it straight to Streamlit's upload endpoint the way the frontend does
   (/_stcore/upload_file/<session id>/<file id>, multipart, XSRF header + cookie, all taken from
   a small upload the page made first), twice: with an honest Content-Length (refused before the
   body is read) and with chunked transfer encoding (no length: the server counts while it
   streams and stops past the cap);
3. with --near-limit (default on) uploads a CSV just under the limit through the file chooser, so
   the page parses it: the memory a legitimate big file costs.

For each step: the HTTP status or what the page shows, seconds, the server's VmRSS peak (sampled
every 0.1 s) and VmHWM, and /_stcore/health afterwards.

Run: .venv/bin/python bench/bench_upload.py [--size-mb 500] [--no-near-limit]
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import cpu_seconds, status_kb  # noqa: E402
from live_app import CHROMIUM, CHROMIUM_ARGS, ROOT, health, start_server, stop_server  # noqa: E402

LIMIT_MB = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
ROW = b"20250101,12345.678,-0.000123,some text here,category_a\n"


def write_csv(path: Path, megabytes: int) -> int:
    """A CSV of about `megabytes` MB (five columns), written in 1 MB blocks."""
    block = ROW * (1024 * 1024 // len(ROW))
    with open(path, "wb") as f:
        f.write(b"date,amount,change,note,group\n")
        for _ in range(megabytes * 1024 * 1024 // len(block)):
            f.write(block)
    return path.stat().st_size


class Peak(threading.Thread):
    """Peak VmRSS of a process while a step runs (0.1 s samples)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self._done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))
            except (OSError, KeyError):
                return
            self._done.wait(0.1)

    def __enter__(self) -> Peak:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self.join()


def put_upload(url: str, session_id: str, xsrf: str, path: Path, chunked: bool) -> tuple[str, int]:
    """PUT a file to Streamlit's upload endpoint as multipart; (status or error, body bytes sent)."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=300)
    target = f"/_stcore/upload_file/{session_id}/{uuid.uuid4()}"
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": xsrf,
               "Cookie": f"_streamlit_xsrf={xsrf}", "Origin": url}
    sent = 0
    try:
        conn.putrequest("PUT", target)
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(len(head) + path.stat().st_size + len(tail))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()

        def send(data: bytes) -> None:
            nonlocal sent
            conn.send(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            sent += len(data)

        send(head)
        with open(path, "rb") as f:
            while block := f.read(1024 * 1024):
                send(block)
        send(tail)
        if chunked:
            conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return f"HTTP {response.status} {response.read().decode(errors='replace')[:40]}".strip(), sent
    except (BrokenPipeError, ConnectionResetError) as exc:
        # The server answered and closed while the body was still coming: read its answer if any.
        try:
            response = conn.getresponse()
            return f"HTTP {response.status} {response.read().decode(errors='replace')[:40]}".strip(), sent
        except (OSError, http.client.HTTPException):
            return f"connection closed by the server ({type(exc).__name__})", sent
    finally:
        conn.close()


def mb(kb: int) -> str:
    return f"{kb / 1024:,.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--no-near-limit", action="store_true", help="skip the upload just under the limit")
    args = parser.parse_args()
    if CHROMIUM is None:
        print("Debian chromium is not installed: nothing to measure.")
        return 1
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)
    rows: list[tuple[str, str, float, int, int, int]] = []  # step, outcome, seconds, peak rss, hwm, health
    with tempfile.TemporaryDirectory(prefix="bench_upload_") as tmp:
        folder = Path(tmp)
        big = folder / "big.csv"
        began = time.perf_counter()
        size = write_csv(big, args.size_mb)
        print(f"wrote {big.name}: {size / 1024**2:,.0f} MB in {time.perf_counter() - began:.1f} s")
        small = folder / "small.csv"
        small.write_bytes(b"x,y\n1,2\n3,4\n5,6\n")
        proc, url = start_server(folder / "server.log", folder / "store")
        pid = proc.pid
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.set_default_timeout(180_000)
                uploads: list = []
                page.on("request", lambda r: uploads.append(r) if "/_stcore/upload_file/" in r.url and r.method == "PUT" else None)
                page.goto(url)
                page.get_by_role("tab", name="Upload a file").click()
                sidebar = page.get_by_test_id("stSidebar")

                def choose_file(path: Path) -> None:
                    # The uploader's file input, as the file chooser fills it (with a file already
                    # there the "Browse files" button gives way to the file's chip).
                    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))

                # A small file first: the page works, and its request shows the endpoint's details.
                choose_file(small)
                expect(sidebar.get_by_text("Data: small.csv", exact=True)).to_be_visible()
                session_id = uploads[-1].url.rsplit("/", 2)[-2]
                xsrf = uploads[-1].headers.get("x-xsrftoken", "")
                baseline_rss, baseline_hwm = status_kb(pid, "VmRSS"), status_kb(pid, "VmHWM")
                rows.append(("baseline: small.csv loaded", "ok", 0.0, baseline_rss, baseline_hwm, health(url)))

                # 1. The real file chooser with the 500 MB file.
                sent_before = len(uploads)
                with Peak(pid) as peak:
                    t = time.perf_counter()
                    choose_file(big)
                    message = page.get_by_test_id("stFileUploader").get_by_text(
                        re.compile(r"must be .*or smaller|too large|exceeds", re.I)).first
                    expect(message).to_be_visible()
                    shown = " ".join(message.inner_text().split())
                    seconds = time.perf_counter() - t
                expect(sidebar.get_by_text("Data: small.csv", exact=True)).to_be_visible()  # still loaded
                page.screenshot(path=str(folder / "refused.png"))
                rows.append((f"browser: pick the {size / 1024**2:,.0f} MB file", f'page says "{shown}"; '
                             f"{len(uploads) - sent_before} upload requests sent", seconds, peak.peak_kb,
                             status_kb(pid, "VmHWM"), health(url)))

                # 2. Straight to the endpoint, bypassing the browser's check.
                for chunked in (False, True):
                    with Peak(pid) as peak:
                        t = time.perf_counter()
                        cpu = cpu_seconds(pid)
                        outcome, sent = put_upload(url, session_id, xsrf, big, chunked)
                        seconds = time.perf_counter() - t
                    how = "chunked, no length" if chunked else "with Content-Length"
                    rows.append((f"direct PUT, {how}", f"{outcome}; {sent / 1024**2:,.0f} MB sent, "
                                 f"server CPU {cpu_seconds(pid) - cpu:.1f} s", seconds, peak.peak_kb,
                                 status_kb(pid, "VmHWM"), health(url)))

                # 3. A file just under the limit, through the page: parsed into a frame.
                if not args.no_near_limit:
                    near = folder / "near_limit.csv"
                    write_csv(near, LIMIT_MB - 10)
                    with Peak(pid) as peak:
                        t = time.perf_counter()
                        choose_file(near)
                        expect(sidebar.get_by_text("Data: near_limit.csv", exact=True)).to_be_visible()
                        seconds = time.perf_counter() - t
                    shape = sidebar.get_by_text(re.compile(r"rows x")).first.inner_text()
                    rows.append((f"browser: {near.stat().st_size / 1024**2:,.0f} MB file (under the limit)",
                                 f"loaded, {shape}", seconds, peak.peak_kb, status_kb(pid, "VmHWM"), health(url)))
                    near.unlink()
                browser.close()
            alive = proc.poll() is None
            final_rss = status_kb(pid, "VmRSS")
        finally:
            stop_server(proc)
        tracebacks = len(re.findall(r"^Traceback", (folder / "server.log").read_text(), re.M))
        big.unlink()
    # The temp folder, the 500 MB file included, is gone here.

    print(f"\nbench_upload: maxUploadSize {LIMIT_MB} MB — {date.today()}, {platform.machine()} with {os.cpu_count()} "
          f"CPU cores, no GPU, Python {platform.python_version()}\n")
    header = f"{'step':<40} {'s':>6} {'peak RSS':>9} {'VmHWM':>9} {'health':>6}  outcome"
    print(header)
    print("-" * len(header))
    for step, outcome, seconds, peak_kb, hwm, status in rows:
        print(f"{step:<40} {seconds:>6.1f} {mb(peak_kb):>9} {mb(hwm):>9} {status:>6}  {outcome}")
    print(f"\nserver afterwards: process {'alive' if alive else 'DEAD'}, VmRSS {mb(final_rss)}, "
          f"tracebacks in its log: {tracebacks}; the {size / 1024**2:,.0f} MB file was deleted")
    ok = alive and tracebacks == 0 and all(r[5] == 200 for r in rows)
    print("RESULT:", "the server stayed up" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
