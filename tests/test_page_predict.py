"""Predict page (AppTest): pointer without a model, what-if submit, starting rows, history, batch scoring."""

import re
from collections import OrderedDict
from pathlib import Path

import pytest
from fitted_runs import house_run, loan_frame, loan_run
from streamlit.testing.v1 import AppTest
from support import ROOT

from core import whatif

PAGE = str(ROOT / "pages" / "predict.py")


def unescaped(markdown: str) -> str:
    """Page text as a person reads it: md_escape's backslashes removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def page_with(run=None):
    at = AppTest.from_file(PAGE, default_timeout=60)
    if run is not None:
        at.session_state["wb_runs"] = OrderedDict({run.run_id: run})
        at.session_state["wb_current_run"] = run.run_id
    return at.run()


def field(at, run, name):
    return at.number_input(key=f"predict_field_{run.run_id}_{run.schema.names.index(name)}")


def submit(at):
    at.button(key="FormSubmitter:predict_whatif_{}-Predict".format(at.session_state["wb_current_run"])).click()
    return at.run()


@pytest.fixture(scope="module")
def house():
    return house_run("random_forest")


@pytest.fixture(scope="module")
def loan():
    return loan_run()


def test_without_a_model_the_page_points_to_training(tmp_path):
    # The pointer is a st.page_link, which resolves only under a navigation that lists the Train
    # page: run the real page under a two-page navigation with a stand-in Train page.
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "train.py").write_text("import streamlit as st\nst.write('train page')\n")
    (tmp_path / "pages" / "predict.py").write_text(Path(PAGE).read_text())
    (tmp_path / "entry.py").write_text(
        "import streamlit as st\n"
        "st.navigation([st.Page('pages/train.py', default=True), st.Page('pages/predict.py')]).run()\n"
    )
    at = AppTest.from_file(str(tmp_path / "entry.py"), default_timeout=30).run()
    at.switch_page("pages/predict.py").run()
    assert not at.exception, at.exception
    assert any("No model yet" in i.value for i in at.info)
    assert len(at.number_input) == 0


def test_form_starts_from_the_median_row_and_submit_predicts(house):
    at = page_with(house)
    assert not at.exception
    median = whatif.starting_row(house, "median")
    assert field(at, house, "RM").value == pytest.approx(median["RM"])
    assert field(at, house, "TAX").value == median["TAX"]
    assert "training range" in field(at, house, "RM").help
    at = submit(at)
    assert not at.exception
    expected = whatif.predict_row(house, median, with_waterfall=False).prediction
    assert at.metric[0].value == whatif.fmt(expected)
    assert at.warning.len == 0
    assert at.subheader[0].value == "Scenario 1"


def test_out_of_range_value_warns_and_still_predicts(house):
    at = page_with(house)
    field(at, house, "RM").set_value(12.0)
    at = submit(at)
    assert not at.exception
    assert any("RM = 12 is outside the training range" in unescaped(w.value) for w in at.warning)
    assert at.metric[0].value  # a prediction is shown anyway
    changed = at.dataframe[0].value
    assert changed["feature"].tolist() == ["RM"] and changed["what-if"].tolist() == ["12"]


def test_load_held_out_row_then_compare_two_scenarios(house):
    at = page_with(house)
    at.radio(key=f"predict_start_mode_{house.run_id}").set_value("a held-out row").run()
    at.number_input(key=f"predict_start_row_{house.run_id}").set_value(3)
    at.button(key=f"predict_load_{house.run_id}").click().run()
    assert not at.exception
    assert field(at, house, "LSTAT").value == pytest.approx(house.X_test.iloc[3]["LSTAT"])
    at = submit(at)
    expected = house.pipeline.predict(house.X_test.iloc[[3]])[0]
    assert at.metric[0].value == whatif.fmt(expected)
    field(at, house, "LSTAT").set_value(30.0)
    at = submit(at)
    assert not at.exception
    assert at.subheader[0].value == "Scenario 2"
    assert any(s.value == "Scenarios this session" for s in at.subheader)
    side_by_side = at.dataframe[-1].value
    assert list(side_by_side.columns) == ["", "scenario 1", "scenario 2", "differs"]
    lstat = side_by_side.set_index("")
    assert lstat.loc["LSTAT", "differs"] == "yes" and lstat.loc["RM", "differs"] == ""


def test_classifier_shows_class_probabilities(loan):
    at = page_with(loan)
    at = submit(at)
    assert not at.exception
    probabilities = at.dataframe[0].value
    assert probabilities["class"].tolist() == ["N", "Y"]
    assert probabilities["probability"].sum() == pytest.approx(1.0)


def test_batch_file_missing_a_column_gets_a_sentence(loan):
    at = page_with(loan)
    rows = loan_frame(n=12, seed=4).drop(columns=["Credit_History", "Loan_Status"])
    at.file_uploader(key=f"predict_batch_upload_{loan.run_id}").set_value(
        ("rows.csv", rows.to_csv(index=False).encode(), "text/csv")
    )
    at.run()
    assert not at.exception
    assert [unescaped(e.value) for e in at.error] == ["The file is missing 1 column the model needs: 'Credit_History'."]
    assert at.download_button.len == 0


def test_batch_scoring_shows_rows_and_offers_the_csv(loan):
    at = page_with(loan)
    rows = loan_frame(n=30, seed=4)
    at.file_uploader(key=f"predict_batch_upload_{loan.run_id}").set_value(
        ("rows.csv", rows.to_csv(index=False).encode(), "text/csv")
    )
    at.run()
    assert not at.exception
    assert at.success[0].value == "Scored 30 rows."
    assert "1 extra column is ignored: 'Loan_Status'." in [unescaped(w.value) for w in at.warning]
    preview = at.dataframe[-1].value
    assert {"prediction", "proba_N", "proba_Y"} <= set(preview.columns)
    assert at.download_button(key=f"predict_batch_download_{loan.run_id}").label == "Download predictions (CSV)"


def test_runs_under_the_real_entry(house):
    if "pages/predict.py" not in (ROOT / "streamlit_app.py").read_text():
        pytest.skip("streamlit_app.py does not list pages/predict.py yet (the lead adds it)")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.session_state["wb_runs"] = OrderedDict({house.run_id: house})
    at.session_state["wb_current_run"] = house.run_id
    at.run()
    at.switch_page("pages/predict.py").run()
    assert not at.exception, at.exception
    at = submit(at)
    assert not at.exception, at.exception
    assert at.metric[0].value
