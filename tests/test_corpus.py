"""Issue 7's bad-input corpus: every file ends in a correct frame or one clear sentence.

Through core (read_table), through the Data page (a real upload in AppTest: no exception, the
sentence on the page, the earlier data set still loaded), and through training (each frame that
loads either trains or says why not).
"""

from __future__ import annotations

import io

import pytest
from corpus import Case, build
from streamlit.testing.v1 import AppTest
from support import ROOT

from core import datasets, training
from core.schema import guess_roles, infer_task

CASES = build()
IDS = [c.name for c in CASES]


def _read(case: Case):
    return datasets.read_table(io.BytesIO(case.content), name=case.filename)


def test_corpus_is_big_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reader_gives_a_correct_frame_or_one_sentence(case: Case):
    if case.expect == "error":
        with pytest.raises(datasets.DataError) as err:
            _read(case)
        message = str(err.value)
        assert any(s.lower() in message.lower() for s in case.says), message
        assert "Traceback" not in message and "\n" not in message.strip()
        assert message.rstrip().endswith("."), message
    else:
        df = _read(case)
        assert case.check(df), (case.name, df.dtypes.to_dict(), df.head())


@pytest.mark.parametrize("case", [c for c in CASES if c.expect == "frame"], ids=lambda c: c.name)
def test_training_on_each_loaded_frame_trains_or_says_why_not(case: Case):
    df = _read(case)
    target = case.target or guess_roles(df).target
    if target is None:
        pytest.skip("no column can be a target (a single ID-like or text column)")
    task = infer_task(df[target])
    model = "linear_regression" if task == "regression" else "logistic_regression"
    try:
        run = training.train(df, target=target, model=model, test_size=0.25, random_state=0)
    except training.TrainingError as exc:
        outcome = "refuses"
        assert str(exc).strip() and "Traceback" not in str(exc)
        assert all(words in str(exc) for words in case.training_says), (case.name, str(exc))
    else:
        outcome = "trains"
        assert len(run.y_pred) == len(run.X_test)
    if case.training:
        assert outcome == case.training, (case.name, outcome)


def test_every_corpus_file_through_the_data_page_keeps_the_last_good_data():
    """One session uploads every file in turn, as an analyst trying files would."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.button(key="data_load_sample").click().run()
    loaded = at.session_state["wb_data"].name
    uploader = at.file_uploader(key="data_upload")
    accepted = set(uploader.allowed_type)
    for case in CASES:
        extension = "." + case.filename.rsplit(".", 1)[-1]
        if extension not in accepted:
            # The browser's file chooser refuses these before they reach the server; the
            # reader's own sentence for them is checked above.
            assert case.expect == "error", case.name
            continue
        at.file_uploader(key="data_upload").set_value((case.filename, case.content, "application/octet-stream"))
        at.run()
        assert not at.exception, (case.name, at.exception)
        if case.expect == "error":
            messages = [e.value for e in at.error]
            assert any(any(s.lower() in m.lower() for s in case.says) for m in messages), (case.name, messages)
            assert at.session_state["wb_data"].name == loaded, case.name
        else:
            assert not at.error, (case.name, [e.value for e in at.error])
            loaded = case.filename
            assert at.session_state["wb_data"].name == loaded
