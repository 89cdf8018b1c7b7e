"""evaluation: held-out metrics per task, the figures per task, importance grouped to columns."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from sklearn import metrics as skm

from core import evaluation, training
from core.preprocessing import output_feature_origins


def test_regression_metrics_by_hand() -> None:
    out = evaluation.metrics("regression", [1.0, 2.0, 3.0, 4.0], np.array([1.0, 2.0, 3.0, 5.0]))
    assert out["mse"] == pytest.approx(0.25) and out["rmse"] == pytest.approx(0.5)
    assert out["mae"] == pytest.approx(0.25)
    assert out["r2"] == pytest.approx(1 - 1 / 5)  # SSE 1 over total sum of squares 5


def test_binary_metrics_treat_the_second_class_as_positive() -> None:
    y = np.array(["N", "N", "Y", "Y", "Y", "N"])
    pred = np.array(["N", "Y", "Y", "Y", "N", "N"])
    proba_y = np.array([0.1, 0.6, 0.8, 0.9, 0.4, 0.3])
    proba = np.column_stack([1 - proba_y, proba_y])
    out = evaluation.metrics("binary", y, pred, proba, ["N", "Y"])
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label="Y"))
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "Y", proba_y))
    assert out["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=["N", "Y"]))
    assert out["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))


def test_multiclass_metrics_are_macro_and_one_vs_rest() -> None:
    rng = np.random.default_rng(0)
    y = np.array(["a", "b", "c"] * 20)
    proba = rng.dirichlet([1, 1, 1], 60)
    pred = np.array(["a", "b", "c"])[proba.argmax(axis=1)]
    out = evaluation.metrics("multiclass", y, pred, proba, ["a", "b", "c"])
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))


def test_undefined_metrics_are_nan_without_exceptions_or_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_class = evaluation.metrics("binary", ["Y", "Y", "Y"], np.array(["Y", "N", "Y"]),
                                       np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]]), ["N", "Y"])
        no_proba = evaluation.metrics("multiclass", ["a", "b", "c"], np.array(["a", "b", "b"]), None, ["a", "b", "c"])
        missing_class = evaluation.metrics(
            "multiclass", ["a", "b", "a"], np.array(["a", "b", "a"]), np.full((3, 3), 1 / 3), ["a", "b", "c"]
        )
        single_row = evaluation.metrics("regression", [2.0], np.array([2.5]))
    assert math.isnan(one_class["roc_auc"]) and one_class["accuracy"] == pytest.approx(2 / 3)
    assert math.isnan(no_proba["roc_auc"]) and math.isnan(no_proba["log_loss"])
    assert math.isnan(missing_class["roc_auc"]) and math.isfinite(missing_class["log_loss"])
    assert math.isnan(single_row["r2"]) and single_row["rmse"] == pytest.approx(0.5)


def frame(n: int = 300, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue", "black"], n)
    size = rng.normal(10, 2, n)
    noise = rng.normal(size=n)
    value = size * 2 + pd.Series(color).map({"red": 6, "green": 0, "blue": -6, "black": 1}).to_numpy()
    return pd.DataFrame(
        {
            "color": color,
            "size": size,
            "noise": noise,
            "<b>price</b>": value + rng.normal(0, 1, n),
            "sold": np.where(value + rng.normal(0, 2, n) > 20, "yes", "no"),
            "tier": np.where(value > 24, "gold", np.where(value > 17, "silver", "bronze")),
        }
    )


FEATURES = ["color", "size", "noise"]


@pytest.fixture(scope="module")
def runs() -> dict[str, training.TrainResult]:
    df = frame()
    return {
        "regression": training.train(
            df, "<b>price</b>", "gradient_boosting", features=FEATURES, grid={"n_estimators": [10, 30]}, cv_folds=3
        ),
        "binary": training.train(df, "sold", "random_forest", features=FEATURES, params={"n_estimators": 20}),
        "multiclass": training.train(df, "tier", "logistic_regression", features=FEATURES),
    }


def test_regression_figures(runs) -> None:
    run = runs["regression"]
    figures = evaluation.evaluation_figures(run)
    assert list(figures) == ["Predicted vs actual", "Residuals", "Feature importance", "Grid search"]
    assert all(isinstance(f, go.Figure) for f in figures.values())
    scatter, identity = figures["Predicted vs actual"].data
    assert len(scatter.x) == len(run.y_test)
    assert identity.x[0] == identity.y[0] and identity.x[1] == identity.y[1]
    # The target's name is escaped, never rendered as markup.
    title = figures["Predicted vs actual"].layout.title.text
    assert "&lt;b&gt;price&lt;/b&gt;" in title and "<b>" not in title
    residual = figures["Residuals"].data[0]
    np.testing.assert_allclose(residual.y, np.asarray(run.y_test) - run.y_pred)


def test_grid_chart_marks_the_best(runs) -> None:
    run = runs["regression"]
    chart = evaluation.grid_chart(run)
    line, best = chart.data
    assert list(line.y) == list(run.grid["mean_score"])
    assert list(line.error_y.array) == list(run.grid["std_score"])
    winner = run.grid[run.grid["is_best"]].iloc[0]
    assert best.y[0] == winner["mean_score"] and "best" in best.name


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_classification_figures(runs, task: str) -> None:
    run = runs[task]
    figures = evaluation.evaluation_figures(run)
    assert {"Confusion matrix", "ROC", "Precision-recall", "Feature importance"} <= set(figures)
    heat = figures["Confusion matrix"].data[0]
    counts = skm.confusion_matrix(run.y_test, run.y_pred, labels=run.classes)
    assert sum(int(cell.split("<br>")[0].replace(",", "")) for row in heat.text for cell in row) == len(run.y_test)
    assert heat.text[0][0].startswith(f"{counts[0, 0]:,}<br>")
    np.testing.assert_allclose(np.asarray(heat.z).sum(axis=1), 1.0)  # row shares
    curves = [t for t in figures["ROC"].data if t.name != "chance"]
    assert len(curves) == (1 if task == "binary" else 3)
    if task == "binary":
        assert curves[0].name.startswith("yes ")  # the positive class is the second one
    assert len(figures["Precision-recall"].data) == len(curves)


def test_scatter_is_sampled_on_large_test_splits() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=12_000)
    run = SimpleNamespace(task="regression", target="y", y_test=pd.Series(y), y_pred=y + rng.normal(0, 0.1, 12_000))
    fig = evaluation.predicted_vs_actual(run)
    assert len(fig.data[0].x) == evaluation.MAX_SCATTER_POINTS
    assert "5,000 of 12,000 test rows shown" in fig.layout.title.text


def test_importance_is_grouped_back_to_original_columns(runs) -> None:
    for task in ("binary", "multiclass", "regression"):
        run = runs[task]
        importance = evaluation.importance_by_column(run.pipeline)
        assert set(importance.index) == set(FEATURES), task
        origins = output_feature_origins(run.pipeline["preprocess"])
        assert origins.count("color") == 4  # one-hot levels, summed back into one column
        model = run.pipeline[-1]
        if hasattr(model, "feature_importances_"):
            raw = np.asarray(model.feature_importances_)
            assert importance.sum() == pytest.approx(1.0)
        else:
            raw = np.abs(model.coef_).mean(axis=0)
        expected = sum(w for w, origin in zip(raw, origins, strict=True) if origin == "color")
        assert importance["color"] == pytest.approx(expected)
        # Colour and size drive every target; the pure-noise column matters least.
        assert importance.index[-1] == "noise", (task, importance)
    fig = evaluation.feature_importance(runs["binary"])
    assert list(fig.data[0].y)[-1] in ("color", "size")  # largest bar on top


def test_models_without_importances_give_no_chart() -> None:
    run = training.train(frame(120), "<b>price</b>", "knn", features=FEATURES)
    assert evaluation.importance_by_column(run.pipeline) is None
    assert evaluation.feature_importance(run) is None
    assert "Feature importance" not in evaluation.evaluation_figures(run)


def test_loss_curve_from_history() -> None:
    history = [{"epoch": i, "loss": 1 / i, "val_loss": None} for i in range(1, 6)]
    fig = evaluation.loss_curve(history)
    assert list(fig.data[0].y) == [1 / i for i in range(1, 6)] and len(fig.data) == 1
    assert evaluation.loss_curve([]) is None
