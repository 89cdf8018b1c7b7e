"""Limits and safety (issue 7): one upload limit everywhere, no uploaded file ever unpickled, the URL
policy on the page, memory bounded per session, and user text shown back as text on every page.

What core.datasets' own tests already cover (size caps per input kind, schemes, the local server
refused under the default policy) is not repeated here; these tests add the page-level behaviour,
the encoded loopback forms, redirects into a forbidden network, and the app-wide invariants.
"""

from __future__ import annotations

import ast
import dataclasses
import gc
import http.server
import os
import pickle
import re
import threading
import tomllib
import weakref
from collections import OrderedDict
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from support import ROOT, shown

from core import datasets, store, training
from core.datasets import DataError
from ui import state
from ui.render import md_escape
from ui.state import CURRENT_RUN, DATA, RUNS, loaded_data

ENTRY = str(ROOT / "streamlit_app.py")
DATA_PAGE = str(ROOT / "pages" / "data.py")
PICKLE_SENTENCE = "never loaded here because unpickling runs code"


def data_page() -> AppTest:
    return AppTest.from_file(DATA_PAGE, default_timeout=30).run()


def load_sample(at: AppTest, name: str) -> AppTest:
    at.selectbox(key="data_sample").select(name)
    at.button(key="data_load_sample").click()
    return at.run()


def upload(at: AppTest, key: str, name: str, content: bytes) -> AppTest:
    at.file_uploader(key=key).upload(name, content, "application/octet-stream")
    return at.run()


def errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


# ---- upload limit -----------------------------------------------------------------------------


def test_one_upload_limit_in_the_config_the_reader_and_the_uploaders_help():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    megabytes = config["server"]["maxUploadSize"]
    assert megabytes * 1024 * 1024 == datasets.MAX_BYTES
    at = data_page()
    assert not at.exception
    help_text = at.file_uploader(key="data_upload").help
    assert f"size limit is {megabytes} MB" in help_text


def test_an_upload_over_the_limit_is_refused_with_one_sentence_and_the_data_stays(monkeypatch):
    # The reader's default cap is what the page uses: make it small instead of uploading 200 MB.
    limit = 64 * 1024
    monkeypatch.setattr(datasets.read_table, "__defaults__", (None, limit))
    at = load_sample(data_page(), "iris")
    big = b"a,b\n" + b"1,2\n" * (limit // 4 + 10)
    at = upload(at, "data_upload", "over_the_limit.csv", big)
    assert not at.exception
    [sentence] = [e for e in errors(at) if "over_the_limit.csv" in e]
    assert "the limit is" in sentence and "load a smaller file" in sentence
    assert sentence.count(". ") == 0 and sentence.endswith(".")  # one sentence
    assert at.session_state[DATA].name == "iris"


# ---- nothing uploaded is ever unpickled ---------------------------------------------------------


class _Boom:
    """Unpickling this object runs a shell command that creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_payloads(marker: Path) -> dict[str, bytes]:
    payloads = {f"protocol {p}": pickle.dumps(_Boom(marker), protocol=p) for p in range(pickle.HIGHEST_PROTOCOL + 1)}
    path = marker.parent / "evil.joblib"
    joblib.dump(_Boom(marker), path)
    payloads["joblib"] = path.read_bytes()
    joblib.dump(_Boom(marker), path, compress=3)
    payloads["joblib compressed"] = path.read_bytes()
    return payloads


def test_the_payload_really_runs_code_when_unpickled(tmp_path):
    """Guard for the tests below: the marker appears when (and only when) something unpickles."""
    marker = tmp_path / "ran"
    pickle.loads(evil_payloads(marker)["protocol 4"])
    assert marker.exists()


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any unpickling call while reading fails the test (the marker file is the second check)."""

    def trap(*args, **kwargs):
        raise AssertionError("an uploaded file was unpickled")

    for module, name in [(pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (joblib, "load"),
                         (pd, "read_pickle"), (np, "load")]:
        monkeypatch.setattr(module, name, trap)


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib", ".sav", ".pt", ".npy", ".csv", ".txt", ".json", ".xlsx",
                                    ".parquet", ""])
def test_read_table_never_unpickles_whatever_the_name(tmp_path, suffix, no_unpickling):
    marker = tmp_path / "ran"
    for what, payload in evil_payloads(marker).items():
        for source in (payload, _write(tmp_path / f"evil{suffix}", payload)):
            try:
                datasets.read_table(source, name=f"evil{suffix}")
            except DataError as exc:
                if suffix in (".pkl", ".pickle", ".joblib", ".sav", ".pt", ".npy"):
                    assert PICKLE_SENTENCE in str(exc), (what, str(exc))
            # A protocol-0 pickle is printable text: read as a (meaningless) table, never executed.
            assert not marker.exists(), (what, suffix)


def _write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


def test_binary_pickles_under_a_table_name_get_the_pickle_sentence(tmp_path, no_unpickling):
    marker = tmp_path / "ran"
    for what, payload in evil_payloads(marker).items():
        if what in ("protocol 0", "protocol 1", "joblib compressed"):
            continue  # text, or a zlib stream: refused or read as text, never unpickled (test above)
        with pytest.raises(DataError, match=PICKLE_SENTENCE):
            datasets.read_table(payload, name="data.csv")
    assert not marker.exists()


@pytest.mark.parametrize("name", ["data.csv", "data.txt", "data.json"])
def test_a_pickle_uploaded_to_the_data_page_gives_the_sentence_and_runs_nothing(tmp_path, name):
    marker = tmp_path / "ran"
    at = load_sample(data_page(), "iris")
    at = upload(at, "data_upload", name, evil_payloads(marker)["protocol 4"])
    assert not at.exception
    assert any(PICKLE_SENTENCE in e for e in errors(at)), errors(at)
    assert at.session_state[DATA].name == "iris"
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.pkl", "model.joblib"])
def test_the_data_pages_uploader_does_not_even_accept_pickle_names(tmp_path, name):
    """The browser's file chooser filters by UPLOAD_TYPES; a client that sends a .pkl anyway is stopped
    by Streamlit's own extension check before the page runs (so that client sees Streamlit's error)."""
    marker = tmp_path / "ran"
    at = load_sample(data_page(), "iris")
    at = upload(at, "data_upload", name, evil_payloads(marker)["protocol 4"])
    assert "Invalid file extension" in at.exception[0].message
    assert not marker.exists()


UNPICKLING_CALLS = {("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("joblib", "load"),
                    ("torch", "load"), ("pd", "read_pickle"), ("pandas", "read_pickle"), ("np", "load")}


def unpickling_calls(path: Path) -> list[str]:
    """Calls such as pickle.loads(...) or joblib.load(...) in a file's code (not in its strings)."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        func = node.func if isinstance(node, ast.Call) else None
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and (func.value.id, func.attr) in UNPICKLING_CALLS):
            calls.append(f"{func.value.id}.{func.attr}")
    return calls


def test_no_page_offers_a_model_upload_and_no_page_or_glue_unpickles():
    files = [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py"), ROOT / "streamlit_app.py"]
    uploaders = {path.relative_to(ROOT).as_posix() for path in files if "st.file_uploader(" in path.read_text()}
    # The Data page reads tables; the Predict page reads rows to score, through the same reader.
    assert uploaders == {"pages/data.py", "pages/predict.py"}
    assert "datasets.read_table(uploaded.getvalue()" in (ROOT / "pages" / "predict.py").read_text()
    assert {path.name: unpickling_calls(path) for path in files if unpickling_calls(path)} == {}
    # In core, unpickling happens only on files the app wrote itself: the model store's re-open
    # (SHA-256 checked against its card first) and the fresh-process check of a download.
    in_core = {path.name: sorted(set(unpickling_calls(path))) for path in (ROOT / "core").glob("*.py")}
    assert {name: calls for name, calls in in_core.items() if calls} == {
        "artifacts.py": ["joblib.load", "pickle.load"], "verify_model.py": ["joblib.load", "pickle.load"]}


def test_models_page_has_no_file_uploader(tmp_path):
    run = small_run()
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.session_state[RUNS] = OrderedDict({run.run_id: run})
    at.session_state[CURRENT_RUN] = run.run_id
    at.run()
    at.switch_page("pages/models.py").run()
    assert not at.exception, at.exception
    assert len(at.file_uploader) == 0
    assert any("Download model" in b.label for b in at.get("download_button"))


def test_a_pickle_uploaded_for_batch_scoring_gives_the_sentence_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    run = small_run()
    at = AppTest.from_file(str(ROOT / "pages" / "predict.py"), default_timeout=60)
    at.session_state[RUNS] = OrderedDict({run.run_id: run})
    at.session_state[CURRENT_RUN] = run.run_id
    at.run()
    [uploader] = at.file_uploader
    for name in ("rows.pkl", "rows.csv"):
        uploader.upload(name, evil_payloads(marker)["protocol 5"], "application/octet-stream")
        at.run()
        assert not at.exception
        assert any(PICKLE_SENTENCE in e for e in errors(at)), errors(at)
        uploader = at.file_uploader[0]
        uploader.clear()
    assert not marker.exists()


# ---- URL policy ---------------------------------------------------------------------------------


@pytest.fixture
def local_server(tmp_path):
    """http.server on 127.0.0.1 serving tmp_path (a CSV and a redirect to another loopback address)."""
    (tmp_path / "rows.csv").write_text("x,y\n1,2\n3,4\n5,6\n")
    servers = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path.startswith("/jump"):
                self.send_response(302)
                self.send_header("Location", self.path.split("to=", 1)[1])
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    def serve(host: str) -> str:
        server = http.server.ThreadingHTTPServer((host, 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://{host}:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def load_url(at: AppTest, url: str) -> AppTest:
    at.text_input(key="data_url").input(url)
    at.button(key="data_load_url").click()
    return at.run()


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/csv,a,b%0A1,2", "ftp://example.com/data.csv", "file:///etc/passwd",
     "FILE:///etc/passwd", "jar:http://example.com/x.jar!/a.csv", "//example.com/data.csv"],
)
def test_the_data_page_refuses_non_http_urls_and_keeps_the_data(url):
    at = load_url(load_sample(data_page(), "iris"), url)
    assert not at.exception
    assert any("Only http:// and https:// URLs can be loaded" in e for e in errors(at)), errors(at)
    assert at.session_state[DATA].name == "iris"


def test_the_default_policy_is_public_and_refuses_every_spelling_of_a_local_address(monkeypatch):
    monkeypatch.delenv(datasets.URL_POLICY_ENV, raising=False)
    assert datasets.url_policy() == "public"
    for url in ["http://127.1/a.csv", "http://2130706433/a.csv", "http://0x7f000001/a.csv", "http://0.0.0.0/a.csv",
                "http://[::ffff:127.0.0.1]/a.csv", "http://[::]/a.csv", "http://100.64.0.1/a.csv",
                "http://192.168.1.1/a.csv", "http://172.16.0.1/a.csv", "http://[fe80::1]/a.csv",
                "http://[fd00::1]/a.csv", "http://224.0.0.1/a.csv", "https://127.0.0.1:8501/_stcore/health"]:
        with pytest.raises(DataError, match="private or local address"):
            datasets.check_url(url)


def test_default_policy_on_the_page_refuses_localhost_and_any_loads_it(local_server, monkeypatch):
    base = local_server("127.0.0.1")
    monkeypatch.delenv(datasets.URL_POLICY_ENV, raising=False)
    at = load_url(load_sample(data_page(), "iris"), f"{base}/rows.csv")
    assert any("private or local address" in e for e in errors(at)), errors(at)
    assert at.session_state[DATA].name == "iris"
    monkeypatch.setenv(datasets.URL_POLICY_ENV, "any")
    at = load_url(at, f"{base}/rows.csv")
    assert not at.exception and not at.error
    assert at.session_state[DATA].name == "rows.csv" and at.session_state[DATA].df.shape == (3, 2)


def test_a_redirect_into_a_forbidden_address_is_refused(local_server, monkeypatch):
    # Two loopback addresses stand for a public server and the private one it redirects to.
    public, private = local_server("127.0.0.1"), local_server("127.0.0.2")
    monkeypatch.delenv(datasets.URL_POLICY_ENV, raising=False)
    monkeypatch.setattr(datasets, "_non_public", lambda address: address == "127.0.0.2")
    assert datasets.read_url(f"{public}/rows.csv").shape == (3, 2)
    with pytest.raises(DataError, match="127.0.0.2 resolves to 127.0.0.2, a private or local address"):
        datasets.read_url(f"{public}/jump?to={private}/rows.csv")


# ---- memory stays bounded -------------------------------------------------------------------------



class FakeRun:
    """Stands for a TrainResult in ui.state (it reads run_id and label only); weak-referenceable."""

    def __init__(self, run_id: str) -> None:
        self.run_id, self.label = run_id, f"Model {run_id}"


def add_runs_script() -> None:
    """Adds st.session_state["how_many"] runs through ui.state.add_run, then shows the notices."""
    import streamlit as st

    from ui import state

    for _ in range(st.session_state.get("how_many", 0)):
        st.session_state["made"] = st.session_state.get("made", 0) + 1
        run = st.session_state["make_run"](f"r{st.session_state['made']:02d}")
        state.add_run(run, make_current=st.session_state.get("make_current", True))
    st.session_state["how_many"] = 0
    state.show_notices()


def test_runs_per_session_are_capped_and_the_oldest_is_dropped_with_a_notice():
    cap = state.MAX_RUNS_PER_SESSION
    made: dict[str, weakref.ref] = {}

    def make_run(run_id: str) -> FakeRun:
        run = FakeRun(run_id)
        made[run_id] = weakref.ref(run)
        return run

    at = AppTest.from_function(add_runs_script, default_timeout=30)
    at.session_state["make_run"] = make_run
    at.session_state["how_many"] = cap
    at.run()
    assert not at.exception and len(at.toast) == 0
    assert list(at.session_state[RUNS]) == [f"r{i:02d}" for i in range(1, cap + 1)]
    assert at.session_state[CURRENT_RUN] == f"r{cap:02d}"

    at.session_state[CURRENT_RUN] = "r01"  # the oldest run is the current model
    at.session_state["make_current"] = False
    at.session_state["how_many"] = 1
    at.run()
    runs = at.session_state[RUNS]
    assert len(runs) == cap and "r01" not in runs and list(runs)[-1] == f"r{cap + 1:02d}"
    assert [t.value for t in at.toast] == [
        "Dropped the oldest unsaved run (Model r01, r01) to keep this session's memory bounded."]
    assert at.session_state[CURRENT_RUN] is None  # no dangling current model
    gc.collect()
    assert made["r01"]() is None  # nothing else in the session keeps a dropped run alive
    assert all(made[run_id]() is not None for run_id in runs)


def test_past_the_cap_a_saved_run_stays_and_the_oldest_unsaved_one_goes(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MODEL_STORE", str(tmp_path / "store"))
    saved = small_run()
    store.save(saved)
    at = AppTest.from_function(add_runs_script, default_timeout=30)
    at.session_state["make_run"] = lambda run_id: saved if run_id == "r01" else FakeRun(run_id)
    at.session_state["how_many"] = state.MAX_RUNS_PER_SESSION + 1
    at.run()
    runs = at.session_state[RUNS]
    assert len(runs) == state.MAX_RUNS_PER_SESSION
    assert saved.run_id in runs and "r02" not in runs  # the saved oldest stays, the oldest unsaved goes
    assert [t.value for t in at.toast] == [
        "Dropped the oldest unsaved run (Model r02, r02) to keep this session's memory bounded."]
    # When every older run is saved, the oldest goes: the Models page can open it again.
    every_run_saved = set(at.session_state[RUNS])
    monkeypatch.setattr(state, "_saved_run_ids", lambda: every_run_saved)
    at.session_state["how_many"] = 1
    at.run()
    assert saved.run_id not in at.session_state[RUNS]
    assert [t.value for t in at.toast] == [
        f"Closed the oldest run ({saved.label}, {saved.run_id}) to keep this session's memory bounded; "
        "it is saved, so the Models page can open it again."]


def test_every_streamlit_cache_in_pages_and_ui_has_an_entry_limit():
    found = []
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py"), ROOT / "streamlit_app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr in ("cache_data", "cache_resource"):
                    keywords = {k.arg for k in decorator.keywords} if isinstance(decorator, ast.Call) else set()
                    found.append((path.name, node.name, keywords))
    assert len(found) >= 4, f"expected the Data (samples) and Explore pages' caches, found {found}"
    unbounded = [(file, name) for file, name, keywords in found if "max_entries" not in keywords]
    assert not unbounded, f"caches without max_entries: {unbounded}"


def small_frame(n: int = 90, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"size": rng.normal(10, 3, n), "colour": rng.choice(["red", "blue", "green"], n)})
    df["label"] = np.where(df["size"] + (df["colour"] == "red") * 2 > 11, "yes", "no")
    return df


def small_run(df: pd.DataFrame | None = None, target: str = "label") -> training.TrainResult:
    return training.train(small_frame() if df is None else df, target=target, model="decision_tree",
                          params={"max_depth": 4}, test_size=0.25, random_state=7, dataset="small")


def finish(at: AppTest, key: str) -> AppTest:
    """Wait for the page's background job in st.session_state[key], then rerun so the page takes it."""
    job = at.session_state[key] if key in at.session_state else None  # noqa: SIM401 (no .get on AppTest state)
    if job is not None:
        assert job.wait(120), f"{key} did not finish"
    return at.run()


def test_the_explain_page_keeps_at_most_a_few_explanations():
    cap = int(re.search(r"^MAX_CACHED = (\d+)", (ROOT / "pages" / "explain.py").read_text(), re.M).group(1))
    base = small_run()
    runs = [dataclasses.replace(base, run_id=f"run{i}") for i in range(cap + 2)]
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.session_state[RUNS] = OrderedDict((r.run_id, r) for r in runs)
    for run in runs:
        at.session_state[CURRENT_RUN] = run.run_id
        at.switch_page("pages/explain.py").run()
        at = finish(at, "explain_job")
        assert not at.exception, at.exception
        assert at.get("plotly_chart"), run.run_id
    cache = at.session_state["explain_cache"]
    assert [key.split(":")[0] for key in cache] == [r.run_id for r in runs[-cap:]]


def test_a_finished_job_and_a_closed_session_hold_no_run():
    """The Train page's job thread lets go of its result once the page took it; deleting the session
    (what Streamlit does when a closed tab's session expires) frees its runs."""
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.session_state[DATA] = loaded_data("small", small_frame(), "test")
    at.run()
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train_model_binary").select("decision_tree")
    next(b for b in at.button if b.label == "Train").click().run()
    job = at.session_state["train_job"]
    job_ref = weakref.ref(job)
    assert job.wait(60)
    thread = job._thread
    del job
    at.run()
    assert not at.exception, at.exception
    assert "train_job" not in at.session_state  # the page took the result ...
    [run_id] = list(at.session_state[RUNS])
    run_ref = weakref.ref(at.session_state[RUNS][run_id])
    gc.collect()
    assert not thread.is_alive() and job_ref() is None  # ... and neither the job nor its thread holds it
    assert run_ref() is not None
    del at, thread
    gc.collect()
    assert run_ref() is None, gc.get_referrers(run_ref())


# ---- user text is shown as text on every page ----------------------------------------------------

BOLD = "**bold**"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[link](http://example.com)"
HOSTILE = (BOLD, IMG, LINK)
HOSTILE_NAME = f"{BOLD} {IMG} {LINK}.csv"
# Elements whose value Streamlit renders as markdown (alerts and toasts included).
MARKDOWN_ELEMENTS = {"markdown", "caption", "title", "header", "subheader", "error", "warning", "info", "success",
                     "toast", "exception", "heading"}
FENCED_CODE = re.compile(r"^```[^\n]*\n.*?^```$", re.S | re.M)


def hostile_frame(n: int = 120, seed: int = 5) -> pd.DataFrame:
    """Column names, category levels, free text and class labels that are markdown and HTML."""
    rng = np.random.default_rng(seed)
    size = rng.normal(10, 3, n)
    level = rng.choice([*HOSTILE, "plain"], n)
    words = rng.choice(["good", "bad", BOLD, LINK, IMG, "fine"], (n, 4))
    df = pd.DataFrame({BOLD: size, IMG: level, "notes": [f"row {i}: " + " ".join(w) for i, w in enumerate(words)]})
    df[LINK] = np.where(size + (level == IMG) * 3 > 11, BOLD, IMG)
    return df


def texts(node, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(element type, text) for every text of the page Streamlit renders as markdown."""
    kind = getattr(node, "type", "")
    for attribute in ("label", "help"):
        text = getattr(node.proto, attribute, None) if getattr(node, "proto", None) is not None else None
        if isinstance(text, str) and text:
            found.append((f"{kind}.{attribute}", text))
    if kind in MARKDOWN_ELEMENTS:
        # A fenced code block shows its lines literally (the model card's snippet quotes column names
        # with repr, which keeps them on one line, so user text cannot close the fence).
        found.append((kind, FENCED_CODE.sub("", str(node.value))))
    if kind == "radio":  # radio options are markdown too (selectbox and multiselect options are not)
        found.extend((f"{kind}.option", option) for option in node.options)
    for child in getattr(node, "children", {}).values():
        texts(child, found)
    return found


def assert_user_text_is_inert(at: AppTest, page: str, expect_shown: bool = True) -> None:
    assert not at.exception, (page, at.exception)
    found = texts(at._tree, [])
    raw = [(kind, text) for kind, text in found if any(h in text for h in HOSTILE)]
    assert not raw, f"{page}: user text rendered as markdown/HTML: {raw}"
    if expect_shown:  # the page does show user text, escaped, so the check above is not vacuous
        assert any(md_escape(h) in text for _, text in found for h in HOSTILE), (page, found)


@pytest.fixture(scope="module")
def hostile_run():
    df = hostile_frame()
    data = loaded_data(HOSTILE_NAME, df, f"uploaded {IMG}")
    assert data.target == LINK and data.kinds["notes"] == "text", (data.target, data.kinds)
    run = training.train(df, target=LINK, model="decision_tree", features=data.features, kinds=data.kinds,
                         params={"max_depth": 4}, test_size=0.25, random_state=7, dataset=HOSTILE_NAME)
    return data, run


def entry_with(data, run=None) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=90)
    at.session_state[DATA] = data
    if run is not None:
        at.session_state[RUNS] = OrderedDict({run.run_id: run})
        at.session_state[CURRENT_RUN] = run.run_id
    return at.run()


def test_the_data_page_shows_an_uploaded_files_name_columns_and_values_as_text():
    csv = hostile_frame().to_csv(index=False).encode()
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    at = upload(at, "data_upload", HOSTILE_NAME, csv)
    assert at.session_state[DATA].name == HOSTILE_NAME
    assert_user_text_is_inert(at, "data: uploaded")
    # A refused kind change names the columns in a warning.
    editor = next(k for k in at.session_state if str(k).startswith("data_kinds_"))
    at.session_state[editor] = {"edited_rows": {1: {"kind": "numeric"}, 2: {"kind": "numeric"}},
                                "added_rows": [], "deleted_rows": []}
    at.run()
    assert at.warning, "the refused kinds are named"
    assert_user_text_is_inert(at, "data: kinds")
    # A refused URL quotes it back.
    at = load_url(at, f"ftp://{BOLD}/{IMG}/{LINK}.csv")
    assert at.error
    assert_user_text_is_inert(at, "data: url")


def test_the_explore_page_shows_user_text_as_text(hostile_run):
    data, _ = hostile_run
    at = entry_with(data)
    at.switch_page("pages/explore.py").run()
    for tab in ["Overview", "Distributions", "Scatter & density", "Correlation", "Target"]:
        at.session_state["explore_tab"] = tab
        at.run()
        assert_user_text_is_inert(at, f"explore: {tab}")


def test_the_train_page_shows_user_text_as_text_before_and_after_training(hostile_run):
    data, _ = hostile_run
    at = entry_with(data)
    at.switch_page("pages/train.py").run()
    assert_user_text_is_inert(at, "train: before")
    at.selectbox(key="train_model_binary").select("decision_tree")
    next(b for b in at.button if b.label == "Train").click().run()
    at = finish(at, "train_job")
    assert len(at.session_state[RUNS]) == 1
    assert_user_text_is_inert(at, "train: after")


def test_the_explain_page_shows_user_text_as_text(hostile_run):
    data, run = hostile_run
    at = entry_with(data, run)
    at.switch_page("pages/explain.py").run()
    at = finish(at, "explain_job")
    assert at.get("plotly_chart")
    assert_user_text_is_inert(at, "explain")
    # Rows picked by a column's value, and the text column's words.
    at.radio(key=next(k for k in at.session_state if str(k).startswith("explain_pick_"))).set_value(
        "by a column's value").run()
    assert_user_text_is_inert(at, "explain: filter")


def test_the_predict_page_shows_user_text_as_text(hostile_run):
    data, run = hostile_run
    at = entry_with(data, run)
    at.switch_page("pages/predict.py").run()
    assert_user_text_is_inert(at, "predict: form")
    at.button(key=f"FormSubmitter:predict_whatif_{run.run_id}-Predict").click().run()
    assert at.session_state["predict_whatif_history"], "the what-if row was predicted"
    assert_user_text_is_inert(at, "predict: result")
    rows = hostile_frame(20, seed=9)
    [uploader] = at.file_uploader
    uploader.upload(HOSTILE_NAME, rows.drop(columns=[BOLD]).to_csv(index=False).encode(), "text/csv")
    at.run()
    assert at.error, "a file without a feature column is refused by naming it"
    assert_user_text_is_inert(at, "predict: batch refused")
    at.file_uploader[0].clear().upload(HOSTILE_NAME, rows.to_csv(index=False).encode(), "text/csv")
    at.run()
    assert at.success, "the rows were scored"
    assert_user_text_is_inert(at, "predict: batch scored")


def test_the_models_page_shows_user_text_as_text(hostile_run, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MODEL_STORE", str(tmp_path / "store"))
    data, run = hostile_run
    at = entry_with(data, run)
    at.switch_page("pages/models.py").run()
    assert_user_text_is_inert(at, "models: current")
    at.button(key="models_save_current").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert_user_text_is_inert(at, "models: saved")


def test_no_page_or_glue_lets_html_through():
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py"), ROOT / "streamlit_app.py"]:
        text = path.read_text()
        for unsafe in ("unsafe_allow_html", "st.html(", "components.html", "components.v1"):
            assert unsafe not in text, (path.name, unsafe)


def test_the_explain_pages_note_on_a_text_column_shows_its_name_as_text():
    # A model SHAP explains by permutation treats a text column as one column; the page says so,
    # naming the column.
    df = hostile_frame(80).rename(columns={"notes": f"notes {LINK}"})
    data = loaded_data(HOSTILE_NAME, df, "test")
    assert data.kinds[f"notes {LINK}"] == "text"
    run = training.train(df, target=LINK, model="knn", features=data.features, kinds=data.kinds,
                         test_size=0.25, random_state=7, dataset=HOSTILE_NAME)
    at = entry_with(data, run)
    at.switch_page("pages/explain.py").run()
    at = finish(at, "explain_job")
    assert any("Word-level detail" in shown(i.value) for i in at.info), [i.value for i in at.info]
    assert_user_text_is_inert(at, "explain: permutation on text")


def test_the_compare_devices_page_shows_user_text_as_text(hostile_run):
    data, _ = hostile_run
    at = entry_with(data)
    at.switch_page("pages/devices.py").run()
    assert_user_text_is_inert(at, "devices")
