"""The whole app through AppTest: it starts, every listed page runs with no data and with each sample."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from support import ROOT

from core import datasets
from ui.state import DATA, loaded_data

PAGES = [
    "pages/data.py",
    "pages/explore.py",
    "pages/train.py",
    "pages/devices.py",
    "pages/explain.py",
    "pages/predict.py",
    "pages/models.py",
]


def _app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    return at


def test_app_starts_on_the_data_page():
    at = _app()
    assert not at.exception
    assert any("No data set loaded" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_data(page):
    at = _app()
    at.switch_page(page).run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("sample", list(datasets.SAMPLES))
def test_every_page_runs_with_each_sample(sample):
    at = _app()
    at.session_state[DATA] = loaded_data(sample, datasets.load_sample(sample), "sample")
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.session_state[DATA].name == sample, page  # switching pages keeps the data set
        assert len(at.main.children) > 1, page
    # (The sidebar's "Data: <name>" line is checked in the browser journey: AppTest drops the
    # sidebar on reruns of apps whose pages are files.)
