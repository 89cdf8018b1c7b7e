"""Small fitted runs for the export, scoring, what-if and page tests (made here, no files needed).

Frames copy the quirks the real files have: missing numbers and categories, a "3+" level in a
mostly numeric column, integer-coded categories, a free-text column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.training import TrainResult, train


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
    model: str = "gradient_boosting",
    params: dict[str, Any] | None = None,
    device: str = "cpu",
    kinds: dict[str, str] | None = None,
) -> TrainResult:
    """A run the way the Train page makes one: training.train on df, 25% held out, seed 7."""
    return train(df, target=target, model=model, params=params, device=device, test_size=0.25,
                 random_state=7, kinds=kinds, dataset="synthetic")


def loan_run(model: str = "gradient_boosting", params: dict[str, Any] | None = None) -> TrainResult:
    return make_run(loan_frame(), "Loan_Status", model, params or ({"n_estimators": 30} if model == "gradient_boosting" else None))


def house_run(model: str = "random_forest", params: dict[str, Any] | None = None) -> TrainResult:
    return make_run(house_frame(), "MEDV", model, params or ({"n_estimators": 20, "max_depth": 6} if model == "random_forest" else None))


def review_run(model: str = "logistic_regression") -> TrainResult:
    """The material's Yelp pipeline: a text column vectorized, then a linear classifier."""
    return make_run(review_frame(), "Liked", model, kinds={"Review": "text"})
