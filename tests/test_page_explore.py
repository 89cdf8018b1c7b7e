"""The Explore page through AppTest: without data it points to the Data page; with data every tab
renders its charts without an exception or an error box."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from support import ROOT

from core import eda
from core.schema import guess_roles, infer_task
from ui.state import DATA, LoadedData

PAGE = str(ROOT / "pages" / "explore.py")
TABS = ["Overview", "Distributions", "Scatter & density", "Correlation", "Target"]


def loaded(df: pd.DataFrame, target: str | None = None, name: str = "test frame") -> LoadedData:
    roles = guess_roles(df, target=target)
    return LoadedData(
        name=name,
        df=df,
        source="test",
        target=roles.target,
        features=roles.features,
        ignored=roles.ignored,
        kinds=dict(roles.kinds),
        task=infer_task(df[roles.target]) if roles.target else None,
    )


def loan_like(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    credit = rng.choice([1.0, 0.0, np.nan], n, p=[0.8, 0.15, 0.05])
    frame = pd.DataFrame(
        {
            "Loan_ID": [f"LP{i:06d}" for i in range(n)],
            "Dependents": rng.choice(["0", "1", "2", "3+"], n),
            "ApplicantIncome": rng.lognormal(8.4, 0.6, n).round(),
            "LoanAmount": rng.normal(146, 80, n).clip(9),
            "Credit_History": credit,
            "Loan_Status": np.where((credit == 1) | (rng.random(n) < 0.2), "Y", "N"),
        }
    )
    frame.loc[::17, "LoanAmount"] = np.nan
    return frame


def page(data: LoadedData | None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    if data is not None:
        at.session_state[DATA] = data
    at.run()
    return at


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["explore_tab"] = label
    at.run()
    return at


def test_without_data_the_page_points_to_the_data_page(tmp_path):
    # The pointer is a st.page_link, which resolves only under a navigation that lists the Data
    # page: run the real Explore page under a two-page navigation with a stand-in Data page.
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "data.py").write_text("import streamlit as st\nst.write('data page')\n")
    (tmp_path / "pages" / "explore.py").write_text(Path(PAGE).read_text())
    (tmp_path / "entry.py").write_text(
        "import streamlit as st\n"
        "st.navigation([st.Page('pages/data.py', default=True), st.Page('pages/explore.py')]).run()\n"
    )
    at = AppTest.from_file(str(tmp_path / "entry.py"), default_timeout=30)
    at.run()
    at.switch_page("pages/explore.py").run()
    assert not at.exception, at.exception
    assert any("No data set loaded" in info.value for info in at.info)
    assert not at.get("plotly_chart")


def test_every_tab_renders_its_charts_for_a_classification_data_set():
    data = loaded(loan_like())
    assert data.target == "Loan_Status" and data.task == "binary"
    at = page(data)
    assert not at.exception
    assert len(at.dataframe) == 1  # the summary table
    default_set = eda.overview(data.df, target=data.target, task=data.task)
    assert "target: Credit_History" in default_set
    expected_charts = {"Overview": len(default_set), "Distributions": 1, "Scatter & density": 2,
                       "Correlation": 1, "Target": 1}
    for label in TABS:
        open_tab(at, label)
        assert not at.exception, (label, at.exception)
        assert not at.error, (label, [e.value for e in at.error])
        assert len(at.get("plotly_chart")) == expected_charts[label], label


def test_pickers_change_the_charts_without_errors():
    at = open_tab(page(loaded(loan_like())), "Distributions")
    picker = at.selectbox[0]
    for column in ["Dependents", "Loan_ID", "Credit_History"]:
        picker.set_value(column).run()
        assert not at.exception and not at.error, column
        assert len(at.get("plotly_chart")) == 1
    open_tab(at, "Target")
    at.selectbox[0].set_value("Dependents").run()
    assert not at.exception and not at.error
    open_tab(at, "Scatter & density")
    at.selectbox[1].set_value(at.selectbox[0].value).run()  # x == y is refused politely
    assert any("two different columns" in info.value for info in at.info)


def test_regression_target_and_numeric_pair():
    rng = np.random.default_rng(1)
    height = rng.normal(68, 1.9, 2000)
    frame = pd.DataFrame({"Index": np.arange(2000), "Height-Inches": height,
                          "Weight-Pounds": 3.08 * height - 82 + rng.normal(0, 10, 2000)})
    data = loaded(frame, target="Weight-Pounds")
    assert data.ignored == ["Index"]
    at = page(data)
    open_tab(at, "Scatter & density")
    assert not at.exception and not at.error
    assert [box.value for box in at.selectbox[:2]] == ["Height-Inches", "Weight-Pounds"]  # not the row ID
    assert len(at.get("plotly_chart")) == 2
    open_tab(at, "Correlation")
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heatmap["x"] == ["Height-Inches", "Weight-Pounds"]  # the ignored row ID is left out
    open_tab(at, "Target")
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 1


def test_too_few_numeric_columns_and_no_target_are_explained():
    frame = pd.DataFrame({"review": ["good food and a friendly waiter, would go again"] * 5 + ["awful"] * 5})
    data = loaded(frame)
    data.target, data.features, data.task = None, ["review"], None
    at = page(data)
    assert not at.exception
    open_tab(at, "Scatter & density")
    assert any("two numeric columns" in info.value for info in at.info)
    open_tab(at, "Target")
    assert any("No target is chosen" in info.value for info in at.info)


@pytest.mark.parametrize("label", TABS)
def test_html_and_markdown_in_names_and_an_empty_frame_do_not_break_a_tab(label):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"<b>x</b>": rng.normal(size=50), "[y](http://e.x)": rng.normal(size=50),
                          "**z**": rng.choice(["<i>a</i>", "b"], 50)})
    at = open_tab(page(loaded(frame, target="[y](http://e.x)")), label)
    assert not at.exception and not at.error
    empty = open_tab(page(loaded(pd.DataFrame({"a": pd.Series([], dtype=float)}), name="empty")), label)
    assert not empty.exception


def test_explore_runs_under_the_entry():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=30)
    at.run()
    at.session_state[DATA] = loaded(loan_like(), name="loans")
    at.switch_page("pages/explore.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Explore"]
    assert at.get("plotly_chart")
    for label in TABS[1:]:
        open_tab(at, label)
        assert not at.exception and not at.error, label
