"""The model file: the Pipeline itself with metadata, loadable in a fresh process, verified, carded."""

import io
import json
import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
from fitted_runs import house_frame, house_run, loan_frame, loan_run, make_run, review_run
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from support import ROOT

from core import artifacts
from core.artifacts import ArtifactError

# Loads a model file in a fresh interpreter with only joblib imported by us, predicts pickled rows,
# and says whether streamlit came along (it must not: the file must not need the app).
FRESH_LOAD = """
import json, pickle, sys
import joblib
model = joblib.load(sys.argv[1])
with open(sys.argv[2], "rb") as fh:
    rows = pickle.load(fh)
out = {"predict": model.predict(rows).tolist(), "streamlit": "streamlit" in sys.modules,
       "meta_task": model.workbench_metadata_["task"]}
if hasattr(model, "predict_proba") and out["meta_task"] != "regression":
    out["proba"] = model.predict_proba(rows).tolist()
print(json.dumps(out))
"""


def fresh_load(tmp_path, blob, rows, extra_env=None):
    (tmp_path / "model.joblib").write_bytes(blob)
    with open(tmp_path / "rows.pkl", "wb") as fh:
        pickle.dump(rows, fh)
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(extra_env or {})}
    done = subprocess.run(
        [sys.executable, "-c", FRESH_LOAD, str(tmp_path / "model.joblib"), str(tmp_path / "rows.pkl")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def loan():
    return loan_run()


@pytest.fixture(scope="module")
def house():
    return house_run()


def test_dump_is_the_fitted_pipeline_with_metadata(loan):
    blob = artifacts.dump(loan)
    model = joblib.load(io.BytesIO(blob))
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == ["preprocess", "model"]
    np.testing.assert_array_equal(model.predict(loan.X_test), loan.pipeline.predict(loan.X_test))
    meta = artifacts.metadata(model)
    assert meta["schema"] == loan.schema.to_dict()
    assert meta["target"] == "Loan_Status" and meta["task"] == "binary"
    assert meta["classes"] == ["N", "Y"]
    assert meta["metrics"] == pytest.approx(loan.metrics)
    assert meta["data_fingerprint"] == loan.data_fingerprint
    assert meta["run_id"] == loan.run_id and meta["model"] == loan.model and meta["label"] == loan.label
    assert {"python", "scikit-learn", "pandas", "numpy", "joblib", "shap"} <= set(meta["versions"])
    assert meta["versions"]["scikit-learn"] == __import__("sklearn").__version__
    assert meta["trained"] == loan.created and meta["exported"]
    # Plain JSON, so a user can read it and the store can write it as a card.
    assert json.loads(json.dumps(meta)) == meta


def test_dump_leaves_the_run_pipeline_alone_and_clone_ignores_metadata(loan):
    artifacts.dump(loan)
    assert not hasattr(loan.pipeline, artifacts.METADATA_ATTR)
    model = artifacts.load(artifacts.dump(loan))
    fresh = clone(model)
    assert not hasattr(fresh, artifacts.METADATA_ATTR)
    assert fresh.get_params(deep=False).keys() == loan.pipeline.get_params(deep=False).keys()


def test_metadata_of_a_foreign_object_is_refused():
    with pytest.raises(ArtifactError, match="not written by this workbench"):
        artifacts.metadata(Pipeline([("model", clone(loan_run().pipeline.named_steps["model"]))]))


def test_load_checks_sha256_before_unpickling(loan, tmp_path):
    blob = artifacts.dump(loan)
    digest = artifacts.sha256(blob)
    assert len(digest) == 64
    path = tmp_path / "model.joblib"
    path.write_bytes(blob)
    assert artifacts.metadata(artifacts.load(path, expected_sha256=digest))["run_id"] == loan.run_id
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(ArtifactError, match="SHA-256 does not match"):
        artifacts.load(tampered, expected_sha256=digest)


def test_load_refuses_garbage_and_non_models(tmp_path):
    with pytest.raises(ArtifactError, match="could not be loaded"):
        artifacts.load(b"this is not a joblib file")
    buffer = io.BytesIO()
    joblib.dump({"not": "a model"}, buffer)
    with pytest.raises(ArtifactError, match="no predict method"):
        artifacts.load(buffer.getvalue())
    with pytest.raises(ArtifactError, match="could not be read"):
        artifacts.load(tmp_path / "absent.joblib")


@pytest.mark.parametrize(
    "make",
    [loan_run, house_run, review_run],
    ids=["classifier-with-missing-values", "regressor", "text-pipeline"],
)
def test_file_reloads_in_a_fresh_process_with_identical_predictions(make, tmp_path):
    run = make()
    got = fresh_load(tmp_path, artifacts.dump(run), run.X_test)
    assert got["streamlit"] is False
    assert got["meta_task"] == run.task
    expected = run.pipeline.predict(run.X_test)
    if run.task == "regression":
        np.testing.assert_allclose(got["predict"], expected, rtol=1e-12)
    else:
        assert got["predict"] == expected.tolist()
        np.testing.assert_allclose(got["proba"], run.pipeline.predict_proba(run.X_test), rtol=1e-12)


def test_raw_rows_with_missing_values_and_unseen_levels_predict_from_the_file(loan, tmp_path):
    rows = loan_frame(n=20, seed=9).drop(columns="Loan_Status")
    rows.loc[rows.index[0], "Property_Area"] = "Moon"
    rows.loc[rows.index[1], "ApplicantIncome"] = np.nan
    got = fresh_load(tmp_path, artifacts.dump(loan), rows)
    assert got["predict"] == loan.pipeline.predict(rows).tolist()


def test_verify_reports_identical_predictions(loan, house):
    check = artifacts.verify_run(loan, artifacts.dump(loan))
    assert check.ok, check.message
    assert check.rows == len(loan.X_test)
    assert check.message == f"verified: {len(loan.X_test)} rows, identical predictions and probabilities"
    assert check.seconds > 0
    check = artifacts.verify_run(house, artifacts.dump(house), limit=40)
    assert check.ok and check.rows == 40
    # A parallel forest sums its trees in varying order, so the last bits may differ; that is said.
    assert check.message.startswith("verified: 40 rows, identical predictions")


def test_verify_reports_a_difference_instead_of_hiding_it(house):
    X = house.X_test.iloc[:30]
    expected = house.pipeline.predict(X).copy()
    expected[4] += 1.0
    check = artifacts.verify(artifacts.dump(house), X, expected, regression=True)
    assert not check.ok
    assert check.message.startswith("verification failed: 1 of 30 predictions differ (first at row 4")


def test_verify_reports_a_file_that_does_not_load(loan):
    X = loan.X_test.iloc[:5]
    check = artifacts.verify(b"garbage", X, loan.pipeline.predict(X))
    assert not check.ok
    assert "did not load and predict in a fresh Python process" in check.message


def test_verify_without_rows_says_so(loan):
    check = artifacts.verify(artifacts.dump(loan), loan.X_test.iloc[:0], np.array([]))
    assert not check.ok and check.message.startswith("not verified")


def test_model_card_says_what_where_how(loan):
    blob = artifacts.dump(loan)
    card = artifacts.model_card(loan, artifacts.sha256(blob), len(blob))
    assert artifacts.sha256(blob) in card
    assert 'clf = joblib.load("model.joblib")' in card and "clf.predict(df)" in card
    for heading in ("## Data", "## Features", "## Metrics", "## Intended use and limitations", "## How to load it"):
        assert heading in card
    assert "Credit\\_History" in card  # column names escaped: markdown in a name stays text
    assert f"{loan.data_fingerprint['rows']} rows x {len(loan.data_fingerprint['columns'])} columns" in card
    assert "scikit-learn 1." in card and f"{len(blob):,} bytes" in card


def test_model_card_escapes_markdown_in_user_text():
    df = house_frame(n=60)
    df = df.rename(columns={"RM": "[click](http://evil.example)"})
    run = make_run(df, "MEDV", "linear_regression")
    rendered = artifacts.model_card(run, "0" * 64).split("## How to load it")[0]  # code blocks stay literal
    assert "[click](http" not in rendered
    assert "\\[click\\]\\(http" in rendered


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_torch_pipeline_loads_in_a_cpu_only_process(task, tmp_path):
    small = {"hidden_layers": "8", "epochs": 30}
    if task == "regression":
        run = make_run(house_frame(n=200), "MEDV", "torch_mlp", small)
    else:
        run = make_run(loan_frame(n=200), "Loan_Status", "torch_mlp", small)
    assert run.library == "pytorch"
    blob = artifacts.dump(run)
    assert "torch" in artifacts.metadata(artifacts.load(blob))["versions"]
    got = fresh_load(tmp_path, blob, run.X_test, {"CUDA_VISIBLE_DEVICES": ""})
    expected = run.pipeline.predict(run.X_test)
    if task == "regression":
        np.testing.assert_allclose(got["predict"], expected, rtol=1e-6)
    else:
        assert got["predict"] == expected.tolist()


def test_cuda_trained_torch_model_verifies_on_cpu(monkeypatch):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU: the CPU pickling path is covered by test_torch_pipeline_loads_in_a_cpu_only_process")
    run = make_run(house_frame(n=200), "MEDV", "torch_mlp", {"hidden_layers": "8", "epochs": 30}, device="cuda")
    assert run.device == "cuda"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    check = artifacts.verify_run(run, artifacts.dump(run))
    assert check.ok, check.message
