"""Models page (AppTest): verified download, SHA-256, card, save / re-open / delete in the model store."""

import re
from collections import OrderedDict
from pathlib import Path

import pytest
from fitted_runs import house_run, loan_run
from streamlit.testing.v1 import AppTest
from support import ROOT

from core import artifacts, store

PAGE = str(ROOT / "pages" / "models.py")


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.fixture(autouse=True)
def model_store(tmp_path, monkeypatch):
    root = tmp_path / "store"
    monkeypatch.setenv(store.STORE_ENV, str(root))
    return root


@pytest.fixture(scope="module")
def loan():
    return loan_run()


@pytest.fixture(scope="module")
def house():
    return house_run("linear_regression")


def open_page(tmp_path, *runs):
    """The real page under a navigation beside a stand-in Train page (the no-model pointer links to it)."""
    app = tmp_path / "app"
    if not app.exists():
        (app / "pages").mkdir(parents=True)
        (app / "pages" / "train.py").write_text("import streamlit as st\nst.write('train page')\n")
        (app / "pages" / "models.py").write_text(Path(PAGE).read_text())
        (app / "entry.py").write_text(
            "import streamlit as st\n"
            "st.navigation([st.Page('pages/train.py', default=True), st.Page('pages/models.py')]).run()\n"
        )
    at = AppTest.from_file(str(app / "entry.py"), default_timeout=120)
    if runs:
        at.session_state["wb_runs"] = OrderedDict((r.run_id, r) for r in runs)
        at.session_state["wb_current_run"] = runs[-1].run_id
    at.run()
    return at.switch_page("pages/models.py").run()


def test_without_a_model_points_to_training_and_still_lists_the_store(tmp_path):
    at = open_page(tmp_path)
    assert not at.exception, at.exception
    assert any("No model yet" in i.value for i in at.info)
    assert any("No saved models yet" in i.value for i in at.info)
    assert at.download_button.len == 0


def test_current_model_is_verified_before_the_download(loan, tmp_path):
    at = open_page(tmp_path, loan)
    assert not at.exception
    made = at.session_state["models_verified"][loan.run_id]
    rows = len(loan.X_test)
    assert at.success[0].value.startswith(f"verified: {rows} rows, identical predictions and probabilities")
    assert made["sha"] == artifacts.sha256(made["blob"])
    assert any(made["sha"] in m.value for m in at.markdown)
    assert any(f"{made['size']:,} bytes" in m.value for m in at.markdown)
    assert at.download_button(key="models_download").label == "Download model (.joblib)"
    assert at.download_button(key="models_card_download").label == "Download model card (.md)"
    # The file offered is the verified one and predicts like the app.
    model = artifacts.load(made["blob"], expected_sha256=made["sha"])
    assert model.predict(loan.X_test).tolist() == loan.pipeline.predict(loan.X_test).tolist()
    assert any(s.value == "This session's unsaved runs" for s in at.subheader)


def test_verification_is_done_once_per_run(loan, tmp_path):
    at = open_page(tmp_path, loan)
    first = at.session_state["models_verified"][loan.run_id]["check"]
    at.run()
    assert at.session_state["models_verified"][loan.run_id]["check"] is first


def test_save_then_reopen_in_another_session_then_delete(loan, model_store, tmp_path):
    at = open_page(tmp_path, loan)
    at.button(key="models_save_current").click().run()
    assert not at.exception
    assert [m.model_id for m in store.list_models(model_store)] == [loan.run_id]
    assert any(loan.run_id in unescaped(c.value) and "Saved in the model store" in c.value for c in at.caption)

    fresh = open_page(tmp_path)  # a new browser session: no runs, the store on disk
    assert not fresh.exception, fresh.exception
    assert any("No model yet" in i.value for i in fresh.info)
    fresh.button(key=f"models_open_{loan.run_id}").click().run()
    assert not fresh.exception
    assert fresh.session_state["wb_current_run"] == loan.run_id
    reopened = fresh.session_state["wb_runs"][loan.run_id]
    assert reopened.pipeline is not loan.pipeline
    assert fresh.success[0].value.startswith(f"verified: {len(loan.X_test)} rows, identical predictions")

    fresh.button(key=f"models_delete_{loan.run_id}").click().run()
    assert not fresh.exception
    assert store.list_models(model_store) == []


def test_a_tampered_stored_model_is_refused_with_a_sentence(house, model_store, tmp_path):
    entry = store.save(house, model_store)
    blob = bytearray(entry.model_file.read_bytes())
    blob[100] ^= 0xFF
    entry.model_file.write_bytes(bytes(blob))
    at = open_page(tmp_path)
    at.button(key=f"models_open_{house.run_id}").click().run()
    assert not at.exception
    assert "wb_current_run" not in at.session_state or at.session_state["wb_current_run"] is None
    assert any("SHA-256 does not match" in unescaped(e.value) for e in at.error)


def test_unsaved_runs_are_listed_apart_and_can_be_saved(loan, house, model_store, tmp_path):
    at = open_page(tmp_path, loan, house)
    table = at.dataframe[0].value
    assert set(table["run"]) == {loan.run_id, house.run_id}
    assert any("gone when the session ends" in c.value for c in at.caption)
    at.selectbox(key="models_save_pick").set_value(loan.run_id)
    at.button(key="models_save_picked").click().run()
    assert not at.exception
    assert [m.model_id for m in store.list_models(model_store)] == [loan.run_id]
    assert at.dataframe[0].value["run"].tolist() == [house.run_id]


def test_runs_under_the_real_entry(loan):
    if "pages/models.py" not in (ROOT / "streamlit_app.py").read_text():
        pytest.skip("streamlit_app.py does not list pages/models.py yet (the lead adds it)")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.session_state["wb_runs"] = OrderedDict({loan.run_id: loan})
    at.session_state["wb_current_run"] = loan.run_id
    at.run()
    at.switch_page("pages/models.py").run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith(f"verified: {len(loan.X_test)} rows, identical predictions")
