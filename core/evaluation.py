"""How good a trained model is: held-out metrics and the plotly figures the Train page shows.

Every figure takes a TrainResult (anything with its fields) and returns a plotly Figure, or None
when it does not apply. Column names come from the analyst's file, so they are HTML-escaped
before they reach a title or an axis (plotly renders a subset of HTML there).
"""

from __future__ import annotations

import html
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn import metrics as skm

from core.preprocessing import output_feature_origins

# Scatter plots draw at most this many test points (a sample, said in the title) so the
# browser stays responsive on large test splits.
MAX_SCATTER_POINTS = 5_000
# Bars shown in the feature importance chart (the rest are summed into "other columns").
MAX_IMPORTANCE_BARS = 20

NAN = float("nan")


def _esc(text: object) -> str:
    return html.escape(str(text))


def _is_regression(task: str) -> bool:
    return task == "regression"


def positive_class(classes: list[Any]) -> Any:
    """The class F1, ROC and precision-recall treat as positive in a binary task: the second one."""
    return classes[1]


def metrics(
    task: str,
    y_true: pd.Series | np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None = None,
    classes: list[Any] | None = None,
) -> dict[str, float]:
    """Held-out metrics. Regression: mse, rmse, mae, r2. Classification: accuracy,
    balanced_accuracy, f1, roc_auc, log_loss.

    f1 is for the positive (second) class in a binary task and the macro average over classes in a
    multiclass one; roc_auc is one-vs-rest macro for multiclass. A metric that is undefined on this
    test split (one class only, no probabilities, fewer than two rows) is NaN, never an exception.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    with warnings.catch_warnings():
        # Undefined metrics come back as NaN below; sklearn's warnings about them add nothing.
        warnings.simplefilter("ignore")
        if _is_regression(task):
            return _regression_metrics(y_true.astype(float), y_pred.astype(float))
        return _classification_metrics(task, y_true, y_pred, y_proba, list(classes or np.unique(y_true)))


def _regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    if len(y_true) == 0:
        return {"rmse": NAN, "mae": NAN, "r2": NAN, "mse": NAN}
    mse = float(skm.mean_squared_error(y_true, y_pred))
    r2 = float(skm.r2_score(y_true, y_pred)) if len(y_true) >= 2 and np.ptp(y_true) > 0 else NAN
    return {"rmse": math.sqrt(mse), "mae": float(skm.mean_absolute_error(y_true, y_pred)), "r2": r2, "mse": mse}


def _safe(fn, *args, **kwargs) -> float:
    try:
        value = float(fn(*args, **kwargs))
    except (ValueError, IndexError, ZeroDivisionError):
        return NAN
    return value


def _classification_metrics(
    task: str, y_true: np.ndarray, y_pred: np.ndarray, y_proba: np.ndarray | None, classes: list[Any]
) -> dict[str, float]:
    out = {
        "accuracy": _safe(skm.accuracy_score, y_true, y_pred),
        "balanced_accuracy": _safe(skm.balanced_accuracy_score, y_true, y_pred),
    }
    present = set(pd.unique(pd.Series(y_true)))
    if task == "binary" and len(classes) == 2:
        out["f1"] = _safe(skm.f1_score, y_true, y_pred, pos_label=positive_class(classes), labels=classes)
    else:
        out["f1"] = _safe(skm.f1_score, y_true, y_pred, average="macro", labels=classes)
    if y_proba is None or len(present) < 2:
        out["roc_auc"] = NAN
    elif len(classes) == 2:
        positive = np.asarray(y_true) == positive_class(classes)
        out["roc_auc"] = _safe(skm.roc_auc_score, positive, y_proba[:, 1])
    elif len(present) == len(classes):
        out["roc_auc"] = _safe(skm.roc_auc_score, y_true, y_proba, multi_class="ovr", average="macro", labels=classes)
    else:
        # Some class is absent from this test split: its one-vs-rest curve is undefined.
        out["roc_auc"] = NAN
    out["log_loss"] = NAN if y_proba is None else _safe(skm.log_loss, y_true, y_proba, labels=classes)
    return out


METRIC_LABELS = {
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "mse": "MSE",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "log_loss": "Log loss",
}
MAIN_METRICS = {
    "regression": ("rmse", "mae", "r2"),
    "classification": ("accuracy", "balanced_accuracy", "f1", "roc_auc", "log_loss"),
}


def main_metrics(task: str) -> tuple[str, ...]:
    """The metric names the leaderboard and the metric cards show for a task."""
    return MAIN_METRICS["regression" if _is_regression(task) else "classification"]


# ---- figures ---------------------------------------------------------------------------------


def _sample_positions(n: int, seed: int = 0) -> np.ndarray:
    if n <= MAX_SCATTER_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_SCATTER_POINTS, replace=False))


def _sample_note(shown: int, total: int) -> str:
    return f" ({shown:,} of {total:,} test rows shown)" if shown < total else ""


def predicted_vs_actual(run: Any) -> go.Figure | None:
    """Predicted against actual target on the test split, with the identity line (regression)."""
    if not _is_regression(run.task):
        return None
    actual = np.asarray(run.y_test, dtype=float)
    predicted = np.asarray(run.y_pred, dtype=float)
    keep = _sample_positions(len(actual))
    target = _esc(run.target)
    fig = go.Figure()
    fig.add_scatter(
        x=actual[keep], y=predicted[keep], mode="markers", name="test rows", marker={"size": 5, "opacity": 0.6}
    )
    both = np.concatenate([actual, predicted]) if len(actual) else np.array([0.0, 1.0])
    low, high = float(np.nanmin(both)), float(np.nanmax(both))
    fig.add_scatter(x=[low, high], y=[low, high], mode="lines", name="perfect prediction", line={"dash": "dash"})
    fig.update_layout(
        title=f"Predicted vs actual {target}{_sample_note(len(keep), len(actual))}",
        xaxis_title=f"actual {target}",
        yaxis_title=f"predicted {target}",
    )
    return fig


def residuals(run: Any) -> go.Figure | None:
    """Residuals (actual - predicted) against the prediction on the test split (regression)."""
    if not _is_regression(run.task):
        return None
    actual = np.asarray(run.y_test, dtype=float)
    predicted = np.asarray(run.y_pred, dtype=float)
    resid = actual - predicted
    keep = _sample_positions(len(actual))
    target = _esc(run.target)
    fig = go.Figure()
    fig.add_scatter(
        x=predicted[keep], y=resid[keep], mode="markers", name="test rows", marker={"size": 5, "opacity": 0.6}
    )
    fig.add_hline(y=0, line_dash="dash")
    fig.update_layout(
        title=f"Residuals of {target}{_sample_note(len(keep), len(actual))}",
        xaxis_title=f"predicted {target}",
        yaxis_title="actual − predicted",
    )
    return fig


def confusion_matrix(run: Any) -> go.Figure | None:
    """Counts of actual against predicted classes, with each cell's share of its actual row."""
    if _is_regression(run.task):
        return None
    classes = list(run.classes)
    counts = skm.confusion_matrix(np.asarray(run.y_test), np.asarray(run.y_pred), labels=classes)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    names = [_esc(c) for c in classes]
    text = [[f"{counts[i, j]:,}<br>{share[i, j]:.0%}" for j in range(len(classes))] for i in range(len(classes))]
    fig = go.Figure(
        go.Heatmap(
            z=share, x=names, y=names, text=text, texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
            colorbar={"title": "row share"}, hovertemplate="actual %{y}<br>predicted %{x}<br>%{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Confusion matrix for {_esc(run.target)} (count and share of the actual class)",
        xaxis_title="predicted", yaxis_title="actual", yaxis_autorange="reversed",
        xaxis_type="category", yaxis_type="category",
    )
    return fig


def _one_vs_rest(run: Any) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """(class, is that class, its probability) for the positive class (binary) or every class."""
    y = np.asarray(run.y_test)
    classes = list(run.classes)
    chosen = [1] if len(classes) == 2 else range(len(classes))
    out = []
    for i in chosen:
        truth = y == classes[i]
        if 0 < truth.sum() < len(truth):
            out.append((classes[i], truth, run.y_proba[:, i]))
    return out


def roc_curves(run: Any) -> go.Figure | None:
    """ROC curve of the positive class (binary) or one per class against the rest (multiclass)."""
    if _is_regression(run.task) or run.y_proba is None:
        return None
    curves = _one_vs_rest(run)
    if not curves:
        return None
    fig = go.Figure()
    for cls, truth, score in curves:
        fpr, tpr, _ = skm.roc_curve(truth, score)
        auc = skm.auc(fpr, tpr)
        fig.add_scatter(x=fpr, y=tpr, mode="lines", name=f"{_esc(cls)} (AUC {auc:.3f})")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash"})
    which = "positive class" if len(run.classes) == 2 else "one vs rest"
    fig.update_layout(
        title=f"ROC curve for {_esc(run.target)} ({which})",
        xaxis_title="false positive rate", yaxis_title="true positive rate",
    )
    return fig


def precision_recall(run: Any) -> go.Figure | None:
    """Precision-recall curve of the positive class (binary) or one per class (multiclass)."""
    if _is_regression(run.task) or run.y_proba is None:
        return None
    curves = _one_vs_rest(run)
    if not curves:
        return None
    fig = go.Figure()
    for cls, truth, score in curves:
        precision, recall, _ = skm.precision_recall_curve(truth, score)
        ap = skm.average_precision_score(truth, score)
        fig.add_scatter(x=recall, y=precision, mode="lines", name=f"{_esc(cls)} (AP {ap:.3f})")
    which = "positive class" if len(run.classes) == 2 else "one vs rest"
    fig.update_layout(
        title=f"Precision-recall for {_esc(run.target)} ({which})",
        xaxis_title="recall", yaxis_title="precision", yaxis_range=[0, 1.05],
    )
    return fig


def importance_by_column(pipeline: Any) -> pd.Series | None:
    """The final estimator's feature_importances_ (or |coef_|) summed back to the original columns.

    One-hot levels and text tokens add up to their column. None when the model has neither
    attribute (k-nearest neighbours, kernel SVM, histogram boosting, torch models).
    """
    model = pipeline[-1]
    if hasattr(model, "feature_importances_"):
        weights = np.asarray(model.feature_importances_, dtype=float)
    elif hasattr(model, "coef_"):
        coef = model.coef_
        coef = coef.toarray() if hasattr(coef, "toarray") else np.asarray(coef, dtype=float)
        # Several rows (one per class): the mean size of a feature's weight across classes.
        weights = np.abs(coef).reshape(-1, coef.shape[-1]).mean(axis=0)
    else:
        return None
    origins = output_feature_origins(pipeline[0])
    if len(origins) != len(weights):
        return None
    grouped = pd.Series(weights, index=origins).groupby(level=0, sort=False).sum()
    return grouped.sort_values(ascending=False)


def feature_importance(run: Any) -> go.Figure | None:
    """Horizontal bars of importance per original column, largest on top; None when not available."""
    importance = importance_by_column(run.pipeline)
    if importance is None or importance.empty:
        return None
    shown = importance.iloc[:MAX_IMPORTANCE_BARS]
    rest = importance.iloc[MAX_IMPORTANCE_BARS:]
    if len(rest):
        shown = pd.concat([shown, pd.Series({f"{len(rest)} other columns": rest.sum()})])
    source = "impurity importance" if hasattr(run.pipeline[-1], "feature_importances_") else "|coefficient|"
    fig = go.Figure(go.Bar(x=shown.to_numpy()[::-1], y=[_esc(c) for c in shown.index[::-1]], orientation="h"))
    fig.update_layout(
        title=f"Feature importance ({source}, one-hot levels summed per column)",
        xaxis_title=source, yaxis_title=None, height=max(300, 28 * len(shown) + 120),
    )
    return fig


def grid_chart(run: Any) -> go.Figure | None:
    """Mean ± sd cross-validated score per grid setting, the best one marked."""
    grid = getattr(run, "grid", None)
    if grid is None or grid.empty:
        return None
    params = [c for c in grid.columns if c not in GRID_SCORE_COLUMNS]
    metric = (run.cv or {}).get("metric", "score")
    fig = go.Figure()
    x_name = params[0]
    groups = [(None, grid)] if len(params) == 1 else list(grid.groupby(params[1], sort=False))
    for value, part in groups:
        name = "mean ± sd" if value is None else f"{_esc(params[1])} = {_esc(value)}"
        fig.add_scatter(
            x=[_esc(v) for v in part[x_name]], y=part["mean_score"], mode="lines+markers", name=name,
            error_y={"type": "data", "array": part["std_score"], "visible": True},
        )
    best = grid[grid["is_best"]].iloc[0]
    label = ", ".join(f"{_esc(p)}={_esc(best[p])}" for p in params)
    fig.add_scatter(
        x=[_esc(best[x_name])], y=[best["mean_score"]], mode="markers", name=f"best: {label}",
        marker={"symbol": "star", "size": 16, "color": "gold", "line": {"width": 1, "color": "black"}},
    )
    fig.update_layout(
        title=f"Grid search: mean ± sd of {_esc(metric)} over the folds (higher is better)",
        xaxis_title=_esc(x_name), yaxis_title=f"mean {_esc(metric)}", xaxis_type="category",
    )
    return fig


GRID_SCORE_COLUMNS = ("mean_score", "std_score", "rank", "is_best", "mean_fit_s")


def loss_curve(history: list[dict[str, Any]], title: str = "Loss per epoch") -> go.Figure | None:
    """Training (and validation) loss per epoch from a torch model's history; None when empty."""
    if not history:
        return None
    frame = pd.DataFrame(history)
    fig = go.Figure()
    fig.add_scatter(x=frame["epoch"], y=frame["loss"], mode="lines", name="training loss")
    if "val_loss" in frame and frame["val_loss"].notna().any():
        fig.add_scatter(x=frame["epoch"], y=frame["val_loss"], mode="lines", name="validation loss")
    fig.update_layout(title=_esc(title), xaxis_title="epoch", yaxis_title="loss")
    return fig


def evaluation_figures(run: Any) -> dict[str, go.Figure]:
    """The default figures for the run's task, by tab name; figures that do not apply are left out."""
    if _is_regression(run.task):
        makers = {"Predicted vs actual": predicted_vs_actual, "Residuals": residuals}
    else:
        makers = {"Confusion matrix": confusion_matrix, "ROC": roc_curves, "Precision-recall": precision_recall}
    makers["Feature importance"] = feature_importance
    makers["Grid search"] = grid_chart
    figures = {name: make(run) for name, make in makers.items()}
    if getattr(run, "history", None):
        figures["Loss curve"] = loss_curve(run.history)
    return {name: fig for name, fig in figures.items() if fig is not None}
