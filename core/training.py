"""Training: one call from a data frame to a fitted, evaluated Pipeline (see TrainResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core.schema import FeatureSchema


@dataclass
class TrainResult:
    """Everything later pages need about one trained model.

    pipeline is Pipeline([("preprocess", ColumnTransformer), ("model", estimator)]), fitted on the
    training split only; it predicts on raw DataFrame rows with the columns in `features`.
    """

    run_id: str
    model: str  # catalog key, e.g. "gradient_boosting"
    label: str  # human name shown in the leaderboard
    library: str  # "scikit-learn" | "pytorch"
    params: dict[str, Any]
    task: str  # "regression" | "binary" | "multiclass"
    target: str
    features: list[str]
    schema: FeatureSchema
    pipeline: Pipeline
    classes: list[Any] | None  # class labels in predict_proba column order
    metrics: dict[str, float]  # on the held-out split
    timings: dict[str, float]  # fit_s, predict_s, plus per-model extras
    device: str
    X_test: pd.DataFrame  # held-out raw rows (features only)
    y_test: pd.Series
    y_pred: np.ndarray
    y_proba: np.ndarray | None
    X_background: pd.DataFrame  # a sample of raw training rows (<= 1,000) for SHAP backgrounds
    dataset: str = ""
    history: list[dict[str, float]] = field(default_factory=list)  # torch: per-epoch losses
    cv: dict[str, Any] | None = None  # k-fold scores when asked for
    grid: pd.DataFrame | None = None  # grid-search table when asked for
    file_size: int = 0  # bytes of the model's joblib file
    data_fingerprint: dict[str, Any] = field(default_factory=dict)  # rows, columns, sha256
    created: str = ""  # ISO 8601, UTC
    stopped_early: bool = False  # the user pressed Stop; the model is as trained so far
