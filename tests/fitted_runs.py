"""Small fitted runs for the export, scoring, what-if and page tests (made here, no files needed).

Frames copy the quirks the real files have: missing numbers and categories, a "3+" level in a
mostly numeric column, integer-coded categories, a free-text column.
"""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from core.preprocessing import build_preprocessor
from core.schema import feature_schema, infer_task
from core.training import TrainResult


def loan_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Loan-like rows: Credit_History drives Loan_Status; a few missing values as in the real file."""
    rng = np.random.default_rng(seed)
    credit = rng.choice([1.0, 0.0], size=n, p=[0.8, 0.2])
    income = rng.lognormal(8.3, 0.5, size=n).round()
    df = pd.DataFrame(
        {
            "Gender": rng.choice(["Male", "Female"], size=n, p=[0.8, 0.2]).astype(object),
            "Married": rng.choice(["Yes", "No"], size=n).astype(object),
            "Dependents": rng.choice(["0", "1", "2", "3+"], size=n, p=[0.55, 0.2, 0.15, 0.1]).astype(object),
            "ApplicantIncome": income,
            "LoanAmount": (income / 40 + rng.normal(0, 20, size=n)).round(),
            "Credit_History": credit,
            "Property_Area": rng.choice(["Urban", "Rural", "Semiurban"], size=n).astype(object),
        }
    )
    approved = (credit == 1.0) & (rng.random(n) < 0.85) | (rng.random(n) < 0.1)
    df["Loan_Status"] = np.where(approved, "Y", "N")
    for col in ("Gender", "LoanAmount", "Credit_History"):
        df.loc[rng.choice(n, size=max(1, n // 30), replace=False), col] = np.nan
    return df


def house_frame(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """Boston-like regression rows with the material's columns (CHAS is a 0/1 number)."""
    rng = np.random.default_rng(seed)
    rm = rng.normal(6.3, 0.7, size=n).clip(3.56, 8.78)
    lstat = rng.gamma(3.0, 4.0, size=n).clip(1.7, 38)
    df = pd.DataFrame(
        {
            "CHAS": rng.choice([0, 1], size=n, p=[0.93, 0.07]),
            "RM": rm,
            "TAX": rng.integers(187, 712, size=n),
            "PTRATIO": rng.normal(18.5, 2.1, size=n).round(1),
            "LSTAT": lstat,
        }
    )
    df["MEDV"] = (9.0 * df["RM"] - 0.6 * df["LSTAT"] + 3.0 * df["CHAS"] - 25 + rng.normal(0, 2, size=n)).clip(5, 50)
    return df


def review_frame(n: int = 120, seed: int = 2) -> pd.DataFrame:
    """Yelp-like sentences with a label, plus a number, for text pipelines."""
    rng = np.random.default_rng(seed)
    good = ["great food", "loved the service", "wonderful place", "really tasty dishes"]
    bad = ["awful food", "rude staff", "cold and bland", "never coming back"]
    label = rng.integers(0, 2, size=n)
    text = [
        f"The {'evening' if i % 2 else 'lunch'} was {rng.choice(good if y else bad)} and {rng.choice(good if y else bad)}"
        for i, y in enumerate(label)
    ]
    return pd.DataFrame({"Review": text, "Stars": rng.integers(1, 6, size=n), "Liked": label})


def make_run(
    df: pd.DataFrame,
    target: str,
    estimator: BaseEstimator | None = None,
    kinds: dict[str, str] | None = None,
    dense: bool = False,
    model: str = "test_model",
    library: str = "scikit-learn",
    device: str = "cpu",
) -> TrainResult:
    """A TrainResult the way training.train builds one: split, fit the Pipeline, score the held-out rows."""
    features = [c for c in df.columns if c != target]
    y = df[target]
    task = infer_task(y)
    X_train, X_test, y_train, y_test = train_test_split(
        df[features], y, test_size=0.25, random_state=7, stratify=y if task != "regression" else None
    )
    schema = feature_schema(X_train, kinds)
    if estimator is None:
        estimator = LinearRegression() if task == "regression" else LogisticRegression(max_iter=500)
    pipeline = Pipeline([("preprocess", build_preprocessor(schema, dense=dense)), ("model", estimator)])
    pipeline.fit(X_train, y_train)
    y_pred = pipeline.predict(X_test)
    classifier = task != "regression"
    y_proba = pipeline.predict_proba(X_test) if classifier else None
    if classifier:
        metrics = {"accuracy": float(np.mean(y_pred == y_test.to_numpy()))}
    else:
        metrics = {"rmse": float(np.sqrt(np.mean((y_pred - y_test.to_numpy()) ** 2)))}
    digest = hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()).hexdigest()
    return TrainResult(
        run_id=uuid.uuid4().hex[:8],
        model=model,
        label=f"{type(estimator).__name__} on {target}",
        library=library,
        params=estimator.get_params(deep=False) if library == "scikit-learn" else {},
        task=task,
        target=target,
        features=features,
        schema=schema,
        pipeline=pipeline,
        classes=list(pipeline.classes_) if classifier else None,
        metrics=metrics,
        timings={"fit_s": 0.01, "predict_s": 0.001},
        device=device,
        X_test=X_test,
        y_test=y_test,
        y_pred=y_pred,
        y_proba=y_proba,
        X_background=X_train.iloc[:100],
        dataset="synthetic",
        data_fingerprint={"rows": len(df), "columns": df.shape[1], "sha256": digest},
        created="2025-01-01T00:00:00+00:00",
    )


def loan_run(estimator: BaseEstimator | None = None) -> TrainResult:
    return make_run(loan_frame(), "Loan_Status", estimator or GradientBoostingClassifier(n_estimators=30, random_state=0))


def house_run(estimator: BaseEstimator | None = None) -> TrainResult:
    return make_run(house_frame(), "MEDV", estimator or RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0))
