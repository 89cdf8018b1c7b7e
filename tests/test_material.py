"""The course material's results, reproduced through training.train on the real files."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from support import SHARED_DATA, needs_shared_data

from core import training

pytestmark = [needs_shared_data, pytest.mark.shared_data]

BOSTON_COLUMNS = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT", "MEDV"]
BOSTON_FEATURES = ["CHAS", "RM", "TAX", "PTRATIO", "B", "LSTAT"]


def height_weight() -> pd.DataFrame:
    """The sample when core.datasets offers it (it matches the real file's statistics), else the real file."""
    try:
        from core import datasets

        return datasets.load_sample("height_weight")
    except ImportError:
        return pd.read_csv(SHARED_DATA / "height_weight_25k.csv")


def boston() -> pd.DataFrame:
    return pd.read_csv(SHARED_DATA / "boston_housing.txt", sep=r"\s+", header=None, names=BOSTON_COLUMNS)


@pytest.mark.parametrize("source", ["sample", "real file"])
def test_height_weight_linear_regression_rmse(source: str) -> None:
    df = height_weight() if source == "sample" else pd.read_csv(SHARED_DATA / "height_weight_25k.csv")
    run = training.train(df, "Weight-Pounds", "linear_regression", test_size=0.2, random_state=7)
    assert run.features == ["Height-Inches"]  # Index is a row identifier, not a feature
    # The material printed 10.28 on its split of the real file; about 10.1 is the population figure.
    assert 9.7 < run.metrics["rmse"] < 10.5, run.metrics
    slope = run.pipeline[-1].coef_[0] / run.pipeline[0].named_transformers_["num"]["scale"].scale_[0]
    assert slope == pytest.approx(3.08, abs=0.1)  # pounds per inch


def test_boston_gradient_boosting_400_trees_matches_the_material() -> None:
    run = training.train(
        boston(), "MEDV", "gradient_boosting", features=BOSTON_FEATURES, params={"n_estimators": 400},
        test_size=0.2, random_state=7,
    )
    assert run.split["train_rows"] == 404 and run.split["test_rows"] == 102
    # Material: 26.33 (scikit-learn of its day); 26.36 here. Tree splits differ by version in the last digits.
    assert run.metrics["mse"] == pytest.approx(26.33, abs=0.5), run.metrics


def test_boston_grid_over_n_estimators_finds_about_200() -> None:
    started = time.perf_counter()
    run = training.train(
        boston(), "MEDV", "gradient_boosting", features=BOSTON_FEATURES,
        grid={"n_estimators": list(range(50, 401, 50))}, cv_folds=10, test_size=0.2, random_state=7,
    )
    assert time.perf_counter() - started < 60
    table = run.grid
    assert list(table["n_estimators"]) == [50, 100, 150, 200, 250, 300, 350, 400]
    best = table[table["is_best"]].iloc[0]
    assert best["n_estimators"] in (150, 200, 250)  # material: 200
    # Material: -11.83 (neg MSE, 10 unshuffled folds); shuffled folds with seed 7 give about -12.0.
    assert best["mean_score"] == pytest.approx(-11.83, abs=0.6)
    assert run.cv["metric"] == "neg_mean_squared_error" and len(run.cv["scores"]) == 10
    assert run.params["n_estimators"] == best["n_estimators"]
    assert np.isfinite(run.metrics["mse"]) and run.metrics["mse"] < 30
