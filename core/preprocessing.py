"""The preprocessing half of every model Pipeline, and the map from its outputs back to columns.

Numbers are coerced, imputed with the training median and scaled; each categorical column gets
its own imputer and one-hot encoder (unknown levels ignored); each text column its own
vectorizer. One transformer per categorical or text column keeps the mapping from transformed
features back to the analyst's columns exact (SHAP groups by it), whatever the column names are.
Everything is fitted on the training split only, inside the Pipeline, and travels with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from core.schema import FeatureSchema

# Rare levels beyond this many per column share one "infrequent" output, so a column of
# thousands of codes cannot blow up the model's width.
MAX_LEVELS_PER_COLUMN = 50


def to_float(X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Numbers as floats; text that is not a number and infinities become missing."""
    frame = pd.DataFrame(X)
    out = np.array(frame.apply(pd.to_numeric, errors="coerce"), dtype=float)
    out[~np.isfinite(out)] = np.nan
    return out


def to_levels(X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Category values as strings (mixed ints and strings would break the encoder); missing stays missing."""
    frame = pd.DataFrame(X).astype(object)
    return frame.where(frame.isna(), frame.astype(str)).to_numpy(dtype=object)


def to_text(X: pd.Series | pd.DataFrame | np.ndarray) -> np.ndarray:
    """Text values as strings, missing text as the empty string."""
    series = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else pd.Series(np.asarray(X).ravel())
    return series.astype(object).where(series.notna(), "").astype(str).to_numpy()


def _numeric_block() -> Pipeline:
    return Pipeline(
        [
            ("coerce", FunctionTransformer(to_float, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
    )


def _categorical_block() -> Pipeline:
    return Pipeline(
        [
            ("as_levels", FunctionTransformer(to_levels, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=MAX_LEVELS_PER_COLUMN,
                    sparse_output=True,
                ),
            ),
        ]
    )


def _text_block() -> Pipeline:
    # The material's Yelp pipeline: CountVectorizer with its defaults, then a linear model.
    return Pipeline([("as_text", FunctionTransformer(to_text)), ("vectorize", CountVectorizer())])


def build_preprocessor(schema: FeatureSchema, dense: bool = False) -> ColumnTransformer:
    """An unfitted ColumnTransformer for the schema's columns; dense=True for models that refuse sparse input."""
    transformers: list[tuple[str, object, object]] = []
    numeric = schema.by_kind("numeric")
    if numeric:
        transformers.append(("num", _numeric_block(), numeric))
    for i, name in enumerate(schema.by_kind("categorical")):
        transformers.append((f"cat{i}", _categorical_block(), [name]))
    for i, name in enumerate(schema.by_kind("text")):
        # A bare column name (not a list) hands the vectorizer a 1-D column, as it expects.
        transformers.append((f"text{i}", _text_block(), name))
    if not transformers:
        raise ValueError("There are no usable feature columns: pick at least one numeric, categorical or text feature.")
    return ColumnTransformer(
        transformers,
        remainder="drop",
        sparse_threshold=0.0 if dense else 0.3,
        verbose_feature_names_out=False,
    )


def output_features(preprocessor: ColumnTransformer) -> list[tuple[str, str]]:
    """For each output column of a fitted preprocessor: (original column, detail).

    detail is "" for a number, the level for a one-hot column, the token for a text column.
    """
    out: list[tuple[str, str]] = []
    for name, transformer, columns in preprocessor.transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        if name == "num":
            out.extend((str(c), "") for c in columns)
            continue
        column = str(columns if isinstance(columns, str) else columns[0])
        last = transformer.steps[-1][1]
        if name.startswith("cat"):
            levels = last.get_feature_names_out([column])
            out.extend((column, str(level)[len(column) + 1 :]) for level in levels)
        else:
            out.extend((column, str(token)) for token in last.get_feature_names_out())
    return out


def output_feature_origins(preprocessor: ColumnTransformer) -> list[str]:
    """The original column behind each output column of a fitted preprocessor."""
    return [origin for origin, _ in output_features(preprocessor)]
