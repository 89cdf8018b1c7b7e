"""What each column is: its kind, its role, the task a target implies, and the training schema.

One place for these guesses: the Data page shows them, training builds its preprocessing from
them, and the what-if form and batch scoring check rows against the schema stored with a model.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["numeric", "categorical", "text", "datetime"]
Task = Literal["regression", "binary", "multiclass"]
TASKS: tuple[str, ...] = ("regression", "binary", "multiclass")

# A string column is free text when its values are long or wordy and mostly distinct.
TEXT_MIN_MEAN_CHARS = 25
TEXT_MIN_MEAN_WORDS = 4
# A numeric target with at most this many distinct integer values is a class label.
MAX_CLASSES_FOR_INTEGER_TARGET = 10

_ID_NAME = re.compile(r"^(index|id|idx|unnamed: ?\d+|row ?(id|number|no)?)$|(^|[_\s\-.])id$", re.IGNORECASE)
_TARGET_NAME = re.compile(
    r"^(target|label|labels|class|y|outcome|survived|status|.*_status|price|medv|churn|default)$",
    re.IGNORECASE,
)


def column_kind(s: pd.Series) -> Kind:
    """The modelling kind of a column: numeric, categorical, free text, or a date/time."""
    if pd.api.types.is_bool_dtype(s):
        return "categorical"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    values = s.dropna().astype(str)
    if values.empty:
        return "categorical"
    sample = values.iloc[:5000]
    mean_chars = sample.str.len().mean()
    mean_words = sample.str.split().str.len().mean()
    distinct = sample.nunique() / len(sample)
    if (mean_chars >= TEXT_MIN_MEAN_CHARS or mean_words >= TEXT_MIN_MEAN_WORDS) and distinct > 0.5:
        return "text"
    return "categorical"


def is_id_like(name: object, s: pd.Series) -> bool:
    """True for row identifiers (Index, Loan_ID, a leftover pandas index) that carry no signal."""
    label = str(name).strip()
    if label == "" or _ID_NAME.search(label):
        return True
    values = s.dropna()
    if len(values) < 20 or values.nunique() != len(values):
        return False
    if pd.api.types.is_integer_dtype(values):
        steps = np.diff(values.to_numpy())
        return bool(len(steps) and (steps == 1).all())
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    text = values.astype(str)
    # Unique short codes without spaces (e.g. LP001002) identify rows; unique sentences do not.
    return bool(not text.str.contains(r"\s").any() and text.str.len().mean() < TEXT_MIN_MEAN_CHARS)


def infer_task(y: pd.Series) -> Task:
    """regression for a continuous numeric target, binary or multiclass for labels."""
    values = y.dropna()
    n_unique = values.nunique()
    if pd.api.types.is_bool_dtype(values) or n_unique <= 2:
        return "binary"
    if pd.api.types.is_numeric_dtype(values):
        integral = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
        if integral and n_unique <= MAX_CLASSES_FOR_INTEGER_TARGET:
            return "multiclass"
        return "regression"
    return "multiclass"


@dataclass
class Roles:
    """Which column is the target, which are features, which are ignored (and why)."""

    target: str | None
    features: list[str]
    ignored: list[str]
    kinds: dict[str, Kind]
    reasons: dict[str, str] = field(default_factory=dict)


def guess_roles(df: pd.DataFrame, target: str | None = None) -> Roles:
    """First guess at roles: ID-like and date columns ignored, a target picked by name or position."""
    kinds = {str(c): column_kind(df[c]) for c in df.columns}
    ignored: list[str] = []
    reasons: dict[str, str] = {}
    for c in df.columns:
        name = str(c)
        if is_id_like(c, df[c]):
            ignored.append(name)
            reasons[name] = "looks like a row identifier"
        elif kinds[name] == "datetime":
            ignored.append(name)
            reasons[name] = "dates are not used as features yet"
        elif df[c].isna().all():
            ignored.append(name)
            reasons[name] = "every value is missing"
        elif df[c].nunique(dropna=True) <= 1:
            ignored.append(name)
            reasons[name] = "has a single value"
    candidates = [str(c) for c in df.columns if str(c) not in ignored and kinds[str(c)] != "text"]
    if target is None and candidates:
        named = [c for c in candidates if _TARGET_NAME.match(c)]
        target = named[-1] if named else candidates[-1]
    features = [str(c) for c in df.columns if str(c) not in ignored and str(c) != target]
    return Roles(target=target, features=features, ignored=ignored, kinds=kinds, reasons=reasons)


@dataclass
class FeatureSpec:
    """What the model saw of one input column during training."""

    name: str
    kind: Kind
    dtype: str
    missing: int = 0
    min: float | None = None
    max: float | None = None
    median: float | None = None
    integer: bool = False
    levels: list[Any] = field(default_factory=list)
    default: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FeatureSchema:
    """The training schema: one FeatureSpec per input column, in the model's column order."""

    features: list[FeatureSpec]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def by_kind(self, kind: Kind) -> list[str]:
        return [f.name for f in self.features if f.kind == kind]

    def __getitem__(self, name: str) -> FeatureSpec:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"features": [f.to_dict() for f in self.features]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSchema:
        return cls([FeatureSpec(**f) for f in data["features"]])


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones, so the schema serializes to JSON."""
    return value.item() if isinstance(value, np.generic) else value


def feature_schema(X: pd.DataFrame, kinds: dict[str, Kind] | None = None) -> FeatureSchema:
    """Describe the training frame X: kinds, ranges and medians, levels, and a default per column."""
    specs = []
    for c in X.columns:
        s = X[c]
        kind = (kinds or {}).get(str(c)) or column_kind(s)
        spec = FeatureSpec(name=str(c), kind=kind, dtype=str(s.dtype), missing=int(s.isna().sum()))
        if kind == "numeric":
            values = pd.to_numeric(s, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
            if not values.empty:
                spec.min, spec.max = float(values.min()), float(values.max())
                spec.median = float(values.median())
                spec.integer = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
                spec.default = int(round(spec.median)) if spec.integer else spec.median
        elif kind == "categorical":
            counts = s.dropna().value_counts()
            spec.levels = sorted((_plain(v) for v in counts.index), key=str)
            spec.default = _plain(counts.index[0]) if len(counts) else None
        elif kind == "text":
            values = s.dropna().astype(str)
            spec.default = values.iloc[0] if len(values) else ""
        specs.append(spec)
    return FeatureSchema(specs)
