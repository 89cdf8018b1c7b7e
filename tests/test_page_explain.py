"""The Explain page through AppTest: without a model it points to the Train page; with one it
computes SHAP once in the background, shows every chart, and a new row redraws only the local
charts without recomputing anything."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest
from fitted_runs import loan_frame, make_run, review_frame
from streamlit.testing.v1 import AppTest
from support import ROOT

from core import explain
from ui.state import CURRENT_RUN, RUNS

GLOBAL_CHARTS = ("explain_importance", "explain_beeswarm", "explain_dependence")
HARNESS = """
import streamlit as st

pages = [st.Page("pages/train.py", title="Train", default=True), st.Page("pages/explain.py", title="Explain")]
st.navigation(pages).run()
"""


@pytest.fixture
def harness(tmp_path):
    """The real Explain page under st.navigation (its pointer links to the Train page, which needs one)."""
    (tmp_path / "pages").symlink_to(ROOT / "pages", target_is_directory=True)
    (tmp_path / "app.py").write_text(HARNESS)
    return tmp_path / "app.py"


def page_with(harness, run) -> AppTest:
    at = AppTest.from_file(str(harness), default_timeout=60)
    if run is not None:
        at.session_state[RUNS] = OrderedDict({run.run_id: run})
        at.session_state[CURRENT_RUN] = run.run_id
    at.switch_page("pages/explain.py").run()
    return at


def finish_job(at: AppTest) -> None:
    """Wait for the background explanation, then rerun so the page picks it up."""
    job = at.session_state["explain_job"] if "explain_job" in at.session_state else None  # noqa: SIM401
    if job is not None:  # already done and handed over when the first run finished it
        assert job.wait(120), "the explanation did not finish"
    at.run()


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly charts on the page by their widget key (the id ends with it): key -> figure spec."""
    return {element.proto.id.rsplit("-", 1)[-1]: json.loads(element.proto.spec) for element in at.get("plotly_chart")}


@pytest.fixture
def counted(monkeypatch):
    """Counts calls of core.explain.explain made by the page (same module object as the page's)."""
    calls = []
    real = explain.explain

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(explain, "explain", counting)
    return calls


def test_without_a_model_the_page_points_to_the_train_page(harness):
    at = page_with(harness, None)
    assert not at.exception
    assert any("No model yet" in info.value for info in at.info)


def test_with_a_classifier_every_chart_renders_and_a_new_row_does_not_recompute(harness, counted):
    run = make_run(loan_frame(n=240), "Loan_Status", "gradient_boosting", {"n_estimators": 30})
    at = page_with(harness, run)
    assert not at.exception
    finish_job(at)
    assert not at.exception and not at.error
    shown = charts(at)
    for name in (*GLOBAL_CHARTS, "explain_waterfall"):
        assert name in shown, f"{name} missing; charts: {list(shown)}"
    assert [m.label for m in at.metric][:2] == ["Explainer", "Rows explained"]
    assert at.metric[0].value == "tree"
    key = explain.cache_key(run)
    first = at.session_state["explain_cache"][key]
    assert counted == [1]
    before = shown["explain_waterfall"]
    at.number_input(key=f"explain_row_{key}").set_value(5).run()
    assert not at.exception
    after = charts(at)
    assert after["explain_waterfall"] != before  # the waterfall follows the row
    assert after["explain_importance"] == shown["explain_importance"]  # the global charts do not change
    assert at.session_state["explain_cache"][key] is first and counted == [1]
    # Another chart setting reuses the same values too.
    at.selectbox(key=f"explain_dep_color_{key}").set_value("no color").run()
    assert not at.exception and counted == [1]
    # Picking a row by a column's value.
    at.radio(key=f"explain_pick_{key}").set_value("by a column's value").run()
    assert not at.exception and "explain_waterfall" in charts(at) and counted == [1]


def test_text_model_shows_the_word_chart(harness):
    run = make_run(review_frame(n=160), "Liked", "logistic_regression", kinds={"Review": "text", "Stars": "numeric"})
    at = page_with(harness, run)
    finish_job(at)
    assert not at.exception and not at.error
    assert "explain_tokens" in charts(at)


def test_a_failing_explanation_shows_one_sentence_and_keeps_the_page(harness, monkeypatch):
    def failing(*args, **kwargs):
        raise explain.ExplainError("SHAP could not set up an explainer for this model (test).")

    monkeypatch.setattr(explain, "explain", failing)
    run = make_run(loan_frame(n=120), "Loan_Status", "random_forest", {"n_estimators": 5})
    at = page_with(harness, run)
    finish_job(at)
    assert not at.exception
    assert any("could not set up an explainer" in e.value for e in at.error)
    assert any(b.label == "Try again" for b in at.button)


def test_a_sampled_explanation_offers_to_explain_every_row(harness, monkeypatch):
    real = explain.explain

    def tight_budget(run, rows=None, **kwargs):
        kwargs["max_seconds"] = 0.0  # whatever the model, only a first chunk fits
        return real(run, rows, **kwargs)

    monkeypatch.setattr(explain, "explain", tight_budget)
    run = make_run(loan_frame(n=120), "Loan_Status", "knn")
    at = page_with(harness, run)
    finish_job(at)
    assert not at.exception
    key = explain.cache_key(run)
    sampled = at.session_state["explain_cache"][key]
    assert sampled.n_explained < sampled.n_requested
    assert "explain_waterfall" in charts(at)
    at.button(key="explain_all").click().run()
    finish_job(at)
    assert not at.exception
    full = at.session_state["explain_cache"][key]
    assert full.n_explained == full.n_requested == len(run.X_test)
    assert not any(b.key == "explain_all" for b in at.button)


def test_explain_runs_under_the_entry():
    run = make_run(loan_frame(n=160), "Loan_Status", "random_forest", {"n_estimators": 10})
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/explain.py").run()
    assert not at.exception and any("No model yet" in info.value for info in at.info)
    at.session_state[RUNS] = OrderedDict({run.run_id: run})
    at.session_state[CURRENT_RUN] = run.run_id
    at.run()
    finish_job(at)
    assert not at.exception and not at.error
    assert {"explain_importance", "explain_waterfall"} <= set(charts(at))
