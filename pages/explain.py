"""Explain page: why the current model predicts what it does, on the columns the analyst knows.

Thin: core.explain computes SHAP values once per (run, rows) in a background job; the result is
kept in this session (a few at most) and every chart and row choice reuses it. The local section
is a fragment, so picking another row redraws only the waterfall and the word chart.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import explain, jobs
from ui import render, state

CACHE = "explain_cache"  # OrderedDict: explain.cache_key -> Explanation
JOB = "explain_job"
JOB_FOR = "explain_job_for"  # cache key the running job will fill
ERRORS = "explain_errors"  # cache key -> the failure's sentence
MAX_CACHED = 3  # explanations kept per session (each holds rows x columns x classes floats)
STRONGEST = "strongest interaction"
NO_COLOR = "no color"
PREDICTED = "the row's predicted class"
MAX_FILTER_VALUES = 500


def cached() -> OrderedDict[str, explain.Explanation]:
    return st.session_state.setdefault(CACHE, OrderedDict())


def errors() -> dict[str, str]:
    return st.session_state.setdefault(ERRORS, {})


def start(run: Any, key: str, allow_slow: bool) -> None:
    rows = run.X_test

    def work(job: jobs.Job) -> explain.Explanation:
        return explain.explain(run, rows, progress=job.progress, allow_slow=allow_slow)

    errors().pop(key, None)
    st.session_state[JOB_FOR] = key
    st.session_state[JOB] = jobs.start(f"Explaining {run.label}", work)


def on_done(job: jobs.Job) -> None:
    key = st.session_state.pop(JOB_FOR, None)
    if key is None:
        return
    if job.ok:
        store = cached()
        store[key] = job.result
        store.move_to_end(key)
        while len(store) > MAX_CACHED:
            store.popitem(last=False)
    elif isinstance(job.error, explain.ExplainError):
        errors()[key] = str(job.error)
    else:
        errors()[key] = f"SHAP failed on this model ({type(job.error).__name__}); try another model or fewer rows."


def summary(exp: explain.Explanation, run: Any, key: str) -> None:
    cols = st.columns(4)
    cols[0].metric("Explainer", exp.explainer, help=exp.method)
    cols[1].metric("Rows explained", f"{exp.n_explained:,} of {exp.n_requested:,}")
    cols[2].metric("Time", f"{exp.seconds:.1f} s")
    cols[3].metric("Background rows", f"{exp.background_size:,}", help=exp.background)
    st.caption(
        f"{render.md_escape(exp.method)}. Background: {render.md_escape(exp.background)}. "
        f"SHAP values are in {render.md_escape(exp.output_space)}; "
        f"base value + a row's SHAP values = the model's output for that row "
        f"(largest miss {exp.additivity_error:.2g}). Rows: the held-out test rows. "
        f"Note: {render.md_escape(exp.note)}."
    )
    if not exp.exact:
        st.warning("These values are approximate: the explainer estimates them from gradients.", icon=":material/info:")
    if exp.sampled:
        about = f" (about {exp.seconds_all_rows:.0f} s)" if exp.seconds_all_rows else ""
        if st.button(f"Explain all {exp.n_requested:,} rows{about}", key="explain_all", icon=":material/select_all:"):
            start(run, key, allow_slow=True)
            st.rerun()


def class_options(exp: explain.Explanation) -> list[Any]:
    return list(exp.outputs) if exp.is_classifier else []


def global_section(exp: explain.Explanation, key: str) -> None:
    st.subheader("Which columns drive the model")
    class_ = None
    if exp.is_classifier:
        options = class_options(exp)
        class_ = st.selectbox(
            "Class", options, index=options.index(exp.default_class), key=f"explain_global_class_{key}",
            format_func=str, help="SHAP values push the model's output for this class up or down.",
        )
    importance, swarm, depend = st.tabs(["Importance", "Beeswarm", "Dependence"])
    with importance:
        render.show_figure(explain.importance_bar(exp, class_), key="explain_importance")
    with swarm:
        render.show_figure(explain.beeswarm(exp, class_), key="explain_beeswarm")
        st.caption("One dot per row and column; color: the column's value (categories by level, text by length).")
    with depend:
        order = [exp.columns[j] for j in np.argsort(-np.abs(exp.output_values).mean(axis=(0, 2)), kind="stable")]
        left, right = st.columns(2)
        feature = left.selectbox("Column", order, key=f"explain_dep_feature_{key}")
        color = right.selectbox(
            "Color by", [STRONGEST, NO_COLOR, *[c for c in order if c != feature]], key=f"explain_dep_color_{key}",
            help="strongest interaction: the column whose values best explain the vertical spread (a heuristic).",
        )
        color_by = None if color == STRONGEST else False if color == NO_COLOR else color
        render.show_figure(explain.dependence(exp, feature, color_by=color_by, class_=class_), key="explain_dependence")


def pick_row(exp: explain.Explanation, key: str) -> int:
    """A row position among the explained rows, by position or by filtering on a column's value."""
    n = exp.n_explained
    how = st.radio("Pick a row", ["by position", "by a column's value"], horizontal=True, key=f"explain_pick_{key}")
    if how == "by position" or n == 1:
        position = st.number_input(
            f"Row position (0 to {n - 1:,})", min_value=0, max_value=n - 1, value=0, step=1, key=f"explain_row_{key}"
        )
        return int(position)
    left, middle, right = st.columns(3)
    column = left.selectbox("Column", exp.columns, key=f"explain_filter_column_{key}")
    shown = pd.Series([explain.format_value(v) for v in exp.rows[column]], dtype=object)
    values = sorted(shown.unique().tolist())[:MAX_FILTER_VALUES]
    value = middle.selectbox("Value", values, key=f"explain_filter_value_{key}_{column}")
    matches = np.flatnonzero(shown.to_numpy() == value).tolist() or [0]
    position = right.selectbox(
        f"Matching rows ({len(matches):,})", matches, key=f"explain_filter_row_{key}_{column}",
        format_func=lambda p: f"row {exp.row_index[p]}",
    )
    return int(position)


@st.fragment
def local_section(exp: explain.Explanation, key: str) -> None:
    st.subheader("Why one row got its prediction")
    position = pick_row(exp, key)
    prediction = explain.format_value(exp.predictions[position])
    st.caption(
        f"Row {render.md_escape(exp.row_index[position])} · the model predicts "
        f"**{render.md_escape(prediction)}**"
    )
    class_ = None
    if exp.is_classifier:
        choice = st.selectbox("Class", [PREDICTED, *class_options(exp)], key=f"explain_local_class_{key}", format_func=str)
        class_ = None if choice == PREDICTED else choice
    render.show_figure(explain.waterfall(exp, position, class_), key="explain_waterfall")
    text_columns = [c for c in exp.columns if exp.kinds.get(c) == "text"]
    if text_columns:
        column = text_columns[0]
        if len(text_columns) > 1:
            column = st.selectbox("Text column", text_columns, key=f"explain_text_column_{key}")
        try:
            render.show_figure(explain.text_tokens(exp, position, column, class_), key="explain_tokens")
        except explain.ExplainError as exc:
            st.info(render.md_escape(str(exc)))  # the sentence quotes the column name
    with st.expander("This row's values"):
        st.dataframe(exp.rows.iloc[[position]].T.astype(str), width="stretch")


st.title("Explain")
run = state.require_run()
st.caption(
    f"Model **{render.md_escape(run.label)}** · run {render.md_escape(run.run_id)} · {render.md_escape(run.task)} "
    f"· target {render.md_escape(run.target)}"
)
key = explain.cache_key(run)
if key not in cached() and key not in errors() and st.session_state.get(JOB) is None:
    start(run, key, allow_slow=False)
if st.session_state.get(JOB) is not None and st.session_state.get(JOB_FOR) != key:
    st.caption("Finishing the explanation of the previous model first.")
render.follow_job(JOB, on_done, stoppable=False)
if key in errors():
    render.show_error(explain.ExplainError(errors()[key]))
    if st.button("Try again", key="explain_retry"):
        errors().pop(key, None)
        st.rerun()
    st.stop()
explanation = cached().get(key)
if explanation is None:
    st.stop()
summary(explanation, run, key)
global_section(explanation, key)
local_section(explanation, key)
