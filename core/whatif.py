"""What-if: a form generated from the training schema, a starting row, and one-row predictions.

form_fields(schema) describes one widget per feature (no widget for ignored columns: the schema
holds only features). starting_row(run, "median" | n) gives the values to start from, and
predict_row(run, values, start) predicts the edited row with the fitted Pipeline itself (nothing
is refitted on the row), warns about values outside the training range, lists what changed from
the start, and adds the row's SHAP waterfall from core.explain.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from joblib import parallel_config
from threadpoolctl import ThreadpoolController

from core.schema import FeatureSchema, FeatureSpec

FieldKind = Literal["number", "category", "text"]
# core.explain paths whose explainer can be kept between rows of one run (torch: DeepExplainer).


class WhatIfError(ValueError):
    """A what-if request that cannot be served; the message says what to change."""


@dataclass
class Field:
    """One form widget: what to show, its default, and the training range or levels as a guide."""

    name: str
    kind: FieldKind
    default: Any
    help: str
    integer: bool = False
    min: float | None = None
    max: float | None = None
    median: float | None = None
    step: float | None = None
    format: str | None = None
    levels: list[Any] = field(default_factory=list)
    allow_missing: bool = False  # training had gaps here; the pipeline imputes a missing value


@dataclass
class Change:
    """A feature whose what-if value differs from the starting row."""

    name: str
    start: Any
    value: Any


@dataclass
class WhatIfResult:
    """A predicted what-if row, with what it takes to show it."""

    values: dict[str, Any]
    prediction: Any
    probabilities: dict[Any, float] | None
    warnings: list[str]
    changes: list[Change]
    seconds: float
    waterfall: Any = None  # plotly Figure, or None with waterfall_note saying why
    waterfall_note: str = ""
    explain_seconds: float = 0.0


def fmt(value: Any) -> str:
    """A number the way a person reads it: 6.575, 12, 0.000123, 1.5e+06."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return str(value)
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def _number_step(spec: FeatureSpec) -> tuple[float, str | None]:
    if spec.integer:
        return 1, None
    span = (spec.max - spec.min) if spec.min is not None and spec.max is not None else 0.0
    step = 10.0 ** math.floor(math.log10(span / 100)) if span > 0 else 0.01
    decimals = min(6, max(2, 1 - math.floor(math.log10(step))))
    return step, f"%.{decimals}f"


def form_fields(schema: FeatureSchema) -> list[Field]:
    """One Field per feature of the schema, in the model's column order."""
    fields = []
    for spec in schema.features:
        allow_missing = spec.missing > 0
        if spec.kind == "numeric":
            step, number_format = _number_step(spec)
            if spec.min is None:
                guide = "every training value was missing"
            else:
                guide = f"training range {fmt(spec.min)} to {fmt(spec.max)}, median {fmt(spec.median)}"
            fields.append(
                Field(
                    name=spec.name,
                    kind="number",
                    default=spec.default,
                    help=guide,
                    integer=spec.integer,
                    min=spec.min,
                    max=spec.max,
                    median=spec.median,
                    step=step,
                    format=number_format,
                    allow_missing=allow_missing,
                )
            )
        elif spec.kind == "categorical":
            # Every level seen in training, the one a dropping encoder would leave out included.
            fields.append(
                Field(
                    name=spec.name,
                    kind="category",
                    default=spec.default,
                    help=f"{len(spec.levels)} levels seen in training",
                    levels=list(spec.levels),
                    allow_missing=allow_missing,
                )
            )
        else:
            fields.append(
                Field(name=spec.name, kind="text", default=spec.default or "", help="free text", allow_missing=True)
            )
    return fields


def plain(value: Any) -> Any:
    """numpy scalars to Python ones, missing markers (NaN, pd.NA, NaT) to None."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # lists and the like are not missing markers
        return value
    return value.item() if isinstance(value, np.generic) else value


def _field_value(f: Field, value: Any) -> Any:
    """A raw value as the form widget for f holds it (ints for integer fields)."""
    value = plain(value)
    if value is None:
        return None
    if f.kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number):
            return None
        return int(round(number)) if f.integer and number.is_integer() else number
    if f.kind == "text":
        return str(value)
    return value


def starting_row(run: Any, how: Literal["median"] | int = "median") -> dict[str, Any]:
    """The values the form starts from: the median row of the schema, or held-out row number how."""
    fields = form_fields(run.schema)
    if how == "median":
        return {f.name: f.default for f in fields}
    rows = getattr(run, "X_test", None)
    count = 0 if rows is None else len(rows)
    if count == 0:
        raise WhatIfError("This model has no held-out rows kept with it; start from the median row instead.")
    if isinstance(how, bool) or not isinstance(how, int | np.integer) or not 0 <= int(how) < count:
        raise WhatIfError(f"Row {how} does not exist: the held-out rows are numbered 0 to {count - 1}.")
    row = rows.iloc[int(how)]
    return {f.name: _field_value(f, row[f.name]) for f in fields}


def out_of_range(schema: FeatureSchema, values: dict[str, Any]) -> list[str]:
    """A warning sentence per value outside what training saw (a number past its range, a new level)."""
    warnings = []
    for spec in schema.features:
        value = plain(values.get(spec.name))
        if value is None:
            continue
        if spec.kind == "numeric" and spec.min is not None:
            try:
                number = float(value)
            except (TypeError, ValueError):
                warnings.append(f"{spec.name} = {value!r} is not a number; the model treats it as missing.")
                continue
            if number < spec.min or number > spec.max:
                warnings.append(
                    f"{spec.name} = {fmt(value)} is outside the training range {fmt(spec.min)}–{fmt(spec.max)}; "
                    "the prediction is an extrapolation."
                )
        elif spec.kind == "categorical" and spec.levels and str(value) not in {str(v) for v in spec.levels}:
            warnings.append(f"{spec.name} = {value!r} is a level the model never saw in training.")
    return warnings


def row_frame(schema: FeatureSchema, values: dict[str, Any]) -> pd.DataFrame:
    """A one-row frame with the schema's columns in order; absent or empty values are missing."""
    missing = [name for name in schema.names if name not in values]
    if missing:
        raise WhatIfError(f"The what-if row has no value for {', '.join(missing)}.")
    data = {}
    for spec in schema.features:
        value = plain(values[spec.name])
        if spec.kind == "numeric":
            number = np.nan
            if value is not None:
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    number = np.nan  # out_of_range already says so; the pipeline imputes it
            data[spec.name] = pd.Series([number], dtype="float64")
        elif spec.kind == "text":
            data[spec.name] = pd.Series(["" if value is None else str(value)], dtype=object)
        else:
            data[spec.name] = pd.Series([np.nan if value is None else value], dtype=object)
    return pd.DataFrame(data)


def _same(a: Any, b: Any) -> bool:
    a, b = plain(a), plain(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
    return str(a) == str(b)


def changes_from(start: dict[str, Any] | None, values: dict[str, Any]) -> list[Change]:
    """The features whose value differs from the starting row, in the values' order."""
    if not start:
        return []
    return [Change(k, plain(start.get(k)), plain(v)) for k, v in values.items() if not _same(start.get(k), v)]


_threadpools: ThreadpoolController | None = None  # made on first use: it scans the loaded libraries


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run one-row work on this thread alone: for one row, thread pools cost more than they save.

    joblib's setting is per thread and OpenMP's max-threads is per calling thread, so trainings
    running in other threads keep their parallelism. (BLAS pools are global: left alone.)
    """
    global _threadpools
    if _threadpools is None:
        _threadpools = ThreadpoolController()
    with _threadpools.limit(limits=1, user_api="openmp"), parallel_config(backend="sequential"):
        yield


def _kept_explainer(run: Any, frame: pd.DataFrame, cache: MutableMapping[str, Any]) -> Any:
    """core.explain's explainer for this run, built once and kept in cache.

    Building the explainer is most of a one-row explanation (shap.TreeExplainer reads every tree;
    the linear path transforms the background rows), so a what-if row reuses it.
    """
    from core import explain

    key = f"{run.run_id}:{id(run.pipeline)}"
    explainer = cache.get(key)
    if explainer is None:
        explainer = explain.prepare(run, frame)
        if not explainer.reusable:
            return None
        for old in [k for k in cache if k != key]:  # one model's explainer per cache: memory stays bounded
            del cache[old]
        cache[key] = explainer
    return explainer


def explain_row(run: Any, frame: pd.DataFrame, cache: MutableMapping[str, Any] | None = None) -> tuple[Any, str, float]:
    """(waterfall figure or None, note, seconds) for one row, from core.explain's explainer for the model.

    With a cache (the page keeps one per session) tree, linear and DeepExplainer explainers are
    built once per run; other paths (the permutation fallback) go through explain.explain every time.
    """
    from core import explain  # shap is heavy: imported on the first what-if with a waterfall

    start = time.perf_counter()
    try:
        explainer = _kept_explainer(run, frame, cache) if cache is not None else None
        exp = explain.explain(run, frame, explainer=explainer)
        figure = explain.waterfall(exp, 0)
    except Exception as exc:  # shap cannot explain this row: the prediction still stands, the note says why
        reason = str(exc) if isinstance(exc, explain.ExplainError) else f"SHAP failed ({type(exc).__name__}: {exc})."
        return None, f"No SHAP waterfall for this row: {reason}", time.perf_counter() - start
    return figure, "", time.perf_counter() - start


def predict_row(
    run: Any,
    values: dict[str, Any],
    start: dict[str, Any] | None = None,
    with_waterfall: bool = True,
    explainer_cache: MutableMapping[str, Any] | None = None,
) -> WhatIfResult:
    """Predict one what-if row with the run's fitted Pipeline; warnings, changes and waterfall included.

    explainer_cache: a dict kept by the caller (per session) so the SHAP explainer is built once
    per run; without it every call builds it again (correct, slower for big forests).

    The row goes through the fitted preprocessing once and then the fitted estimator: exactly
    what pipeline.predict does, without transforming twice for predict and predict_proba.
    """
    began = time.perf_counter()
    frame = row_frame(run.schema, values)
    with _one_thread():
        try:
            inputs = run.pipeline[:-1].transform(frame)
            estimator = run.pipeline[-1]
            prediction = plain(estimator.predict(inputs)[0])
            probabilities = None
            if run.task != "regression" and hasattr(estimator, "predict_proba"):
                proba = estimator.predict_proba(inputs)[0]
                labels = list(getattr(estimator, "classes_", run.classes))
                probabilities = {plain(c): float(p) for c, p in zip(labels, proba, strict=True)}
        except Exception as exc:  # the estimator's own complaint, as one sentence
            raise WhatIfError(f"The model could not predict this row: {exc}.") from exc
        figure, note, explain_seconds = (None, "", 0.0)
        if with_waterfall:
            figure, note, explain_seconds = explain_row(run, frame, explainer_cache)
    return WhatIfResult(
        values={k: plain(values[k]) for k in run.schema.names},
        prediction=prediction,
        probabilities=probabilities,
        warnings=out_of_range(run.schema, values),
        changes=changes_from(start, {k: values[k] for k in run.schema.names}),
        seconds=time.perf_counter() - began,
        waterfall=figure,
        waterfall_note=note,
        explain_seconds=explain_seconds,
    )
