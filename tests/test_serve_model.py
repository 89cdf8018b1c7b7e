"""serve_model.py: a downloaded model file answers the material's JSON contract over HTTP."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
from fitted_runs import house_run, loan_run
from support import ROOT

from core import artifacts


def start_server(model_path, *extra):
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "serve_model.py"), str(model_path), "--host", "127.0.0.1", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=model_path.parent,
        env={**os.environ, "PYTHONPATH": ""},
    )
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise AssertionError(f"server did not start: {line!r} {proc.stderr.read()}")
    return proc, line.strip().rsplit(" ", 1)[-1]


def post(url, payload):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def house():
    return house_run("gradient_boosting")


@pytest.fixture(scope="module")
def house_server(house, tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "model.joblib"
    path.write_bytes(artifacts.dump(house))
    proc, url = start_server(path)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_two_rows_get_two_different_predictions_equal_to_the_pipeline(house, house_server):
    rows = house.X_test.iloc[:2]
    body = {c: {str(k): v for k, v in zip(range(2), rows[c].tolist(), strict=True)} for c in rows.columns}
    status, answer = post(f"{house_server}/predict", body)
    assert status == 200
    expected = house.pipeline.predict(rows)
    np.testing.assert_allclose(answer["prediction"], expected, rtol=1e-12)
    assert answer["prediction"][0] != answer["prediction"][1]  # no scaler refit on the request


def test_one_row_at_a_time_is_not_scaled_to_zeros(house, house_server):
    """The material's bug: refitting a scaler on each single row gave every house the same price."""
    prices = []
    for i in range(3):
        row = house.X_test.iloc[[i]]
        status, answer = post(f"{house_server}/predict", {c: {"0": row[c].iloc[0].item()} for c in row.columns})
        assert status == 200
        prices.append(answer["prediction"][0])
        assert answer["prediction"][0] == pytest.approx(house.pipeline.predict(row)[0], rel=1e-12)
    assert len(set(prices)) == 3


def test_missing_columns_are_named_with_a_400(house_server):
    status, answer = post(f"{house_server}/predict", {"RM": {"0": 6.575}, "CHAS": {"0": 0}})
    assert status == 400
    assert answer["error"] == "The request is missing 3 columns the model needs: 'TAX', 'PTRATIO', 'LSTAT'."


def test_bad_bodies_get_a_sentence(house_server):
    status, answer = post(f"{house_server}/predict", b"{not json")
    assert status == 400 and answer["error"].startswith("The body is not valid JSON")
    status, answer = post(f"{house_server}/predict", [1, 2])
    assert status == 400 and "each column maps row keys to values" in answer["error"]
    status, answer = post(f"{house_server}/nowhere", {})
    assert status == 404


def test_health(house, house_server):
    with urllib.request.urlopen(f"{house_server}/health", timeout=30) as response:
        health = json.loads(response.read())
    assert health["status"] == "ok" and health["run_id"] == house.run_id and health["features"] == house.features


def test_classifier_answers_with_probabilities(tmp_path):
    loan = loan_run()
    path = tmp_path / "model.joblib"
    path.write_bytes(artifacts.dump(loan))
    proc, url = start_server(path)
    try:
        rows = loan.X_test.iloc[:3]
        body = json.loads(rows.reset_index(drop=True).to_json(orient="columns"))
        status, answer = post(f"{url}/predict", body)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert status == 200
    assert answer["prediction"] == loan.pipeline.predict(rows).tolist()
    assert answer["classes"] == ["N", "Y"]
    proba = loan.pipeline.predict_proba(rows)
    np.testing.assert_allclose([[p["N"], p["Y"]] for p in answer["probabilities"]], proba, rtol=1e-12)


def test_a_file_with_the_wrong_sha256_is_refused(house, tmp_path):
    path = tmp_path / "model.joblib"
    path.write_bytes(artifacts.dump(house))
    done = subprocess.run(
        [sys.executable, str(ROOT / "serve_model.py"), str(path), "--port", "0", "--sha256", "0" * 64],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "SHA-256 does not match" in done.stderr
