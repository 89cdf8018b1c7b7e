"""Compare devices: the same PyTorch configuration trained on each device, timed honestly.

Every device gets the same split, the same preprocessing (fitted once, on the training split),
the same seed and the same epochs; the matching scikit-learn model is trained beside them as a
reference. The table separates first-call overhead (device context, host-to-device copy, the
first epoch's warm-up) from steady-state time per epoch, so a small data set's verdict says why
a GPU loses when it does.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.base import BaseEstimator
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from core import devices as device_info
from core import evaluation, training
from core.preprocessing import build_preprocessor
from core.schema import feature_schema

ProgressFn = Callable[[float, str], None]

# Seconds between progress reports during a fit: each report reads the loss from the device,
# which on a GPU is a synchronization the timings should not pay every epoch.
REPORT_EVERY_S = 0.25

# Column names of DeviceComparison.table (what the page shows as is).
MODEL = "model"
DEVICE = "device"
FIT_S = "fit time (s)"
OVERHEAD_S = "first-call overhead (s)"
STEADY_S = "steady-state epochs (s)"
EPOCHS = "epochs"
EPOCH_MS = "time per epoch (ms)"
SAMPLES_PER_S = "samples per s"
PREDICT_S = "predict time (s)"
SPEEDUP = "speedup vs CPU"
STEADY_SPEEDUP = "per-epoch speedup vs CPU"

_METRIC = {"regression": ("rmse", "test RMSE"), "classification": ("accuracy", "test accuracy")}


class CompareError(ValueError):
    """The comparison cannot run on this input; the message is one sentence saying what to change."""


@dataclass
class DeviceComparison:
    """The outcome of compare_devices: one table row per device and one for the reference."""

    model: str  # catalog key, e.g. "torch_linear"
    label: str
    task: str
    params: dict[str, Any]
    metric: str  # column of `table` holding the final metric, e.g. "test RMSE"
    table: pd.DataFrame
    curves: dict[str, list[dict[str, Any]]]  # device -> per-epoch history
    verdict: str
    gpu_slower: bool | None  # None when no GPU was measured
    devices: list[str]  # the devices measured, CPU first
    not_measured: dict[str, str] = field(default_factory=dict)  # device -> why not
    reference: str = ""  # the scikit-learn model trained beside the torch model
    shape: dict[str, int] = field(default_factory=dict)  # train_rows, test_rows, features
    stopped: bool = False  # the user stopped it; rows after the stop are missing
    notes: list[str] = field(default_factory=list)


@dataclass
class _Split:
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: pd.Series
    y_test: pd.Series
    task: str
    notes: list[str]


def _split_and_preprocess(
    df: pd.DataFrame,
    target: str,
    features: list[str] | None,
    task: str | None,
    kinds: dict[str, str] | None,
    test_size: float,
    random_state: int,
) -> _Split:
    """The rows, target handling, split and preprocessing of training.train, fitted once.

    Uses training's input checks so both pages accept and refuse the same data.
    """
    try:
        split = training.split_data(df, target, features, task, kinds, test_size, random_state)
    except training.TrainingError as exc:
        raise CompareError(str(exc)) from None
    X_train, X_test, y_train, y_test = split.X_train, split.X_test, split.y_train, split.y_test
    task, kinds, notes = split.task, split.kinds, split.notes
    preprocess = build_preprocessor(feature_schema(X_train, kinds), dense=True).fit(X_train, y_train)
    as_float = lambda frame: np.asarray(preprocess.transform(frame), dtype=np.float64)  # noqa: E731
    return _Split(as_float(X_train), as_float(X_test), y_train, y_test, task, notes)


def _reference(
    model: str, task: str, params: dict[str, Any], n_train: int, random_state: int
) -> tuple[str, BaseEstimator]:
    """The scikit-learn model trained beside the torch one: same layers, epochs and step size for the MLP."""
    regression = task == "regression"
    if model == "torch_linear":
        return "scikit-learn LinearRegression", LinearRegression()
    if model == "torch_logistic":
        return "scikit-learn LogisticRegression", LogisticRegression(max_iter=1000)
    from core.torch_catalog import parse_layers

    batch = int(params.get("batch_size") or 0)
    common = dict(
        hidden_layer_sizes=parse_layers(params.get("hidden_layers", "64,32")) or (100,),
        solver=params.get("optimizer", "adam"),
        learning_rate_init=float(params.get("learning_rate", 0.01)),
        max_iter=int(params.get("epochs", 200)),
        batch_size=n_train if batch <= 0 else min(batch, n_train),
        alpha=float(
            params.get("weight_decay", 0.0)
        ),  # sklearn's L2 penalty: close to, not exactly, weight decay
        momentum=0.0,  # plain SGD, like the torch model's
        nesterovs_momentum=False,
        early_stopping=bool(params.get("early_stopping", False)),
        random_state=int(params.get("random_state", random_state)),
    )
    if regression:
        # The torch model standardizes its target; without the same, sklearn's SGD would diverge on big units.
        return "scikit-learn MLPRegressor", TransformedTargetRegressor(
            MLPRegressor(**common), transformer=StandardScaler()
        )
    return "scikit-learn MLPClassifier", MLPClassifier(**common)


def _metric_value(task: str, y_test: pd.Series, y_pred: np.ndarray) -> float:
    name, _ = _METRIC["regression" if task == "regression" else "classification"]
    return float(evaluation.metrics(task, y_test, y_pred, None, None)[name])


def _warm_up_torch(estimator: BaseEstimator) -> None:
    """Pay torch's one-time process start-up on the CPU, so it is not charged to whichever device goes first."""
    from sklearn.base import clone

    tiny = clone(estimator).set_params(epochs=2, device="cpu", early_stopping=False)
    rows = np.linspace(-1, 1, 16).reshape(-1, 1)
    target = np.tile([0, 1], 8) if hasattr(estimator, "predict_proba") else rows.ravel()
    tiny.fit(rows, target)


def compare_devices(
    df: pd.DataFrame,
    target: str,
    model: str,
    features: list[str] | None = None,
    params: dict[str, Any] | None = None,
    devices: list[str] | None = None,
    test_size: float = 0.2,
    random_state: int = 7,
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    task: str | None = None,
    kinds: dict[str, str] | None = None,
) -> DeviceComparison:
    """Train the torch model `model` on each device (default: every available one) and the sklearn reference.

    The CPU is always measured: it is the baseline of the speedups. A device asked for but not
    present is skipped and its reason kept in not_measured. should_stop() is checked a few times
    a second; when it says stop, the devices measured so far are returned. Raises CompareError.
    """
    report = progress or (lambda fraction, message: None)
    stop = should_stop or (lambda: False)
    try:
        spec = training.model_spec(model)
        params = training.effective_params(model, params)
    except training.TrainingError as exc:
        raise CompareError(str(exc)) from None
    if not spec.uses_device:
        raise CompareError(f"{spec.label} does not run on a device: pick a PyTorch model to compare devices.")

    report(0.0, "splitting and preprocessing the data")
    data = _split_and_preprocess(df, target, features, task, kinds, test_size, random_state)
    task = data.task
    family = "regression" if task == "regression" else "classification"
    if not spec.serves(task):
        raise CompareError(f"{spec.label} does not do {task}: pick a PyTorch model for this task.")
    metric_key, metric_label = _METRIC[family]

    wanted = ["cpu", *[d for d in (devices or device_info.available()) if d != "cpu"]]
    measured: list[str] = []
    not_measured: dict[str, str] = {}
    for name in dict.fromkeys(wanted):
        try:
            device_info.check(name)
            measured.append(name)
        except ValueError as exc:
            not_measured[name] = str(exc)
    for record in device_info.detect():
        if not record.available and record.name not in not_measured:
            not_measured[record.name] = f"{record.label} cannot be used: {record.reason}."

    n_train, n_features = data.X_train.shape
    steps = len(measured) + 1
    rows: list[dict[str, Any]] = []
    curves: dict[str, list[dict[str, Any]]] = {}
    stopped = False
    try:
        estimator = spec.build(task, params, "cpu", random_state)
    except ValueError as exc:
        raise CompareError(str(exc)) from None
    report(0.02, "starting PyTorch")
    _warm_up_torch(estimator)
    epochs = int(params.get("epochs") or 1)

    for i, name in enumerate(measured):
        estimator = spec.build(task, params, name, random_state)
        base = 0.05 + 0.9 * i / steps
        report(base, f"{name}: training {spec.label} on {n_train:,} rows")

        def on_epoch(
            epoch: int, loss: float, val_loss: float | None, name: str = name, base: float = base
        ) -> bool:
            report(base + 0.9 / steps * epoch / epochs, f"{name}: epoch {epoch}/{epochs}, loss {loss:.4g}")
            return bool(stop())

        began = time.perf_counter()
        try:
            estimator.fit(
                data.X_train,
                data.y_train.to_numpy(),
                epoch_callback=on_epoch,
                callback_every_s=REPORT_EVERY_S,
            )
        except ValueError as exc:
            raise CompareError(f"{spec.label} could not be trained on {name}: {exc}") from None
        fit_s = time.perf_counter() - began
        began = time.perf_counter()
        y_pred = estimator.predict(data.X_test)
        predict_s = time.perf_counter() - began
        t = estimator.fit_timings_
        warm_up = max(t["first_epoch_s"] - t["epoch_s"], 0.0)  # what the first epoch cost beyond a steady one
        overhead = t["setup_s"] + warm_up
        rows.append({
            MODEL: spec.label, DEVICE: name, FIT_S: fit_s, OVERHEAD_S: overhead,
            STEADY_S: t["first_epoch_s"] + t["epochs_s"] - warm_up, EPOCHS: estimator.n_epochs_,
            EPOCH_MS: t["epoch_s"] * 1000, SAMPLES_PER_S: t["samples_per_s"], PREDICT_S: predict_s,
            metric_label: _metric_value(task, data.y_test, y_pred),
        })  # fmt: skip
        curves[name] = estimator.history_
        if estimator.stopped_early_:
            stopped = True
            break

    reference_label = ""
    if not stopped:
        reference_label, reference = _reference(model, task, params, n_train, random_state)
        report(0.05 + 0.9 * len(measured) / steps, f"cpu: training the reference, {reference_label}")
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # same epoch budget as the torch model
            # Full batch is "all training rows"; sklearn clips it to the rows left after its validation split.
            warnings.filterwarnings(
                "ignore", message="Got `batch_size` less than 1 or larger than sample size"
            )
            reference.fit(data.X_train, data.y_train.to_numpy())
        fit_s = time.perf_counter() - began
        began = time.perf_counter()
        y_pred = reference.predict(data.X_test)
        predict_s = time.perf_counter() - began
        inner = getattr(reference, "regressor_", reference)
        iterations = (
            getattr(inner, "n_iter_", None) if isinstance(inner, MLPRegressor | MLPClassifier) else None
        )
        rows.append({
            MODEL: f"{reference_label} (reference)", DEVICE: "cpu", FIT_S: fit_s, OVERHEAD_S: math.nan,
            STEADY_S: fit_s if iterations else math.nan, EPOCHS: iterations or math.nan,
            EPOCH_MS: fit_s / iterations * 1000 if iterations else math.nan,
            SAMPLES_PER_S: n_train * iterations / fit_s if iterations else math.nan, PREDICT_S: predict_s,
            metric_label: _metric_value(task, data.y_test, y_pred),
        })  # fmt: skip

    table = pd.DataFrame(rows)
    cpu = table.iloc[0]
    table[SPEEDUP] = cpu[FIT_S] / table[FIT_S]
    table[STEADY_SPEEDUP] = cpu[EPOCH_MS] / table[EPOCH_MS]
    table.loc[table[MODEL] != spec.label, STEADY_SPEEDUP] = math.nan  # the reference's "epochs" differ
    shape = {"train_rows": int(n_train), "test_rows": len(data.y_test), "features": int(n_features)}
    verdict, gpu_slower = _verdict(table, spec.label, metric_label, shape, not_measured, stopped)
    report(1.0, "done")
    return DeviceComparison(
        model=model, label=spec.label, task=task, params=params, metric=metric_label, table=table,
        curves=curves, verdict=verdict, gpu_slower=gpu_slower, devices=list(table[DEVICE][table[MODEL] == spec.label]),
        not_measured=not_measured, reference=reference_label, shape=shape, stopped=stopped, notes=data.notes,
    )  # fmt: skip


def _verdict(
    table: pd.DataFrame,
    label: str,
    metric: str,
    shape: dict[str, int],
    not_measured: dict[str, str],
    stopped: bool,
) -> tuple[str, bool | None]:
    """Plain sentences: which device won and why; a slower GPU is said to be slower, with the reason."""
    torch_rows = table[table[MODEL] == label]
    cpu = torch_rows.iloc[0]
    gpus = torch_rows.iloc[1:]
    data = f"{shape['train_rows']:,} rows x {shape['features']:,} features"
    parts: list[str] = []
    gpu_slower: bool | None = None
    if gpus.empty:
        cuda = device_info.describe("cuda")
        why = cuda.reason if not cuda.available else "no GPU was picked"
        parts.append(f"No GPU here, so only the CPU and the scikit-learn reference were measured ({why}).")
    for _, gpu in gpus.iterrows():
        name = str(gpu[DEVICE]).upper()
        speedup, steady = float(gpu[SPEEDUP]), float(gpu[STEADY_SPEEDUP])
        if speedup < 1:
            gpu_slower = True
            text = (
                f"The {name} run is {1 / speedup:.1f}x slower than the CPU on {data}: "
                f"{gpu[OVERHEAD_S]:.2f} s of its {gpu[FIT_S]:.2f} s is first-call overhead (device context, "
                f"host-to-device copy, first-epoch warm-up), and each epoch is only {cpu[EPOCH_MS]:.2f} ms of math "
                "on the CPU, so kernel-launch and transfer overheads dominate."
            )
            if steady > 1:
                text += f" Per epoch in steady state the {name} is {steady:.1f}x faster: it pays off with more rows, wider layers or more epochs."
            else:
                text += f" Even per epoch it is {1 / steady:.1f}x slower: the work is too small to keep the GPU busy."
            parts.append(text)
        else:
            gpu_slower = False if gpu_slower is None else gpu_slower
            parts.append(
                f"The {name} run is {speedup:.1f}x faster than the CPU on {data} ({steady:.1f}x per epoch in "
                f"steady state), {gpu[OVERHEAD_S]:.2f} s of first-call overhead included."
            )
    reference = table[table[MODEL] != label]
    if not reference.empty:
        ref = reference.iloc[0]
        parts.append(
            f"{str(ref[MODEL]).removesuffix(' (reference)')} took {ref[FIT_S]:.3g} s on the CPU; {metric} "
            f"{ref[metric]:.4g} against {cpu[metric]:.4g} for {label} on the CPU."
        )
    if stopped:
        parts.append("The comparison was stopped: devices after the stop were not measured.")
    return " ".join(parts), gpu_slower


# ---- figures ---------------------------------------------------------------------------------


def _row_names(table: pd.DataFrame) -> list[str]:
    return [
        f"{m} · {d}" if "(reference)" not in str(m) else str(m)
        for m, d in zip(table[MODEL], table[DEVICE], strict=True)
    ]


def timing_chart(cmp: DeviceComparison) -> go.Figure:
    """Horizontal bars of each row's fit time: first-call overhead, steady-state epochs, the rest."""
    table = cmp.table
    names = _row_names(table)
    overhead = table[OVERHEAD_S].fillna(0.0)
    steady = table[STEADY_S].where(table[STEADY_S].notna(), table[FIT_S] - overhead)
    other = (table[FIT_S] - overhead - steady).clip(lower=0.0)
    fig = go.Figure()
    for values, name, color in (
        (overhead, "first-call overhead", "#EF553B"),
        (steady, "steady-state training", "#636EFA"),
        (other, "input checks, scaling, copy back", "#B6B6B6"),
    ):
        fig.add_bar(y=names, x=values, name=name, orientation="h", marker_color=color,
                    hovertemplate="%{y}: %{x:.3f} s<extra>" + name + "</extra>")  # fmt: skip
    fig.update_layout(
        barmode="stack", title="Fit time by device (lower is faster)", xaxis_title="seconds",
        yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    return fig


def loss_curves(cmp: DeviceComparison) -> go.Figure:
    """The training (and validation) loss per epoch of every device on one plot."""
    fig = go.Figure()
    for name, history in cmp.curves.items():
        frame = pd.DataFrame(history)
        if frame.empty:
            continue
        fig.add_scatter(x=frame["epoch"], y=frame["loss"], mode="lines", name=f"{name} training loss")
        if frame["val_loss"].notna().any():
            fig.add_scatter(x=frame["epoch"], y=frame["val_loss"], mode="lines", line={"dash": "dash"},
                            name=f"{name} validation loss")  # fmt: skip
    loss = "mean squared error, standardized target" if cmp.task == "regression" else "cross-entropy"
    fig.update_layout(title="Loss per epoch, all devices", xaxis_title="epoch", yaxis_title=f"loss ({loss})",
                      yaxis_type="log")  # fmt: skip
    return fig
