"""Batch scoring: check uploaded rows against a model's training schema, predict, export safely.

check_rows says in sentences what is wrong with a file before anything is predicted: columns the
model needs that are missing (named), extra columns (ignored, listed), columns whose values are
not of the trained kind (with examples), missing values. score() appends the prediction and, for
classifiers, one probability column per class. to_csv_safe() writes a CSV a spreadsheet opens
without running any cell as a formula.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.schema import FeatureSchema

# A numeric column is refused when more than this share of its present values are not numbers;
# below it the odd ones are reported and treated as missing (the pipeline imputes them).
MAX_NON_NUMERIC_SHARE = 0.5
EXAMPLES_SHOWN = 3
PREDICTION_COLUMN = "prediction"
PROBA_PREFIX = "proba_"
# What a spreadsheet starts a formula with (OWASP CSV injection): = + - @, and tab / CR.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class ScoringError(ValueError):
    """Rows cannot be scored by this model; the message says what to fix in the file."""


@dataclass
class RowCheck:
    """What check_rows found; errors block scoring, warnings do not."""

    rows: int
    source: str = "file"  # what the rows came in: "file", "request"
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    wrong_types: dict[str, str] = field(default_factory=dict)  # column -> sentence with examples
    unparsed: dict[str, str] = field(default_factory=dict)  # column -> sentence (few bad numbers)
    unseen_levels: dict[str, list[Any]] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[str]:
        """Sentences for what stops scoring: missing columns, columns of the wrong kind."""
        out = []
        if self.rows == 0:
            out.append(f"The {self.source} has no rows to score.")
        if self.missing:
            noun = "column" if len(self.missing) == 1 else "columns"
            out.append(
                f"The {self.source} is missing {len(self.missing)} {noun} the model needs: {_names(self.missing)}."
            )
        out.extend(self.wrong_types.values())
        return out

    @property
    def warnings(self) -> list[str]:
        """Sentences for what is scored anyway: extra columns, odd values, unseen levels, gaps."""
        out = []
        if self.extra:
            noun = "column is" if len(self.extra) == 1 else "columns are"
            out.append(f"{len(self.extra)} extra {noun} ignored: {_names(self.extra)}.")
        out.extend(self.unparsed.values())
        for name, levels in self.unseen_levels.items():
            out.append(
                f"Column '{name}' has levels the model never saw in training ({_examples(levels)}); "
                "the model treats them as no known level."
            )
        if self.missing_values:
            parts = ", ".join(f"'{k}' {v:,}" for k, v in self.missing_values.items())
            out.append(f"Missing values are filled in as in training (median or most frequent level): {parts}.")
        return out


def _names(columns: list[str], limit: int = 10) -> str:
    shown = ", ".join(f"'{c}'" for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def _examples(values: list[Any]) -> str:
    return ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:EXAMPLES_SHOWN])


def check_rows(df: pd.DataFrame, schema: FeatureSchema, source: str = "file") -> RowCheck:
    """Compare df's columns and values with the training schema; never raises for bad rows.

    source names what the rows came in ("file", "request") in the sentences.
    """
    columns = {str(c): c for c in df.columns}
    check = RowCheck(rows=len(df), source=source)
    check.missing = [name for name in schema.names if name not in columns]
    check.extra = [name for name in columns if name not in set(schema.names)]
    for spec in schema.features:
        if spec.name not in columns:
            continue
        s = df[columns[spec.name]]
        present = s.dropna()
        if spec.kind == "numeric" and not pd.api.types.is_numeric_dtype(s) and len(present):
            as_number = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
            bad = present[as_number.isna()]
            share = len(bad) / len(present)
            if share > MAX_NON_NUMERIC_SHARE:
                check.wrong_types[spec.name] = (
                    f"Column '{spec.name}' should hold numbers but {len(bad):,} of its {len(present):,} "
                    f"values are not numbers (e.g. {_examples(bad.unique().tolist())})."
                )
            elif len(bad):
                what = "value that is not a number" if len(bad) == 1 else "values that are not numbers"
                check.unparsed[spec.name] = (
                    f"Column '{spec.name}' has {len(bad):,} {what} "
                    f"(e.g. {_examples(bad.unique().tolist())}); treated as missing."
                )
        elif spec.kind == "categorical" and spec.levels and len(present):
            known = {str(v) for v in spec.levels}
            unseen = [v for v in present.unique().tolist() if str(v) not in known]
            if unseen:
                check.unseen_levels[spec.name] = unseen
        gaps = int(s.isna().sum())
        if gaps:
            check.missing_values[spec.name] = gaps
    return check


def _unique_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def score(
    run_or_pipeline: Any,
    df: pd.DataFrame,
    schema: FeatureSchema | None = None,
    classes: list[Any] | None = None,
) -> pd.DataFrame:
    """df with a prediction column (and proba_<class> columns for classifiers) appended.

    Takes a TrainResult (schema and classes come from it) or a bare fitted Pipeline with schema
    given. Raises ScoringError with the check's sentences when the rows cannot be scored.
    """
    pipeline = getattr(run_or_pipeline, "pipeline", run_or_pipeline)
    schema = schema if schema is not None else getattr(run_or_pipeline, "schema", None)
    if schema is None:
        raise ScoringError("Scoring needs the model's training schema to check the rows against.")
    if classes is None:
        classes = getattr(run_or_pipeline, "classes", None)
    check = check_rows(df, schema)
    if not check.ok:
        raise ScoringError(" ".join(check.errors))
    columns = {str(c): c for c in df.columns}
    X = df[[columns[name] for name in schema.names]]
    X.columns = schema.names
    try:
        predictions = pipeline.predict(X)
        proba = pipeline.predict_proba(X) if classes is not None and hasattr(pipeline, "predict_proba") else None
    except Exception as exc:  # the estimator's own complaint, turned into one sentence
        raise ScoringError(f"The model could not score these rows: {exc}.") from exc
    out = df.copy()
    taken = {str(c) for c in out.columns}
    name = _unique_name(PREDICTION_COLUMN, taken)
    out[name] = predictions
    taken.add(name)
    if proba is not None:
        labels = list(getattr(pipeline, "classes_", classes))
        for i, label in enumerate(labels):
            col = _unique_name(f"{PROBA_PREFIX}{label}", taken)
            out[col] = proba[:, i]
            taken.add(col)
    return out


def _neutralize(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def to_csv_safe(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV bytes where no cell or header starts a spreadsheet formula; numbers untouched.

    Text cells starting with =, +, -, @, tab or CR get a leading single quote, which spreadsheets
    show as text. Text that is a plain number ("-5", "+1.5e3") is left alone: it is not a formula.
    """
    safe = df.copy()
    safe.columns = [_neutralize(str(c)) for c in safe.columns]
    for i in range(safe.shape[1]):
        column = safe.iloc[:, i]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            safe.isetitem(i, column.astype(object).map(_neutralize))
    buffer = io.StringIO()
    # CRLF line ends (RFC 4180) also make the writer quote any cell holding a stray CR or LF.
    safe.to_csv(buffer, index=False, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8")


def proba_columns(scored: pd.DataFrame) -> list[str]:
    """The probability columns score() appended."""
    return [str(c) for c in scored.columns if str(c).startswith(PROBA_PREFIX)]

