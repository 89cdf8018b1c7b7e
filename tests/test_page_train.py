"""AppTest of the Train page: pointer without data, background training, metrics and plots, the
leaderboard, switching the current model, grid search, devices, and bad targets kept harmless."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ui.state import CURRENT_RUN, DATA, RUNS, loaded_data

ROOT = Path(__file__).resolve().parents[1]
JOB = "train_job"

HARNESS = """
import streamlit as st

pages = [st.Page("pages/data.py", title="Data", default=True), st.Page("pages/train.py", title="Train")]
st.navigation(pages).run()
"""


@pytest.fixture
def app(tmp_path: Path) -> AppTest:
    """The Train page under st.navigation (its links to the Data page need one), as the entry runs it.

    The harness sits in tmp_path with a link to the real pages/ folder, so only the two pages
    this test needs are registered, whatever the entry lists today.
    """
    (tmp_path / "pages").symlink_to(ROOT / "pages", target_is_directory=True)
    (tmp_path / "app.py").write_text(HARNESS)
    at = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=30)
    at.switch_page("pages/train.py")
    return at


def frame(n: int = 160, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"rooms": rng.integers(1, 6, n).astype(float), "area": rng.normal(80, 20, n),
                       "town": rng.choice(["north", "south", "<b>east</b>"], n)})
    df["price"] = 30 * df["rooms"] + 2 * df["area"] + rng.normal(0, 5, n)
    df.loc[::13, "area"] = np.nan
    return df


def load(at: AppTest, df: pd.DataFrame, name: str = "houses", target: str | None = None) -> None:
    data = loaded_data(name, df, "test")
    if target is not None:
        data = dataclasses.replace(data, target=target, features=[c for c in df.columns if c != target], task=None)
    at.session_state[DATA] = data


def train_and_wait(at: AppTest) -> None:
    """Click Train, let the background job finish, and rerun so the page picks up its result."""
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception
    job = at.session_state[JOB] if JOB in at.session_state else None  # noqa: SIM401 (AppTest state has no .get)
    if job is not None:
        assert job.wait(60), "training did not finish within a minute"
    at.run()
    assert not at.exception


def run_ids(at: AppTest) -> list[str]:
    return list(at.session_state[RUNS]) if RUNS in at.session_state else []


def leaderboard(at: AppTest) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if "run_id" in df.value.columns)


def current_model_box(at: AppTest):
    return next(s for s in at.selectbox if s.label.startswith("Current model"))


def test_without_data_the_page_points_to_the_data_page(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert any("No data set loaded" in i.value for i in app.info)
    assert not any(b.label == "Train" for b in app.button)


def test_train_see_results_grow_leaderboard_and_switch_current(app: AppTest) -> None:
    load(app, frame())
    app.run()
    assert not app.exception
    assert "price" in app.markdown[0].value and "regression" in app.markdown[0].value
    assert app.selectbox(key="train_model_regression").value == "linear_regression"

    train_and_wait(app)
    first = run_ids(app)
    assert len(first) == 1 and app.session_state[CURRENT_RUN] == first[0]
    labels = [m.label for m in app.metric]
    for label in ("RMSE", "MAE", "R²", "Fit time", "Predict time (test split)", "Model file size"):
        assert label in labels
    r2 = next(m for m in app.metric if m.label == "R²")
    assert float(r2.value) > 0.9
    assert {"Predicted vs actual", "Residuals", "Feature importance"} <= {t.label for t in app.tabs}
    assert len(app.get("plotly_chart")) >= 3
    assert len(leaderboard(app)) == 1

    app.selectbox(key="train_model_regression").set_value("decision_tree").run()
    app.slider(key="train_param_decision_tree_max_depth").set_value(3)
    app.run()
    train_and_wait(app)
    second = run_ids(app)
    assert len(second) == 2 and app.session_state[CURRENT_RUN] == second[1]
    board = leaderboard(app)
    assert list(board["model"]) == ["Linear regression", "Decision tree"]
    assert "max_depth=3" in board.loc[1, "params"]
    assert app.subheader[0].value.startswith("Decision tree")

    box = current_model_box(app)
    assert box.value == second[1]
    box.set_value(first[0]).run()
    assert not app.exception
    assert app.session_state[CURRENT_RUN] == first[0]
    assert app.subheader[0].value.startswith("Linear regression")


def test_bad_target_shows_an_error_and_keeps_the_earlier_run(app: AppTest) -> None:
    load(app, frame())
    app.run()
    train_and_wait(app)
    kept = run_ids(app)
    assert len(kept) == 1

    flat = frame().assign(flag="same")
    load(app, flat, name="flat", target="flag")
    app.run()
    assert not app.exception
    train_and_wait(app)
    assert any("single value" in e.value for e in app.error)
    assert run_ids(app) == kept and app.session_state[CURRENT_RUN] == kept[0]
    assert app.subheader[0].value.startswith("Linear regression")  # the old run is still on show


def test_bad_grid_values_show_an_error_and_start_nothing(app: AppTest) -> None:
    load(app, frame())
    app.run()
    app.selectbox(key="train_model_regression").set_value("ridge").run()
    app.multiselect(key="train_grid_ridge").set_value(["alpha"]).run()
    app.text_input(key="train_grid_ridge_alpha").input("0.1, lots").run()
    next(b for b in app.button if b.label == "Train").click().run()
    assert not app.exception
    assert any("must be a number" in e.value for e in app.error)
    assert JOB not in app.session_state and run_ids(app) == []


def test_grid_search_and_cross_validation_from_the_widgets(app: AppTest) -> None:
    load(app, frame())
    app.run()
    app.selectbox(key="train_model_regression").set_value("gradient_boosting").run()
    app.checkbox(key="train_use_cv").check().run()
    app.slider(key="train_folds").set_value(3)
    app.multiselect(key="train_grid_gradient_boosting").set_value(["n_estimators"]).run()
    app.text_input(key="train_grid_gradient_boosting_n_estimators").input("10, 30")
    app.run()
    train_and_wait(app)
    run = app.session_state[RUNS][run_ids(app)[0]]
    assert list(run.grid["n_estimators"]) == [10, 30] and run.cv["folds"] == 3
    grid_table = next(df.value for df in app.dataframe if "mean_score" in df.value.columns)
    assert len(grid_table) == 2 and grid_table["is_best"].sum() == 1
    assert "Grid search" in {t.label for t in app.tabs}
    assert any(re.search(r"3-fold cross-validation", m.value) for m in app.markdown)


def test_torch_model_device_switch_lists_every_device_and_trains(app: AppTest) -> None:
    pytest.importorskip("torch")
    from core import devices, training

    if "torch_linear" not in training.MODELS:
        pytest.skip("core.torch_catalog is not there yet")
    load(app, frame())
    app.run()
    app.selectbox(key="train_model_regression").set_value("torch_linear").run()
    assert not app.exception
    radio = app.radio(key="train_device")
    disabled = [c for c in app.checkbox if c.disabled]
    for device in devices.detect():
        if device.available:
            assert device.name in radio.options or device.label in radio.options
        else:
            # Shown, disabled, with its reason; never hidden.
            assert any(device.reason in c.label for c in disabled), device
    app.number_input(key="train_param_torch_linear_epochs").set_value(30)
    app.run()
    train_and_wait(app)
    run = app.session_state[RUNS][run_ids(app)[0]]
    assert run.library == "pytorch" and run.device == radio.value and run.history
    assert "Loss curve" in {t.label for t in app.tabs}
