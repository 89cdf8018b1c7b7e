"""SHAP explanations of a trained run, on the columns the analyst knows, fast, as plotly charts.

`explain(run)` picks the explainer by the pipeline's final estimator:

- tree ensembles (random forest, extra trees, gradient boosting, histogram gradient boosting,
  decision trees): shap.TreeExplainer on the transformed features. Background data is passed
  only when every tree has at most 32,767 nodes (bigger trees with background data segfault
  inside shap, issue 3486, and take the whole server down), only where it is the cheaper mode,
  and never for histogram gradient boosting (its interventional values fail shap's own
  additivity check). Otherwise the path-dependent mode runs, which takes no background at all.
  Multiclass gradient boosting (shap reads only two classes) goes in as one tree model per class.
- linear models: exact linear SHAP, coef * (x - background mean): what shap.LinearExplainer
  with an independent masker computes, without densifying a text vocabulary.
- PyTorch estimators (they expose `explainable_module()`): shap.DeepExplainer on the module,
  shap.GradientExplainer where DeepLIFT cannot handle a layer (its sums are then approximate).
- anything else (k-NN, SVM, AdaBoost, ...): permutation SHAP (shap's PermutationExplainer
  algorithm, batched here) over the ORIGINAL columns with a seeded sample of 50 training rows as
  background; never shap's auto-picked exact explainer (10.6 s for 100 rows of a 6-column GBM).

Slow paths are timed as they run: rows are explained in a seeded random order, in chunks, and
the work stops when the next chunk would not fit in `max_seconds`; the rows done so far are a
uniform random sample and the note says how many ("explained 500 of 20,000 rows, about 4 s").

Output spaces (Explanation.output_space): "target units" for regressors; "probability" for
forests, single trees, the permutation fallback and torch classifiers; "log-odds" for gradient
boosting and logistic regression classifiers (softmax logits per class when multiclass);
"decision score" for other linear classifiers and classifiers without predict_proba. A binary
model with ONE output (log-odds or a decision score) is given both classes: class 1 gets the
values v and class 0 gets -v, with base values b and -b, which is exact in log-odds space.

shap is imported inside the functions that need it, so importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import html
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import scipy.sparse as sp

from core.preprocessing import output_features, to_text

Progress = Callable[[float, str], None]


class ExplainError(ValueError):
    """A model or a set of rows that cannot be explained; the message says what to do."""


# shap issue 3486: TreeExplainer with background data segfaults above this many nodes per tree.
SHAP_TREE_NODE_LIMIT = 32_767
# Background rows per explainer (capped by explain's background_size).
# 32, not 50: the catalog-default forest on 100,000 rows took 5.0 s for 1,000 rows with 50 (target 5 s).
TREE_BACKGROUND_ROWS = 32
PERMUTATION_BACKGROUND_ROWS = 50
# Permutations per row for the fallback: shap's own default ("auto" = 10 forward and backward).
PERMUTATIONS = 10
# Measured here: interventional TreeSHAP costs about this many times more per (tree, background
# row, depth level) than path-dependent TreeSHAP per (leaf, depth level squared).
INTERVENTIONAL_COST_RATIO = 95.0
# Rows in the first, timing chunk of a path without a predict-based estimate.
FIRST_CHUNK_ROWS = 5
# Charts stay under about 1 MB of JSON: the beeswarm shows at most this many rows.
BEESWARM_MAX_ROWS = 2_000
DEPENDENCE_MAX_ROWS = 5_000
# Dense SHAP floats per chunk (rows x transformed features x outputs): bounds memory on text.
MAX_CHUNK_FLOATS = 2_000_000

_TREE_MODELS = {
    "RandomForestRegressor", "RandomForestClassifier", "ExtraTreesRegressor", "ExtraTreesClassifier",
    "GradientBoostingRegressor", "GradientBoostingClassifier", "HistGradientBoostingRegressor",
    "HistGradientBoostingClassifier", "DecisionTreeRegressor", "DecisionTreeClassifier",
    "ExtraTreeRegressor", "ExtraTreeClassifier",
}
_LINEAR_MODELS = {
    "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV", "Lars",
    "LassoLars", "BayesianRidge", "ARDRegression", "HuberRegressor", "SGDRegressor", "LinearSVR",
    "LogisticRegression", "LogisticRegressionCV", "SGDClassifier", "RidgeClassifier", "RidgeClassifierCV",
    "LinearSVC", "Perceptron",
}


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass
class TokenDetail:
    """Word-level SHAP of one text column, for the words present in each explained row.

    counts: (rows x vocabulary) token counts of the explained rows; contributions: one matrix per
    output with the same sparsity (a present token's SHAP value); absent: (rows x outputs), the
    summed SHAP of the vocabulary words NOT in the row (for trees "does not say 'great'" matters).
    """

    tokens: np.ndarray
    counts: sp.csr_matrix
    contributions: list[sp.csr_matrix]
    absent: np.ndarray


@dataclass
class Explanation:
    """SHAP values of some rows of a run, summed back to the original columns.

    values / class_values / base_values are views of output_values / output_base:
    - output_values: (rows, columns, outputs). outputs = [target] for a regressor, the class
      labels (in predict_proba order) for a classifier.
    - values: (rows, columns) for the default output (a regressor's only output; for a
      classifier `default_class`: the positive class of a binary model, else the class most
      often predicted). `class_values` is the full (rows, columns, classes) array for
      classifiers and None for regressors.
    - base_values: (outputs,) the base value per output; base + row sum = the model's output
      for that row in `output_space` (checked: `additivity_error` is the largest miss).
    """

    run_id: str
    task: str
    target: str
    columns: list[str]
    kinds: dict[str, str]
    rows: pd.DataFrame  # the raw rows explained, with their original index
    outputs: list[Any]
    output_values: np.ndarray
    output_base: np.ndarray
    output_space: str
    explainer: str  # "tree" | "linear" | "deep" | "gradient" | "permutation"
    method: str  # the explainer in words, e.g. "shap.TreeExplainer, path-dependent (no background)"
    predictions: np.ndarray  # the pipeline's predict() per explained row
    n_explained: int
    n_requested: int
    seconds: float
    background_size: int
    background: str  # how the background was chosen, in words
    note: str
    additivity_error: float
    exact: bool  # False where the explainer only approximates (gradient)
    tokens: dict[str, TokenDetail] = field(default_factory=dict)
    seconds_all_rows: float | None = None  # estimate for every requested row, when sampled

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    @property
    def row_index(self) -> pd.Index:
        return self.rows.index

    @property
    def classes(self) -> list[Any] | None:
        return self.outputs if self.is_classifier else None

    @property
    def default_class(self) -> Any:
        if not self.is_classifier:
            return None
        if len(self.outputs) == 2:
            return self.outputs[1]
        labels, counts = np.unique(np.asarray(self.predictions, dtype=object).astype(str), return_counts=True)
        best = labels[int(np.argmax(counts))] if len(labels) else str(self.outputs[0])
        return next((c for c in self.outputs if str(c) == best), self.outputs[0])

    @property
    def values(self) -> np.ndarray:
        return self.output_values[:, :, self.output_position()]

    @property
    def class_values(self) -> np.ndarray | None:
        return self.output_values if self.is_classifier else None

    @property
    def base_values(self) -> np.ndarray:
        return self.output_base

    @property
    def sampled(self) -> bool:
        return self.n_explained < self.n_requested

    def output_position(self, class_: Any = None, row_position: int | None = None) -> int:
        """Index into outputs: the class asked for; else the row's predicted class; else the default."""
        if not self.is_classifier:
            return 0
        if class_ is None:
            class_ = self.predictions[row_position] if row_position is not None else self.default_class
        for i, label in enumerate(self.outputs):
            if label == class_ or str(label) == str(class_):
                return i
        raise ExplainError(f"{class_!r} is not one of the model's classes: {', '.join(map(str, self.outputs))}.")

    def model_output(self, class_: Any = None) -> np.ndarray:
        """base + sum of SHAP per row: the model's output in output_space for that class."""
        k = self.output_position(class_)
        return self.output_base[k] + self.output_values[:, :, k].sum(axis=1)

    def output_label(self, k: int) -> str:
        """What the SHAP numbers for output k are measured in, for axis titles."""
        if not self.is_classifier:
            return f"{self.target} ({self.output_space})"
        return f"{self.output_space} of class {self.outputs[k]}"


# --------------------------------------------------------------------------------------------
# Explainer plans: one per explainer path, all with the same small interface
# --------------------------------------------------------------------------------------------


@dataclass
class Explainer:
    explainer: str
    method: str
    output_space: str
    n_raw_outputs: int  # 1 for a regressor or a single-output binary model
    expand_binary: bool  # one raw output that stands for class 1 of two
    background_size: int
    background: str
    max_chunk: int
    attribute: Callable[[Any], tuple[np.ndarray, np.ndarray]]  # inputs -> (phi (n,F,K), base (K,))
    model_output: Callable[[Any], np.ndarray]  # inputs -> (n, K) in output space
    original_space: bool = False  # True: phi is already per original column (permutation)
    seconds_per_row: float | None = None  # a predict-timed estimate before any row is explained
    exact: bool = True
    setup_seconds: float = 0.0

    @property
    def reusable(self) -> bool:
        """Worth keeping per run: a fast path over the transformed features (the permutation
        fallback is bound to the rows it was built for)."""
        return self.explainer in ("tree", "linear", "deep") and not self.original_space


def _final_estimator(run: Any) -> Any:
    return run.pipeline.steps[-1][1]


def _preprocessor(run: Any) -> Any:
    return run.pipeline.named_steps["preprocess"]


def _as_2d(a: Any) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    return arr.reshape(len(arr), -1)


def _dense(X: Any) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def _sample_rows(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    if len(frame) <= n:
        return frame
    return frame.sample(n=n, random_state=seed)


def _classifier_outputs(run: Any, model: Any) -> list[Any]:
    classes = getattr(model, "classes_", None)
    if classes is None:
        classes = run.classes
    return list(classes) if classes is not None else []


def _tree_plan(run: Any, model: Any, background_size: int) -> Explainer:
    import shap

    name = type(model).__name__
    trees = _sklearn_trees(model)
    max_nodes = max((t.node_count for t in trees), default=0)
    max_depth = max((t.max_depth for t in trees), default=1)
    leaves = sum(t.n_leaves for t in trees) if trees else 0
    bg_rows = min(background_size, TREE_BACKGROUND_ROWS)
    # Cost per explained row, in the units INTERVENTIONAL_COST_RATIO was measured in.
    path_cost = leaves * max(max_depth, 1) ** 2
    interventional_cost = INTERVENTIONAL_COST_RATIO * len(trees) * bg_rows * max(max_depth, 1)
    use_background = (
        bool(trees)
        and max_nodes <= SHAP_TREE_NODE_LIMIT
        and not name.startswith("HistGradientBoosting")
        and interventional_cost < path_cost
    )
    classifier = run.task != "regression"
    multiclass_gbm = name == "GradientBoostingClassifier" and model.estimators_.shape[1] > 1
    if name.startswith(("GradientBoosting", "HistGradientBoosting")) and classifier:
        space = "log-odds"
    elif classifier:
        space = "probability"
    else:
        space = "target units"

    data = None
    background = "none: path-dependent TreeSHAP uses the training rows each tree saw"
    size = 0
    if use_background:
        sample = _sample_rows(run.X_background, bg_rows)
        # float32, as scikit-learn sees inputs (see _round_thresholds_for_float32).
        data = _dense(_preprocessor(run).transform(sample)).astype(np.float32)
        size = len(sample)
        background = f"random sample of {size} training rows (trees have at most {max_nodes:,} nodes)"
    elif max_nodes > SHAP_TREE_NODE_LIMIT:
        background = (
            f"none: path-dependent TreeSHAP (trees have up to {max_nodes:,} nodes, above the "
            f"{SHAP_TREE_NODE_LIMIT:,} at which shap crashes with background data)"
        )
    mode = "interventional" if use_background else "tree_path_dependent"

    def build(data: np.ndarray | None, mode: str) -> list[Any]:
        models = _gbm_class_models(model) if multiclass_gbm else [model]
        built = [shap.TreeExplainer(m, data=data, feature_perturbation=mode) for m in models]
        if data is not None:
            for explainer in built:
                _round_thresholds_for_float32(explainer)
        return built

    explainers = build(data, mode)

    def attribute(X: Any) -> tuple[np.ndarray, np.ndarray]:
        dense = _dense(X)
        parts, bases = [], []
        for explainer in explainers:
            phi = np.asarray(explainer.shap_values(dense, check_additivity=False), dtype=float)
            parts.append(phi.reshape(phi.shape[0], phi.shape[1], -1))
            bases.append(np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)).ravel())
        return np.concatenate(parts, axis=2), np.concatenate(bases)

    def model_output(X: Any) -> np.ndarray:
        if space == "log-odds":
            return _as_2d(model.decision_function(X if not name.startswith("Hist") else _dense(X)))
        if space == "probability":
            return _as_2d(model.predict_proba(X))
        return _as_2d(model.predict(X if not name.startswith("Hist") else _dense(X)))

    if use_background:
        # Background rows are training rows, the ones that sit next to split points: check that
        # the sums hold on a few of them, else use the mode that needs no background.
        probe = data[: min(20, len(data))]
        phi, probe_base = attribute(probe)
        if np.abs(probe_base + phi.sum(axis=1) - model_output(probe)).max() > 1e-4 * _scale(model_output(probe)):
            use_background, mode, data, size = False, "tree_path_dependent", None, 0
            background = "none: path-dependent TreeSHAP (background values failed the additivity check)"
            explainers[:] = build(None, mode)
    n_outputs = len(_classifier_outputs(run, model)) if classifier else 1
    single = classifier and space == "log-odds" and n_outputs == 2
    mode_text = "interventional (background data)" if use_background else "path-dependent (no background data)"
    return Explainer(
        explainer="tree",
        method=f"shap.TreeExplainer, {mode_text}",
        output_space=space,
        n_raw_outputs=1 if single or not classifier else n_outputs,
        expand_binary=single,
        background_size=size,
        background=background,
        max_chunk=500,
        attribute=attribute,
        model_output=model_output,
    )


def _scale(values: np.ndarray) -> float:
    return max(1.0, float(np.abs(values).max()))


def _round_thresholds_for_float32(explainer: Any) -> None:
    """Make shap's interventional code split background rows exactly as scikit-learn does.

    scikit-learn compares float32 inputs with float64 thresholds; shap's interventional code
    compares in float32, so a training value next to a split can land on the other side. The
    largest float32 not above each threshold splits every float32 input identically in both.
    """
    ensemble = getattr(explainer, "model", None)
    thresholds = getattr(ensemble, "thresholds", None)
    if thresholds is None or getattr(ensemble, "input_dtype", None) is not np.float32:
        return
    as32 = thresholds.astype(np.float32)
    as32 = np.where(as32.astype(np.float64) > thresholds, np.nextafter(as32, np.float32(-np.inf)), as32)
    ensemble.thresholds = as32.astype(np.float64)


def _sklearn_trees(model: Any) -> list[Any]:
    """The sklearn Tree objects of a tree model (for node counts and depth); [] for histogram GBMs."""
    if hasattr(model, "tree_"):
        return [model.tree_]
    estimators = getattr(model, "estimators_", None)
    if estimators is None:
        return []
    return [e.tree_ for e in np.ravel(np.asarray(estimators, dtype=object)) if hasattr(e, "tree_")]


def _gbm_class_models(model: Any) -> list[dict[str, Any]]:
    """A multiclass GradientBoostingClassifier as one shap tree model per class (shap takes binary only).

    Class k's raw score is its initial score plus learning_rate times the sum of its trees; that
    is exactly shap's dict model format, with the initial score as base_offset.
    """
    n_classes = model.estimators_.shape[1]
    n_features = model.n_features_in_
    probe = np.zeros((1, n_features))
    raw = model.decision_function(probe).ravel()
    models = []
    for k in range(n_classes):
        column = model.estimators_[:, k]
        tree_sum = sum(float(est.predict(probe)[0]) for est in column)
        trees = []
        for est in column:
            t = est.tree_
            default = t.children_left
            if hasattr(t, "missing_go_to_left"):
                default = np.where(t.missing_go_to_left, t.children_left, t.children_right)
            trees.append(
                {
                    "children_left": t.children_left.copy(),
                    "children_right": t.children_right.copy(),
                    "children_default": np.asarray(default).copy(),
                    "features": t.feature.copy(),
                    "thresholds": t.threshold.astype(np.float64),
                    "values": t.value.reshape(t.node_count, 1).astype(np.float64) * model.learning_rate,
                    "node_sample_weight": t.weighted_n_node_samples.astype(np.float64),
                }
            )
        models.append(
            {
                "trees": trees,
                "base_offset": float(raw[k] - model.learning_rate * tree_sum),
                "tree_output": "raw_value",
                "input_dtype": np.float32,
                "internal_dtype": np.float64,
            }
        )
    return models


def _linear_plan(run: Any, model: Any) -> Explainer:
    pre = _preprocessor(run)
    background = pre.transform(run.X_background)
    mean = np.asarray(background.mean(axis=0)).ravel()
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=float))  # (K, F)
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=float)).ravel()
    if intercept.size == 1 and coef.shape[0] > 1:
        intercept = np.repeat(intercept, coef.shape[0])
    classifier = run.task != "regression"
    name = type(model).__name__
    if not classifier:
        space = "target units"
    elif name.startswith("LogisticRegression") or getattr(model, "loss", "") == "log_loss":
        space = "log-odds"
    else:
        space = "decision score"
    base = coef @ mean + intercept

    def attribute(X: Any) -> tuple[np.ndarray, np.ndarray]:
        centered = _dense(X) - mean
        return centered[:, :, None] * coef.T[None, :, :], base

    def model_output(X: Any) -> np.ndarray:
        if classifier:
            return _as_2d(model.decision_function(X))
        return _as_2d(model.predict(X))

    n_outputs = coef.shape[0]
    single = classifier and n_outputs == 1
    return Explainer(
        explainer="linear",
        method="linear SHAP, coef x (x - background mean): what shap.LinearExplainer computes with an "
        "independent masker",
        output_space=space,
        n_raw_outputs=n_outputs,
        expand_binary=single,
        background_size=background.shape[0],
        background=f"mean of {background.shape[0]} training rows",
        max_chunk=max(1, MAX_CHUNK_FLOATS // max(1, coef.shape[1] * n_outputs)),
        attribute=attribute,
        model_output=model_output,
    )


def _torch_plan(run: Any, model: Any, background_size: int) -> Explainer:
    import shap
    import torch

    module = model.explainable_module()
    module.eval()
    sample = _sample_rows(run.X_background, background_size)
    bg = torch.as_tensor(_dense(_preprocessor(run).transform(sample)), dtype=torch.float32)
    classifier = run.task != "regression"
    space = "probability" if classifier else "target units"
    n_outputs = len(_classifier_outputs(run, model)) if classifier else 1
    def outputs(X: Any) -> np.ndarray:
        with torch.no_grad():
            return _as_2d(module(torch.as_tensor(_dense(X), dtype=torch.float32)).numpy())

    base = outputs(bg).mean(axis=0)
    deep = shap.DeepExplainer(module, bg)

    def deep_attribute(X: Any) -> tuple[np.ndarray, np.ndarray]:
        with _one_torch_thread():
            phi = deep.shap_values(torch.as_tensor(_dense(X), dtype=torch.float32), check_additivity=False)
        phi = np.asarray(phi, dtype=float)
        return phi.reshape(phi.shape[0], phi.shape[1], -1), np.asarray(deep.expected_value, dtype=float).ravel()

    explainer, method, attribute, exact = "deep", "shap.DeepExplainer (DeepLIFT)", deep_attribute, True
    try:
        probe = bg[: min(3, len(bg))]
        phi, probe_base = deep_attribute(probe)
        miss = np.abs(probe_base + phi.sum(axis=1) - outputs(probe)).max()
        scale = max(1.0, float(np.abs(outputs(bg)).max()))
        ok = bool(np.isfinite(miss) and miss <= 1e-3 * scale)
    except Exception:  # an unsupported layer: fall back to expected gradients
        ok = False
    if not ok:
        gradient = shap.GradientExplainer(module, bg)

        def gradient_attribute(X: Any) -> tuple[np.ndarray, np.ndarray]:
            with _one_torch_thread():
                phi = gradient.shap_values(torch.as_tensor(_dense(X), dtype=torch.float32), nsamples=200, rseed=0)
            phi = np.asarray(phi, dtype=float)
            return phi.reshape(phi.shape[0], phi.shape[1], -1), base

        explainer, attribute, exact = "gradient", gradient_attribute, False
        method = "shap.GradientExplainer (expected gradients; DeepLIFT cannot handle a layer of this network)"

    return Explainer(
        explainer=explainer,
        method=method,
        output_space=space,
        n_raw_outputs=n_outputs,
        expand_binary=False,
        background_size=len(bg),
        background=f"random sample of {len(bg)} training rows",
        max_chunk=100,
        attribute=attribute,
        model_output=outputs,
        exact=exact,
    )


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """DeepExplainer runs one small batch per row: one thread is 10x faster than contended ones here.

    torch's thread count is process-wide, so it is restored right after each call.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class _RowSource:
    """Rows addressed by an integer per column: the trick that lets shap mask ORIGINAL columns.

    Position i < n is explained row i; position n + b is background row b. A matrix Z of such
    positions (rows x columns) becomes a raw frame whose column j comes from row Z[:, j], so
    masking column j means taking it from a background row, for any column kind (text included).
    """

    def __init__(self, rows: pd.DataFrame, background: pd.DataFrame, columns: list[str]):
        combined = pd.concat([rows[columns], background[columns]], ignore_index=True)
        self.columns = columns
        self.arrays = [combined[c].array for c in columns]
        self.n_rows = len(rows)

    def frame(self, Z: np.ndarray) -> pd.DataFrame:
        positions = np.asarray(Z, dtype=np.int64)
        return pd.DataFrame({c: a.take(positions[:, j]) for j, (c, a) in enumerate(zip(self.columns, self.arrays, strict=True))})


def _permutation_plan(run: Any, rows: pd.DataFrame, background_size: int) -> Explainer:
    pipeline = run.pipeline
    classifier = run.task != "regression"
    estimator = _final_estimator(run)
    if classifier and hasattr(estimator, "predict_proba"):
        space, predict = "probability", pipeline.predict_proba
    elif classifier and hasattr(estimator, "decision_function"):
        space, predict = "decision score", pipeline.decision_function
    elif classifier:
        raise ExplainError("This classifier gives neither probabilities nor scores, so SHAP has nothing to explain.")
    else:
        space, predict = "target units", pipeline.predict
    sample = _sample_rows(run.X_background, min(background_size, PERMUTATION_BACKGROUND_ROWS))
    columns = list(run.features)
    source = _RowSource(rows, sample, columns)
    z_background = np.tile(np.arange(len(sample))[:, None] + source.n_rows, (1, len(columns)))

    def f(Z: np.ndarray) -> np.ndarray:
        return _as_2d(predict(source.frame(Z)))

    explainer = _PermutationShap(f, z_background, PERMUTATIONS, seed=0)
    start = time.perf_counter()
    probe = f(z_background)
    per_prediction = (time.perf_counter() - start) / len(z_background)
    explainer.base = probe.mean(axis=0)
    n_outputs = probe.shape[1]
    single = classifier and n_outputs == 1
    return Explainer(
        explainer="permutation",
        method=f"permutation SHAP over the original columns ({PERMUTATIONS} antithetic permutations per row, "
        "shap's PermutationExplainer algorithm, batched)",
        output_space=space,
        n_raw_outputs=n_outputs,
        expand_binary=single,
        background_size=len(sample),
        background=f"random sample of {len(sample)} training rows",
        max_chunk=max(1, 200_000 // explainer.predictions_per_row),
        attribute=explainer.attribute,
        model_output=lambda idx: f(explainer.positions(idx)),
        original_space=True,
        seconds_per_row=per_prediction * explainer.predictions_per_row * 1.2,
    )


class _PermutationShap:
    """Permutation SHAP (Strumbelj & Kononenko; shap's PermutationExplainer) for many rows at once.

    Per row and permutation, columns are switched on one by one (forward) and then off in the same
    order (backward); each switch's change in the background-averaged output is that column's
    contribution. Forward and backward passes telescope to f(x) - f(background), so the values are
    exactly additive. All masked inputs of a chunk go to the model in one batched call (shap
    calls it per row, and compiles its masker with numba on first use: 20 s here).
    """

    def __init__(self, f: Callable[[np.ndarray], np.ndarray], z_background: np.ndarray, permutations: int, seed: int):
        self.f = f
        self.z_background = z_background
        self.n_cols = z_background.shape[1]
        self.permutations = permutations
        self.seed = seed
        self.base: np.ndarray | None = None
        # Masked states per permutation that are neither all-on (f(x)) nor all-off (the base).
        self.states = max(0, 2 * (self.n_cols - 1))
        self.predictions_per_row = max(1, self.permutations * self.states * len(z_background) + 1)

    def positions(self, idx: Any) -> np.ndarray:
        return np.repeat(np.asarray(idx, dtype=np.int64)[:, None], self.n_cols, axis=1)

    def attribute(self, idx: Any) -> tuple[np.ndarray, np.ndarray]:
        assert self.base is not None
        idx = np.asarray(idx, dtype=np.int64)
        R, P, M, B = len(idx), self.permutations, self.n_cols, len(self.z_background)
        full = self.f(self.positions(idx))  # (R, K): every column on
        K = full.shape[1]
        phi = np.zeros((R, M, K))
        if M == 1:
            phi[:, 0, :] = full - self.base
            return phi, self.base
        # P permutations per row, seeded by the row's position: the same values however rows are chunked.
        orders = np.stack([np.argsort(np.random.default_rng((self.seed, int(i))).random((P, M)), axis=1) for i in idx])
        # on[r, p, s, m]: column m is taken from the row in state s. Forward states 1..M-1 have the
        # first s columns of the order on; backward states have all but the first s on.
        rank = np.argsort(orders, axis=2)  # rank[r, p, m] = where column m comes in the order
        steps = np.arange(1, M)
        forward = rank[:, :, None, :] < steps[None, None, :, None]
        backward = rank[:, :, None, :] >= steps[None, None, :, None]
        on = np.concatenate([forward, backward], axis=2)  # (R, P, 2(M-1), M)
        Z = np.where(on[:, :, :, None, :], idx[:, None, None, None, None], self.z_background[None, None, None, :, :])
        out = self.f(Z.reshape(-1, M)).reshape(R, P, 2 * (M - 1), B, K).mean(axis=3)
        base = np.broadcast_to(self.base, (R, P, 1, K))
        whole = np.broadcast_to(full[:, None, None, :], (R, P, 1, K))
        # Values along the forward path: base, states 1..M-1, f(x); backward: f(x), states, base.
        fwd = np.concatenate([base, out[:, :, : M - 1], whole], axis=2)  # (R, P, M+1, K)
        bwd = np.concatenate([whole, out[:, :, M - 1 :], base], axis=2)
        gain_fwd = np.diff(fwd, axis=2)  # step s adds column orders[..., s]
        gain_bwd = -np.diff(bwd, axis=2)  # step s removes column orders[..., s]
        r_index = np.arange(R)[:, None, None]
        for gains in (gain_fwd, gain_bwd):
            np.add.at(phi, (np.broadcast_to(r_index, orders.shape), orders), gains)
        return phi / (2 * P), self.base


def _short(exc: BaseException, limit: int = 200) -> str:
    """An exception's first line, cut to a sentence's length."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def prepare(run: Any, rows: pd.DataFrame | None = None, background_size: int = 100) -> Explainer:
    """Choose and build the explainer for this run's final estimator, once.

    Hand it to explain(..., explainer=...) to explain many row sets without building it again
    (the what-if form does, per row). Explainer.reusable says whether that is worth it.
    """
    rows = _feature_rows(run, rows)
    model = _final_estimator(run)
    name = type(model).__name__
    start = time.perf_counter()
    try:
        if hasattr(model, "explainable_module"):
            plan = _torch_plan(run, model, background_size)
        elif name in _TREE_MODELS:
            try:
                plan = _tree_plan(run, model, background_size)
            except Exception as exc:  # a tree shap does not read: the slow but general path
                if type(exc).__name__ not in {"InvalidModelError", "NotImplementedError"}:
                    raise
                plan = _permutation_plan(run, rows, background_size)
        elif name in _LINEAR_MODELS and hasattr(model, "coef_"):
            plan = _linear_plan(run, model)
        else:
            plan = _permutation_plan(run, rows, background_size)
    except ExplainError:
        raise
    except Exception as exc:
        raise ExplainError(f"SHAP could not set up an explainer for this {name} model ({_short(exc)}).") from exc
    plan.setup_seconds = time.perf_counter() - start
    return plan


# --------------------------------------------------------------------------------------------
# The computation
# --------------------------------------------------------------------------------------------


def _feature_rows(run: Any, rows: pd.DataFrame | None) -> pd.DataFrame:
    frame = run.X_test if rows is None else rows
    if not isinstance(frame, pd.DataFrame):
        raise ExplainError("Rows to explain must be a table (a pandas DataFrame) with the model's columns.")
    missing = [c for c in run.features if c not in frame.columns]
    if missing:
        raise ExplainError(f"The rows lack the model's columns {', '.join(map(str, missing))}: add them and try again.")
    if frame.empty:
        raise ExplainError("There are no rows to explain: pick at least one row.")
    return frame[list(run.features)]


def _column_groups(run: Any, plan: Explainer) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """(transformed features x original columns) 0/1 matrix, and per text column (positions, tokens)."""
    columns = list(run.features)
    if plan.original_space:
        return np.eye(len(columns)), {}
    origins = output_features(_preprocessor(run))
    where = {c: i for i, c in enumerate(columns)}
    G = np.zeros((len(origins), len(columns)))
    G[np.arange(len(origins)), [where[o] for o, _ in origins]] = 1.0
    text = {}
    for c in run.schema.by_kind("text"):
        if c in where:
            idx = np.array([i for i, (o, _) in enumerate(origins) if o == c], dtype=np.int64)
            text[c] = (idx, np.array([origins[i][1] for i in idx], dtype=object))
    return G, text


def _expand(phi: np.ndarray, base: np.ndarray, plan: Explainer) -> tuple[np.ndarray, np.ndarray]:
    if plan.expand_binary:
        return np.concatenate([-phi, phi], axis=2), np.concatenate([-base, base])
    return phi, base


def explain(
    run: Any,
    rows: pd.DataFrame | None = None,
    max_seconds: float = 5.0,
    progress: Progress | None = None,
    allow_slow: bool = False,
    background_size: int = 100,
    explainer: Explainer | None = None,
) -> Explanation:
    """SHAP values of `rows` (default: the run's held-out rows) on the original columns.

    explainer: one built by prepare(run) for this run, reused instead of building a new one.

    Stops after about max_seconds with a seeded random sample of the rows unless allow_slow is
    True; the note says how many rows were explained. progress(fraction, message) is called per
    chunk. Raises ExplainError with a sentence a person can act on.
    """
    started = time.perf_counter()
    report = progress or (lambda fraction, message: None)
    raw = _feature_rows(run, rows)
    report(0.0, "choosing an explainer")
    plan = explainer if explainer is not None else prepare(run, raw, background_size)
    try:
        return _run_plan(run, raw, plan, started, max_seconds, allow_slow, report)
    except ExplainError:
        raise
    except Exception as exc:
        raise ExplainError(f"SHAP failed on this model ({type(exc).__name__}: {_short(exc)}).") from exc


def _run_plan(
    run: Any,
    raw: pd.DataFrame,
    plan: Explainer,
    started: float,
    max_seconds: float,
    allow_slow: bool,
    report: Progress,
) -> Explanation:
    n = len(raw)
    columns = list(run.features)
    if plan.original_space:
        inputs: Any = np.arange(n)
    else:
        try:
            inputs = _preprocessor(run).transform(raw)
        except Exception as exc:
            raise ExplainError(f"The rows do not fit the model's preprocessing ({_short(exc)}).") from exc
        if sp.issparse(inputs):
            inputs = inputs.tocsr()
    G, text = _column_groups(run, plan)
    # Dense SHAP per chunk is rows x transformed features x outputs: bounded for big vocabularies.
    widest = max(1, MAX_CHUNK_FLOATS // (G.shape[0] * plan.n_raw_outputs * (2 if plan.expand_binary else 1)))
    max_chunk = min(plan.max_chunk, widest)
    order = np.random.default_rng(0).permutation(n)
    rate = plan.seconds_per_row
    done = 0
    explain_seconds = 0.0
    grouped_parts: list[np.ndarray] = []
    token_parts: dict[str, list[tuple[sp.csr_matrix, list[sp.csr_matrix], np.ndarray]]] = {c: [] for c in text}
    base = None
    while done < n:
        remaining_budget = max_seconds - (time.perf_counter() - started)
        if rate is None:
            size = min(FIRST_CHUNK_ROWS, n, max_chunk)
        else:
            # Chunks of about half a second keep progress moving; the budget caps the last one.
            size = max(1, min(max_chunk, n - done, int(0.5 / max(rate, 1e-9)) or 1))
            if not allow_slow:
                affordable = int(remaining_budget / max(rate, 1e-9))
                if affordable < 1 and done > 0:
                    break
                size = max(1, min(size, affordable))
        chunk = np.sort(order[done : done + size])
        X = inputs[chunk]
        t0 = time.perf_counter()
        phi, chunk_base = plan.attribute(X)
        phi, chunk_base = _expand(phi, chunk_base, plan)
        base = chunk_base if base is None else base
        grouped_parts.append(np.einsum("nfk,fc->nck", phi, G))
        for c, (idx, _) in text.items():
            counts = sp.csr_matrix(X[:, idx]) if sp.issparse(X) else sp.csr_matrix(np.asarray(X)[:, idx])
            counts.eliminate_zeros()
            rows_i, cols_i = counts.nonzero()
            contributions = []
            for k in range(phi.shape[2]):
                vals = phi[rows_i, idx[cols_i], k]
                contributions.append(sp.csr_matrix((vals, (rows_i, cols_i)), shape=counts.shape))
            present = np.stack([np.asarray(m.sum(axis=1)).ravel() for m in contributions], axis=1)
            absent = grouped_parts[-1][:, columns.index(c), :] - present
            token_parts[c].append((counts, contributions, absent))
        done += len(chunk)
        explain_seconds += time.perf_counter() - t0
        rate = explain_seconds / done
        report(done / n, f"{plan.explainer} explainer: {done:,} of {n:,} rows")

    # Chunks were taken as sorted slices of the random order; restore the original row order.
    positions = np.concatenate(_chunk_positions(order, [p.shape[0] for p in grouped_parts]))
    back = np.argsort(positions)
    values = np.concatenate(grouped_parts, axis=0)[back]
    chosen = positions[back]
    explained = raw.iloc[chosen]
    # The model's own output on the explained rows, in the same space: one call, for the check.
    outputs_model = plan.model_output(inputs[chosen])
    if plan.expand_binary:
        outputs_model = np.concatenate([-outputs_model, outputs_model], axis=1)
    tokens = {}
    for c, (_, vocabulary) in text.items():
        parts = token_parts[c]
        counts = sp.vstack([p[0] for p in parts]).tocsr()[back]
        contributions = [sp.vstack([p[1][k] for p in parts]).tocsr()[back] for k in range(values.shape[2])]
        absent = np.concatenate([p[2] for p in parts], axis=0)[back]
        tokens[c] = TokenDetail(vocabulary, counts, contributions, absent)
    assert base is not None
    additivity = float(np.abs(base[None, :] + values.sum(axis=1) - outputs_model).max())
    predictions = np.asarray(run.pipeline.predict(explained))
    seconds = time.perf_counter() - started
    outputs = _classifier_outputs(run, _final_estimator(run)) if run.task != "regression" else [run.target]
    if len(outputs) != values.shape[2]:
        outputs = list(range(values.shape[2]))
    all_rows = None
    note = f"explained all {n:,} rows in {seconds:.1f} s"
    if done < n:
        all_rows = plan.setup_seconds + (explain_seconds / done) * n
        note = (
            f"explained {done:,} of {n:,} rows (a seeded random sample), about {seconds:.0f} s; "
            f"all rows would take about {_duration(all_rows)}"
        )
    return Explanation(
        run_id=str(run.run_id),
        task=run.task,
        target=str(run.target),
        columns=columns,
        kinds={c: run.schema[c].kind for c in columns},
        rows=explained,
        outputs=outputs,
        output_values=values,
        output_base=np.asarray(base, dtype=float),
        output_space=plan.output_space,
        explainer=plan.explainer,
        method=plan.method,
        predictions=predictions,
        n_explained=done,
        n_requested=n,
        seconds=seconds,
        background_size=plan.background_size,
        background=plan.background,
        note=note,
        additivity_error=additivity,
        exact=plan.exact,
        tokens=tokens,
        seconds_all_rows=all_rows,
    )


def _chunk_positions(order: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    out, start = [], 0
    for size in sizes:
        out.append(np.sort(order[start : start + size]))
        start += size
    return out


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_seconds(run: Any, n_rows: int, background_size: int = 100) -> float:
    """Seconds explain() would take for n_rows held-out rows, from a timed setup and a timed sample.

    The fallback is priced from the pipeline's measured predict time x evaluations per row x
    background rows; the fast paths from explaining a few rows.
    """
    raw = _feature_rows(run, None)
    plan = prepare(run, raw, background_size)
    if plan.seconds_per_row is not None:
        return plan.setup_seconds + plan.seconds_per_row * n_rows
    probe = raw.iloc[: min(FIRST_CHUNK_ROWS, len(raw))]
    X = _preprocessor(run).transform(probe)
    start = time.perf_counter()
    plan.attribute(X.tocsr() if sp.issparse(X) else X)
    per_row = (time.perf_counter() - start) / len(probe)
    return plan.setup_seconds + per_row * n_rows


def cache_key(run: Any, rows: pd.DataFrame | None = None) -> str:
    """run id + a hash of the rows (index and values): one SHAP computation per (run, rows)."""
    frame = run.X_test if rows is None else rows
    digest = hashlib.sha1()
    digest.update(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return f"{run.run_id}:{digest.hexdigest()[:16]}"


def token_contributions(exp: Explanation, row_position: int, column: str, class_: Any = None) -> pd.DataFrame:
    """The words of one row's text column with their SHAP values (token, count, contribution).

    Sorted by contribution, largest push up first. attrs["absent"] holds the summed SHAP of the
    vocabulary words the text does not contain (for trees, a missing word can matter).
    """
    detail = exp.tokens.get(column)
    if detail is None:
        if exp.kinds.get(column) == "text":
            raise ExplainError(
                f"Word-level detail for {column!r} needs a tree, linear or neural model: this "
                f"{exp.explainer} explainer treats the whole text as one column."
            )
        raise ExplainError(f"{column!r} is not a text column of this model.")
    k = exp.output_position(class_, row_position)
    counts = detail.counts.getrow(row_position)
    values = detail.contributions[k].getrow(row_position)
    frame = pd.DataFrame(
        {
            "token": detail.tokens[counts.indices].astype(str),
            "count": counts.data.astype(int),
            "contribution": values.toarray().ravel()[counts.indices],
        }
    )
    frame = frame.sort_values("contribution", ascending=False, kind="stable").reset_index(drop=True)
    frame.attrs["absent"] = float(detail.absent[row_position, k])
    return frame


# --------------------------------------------------------------------------------------------
# Feature values as charts need them
# --------------------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """A raw cell as a short label: numbers to 4 significant digits, long text cut to 40 chars."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "missing"
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    text = " ".join(str(value).split())
    return text if len(text) <= 40 else text[:39] + "…"


def feature_numbers(exp: Explanation, column: str) -> np.ndarray:
    """A number per row for a column: its value (numeric), level code (categorical), word count (text)."""
    s = exp.rows[column]
    kind = exp.kinds.get(column)
    if kind == "numeric":
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    if kind == "text":
        return np.array([len(t.split()) for t in to_text(s)], dtype=float)
    return category_codes(exp, column)[0]


def category_codes(exp: Explanation, column: str) -> tuple[np.ndarray, list[str]]:
    """Per row the position of its shown level among the sorted levels (NaN when missing), and the levels."""
    s = exp.rows[column]
    shown = [None if pd.isna(v) else format_value(v) for v in s]
    levels = sorted({v for v in shown if v is not None})
    where = {level: i for i, level in enumerate(levels)}
    codes = np.array([np.nan if v is None else where[v] for v in shown], dtype=float)
    return codes, levels


def _normalized(values: np.ndarray) -> np.ndarray:
    """0..1 per feature between its 5th and 95th percentiles (shap's beeswarm coloring); NaN stays."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.full(values.shape, np.nan)
    low, high = np.percentile(finite, [5, 95])
    if high <= low:
        low, high = finite.min(), finite.max()
    if high <= low:
        return np.where(np.isfinite(values), 0.5, np.nan)
    return np.clip((values - low) / (high - low), 0, 1)


def strongest_interaction(exp: Explanation, feature: str, class_: Any = None) -> str | None:
    """The column whose values best explain the vertical spread of feature's SHAP values.

    A cheap heuristic in the spirit of shap.approximate_interactions: sort rows by the feature,
    take each row's SHAP minus the mean of its neighbours, and pick the other column that
    correlates most (in absolute value) with that residual, bin by bin.
    """
    others = [c for c in exp.columns if c != feature]
    if not others or len(exp.rows) < 4:
        return others[0] if others else None
    k = exp.output_position(class_)
    shap_values = exp.output_values[:, exp.columns.index(feature), k]
    x = feature_numbers(exp, feature)
    order = np.argsort(np.where(np.isfinite(x), x, np.inf), kind="stable")
    window = max(3, len(order) // 20)
    smooth = pd.Series(shap_values[order]).rolling(window, center=True, min_periods=1).mean().to_numpy()
    residual = shap_values[order] - smooth
    bins = max(1, len(order) // max(10, len(order) // 10))
    best, best_score = None, -1.0
    for c in others:
        v = feature_numbers(exp, c)[order]
        v = np.where(np.isfinite(v), v, np.nanmean(v) if np.isfinite(v).any() else 0.0)
        score = 0.0
        for part_v, part_r in zip(np.array_split(v, bins), np.array_split(residual, bins), strict=True):
            if len(part_v) > 2 and part_v.std() > 0 and part_r.std() > 0:
                score += abs(float(np.corrcoef(part_v, part_r)[0, 1]))
        if score > best_score:
            best, best_score = c, score
    return best


# --------------------------------------------------------------------------------------------
# Figures (plotly): user text always html-escaped; hover gives exact values
# --------------------------------------------------------------------------------------------

_RED, _BLUE, _GREY = "#d6404e", "#2b7bba", "#9a9a9a"
_COLORSCALE = [[0.0, "#2b7bba"], [0.5, "#b678c4"], [1.0, "#d6404e"]]


def _esc(text: Any) -> str:
    return html.escape(str(text))


def _order_columns(values: np.ndarray, columns: list[str]) -> list[int]:
    importance = np.abs(values).mean(axis=0)
    return list(np.argsort(-importance, kind="stable"))


def _axis_title(exp: Explanation, k: int) -> str:
    return f"SHAP value ({_esc(exp.output_label(k))})"


def importance_bar(exp: Explanation, class_: Any = None) -> go.Figure:
    """Mean |SHAP| per original column; for a multiclass model with no class given, stacked per class."""
    stacked = exp.is_classifier and len(exp.outputs) > 2 and class_ is None
    fig = go.Figure()
    if stacked:
        total = np.abs(exp.output_values).mean(axis=0).sum(axis=1)
        order = list(np.argsort(total, kind="stable"))
        for k, label in enumerate(exp.outputs):
            mean_abs = np.abs(exp.output_values[:, :, k]).mean(axis=0)
            fig.add_bar(
                x=mean_abs[order],
                y=[_esc(exp.columns[i]) for i in order],
                orientation="h",
                name=_esc(label),
                hovertemplate="%{y}<br>class %{fullData.name}: mean |SHAP| %{x:.6g}<extra></extra>",
            )
        fig.update_layout(barmode="stack", legend_title_text="class")
        x_title = f"mean |SHAP value| ({_esc(exp.output_space)}), stacked over classes"
        title = "Which columns matter (all classes)"
    else:
        k = exp.output_position(class_)
        mean_abs = np.abs(exp.output_values[:, :, k]).mean(axis=0)
        order = list(np.argsort(mean_abs, kind="stable"))
        fig.add_bar(
            x=mean_abs[order],
            y=[_esc(exp.columns[i]) for i in order],
            orientation="h",
            marker_color=_RED,
            hovertemplate="%{y}: mean |SHAP| %{x:.6g}<extra></extra>",
        )
        x_title = f"mean |SHAP value| ({_esc(exp.output_label(k))})"
        title = "Which columns matter" + (f" for class {_esc(exp.outputs[k])}" if exp.is_classifier else "")
    fig.update_layout(
        title=f"{title} ({exp.n_explained:,} rows)",
        xaxis_title=x_title,
        height=max(300, 28 * len(exp.columns) + 120),
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
    )
    return fig


def _display_values(exp: Explanation, column: str, positions: np.ndarray) -> np.ndarray:
    s = exp.rows[column].iloc[positions]
    if exp.kinds.get(column) == "text":
        return np.array([f"{len(t.split())} words" for t in to_text(s)], dtype=object)
    return np.array([_esc(format_value(v)) for v in s], dtype=object)


def beeswarm(exp: Explanation, class_: Any = None, max_features: int = 15) -> go.Figure:
    """One dot per row per column: x = SHAP value, color = the column's value (low blue, high red).

    Categorical columns are colored by level code, text by word count. At most BEESWARM_MAX_ROWS
    rows (a seeded sample) keep the figure small; the title says so.
    """
    k = exp.output_position(class_)
    values = exp.output_values[:, :, k]
    n = len(values)
    positions = np.arange(n)
    if n > BEESWARM_MAX_ROWS:
        positions = np.sort(np.random.default_rng(0).choice(n, BEESWARM_MAX_ROWS, replace=False))
    order = _order_columns(values, exp.columns)[:max_features]
    rng = np.random.default_rng(1)
    fig = go.Figure()
    labels = [str(i) for i in exp.row_index[positions]]
    for rank, j in enumerate(order):
        column = exp.columns[j]
        y_level = len(order) - 1 - rank
        x = values[positions, j]
        # Jitter proportional to how crowded each x region is: the swarm's outline.
        counts, edges = np.histogram(x, bins=40)
        density = counts[np.clip(np.digitize(x, edges[1:-1]), 0, len(counts) - 1)] / max(counts.max(), 1)
        y = y_level + rng.uniform(-1, 1, len(x)) * 0.38 * density
        color = _normalized(feature_numbers(exp, column)[positions])
        shown = _display_values(exp, column, positions)
        custom = np.stack([shown, np.array(labels, dtype=object)], axis=1)
        known = np.isfinite(color)
        for mask, marker in (
            (known, {"color": color[known].astype(np.float32), "colorscale": _COLORSCALE, "cmin": 0, "cmax": 1,
                     "size": 5, "opacity": 0.8, "showscale": rank == 0,
                     "colorbar": {"title": {"text": "feature value"}, "tickvals": [0, 1], "ticktext": ["low", "high"]}}),
            (~known, {"color": _GREY, "size": 5, "opacity": 0.8}),
        ):
            if not mask.any():
                continue
            fig.add_scattergl(
                x=x[mask].astype(np.float32),
                y=y[mask].astype(np.float32),
                mode="markers",
                marker=marker,
                name=_esc(column) + ("" if mask is known else " (missing)"),
                customdata=custom[mask],
                showlegend=False,
                hovertemplate="<b>%{fullData.name}</b> = %{customdata[0]}<br>SHAP %{x:.6g}<br>row %{customdata[1]}"
                "<extra></extra>",
            )
    fig.update_yaxes(
        tickvals=list(range(len(order))),
        ticktext=[_esc(exp.columns[j]) for j in reversed(order)],
        zeroline=False,
    )
    fig.add_vline(x=0, line_color=_GREY, line_width=1)
    shown_rows = len(positions)
    sample_note = f" (a sample of {shown_rows:,} of {n:,} rows)" if shown_rows < n else f" ({n:,} rows)"
    class_note = f" for class {_esc(exp.outputs[k])}" if exp.is_classifier else ""
    fig.update_layout(
        title=f"How each column pushes predictions{class_note}{sample_note}",
        xaxis_title=_axis_title(exp, k),
        height=max(320, 34 * len(order) + 130),
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
    )
    return fig


def dependence(exp: Explanation, feature: str, color_by: str | bool | None = None, class_: Any = None) -> go.Figure:
    """feature's value against its SHAP value, colored by another column.

    color_by: a column name; None (default) for strongest_interaction's pick, said in the title;
    False for no color. Categories sit at their level (jittered), text at its word count.
    """
    if feature not in exp.columns:
        raise ExplainError(f"{feature!r} is not one of the model's columns.")
    k = exp.output_position(class_)
    j = exp.columns.index(feature)
    chosen = "chosen"
    if color_by is None:
        color_by, chosen = strongest_interaction(exp, feature, class_), "strongest interaction"
    elif color_by is False:
        color_by = None
    kind = exp.kinds.get(feature)
    total = exp.n_explained
    positions = np.arange(total)
    if total > DEPENDENCE_MAX_ROWS:
        positions = np.sort(np.random.default_rng(0).choice(total, DEPENDENCE_MAX_ROWS, replace=False))
    n = len(positions)
    y = exp.output_values[positions, j, k]
    labels = np.array([str(i) for i in exp.row_index[positions]], dtype=object)
    shown = _display_values(exp, feature, positions)
    if kind == "numeric":
        x = feature_numbers(exp, feature)[positions]
        x_title = _esc(feature)
    elif kind == "text":
        x = feature_numbers(exp, feature)[positions]
        x_title = f"{_esc(feature)} (words)"
    else:
        codes, levels = category_codes(exp, feature)
        x = codes[positions] + np.random.default_rng(2).uniform(-0.2, 0.2, n)
        x_title = _esc(feature)
    marker: dict[str, Any] = {"size": 6, "opacity": 0.8, "color": _RED}
    custom = [shown, labels]
    template = "<b>" + _esc(feature) + "</b> = %{customdata[0]}<br>SHAP %{y:.6g}<br>row %{customdata[1]}"
    if color_by is not None and color_by in exp.columns and color_by != feature:
        color = _normalized(feature_numbers(exp, color_by))[positions]
        marker.update(
            color=np.where(np.isfinite(color), color, 0.5).astype(np.float32),
            colorscale=_COLORSCALE,
            cmin=0,
            cmax=1,
            showscale=True,
            colorbar={"title": {"text": _esc(color_by)}, "tickvals": [0, 1], "ticktext": ["low", "high"]},
        )
        custom.append(_display_values(exp, color_by, positions))
        template += "<br>" + _esc(color_by) + " = %{customdata[2]}"
    fig = go.Figure(
        go.Scattergl(
            x=np.asarray(x, dtype=np.float32),
            y=y.astype(np.float32),
            mode="markers",
            marker=marker,
            customdata=np.stack(custom, axis=1),
            hovertemplate=template + "<extra></extra>",
        )
    )
    if kind not in ("numeric", "text"):
        fig.update_xaxes(tickvals=list(range(len(levels))), ticktext=[_esc(v) for v in levels])
    fig.add_hline(y=0, line_color=_GREY, line_width=1)
    color_note = (
        f", colored by {_esc(color_by)} ({chosen})" if color_by is not None and color_by in exp.columns else ""
    )
    class_note = f" for class {_esc(exp.outputs[k])}" if exp.is_classifier else ""
    sample_note = f" (a sample of {n:,} of {total:,} rows)" if n < total else ""
    fig.update_layout(
        title=f"{_esc(feature)} against its SHAP value{class_note}{color_note}{sample_note}",
        xaxis_title=x_title,
        yaxis_title=_axis_title(exp, k),
        height=460,
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
    )
    return fig


def _feature_label(exp: Explanation, column: str, row_position: int) -> str:
    value = exp.rows[column].iloc[row_position]
    if exp.kinds.get(column) == "text":
        shown = format_value(value)
        shown = shown if len(shown) <= 28 else shown[:27] + "…"
        return f'{_esc(column)} = "{_esc(shown)}"'
    return f"{_esc(column)} = {_esc(format_value(value))}"


def waterfall(exp: Explanation, row_position: int, class_: Any = None, max_features: int = 12) -> go.Figure:
    """From the base value to this row's output, one bar per column ("RM = 6.575"), the rest grouped."""
    if not 0 <= row_position < exp.n_explained:
        raise ExplainError(f"Row position {row_position} is outside the {exp.n_explained:,} explained rows.")
    k = exp.output_position(class_, row_position)
    contributions = exp.output_values[row_position, :, k]
    base = float(exp.output_base[k])
    order = list(np.argsort(-np.abs(contributions), kind="stable"))
    top, rest = order[:max_features], order[max_features:]
    # Bottom to top: the grouped rest, then the columns by rising |SHAP|, then the output.
    labels, deltas = [], []
    if rest:
        labels.append(f"{len(rest)} other features")
        deltas.append(float(contributions[rest].sum()))
    for j in reversed(top):
        labels.append(_feature_label(exp, exp.columns[j], row_position))
        deltas.append(float(contributions[j]))
    total = base + float(contributions.sum())
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            base=base,
            measure=["relative"] * len(deltas) + ["total"],
            y=labels + ["model output f(x)"],
            x=deltas + [0.0],
            increasing={"marker": {"color": _RED}},
            decreasing={"marker": {"color": _BLUE}},
            totals={"marker": {"color": _GREY}},
            customdata=deltas + [total],
            hovertemplate="%{y}<br>%{customdata:+.6g}<extra></extra>",
            connector={"line": {"color": "#cccccc"}},
        )
    )
    fig.data[0].hovertemplate = "%{y}<br>SHAP %{customdata:+.6g}<extra></extra>"
    fig.add_vline(x=base, line_dash="dot", line_color=_GREY)
    prediction = exp.predictions[row_position]
    class_note = f" for class {_esc(exp.outputs[k])}" if exp.is_classifier else ""
    fig.update_layout(
        title=(
            f"Row {_esc(exp.row_index[row_position])}{class_note}: base value {base:.4g} → f(x) = {total:.4g}"
            f" (predicted: {_esc(format_value(prediction))})"
        ),
        xaxis_title=_axis_title(exp, k),
        height=max(320, 34 * (len(labels) + 1) + 120),
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
        showlegend=False,
    )
    return fig


def text_tokens(
    exp: Explanation, row_position: int, column: str, class_: Any = None, max_tokens: int = 20
) -> go.Figure:
    """The words of one row's text that push its prediction up (red) or down (blue)."""
    frame = token_contributions(exp, row_position, column, class_)
    k = exp.output_position(class_, row_position)
    top = frame.reindex(frame["contribution"].abs().sort_values(ascending=False).index).head(max_tokens)
    top = top.sort_values("contribution", kind="stable")
    labels = [_esc(t) + (f" ×{c}" if c > 1 else "") for t, c in zip(top["token"], top["count"], strict=True)]
    values = top["contribution"].tolist()
    colors = [_RED if v > 0 else _BLUE for v in values]
    absent = frame.attrs.get("absent", 0.0)
    if abs(absent) > 1e-12:
        labels.insert(0, "(words not in this text)")
        values.insert(0, absent)
        colors.insert(0, _GREY)
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=colors,
            hovertemplate="%{y}: SHAP %{x:+.6g}<extra></extra>",
        )
    )
    class_note = f" toward class {_esc(exp.outputs[k])}" if exp.is_classifier else ""
    fig.update_layout(
        title=f"Words in {_esc(column)} pushing row {_esc(exp.row_index[row_position])}{class_note}",
        xaxis_title=_axis_title(exp, k),
        height=max(300, 26 * len(labels) + 120),
        margin={"l": 10, "r": 10, "t": 60, "b": 40},
    )
    return fig
