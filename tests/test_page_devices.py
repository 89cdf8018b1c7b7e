"""The Compare devices page through AppTest: devices listed (an absent GPU disabled with its reason),
a comparison run in the background ends in the timing table, the verdict and both charts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest
from support import ROOT

from core import devices as device_info
from ui.state import DATA, loaded_data

PAGE = str(ROOT / "pages" / "devices.py")
JOB = "devices_job"


def height_weight_like(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    height = rng.normal(68, 1.9, n)
    return pd.DataFrame(
        {
            "Index": np.arange(1, n + 1),
            "Height-Inches": height,
            "Weight-Pounds": 3.08 * height - 82.6 + rng.normal(0, 10, n),
        }
    )


def page(df: pd.DataFrame | None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    if df is not None:
        at.session_state[DATA] = loaded_data("height weight test", df, "test")
    at.run()
    return at


def run_comparison(at: AppTest) -> AppTest:
    at.button(key="devices_run").click().run()
    assert not at.exception
    job = at.session_state[JOB]
    assert job.wait(120), "the comparison did not finish in time"
    at.run()
    return at


def under_navigation(tmp_path: Path) -> AppTest:
    """The page under an entry that lists it beside a stand-in Data page (its no-data link needs one)."""
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "data.py").write_text("import streamlit as st\nst.write('data page')\n")
    (tmp_path / "pages" / "devices.py").write_text(Path(PAGE).read_text())
    (tmp_path / "entry.py").write_text(
        "import streamlit as st\n"
        "st.navigation([st.Page('pages/data.py', default=True), st.Page('pages/devices.py')]).run()\n"
    )
    at = AppTest.from_file(str(tmp_path / "entry.py"), default_timeout=30)
    at.run()
    return at


def test_without_data_points_to_the_data_page(tmp_path):
    at = under_navigation(tmp_path)
    at.switch_page("pages/devices.py").run()
    assert not at.exception, at.exception
    assert any("No data set loaded" in info.value for info in at.info)
    assert not at.button


def test_runs_under_a_navigation_with_data(tmp_path):
    at = under_navigation(tmp_path)
    at.session_state[DATA] = loaded_data("height weight test", height_weight_like(), "test")
    at.switch_page("pages/devices.py").run()
    assert not at.exception, at.exception
    assert at.button(key="devices_run")


def test_devices_are_listed_and_cpu_is_the_fixed_baseline():
    at = page(height_weight_like())
    assert not at.exception
    cpu = at.checkbox(key="device_cpu")
    assert cpu.value and cpu.disabled
    labels = [box.label for box in at.checkbox]
    for device in device_info.detect():
        assert device.label in labels


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_is_shown_disabled_with_its_reason():
    at = page(height_weight_like())
    cuda = at.checkbox(key="device_cuda")
    reason = device_info.describe("cuda").reason
    assert cuda.disabled and not cuda.value
    assert reason.startswith("no CUDA GPU found")
    assert any("no CUDA GPU found" in caption.value for caption in at.caption)


def test_comparison_shows_table_verdict_and_charts():
    at = page(height_weight_like())
    at.selectbox(key="devices_model").set_value("torch_linear")
    at.number_input(key="devices_torch_linear_epochs").set_value(30)
    at = run_comparison(at)
    assert not at.exception
    assert not at.error
    table = at.dataframe[0].value
    assert "cpu" in set(table["device"])
    assert any("(reference)" in str(m) for m in table["model"])
    assert {"fit time (s)", "first-call overhead (s)", "speedup vs CPU", "test RMSE"} <= set(table.columns)
    assert table.loc[table["model"] == "PyTorch linear regression", "epochs"].iloc[0] == 30
    verdicts = [box.value for box in [*at.info, *at.warning]]
    assert any("CPU" in text for text in verdicts)
    if not torch.cuda.is_available():
        assert any("No GPU here" in text for text in verdicts)
    charts = at.get("plotly_chart")
    assert len(charts) == 2


def test_bad_layers_setting_shows_one_sentence_and_keeps_the_page():
    at = page(height_weight_like())
    at.selectbox(key="devices_model").set_value("torch_mlp").run()
    at.text_input(key="devices_torch_mlp_hidden_layers").set_value("64,lots")
    at = run_comparison(at)
    assert not at.exception
    assert any("Hidden layers must be whole numbers" in err.value for err in at.error)
