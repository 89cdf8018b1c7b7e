"""Training: one call from a data frame to a fitted, evaluated Pipeline (see TrainResult).

train() checks the data and the target, splits it (stratified for classification), optionally
cross-validates and grid-searches, fits Pipeline([("preprocess", ...), ("model", ...)]) on the
training split only, and evaluates it on the held-out split. Errors a person can fix raise
TrainingError with one sentence. Nothing here imports streamlit, shap or torch: PyTorch models are
catalog entries whose builder imports torch only when one is built.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import math
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from core import evaluation, sklearn_models, torch_catalog
from core.catalog import ModelSpec, ParamSpec
from core.preprocessing import build_preprocessor
from core.schema import TASKS, FeatureSchema, column_kind, feature_schema, guess_roles, infer_task


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
    notes: list[str] = field(default_factory=list)  # sentences about what training did (rows dropped, ...)
    split: dict[str, Any] = field(default_factory=dict)  # test_size, random_state, train/test rows, folds


class TrainingError(ValueError):
    """This input cannot be trained on; the message is one sentence saying what to change."""


# The fewest rows with a target value worth splitting into a training and a test part.
MIN_ROWS = 10
# More distinct labels than this is not a classification target.
MAX_CLASSES = 100
# Grid search: one or two hyperparameters, at most this many settings (each costs k fits).
MAX_GRID_PARAMS = 2
MAX_GRID_SETTINGS = 60
# Folds a grid search uses when no k-fold cross-validation was asked for.
GRID_DEFAULT_FOLDS = 5
# Raw training rows kept with a run for SHAP backgrounds.
BACKGROUND_ROWS = 1_000
# joblib compression of the model file; core.artifacts writes the download with the same level.
JOBLIB_COMPRESS = 3
# PyTorch fits report an epoch (and check Stop) at most this often: each report reads the loss
# back from the device, a synchronization a GPU should not pay every epoch.
EPOCH_CALLBACK_EVERY_S = 0.2
# Cross-validation and grid-search scoring (higher is better): the material's neg MSE for regression.
CV_SCORING = {"regression": "neg_mean_squared_error", "classification": "accuracy"}

ProgressFn = Callable[[float, str], None]
EpochFn = Callable[[int, float, "float | None"], None]


def _catalog() -> dict[str, ModelSpec]:
    """scikit-learn entries, then the PyTorch entries of core.torch_catalog (it does not import torch)."""
    models = dict(sklearn_models.SPECS)
    clash = sorted(set(models) & set(torch_catalog.SPECS))
    if clash:
        raise RuntimeError(f"Model catalog keys defined twice: {clash}")
    models.update(torch_catalog.SPECS)
    return models


MODELS: dict[str, ModelSpec] = _catalog()


def models_for(task: str) -> list[str]:
    """Catalog keys of the models that serve a task ("regression", "binary" or "multiclass")."""
    return [key for key, spec in MODELS.items() if spec.serves(task)]


def model_spec(model: str) -> ModelSpec:
    """The catalog entry for a key; TrainingError for a key the catalog does not have."""
    try:
        return MODELS[model]
    except KeyError:
        raise TrainingError(f"Unknown model {model!r}: choose one of {', '.join(MODELS)}.") from None


# ---- hyperparameters ------------------------------------------------------------------------

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _coerce(param: ParamSpec, value: Any) -> Any:
    """A widget or text value as the type the ParamSpec declares; TrainingError when it is not one."""
    try:
        if param.kind == "int":
            number = float(value.strip()) if isinstance(value, str) else float(value)
            if number != round(number):
                raise ValueError
            return int(round(number))
        if param.kind == "float":
            number = float(value.strip()) if isinstance(value, str) else float(value)
            if not math.isfinite(number):
                raise ValueError
            return number
        if param.kind == "bool":
            if isinstance(value, bool | np.bool_):
                return bool(value)
            text = str(value).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise ValueError
        if param.kind == "choice":
            for choice in param.choices:
                if value is choice or (type(value) is type(choice) and value == choice):
                    return choice
            for choice in param.choices:
                if str(choice).lower() == str(value).strip().lower():
                    return choice
            raise ValueError
    except (ValueError, TypeError, OverflowError):
        expected = {
            "int": "a whole number",
            "float": "a number",
            "bool": "true or false",
            "choice": "one of " + ", ".join(str(c) for c in param.choices),
        }[param.kind]
        raise TrainingError(f"{param.label} must be {expected}; got {value!r}.") from None
    return value  # "layers": the model's builder parses and checks it


def effective_params(model: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The model's defaults updated by the given values, each checked and typed by its ParamSpec."""
    spec = model_spec(model)
    known = {p.name: p for p in spec.params}
    out = spec.defaults()
    for name, value in (params or {}).items():
        if name not in known:
            options = f"use one of {', '.join(known)}" if known else "it has no settings"
            raise TrainingError(f"{spec.label} has no setting {name!r}: {options}.")
        out[name] = _coerce(known[name], value)
    return out


def parse_grid_values(model: str, param: str, text: str) -> list[Any]:
    """Grid values typed by the analyst ("50, 100, 200"; layer lists separated by ";") as typed values."""
    spec = model_spec(model)
    known = {p.name: p for p in spec.params}
    if param not in known:
        raise TrainingError(f"{spec.label} has no setting {param!r} to search over.")
    separator = ";" if known[param].kind == "layers" else ","
    tokens = [t.strip() for t in str(text).split(separator) if t.strip()]
    if not tokens:
        what = "semicolons" if separator == ";" else "commas"
        raise TrainingError(f"Give at least one value for {known[param].label}, separated by {what}.")
    values: list[Any] = []
    for token in tokens:
        value = _coerce(known[param], token)
        if value not in values:
            values.append(value)
    return values


def _grid_settings(spec: ModelSpec, grid: dict[str, Iterable[Any]] | None) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the first parameter varying slowest."""
    if not grid:
        return []
    if len(grid) > MAX_GRID_PARAMS:
        raise TrainingError(f"Grid search takes one or two hyperparameters; {len(grid)} were given.")
    known = {p.name: p for p in spec.params}
    values: dict[str, list[Any]] = {}
    for name, given in grid.items():
        if name not in known:
            options = f"use one of {', '.join(known)}" if known else "it has no settings"
            raise TrainingError(f"{spec.label} has no setting {name!r} to search over: {options}.")
        items = parse_grid_values(spec.key, name, given) if isinstance(given, str) else list(given)
        typed: list[Any] = []
        for item in items:
            value = _coerce(known[name], item)
            if value not in typed:
                typed.append(value)
        if not typed:
            raise TrainingError(f"Give at least one value for {known[name].label} in the grid.")
        values[name] = typed
    settings = [dict(zip(values, combo, strict=True)) for combo in itertools.product(*values.values())]
    if len(settings) > MAX_GRID_SETTINGS:
        raise TrainingError(
            f"The grid has {len(settings)} settings; at most {MAX_GRID_SETTINGS} keep it quick: give fewer values."
        )
    return settings


def params_text(params: dict[str, Any]) -> str:
    """Hyperparameters as one short line, e.g. "n_estimators=100, max_depth=12"."""

    def short(value: Any) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{name}={short(value)}" for name, value in params.items()) or "defaults"


# ---- checking the input ---------------------------------------------------------------------


def _features_and_kinds(
    df: pd.DataFrame, target: str, features: list[str] | None, kinds: dict[str, str] | None, notes: list[str]
) -> tuple[list[str], dict[str, str]]:
    if features is None:
        features = guess_roles(df, target=target).features
    features = [str(c) for c in features if str(c) != target]
    missing = [c for c in features if c not in df.columns]
    if missing:
        raise TrainingError(
            f"Feature column(s) {', '.join(map(repr, missing))} are not in this data: pick features from its columns."
        )
    chosen = {c: (kinds or {}).get(c) or column_kind(df[c]) for c in features}
    unknown = {c: k for c, k in chosen.items() if k not in ("numeric", "categorical", "text", "datetime")}
    if unknown:
        column, kind = next(iter(unknown.items()))
        raise TrainingError(f"Column {column!r} has kind {kind!r}: use numeric, categorical or text.")
    dates = [c for c in features if chosen[c] == "datetime"]
    if dates:
        notes.append(f"Date column(s) {', '.join(dates)} were left out: dates are not used as features yet.")
    features = [c for c in features if chosen[c] != "datetime"]
    if not features:
        raise TrainingError("There are no feature columns to train on: pick at least one feature on the Data page.")
    return features, {c: chosen[c] for c in features}


def _shown(value: Any) -> str:
    """A data value as a message shows it: text quoted, numbers plain (no numpy type names)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value) if isinstance(value, str) else str(value)


def _class_labels(y: pd.Series) -> pd.Series:
    """Class labels sklearn can sort and compare: numbers and booleans as they are, everything
    else as Python objects, and mixed types (e.g. 1 and "3+") as strings."""
    if pd.api.types.is_bool_dtype(y) and not isinstance(y.dtype, np.dtype):
        return y.astype(bool)
    if pd.api.types.is_numeric_dtype(y):
        if isinstance(y.dtype, np.dtype):
            return y
        values = y.astype(float)
        return values.astype("int64") if np.all(np.mod(values, 1) == 0) else values
    labels = y.astype(object)
    if len({type(v) for v in labels}) > 1:
        labels = labels.astype(str)
    return labels


def _prepare_target(y: pd.Series, task: str | None, target: str, notes: list[str]) -> tuple[pd.Series, str]:
    """The target as regression numbers or class labels, and the task it supports."""
    if task is not None and task not in TASKS:
        raise TrainingError(f"Unknown task {task!r}: use regression, binary or multiclass.")
    if y.nunique() < 2:
        raise TrainingError(
            f"{target} has a single value ({_shown(y.iloc[0])}) in every row, so there is nothing to learn: "
            "pick another target or load rows with other values."
        )
    task = task or infer_task(y)
    if task == "regression":
        if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
            numbers = pd.to_numeric(y, errors="coerce")
            bad = y[numbers.isna()]
            if len(bad):
                raise TrainingError(
                    f"{target} is not numeric (for example {_shown(bad.iloc[0])}), so it cannot be a regression "
                    "target: pick a numeric column, or train a classifier."
                )
            y = numbers
        return y.astype(float), task
    labels = _class_labels(y)
    counts = labels.value_counts()
    if len(counts) > MAX_CLASSES:
        raise TrainingError(
            f"{target} has {len(counts):,} distinct values, too many for classification: train a regression "
            "model for a numeric target, or pick a column with fewer levels."
        )
    actual = "binary" if len(counts) == 2 else "multiclass"
    if actual != task:
        notes.append(f"{target} has {len(counts)} classes, so it was trained as {actual} classification.")
    return labels, actual


def _check_rows(y: pd.Series, task: str, target: str, test_size: float, folds: int) -> None:
    """Enough rows (and rows per class) for the split and the folds; TrainingError naming what is short."""
    n = len(y)
    if not 0 < test_size < 1:
        raise TrainingError(f"The test fraction must be between 0 and 1 (for example 0.2); got {test_size!r}.")
    if n < MIN_ROWS:
        raise TrainingError(
            f"Only {n} rows have a {target} value; at least {MIN_ROWS} are needed to train and test a model."
        )
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_train < 2:
        raise TrainingError(f"A test fraction of {test_size:g} leaves {n_train} training rows: lower the test fraction.")
    if task != "regression":
        counts = y.value_counts()
        rare = counts[counts < 2]
        if len(rare):
            raise TrainingError(
                f"Class {_shown(rare.index[0])} of {target} has only 1 row; a stratified split needs at least 2 rows "
                "per class: remove that class's rows or merge it with another class."
            )
        if n_test < len(counts) or n_train < len(counts):
            raise TrainingError(
                f"The test split ({n_test} rows) is smaller than the {len(counts)} classes of {target}: raise the "
                "test fraction or use more rows."
            )
    if folds and n_train < folds:
        raise TrainingError(
            f"{folds}-fold cross-validation needs at least {folds} training rows and there are {n_train}: use "
            "fewer folds or more rows."
        )


def _check_fold_classes(y_train: pd.Series, target: str, folds: int) -> None:
    counts = y_train.value_counts()
    rare = counts[counts < folds]
    if len(rare):
        raise TrainingError(
            f"Class {_shown(rare.index[0])} of {target} has only {int(rare.iloc[0])} training rows, fewer than the "
            f"{folds} folds: use fewer folds, or more rows of that class."
        )


def _device_for(spec: ModelSpec, device: str) -> str:
    """The device the model runs on: scikit-learn models always use the CPU."""
    if not spec.uses_device:
        return "cpu"
    from core import devices  # imports torch, which only device models need

    try:
        devices.check(device)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    return device


def _sentence(exc: BaseException, limit: int = 240) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit_error(spec: ModelSpec, exc: Exception) -> TrainingError:
    return TrainingError(f"{spec.label} could not be trained on this data: {_sentence(exc)}")


# ---- the pieces of a run --------------------------------------------------------------------


def model_file_size(pipeline: Pipeline) -> int:
    """Bytes of the pipeline's joblib file (compress=3, as the download writes it)."""
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=JOBLIB_COMPRESS)
    return buffer.getbuffer().nbytes


def data_fingerprint(df: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """rows, columns and a sha256 of the used columns' content, to tell data sets apart later."""
    frame = df[columns]
    try:
        hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    except TypeError:  # unhashable cells (lists, dicts): hash their text instead
        hashed = frame.astype(str).to_csv().encode()
    return {"rows": len(frame), "columns": list(columns), "sha256": hashlib.sha256(hashed).hexdigest()}


def _splitter(task: str, folds: int, random_state: int) -> KFold | StratifiedKFold:
    if task == "regression":
        return KFold(n_splits=folds, shuffle=True, random_state=random_state)
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)


def _fold_scores(
    make_pipeline: Callable[[], Pipeline],
    X: pd.DataFrame,
    y: pd.Series,
    splitter: KFold | StratifiedKFold,
    scoring: str,
    should_stop: Callable[[], bool],
    on_fold: Callable[[int], None] | None = None,
) -> tuple[list[float], list[float]]:
    """Each fold's score (and fit seconds) of a fresh pipeline; the same folds GridSearchCV would use."""
    scorer = get_scorer(scoring)
    scores: list[float] = []
    fit_seconds: list[float] = []
    for i, (train_rows, valid_rows) in enumerate(splitter.split(X, y)):
        if should_stop():
            break
        if on_fold is not None:
            on_fold(i)
        pipeline = make_pipeline()
        started = time.perf_counter()
        pipeline.fit(X.iloc[train_rows], y.iloc[train_rows])
        fit_seconds.append(time.perf_counter() - started)
        scores.append(float(scorer(pipeline, X.iloc[valid_rows], y.iloc[valid_rows])))
    return scores, fit_seconds


def _grid_table(rows: list[dict[str, Any]], names: list[str]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=[*names, "mean_score", "std_score", "mean_fit_s"])
    table["rank"] = table["mean_score"].rank(ascending=False, method="min").astype(int)
    best = int(table["mean_score"].to_numpy().argmax())  # ties: the first setting tried
    table["is_best"] = np.arange(len(table)) == best
    return table


class _Progress:
    """progress(fraction, message) that never goes backwards, so a page's bar only grows."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self._progress = progress
        self.fraction = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        self.fraction = max(self.fraction, min(float(fraction), 1.0))
        if self._progress is not None:
            self._progress(self.fraction, message)


# ---- train ----------------------------------------------------------------------------------


def _str_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Column names as strings (headerless frames have 0, 1, ...): the schema and widgets use strings."""
    return df if all(isinstance(c, str) for c in df.columns) else df.rename(columns=str)


@dataclass
class DataSplit:
    """The rows training uses, split once: what train() fits on and what compare_devices reuses."""

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    task: str
    features: list[str]
    kinds: dict[str, str]
    notes: list[str]
    dropped: int = 0  # rows left out because their target was missing


def split_data(
    df: pd.DataFrame,
    target: str,
    features: list[str] | None = None,
    task: str | None = None,
    kinds: dict[str, str] | None = None,
    test_size: float = 0.2,
    random_state: int = 7,
    folds: int = 0,
) -> DataSplit:
    """Check the data, drop rows without a target, settle the task, and split (stratified for classes).

    Raises TrainingError with the sentence that says what is wrong (too few rows, one class, ...).
    """
    df = _str_columns(df)
    target = str(target)
    if target not in df.columns:
        raise TrainingError(f"The target {target!r} is not a column of this data: pick one of its columns.")
    notes: list[str] = []
    features, kinds = _features_and_kinds(df, target, features, kinds, notes)
    has_target = df[target].notna()
    dropped = int((~has_target).sum())
    if dropped:
        notes.append(f"{dropped:,} rows with no {target} value were left out.")
    X = df.loc[has_target, features]
    y, task = _prepare_target(df.loc[has_target, target], task, target, notes)
    _check_rows(y, task, target, test_size, folds)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=None if task == "regression" else y
    )
    return DataSplit(X_train, X_test, y_train, y_test, task, features, kinds, notes, dropped)


def train(
    df: pd.DataFrame,
    target: str,
    model: str,
    features: list[str] | None = None,
    params: dict[str, Any] | None = None,
    device: str = "cpu",
    test_size: float = 0.2,
    random_state: int = 7,
    progress: ProgressFn | None = None,
    task: str | None = None,
    kinds: dict[str, str] | None = None,
    cv_folds: int = 0,
    grid: dict[str, Iterable[Any]] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_epoch: EpochFn | None = None,
    dataset: str = "",
) -> TrainResult:
    """Fit Pipeline(preprocess, model) on a split of df and evaluate it on the held-out rows.

    features default to every column but the target and row identifiers; kinds and task default
    to core.schema's guesses. cv_folds >= 2 adds k-fold scores of the training split;
    grid={"param": [values], ...} (one or two params) picks the best setting by k-fold CV (5 folds
    unless cv_folds says otherwise) and refits it. should_stop() is checked between folds and grid
    settings and, for PyTorch models, every few epochs (the model keeps what it has learned).
    on_epoch(epoch, loss, val_loss) reports PyTorch progress. Raises TrainingError.
    """
    started = time.perf_counter()
    report = _Progress(progress)
    stop = should_stop or (lambda: False)
    spec = model_spec(model)
    report(0.0, "checking the data")
    settings = _grid_settings(spec, grid)
    folds = int(cv_folds) if cv_folds and cv_folds >= 2 else (GRID_DEFAULT_FOLDS if settings else 0)
    df = _str_columns(df)
    split = split_data(df, target, features, task, kinds, test_size, random_state, folds)
    target, task, features, kinds, notes = str(target), split.task, split.features, split.kinds, split.notes
    X_train, X_test, y_train, y_test = split.X_train, split.X_test, split.y_train, split.y_test
    if not spec.serves(task):
        raise TrainingError(
            f"{spec.label} does not do {task} tasks: pick one of {', '.join(MODELS[k].label for k in models_for(task))}."
        )
    params = effective_params(model, params)
    device = _device_for(spec, device)
    family = "regression" if task == "regression" else "classification"
    report(0.03, f"splitting {len(y_train) + len(y_test):,} rows: {test_size:.0%} held out for testing")
    if folds and family == "classification":
        _check_fold_classes(y_train, target, folds)
    slow = sklearn_models.scaling_note(model, len(X_train))
    if slow:
        notes.append(slow)
    schema = feature_schema(X_train, kinds)

    def make_pipeline(setting: dict[str, Any] | None = None) -> Pipeline:
        try:
            preprocess = build_preprocessor(schema, dense=spec.needs_dense)
            estimator = spec.build(task, {**params, **(setting or {})}, device, random_state)
        except ValueError as exc:
            raise TrainingError(_sentence(exc)) from None
        return Pipeline([("preprocess", preprocess), ("model", estimator)])

    timings: dict[str, float] = {}
    cv: dict[str, Any] | None = None
    grid_table: pd.DataFrame | None = None
    stopped = False
    scoring = CV_SCORING[family]
    fit_from = 0.08
    try:
        if settings:
            splitter = _splitter(task, folds, random_state)
            names = list(grid or {})
            rows, fold_scores = [], []
            began = time.perf_counter()
            for i, setting in enumerate(settings):
                if stop():
                    stopped = True
                    notes.append(f"Grid search was stopped after {i} of {len(settings)} settings.")
                    break
                report(0.05 + 0.6 * i / len(settings), f"grid {i + 1}/{len(settings)}: {params_text(setting)}")
                scores, seconds = _fold_scores(
                    lambda s=setting: make_pipeline(s), X_train, y_train, splitter, scoring, lambda: False
                )
                fold_scores.append(scores)
                rows.append({**setting, "mean_score": float(np.mean(scores)), "std_score": float(np.std(scores)),
                             "mean_fit_s": float(np.mean(seconds))})
            if not rows:
                raise TrainingError("Training was stopped before the grid search tried any setting.")
            grid_table = _grid_table(rows, names)
            best = int(np.flatnonzero(grid_table["is_best"])[0])
            params.update(settings[best])
            scores = fold_scores[best]
            cv = {"metric": scoring, "folds": folds, "scores": scores, "mean": float(np.mean(scores)),
                  "std": float(np.std(scores)), "setting": dict(settings[best])}
            timings["grid_s"] = time.perf_counter() - began
            fit_from = 0.65
        elif folds:
            splitter = _splitter(task, folds, random_state)
            began = time.perf_counter()
            scores, _ = _fold_scores(
                make_pipeline, X_train, y_train, splitter, scoring, stop,
                lambda i: report(0.05 + 0.45 * i / folds, f"cross-validating fold {i + 1}/{folds}"),
            )
            if len(scores) < folds:
                stopped = True
                notes.append(f"Cross-validation was stopped after {len(scores)} of {folds} folds.")
            if scores:
                cv = {"metric": scoring, "folds": folds, "scores": scores, "mean": float(np.mean(scores)),
                      "std": float(np.std(scores))}
            timings["cv_s"] = time.perf_counter() - began
            fit_from = 0.5
    except TrainingError:
        raise
    except (ValueError, TypeError, IndexError) as exc:
        raise _fit_error(spec, exc) from exc

    pipeline = make_pipeline()
    fit_params: dict[str, Any] = {}
    if spec.uses_device:
        epochs = params.get("epochs")

        def epoch_callback(epoch: int, loss: float, val_loss: float | None = None) -> bool:
            if on_epoch is not None:
                on_epoch(epoch, loss, val_loss)
            share = epoch / epochs if epochs else 0.0
            report(fit_from + (0.85 - fit_from) * share, f"epoch {epoch}/{epochs or '?'}: loss {loss:.4g}")
            return bool(stop())

        fit_params["model__epoch_callback"] = epoch_callback
        fit_params["model__callback_every_s"] = EPOCH_CALLBACK_EVERY_S
    report(fit_from, f"fitting {spec.label} on {len(X_train):,} rows" + (f" ({device})" if spec.uses_device else ""))
    try:
        began = time.perf_counter()
        pipeline.fit(X_train, y_train, **fit_params)
        timings["fit_s"] = time.perf_counter() - began
        estimator = pipeline[-1]
        report(0.87, "evaluating on the test split")
        began = time.perf_counter()
        y_pred = np.asarray(pipeline.predict(X_test))
        timings["predict_s"] = time.perf_counter() - began
        classes = y_proba = None
        if family == "classification":
            classes = np.asarray(pipeline.classes_).tolist()
            if hasattr(pipeline, "predict_proba"):
                y_proba = np.asarray(pipeline.predict_proba(X_test))
    except TrainingError:
        raise
    except (ValueError, TypeError, IndexError) as exc:
        raise _fit_error(spec, exc) from exc

    history = [dict(h) for h in getattr(estimator, "history_", [])]
    if getattr(estimator, "stopped_early_", False):
        stopped = True
        notes.append(f"Training was stopped after {len(history)} epochs; the model is as trained so far.")
    for name, value in getattr(estimator, "fit_timings_", {}).items():
        if name != "fit_s":  # the pipeline's fit_s (preprocessing included) is the one reported
            timings[name] = float(value)
    converged = sklearn_models.convergence_note(model, estimator, params)
    if converged:
        notes.append(converged)
    scores = evaluation.metrics(task, y_test, y_pred, y_proba, classes)
    report(0.92, "measuring the model file size")
    size = model_file_size(pipeline)
    background = X_train.sample(n=min(BACKGROUND_ROWS, len(X_train)), random_state=random_state)
    timings["total_s"] = time.perf_counter() - started
    result = TrainResult(
        run_id=uuid.uuid4().hex[:8],
        model=model,
        label=spec.label,
        library=spec.library,
        params=params,
        task=task,
        target=target,
        features=features,
        schema=schema,
        pipeline=pipeline,
        classes=classes,
        metrics=scores,
        timings=timings,
        device=device,
        X_test=X_test,
        y_test=y_test,
        y_pred=y_pred,
        y_proba=y_proba,
        X_background=background,
        dataset=dataset,
        history=history,
        cv=cv,
        grid=grid_table,
        file_size=size,
        data_fingerprint=data_fingerprint(df, [*features, target]),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        stopped_early=stopped,
        notes=notes,
        split={
            "test_size": test_size,
            "random_state": random_state,
            "train_rows": len(X_train),
            "test_rows": len(X_test),
            "dropped_missing_target": split.dropped,
            "stratified": family == "classification",
            "folds": folds,
        },
    )
    report(1.0, "done")
    return result


# ---- comparing runs -------------------------------------------------------------------------

LEADERBOARD_COLUMNS = (
    "run_id", "model", "params", "task", "target", "fit_s", "size_mb", "device", "dataset", "created", "stopped_early",
)


def leaderboard(runs: Iterable[TrainResult]) -> pd.DataFrame:
    """One row per run: model, key params, task, the task's main metrics, fit time, file size, device.

    Metric columns appear for the tasks present (regression: rmse, mae, r2; classification:
    accuracy, balanced_accuracy, f1, roc_auc, log_loss); a run of the other family shows NaN there.
    """
    runs = list(runs)
    metric_columns: list[str] = []
    for family in ("regression", "classification"):
        if any((r.task == "regression") == (family == "regression") for r in runs):
            metric_columns.extend(evaluation.MAIN_METRICS[family])
    rows = []
    for r in runs:
        row = {
            "run_id": r.run_id,
            "model": r.label,
            "params": params_text(r.params),
            "task": r.task,
            "target": r.target,
            **{m: r.metrics.get(m, float("nan")) for m in metric_columns},
            "fit_s": r.timings.get("fit_s", float("nan")),
            "size_mb": r.file_size / 1e6,
            "device": r.device,
            "dataset": r.dataset,
            "created": r.created,
            "stopped_early": r.stopped_early,
        }
        rows.append(row)
    columns = [*LEADERBOARD_COLUMNS[:5], *metric_columns, *LEADERBOARD_COLUMNS[5:]]
    return pd.DataFrame(rows, columns=columns)
