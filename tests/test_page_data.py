"""AppTest for pages/data.py: the three ways in, bad input keeps the old data, the role editor."""

from __future__ import annotations

import http.server
import threading

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from support import ROOT, shown

from core import datasets
from ui.render import md_escape
from ui.state import DATA, loaded_data

PAGE = str(ROOT / "pages" / "data.py")
ENTRY = str(ROOT / "streamlit_app.py")


def page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=30)


def load_sample(at: AppTest, name: str) -> AppTest:
    at.selectbox(key="data_sample").select(name)
    at.button(key="data_load_sample").click()
    return at.run()


def widget_keys(elements) -> set[str]:
    return {e.key for e in elements}


def test_page_runs_with_no_data():
    at = page().run()
    assert not at.exception
    assert DATA not in at.session_state
    assert any("No data set loaded yet" in i.value for i in at.info)
    shown = at.selectbox(key="data_sample").options
    assert [o.split(" — ")[0] for o in shown] == list(datasets.SAMPLES)
    assert datasets.SAMPLES["iris"] in shown[list(datasets.SAMPLES).index("iris")]


@pytest.mark.parametrize("sample", list(datasets.SAMPLES))
def test_every_sample_loads_through_the_button(sample):
    at = load_sample(page().run(), sample)
    assert not at.exception and not at.error
    data = at.session_state[DATA]
    assert data.name == sample and data.df.shape == datasets.load_sample(sample).shape
    assert at.dataframe, "the preview table is shown"
    assert any(s.value.startswith(f"Loaded {md_escape(sample)}:") for s in at.success)


def test_loan_sample_shows_guessed_roles_and_ignored_id():
    at = load_sample(page().run(), "loan_applications")
    data = at.session_state[DATA]
    assert data.target == "Loan_Status" and data.task == "binary"
    assert "Loan_ID" in data.ignored and "Loan_ID" not in data.features
    target = next(s for s in at.selectbox if s.key.startswith("data_target_"))
    assert target.value == "Loan_Status"
    ignored = [df.value for df in at.dataframe if list(df.value.columns) == ["column", "why"]]
    assert ignored and ignored[0].set_index("column").loc["Loan_ID", "why"] == "looks like a row identifier"


def test_changing_the_target_writes_back_roles_and_task():
    at = load_sample(page().run(), "loan_applications")
    target = next(s for s in at.selectbox if s.key.startswith("data_target_"))
    target.select("Property_Area")
    at.run()
    data = at.session_state[DATA]
    assert data.target == "Property_Area" and data.task == "multiclass"
    assert "Property_Area" not in data.features and "Loan_Status" not in data.features
    # Override the inferred task; it sticks while the target stays.
    task = next(s for s in at.selectbox if s.key.startswith("data_task_"))
    task.select("binary")
    at.run()
    assert at.session_state[DATA].task == "binary"
    features = next(m for m in at.multiselect if m.key.startswith("data_features_"))
    features.unselect("Gender")
    at.run()
    data = at.session_state[DATA]
    assert "Gender" not in data.features and "Gender" in data.ignored
    assert not at.exception


def test_no_target_means_explore_only():
    at = load_sample(page().run(), "iris")
    next(s for s in at.selectbox if s.key.startswith("data_target_")).select("")
    at.run()
    data = at.session_state[DATA]
    assert data.target is None and data.task is None and not at.exception


def test_bad_url_scheme_shows_the_sentence_and_keeps_the_loaded_data():
    at = load_sample(page().run(), "iris")
    at.text_input(key="data_url").input("file:///etc/passwd")
    at.button(key="data_load_url").click()
    at.run()
    assert not at.exception
    assert any("Only http:// and https:// URLs can be loaded" in shown(e.value) for e in at.error)
    assert at.session_state[DATA].name == "iris"
    assert at.dataframe


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == "/houses.csv":
            body = b"rooms,price\n3,250.5\n4,310.0\n2,199.9\n"
            self.send_response(200)
        else:
            body = b"gone"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv(datasets.URL_POLICY_ENV, "any")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_url_404_keeps_the_loaded_data_and_a_good_url_loads(server):
    at = load_sample(page().run(), "wine")
    at.text_input(key="data_url").input(f"{server}/missing.csv")
    at.button(key="data_load_url").click()
    at.run()
    assert not at.exception
    assert any("The server answered 404 Not Found" in shown(e.value) for e in at.error)
    assert at.session_state[DATA].name == "wine"

    at.text_input(key="data_url").input(f"{server}/houses.csv")
    at.button(key="data_load_url").click()
    at.run()
    assert not at.exception and not at.error
    data = at.session_state[DATA]
    assert data.name == "houses.csv" and list(data.df.columns) == ["rooms", "price"]
    assert data.target == "price" and data.task == "regression"


def test_default_url_policy_refuses_the_local_server_on_the_page(server, monkeypatch):
    monkeypatch.delenv(datasets.URL_POLICY_ENV)
    at = page().run()
    at.text_input(key="data_url").input(f"{server}/houses.csv")
    at.button(key="data_load_url").click()
    at.run()
    assert not at.exception
    assert any("private or local address" in shown(e.value) for e in at.error)
    assert DATA not in at.session_state


def headerless_page() -> AppTest:
    sentences = [f"Visit {i}: the food was {'good' if i % 2 else 'bad'} and the staff were kind." for i in range(30)]
    df = pd.DataFrame({"col_1": sentences, "col_2": [i % 2 for i in range(30)]})
    at = page()
    at.session_state[DATA] = loaded_data("yelp_like.txt", df, "uploaded file")
    return at.run()


def editor_edits(rows: dict[int, dict[str, str]]) -> dict:
    return {"edited_rows": rows, "added_rows": [], "deleted_rows": []}


def test_headerless_columns_can_be_renamed_and_roles_are_guessed_again():
    at = headerless_page()
    assert not at.exception
    rename = [e for e in at.expander if "Rename columns" in e.label]
    assert rename and rename[0].proto.expanded, "headerless data opens the rename editor"
    at.session_state["data_rename_0"] = editor_edits({0: {"new name": " review "}, 1: {"new name": "label"}})
    at.button(key="data_apply_names_0").click()
    at.run()
    assert not at.exception and not at.error
    data = at.session_state[DATA]
    assert list(data.df.columns) == ["review", "label"]
    assert data.target == "label" and data.kinds["review"] == "text"


def test_rename_to_a_duplicate_name_shows_the_sentence_and_keeps_the_names():
    at = headerless_page()
    at.session_state["data_rename_0"] = editor_edits({0: {"new name": "col_2"}})
    at.button(key="data_apply_names_0").click()
    at.run()
    assert not at.exception
    assert any("'col_2' appears 2 times" in shown(e.value) for e in at.error)
    assert list(at.session_state[DATA].df.columns) == ["col_1", "col_2"]


def test_kind_edits_are_written_back_and_impossible_ones_refused():
    at = headerless_page()
    assert at.session_state[DATA].kinds == {"col_1": "text", "col_2": "numeric"}
    at.session_state["data_kinds_0"] = editor_edits({0: {"kind": "numeric"}, 1: {"kind": "categorical"}})
    at.run()
    assert not at.exception
    kinds = at.session_state[DATA].kinds
    assert kinds["col_2"] == "categorical" and kinds["col_1"] == "text"
    assert any("Kept the old kind for col\\_1" in w.value for w in at.warning)


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="data_upload").upload(name, content, "text/plain")
    return at.run()


def test_upload_reads_a_quirky_file_once():
    lines = [f'" Review {i} with a "quote\t{i % 2}' if i % 4 == 0 else f"Review {i} fine.\t{i % 2}" for i in range(40)]
    at = upload(page().run(), "reviews.txt", ("\n".join(lines) + "\n").encode())
    assert not at.exception and not at.error
    data = at.session_state[DATA]
    assert data.name == "reviews.txt" and data.df.shape == (40, 2)
    # A later rerun (any widget) does not re-read the same upload and reset the analyst's roles.
    next(s for s in at.selectbox if s.key.startswith("data_target_")).select("")
    at.run()
    assert at.session_state[DATA].target is None


@pytest.mark.parametrize(
    ("name", "content", "sentence"),
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"a,b,c\n", "has a header but no data rows"),
        ("picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "does not look like a text table"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "Line 3 of ragged.csv has 3 fields"),
    ],
)
def test_bad_upload_shows_one_sentence_and_keeps_the_loaded_data(name, content, sentence):
    at = load_sample(page().run(), "iris")
    at = upload(at, name, content)
    assert not at.exception
    assert any(sentence in shown(e.value) for e in at.error)
    assert at.session_state[DATA].name == "iris"


def test_markdown_in_names_is_escaped_in_captions():
    df = pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]})
    at = page()
    at.session_state[DATA] = loaded_data("[click](http://evil.example) **x**", df, "uploaded file")
    at.run()
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert any("\\[click\\]" in h for h in headers), headers


def test_page_under_the_app_entry_loads_and_keeps_a_sample():
    at = AppTest.from_file(ENTRY, default_timeout=30).run()
    assert not at.exception
    at = load_sample(at, "height_weight")
    assert not at.exception
    assert at.session_state[DATA].name == "height_weight"
    assert any(s.value.startswith("Loaded height\\_weight") for s in at.success)
    at.run()
    assert not at.exception and at.session_state[DATA].name == "height_weight" and at.dataframe
