"""Predict page: a what-if form generated from the current model's training schema, and batch scoring.

Thin: the form's fields, starting rows and one-row predictions come from core.whatif; the file
check, scoring and the formula-safe CSV from core.scoring; files are read by core.datasets, the
same reader as the Data page. The what-if history lives in this session only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import datasets, scoring, whatif
from core.datasets import DataError
from core.scoring import ScoringError
from core.whatif import WhatIfError
from ui import render, state

HISTORY = "predict_whatif_history"  # list of scenarios, newest last, all runs of this session
HISTORY_CAP = 20
LAST = "predict_whatif_last"  # (run_id, WhatIfResult) on show
START = "predict_whatif_start"  # run_id -> (description, starting values)
VALUES = "predict_whatif_values"  # run_id -> the form's values last loaded or submitted
BATCH = "predict_batch_result"  # (file_id, run_id, RowCheck, scored frame or None, csv bytes, error)
BATCH_PREVIEW_ROWS = 20
EXPLAINERS = "predict_explainers"  # the current run's SHAP explainer, built once per session and run
MISSING = "(missing)"


def field_key(run_id: str, position: int) -> str:
    # Positions, not column names: names are user text and can be anything.
    return f"predict_field_{run_id}_{position}"


def shown(value: Any) -> str:
    return MISSING if value is None else whatif.fmt(value)


def to_widget(f: whatif.Field, value: Any) -> Any:
    """A value as its widget holds it: a missing category is the "(missing)" option."""
    return MISSING if f.kind == "category" and value is None else value


def from_widget(f: whatif.Field, value: Any) -> Any:
    if f.kind == "category" and value == MISSING:
        return None
    if f.kind == "text" and value is None:
        return ""
    return value


# ---- what-if ----------------------------------------------------------------------------------


def load_start(run: Any, fields: list[whatif.Field]) -> None:
    """Button callback: fill the form with the chosen starting row (runs before the widgets exist)."""
    mode = st.session_state.get(f"predict_start_mode_{run.run_id}", "median row")
    try:
        if mode == "median row":
            values, what = whatif.starting_row(run, "median"), "the median row"
        else:
            n = int(st.session_state.get(f"predict_start_row_{run.run_id}", 0))
            values, what = whatif.starting_row(run, n), f"held-out row {n}"
    except WhatIfError as exc:
        st.session_state[f"predict_start_error_{run.run_id}"] = str(exc)
        return
    st.session_state.pop(f"predict_start_error_{run.run_id}", None)
    st.session_state.setdefault(START, {})[run.run_id] = (what, values)
    st.session_state.setdefault(VALUES, {})[run.run_id] = dict(values)
    for i, f in enumerate(fields):
        st.session_state[field_key(run.run_id, i)] = to_widget(f, values[f.name])


def ensure_form_state(run: Any, fields: list[whatif.Field]) -> tuple[str, dict[str, Any]]:
    """The starting row (median the first time) and widget values restored after a page switch."""
    starts = st.session_state.setdefault(START, {})
    if run.run_id not in starts:
        starts[run.run_id] = ("the median row", whatif.starting_row(run, "median"))
    remembered = st.session_state.setdefault(VALUES, {}).setdefault(run.run_id, dict(starts[run.run_id][1]))
    for i, f in enumerate(fields):
        key = field_key(run.run_id, i)
        if key not in st.session_state:
            st.session_state[key] = to_widget(f, remembered.get(f.name, f.default))
    return starts[run.run_id]


def field_widget(run_id: str, position: int, f: whatif.Field) -> Any:
    """One widget for one feature; its value lives in session state (filled by load_start)."""
    key = field_key(run_id, position)
    label = render.md_escape(f.name)
    current = st.session_state.get(key)
    if f.kind == "number":
        # An integer column's widget steps by 1, unless this row holds a fraction there.
        whole = f.integer and (current is None or isinstance(current, int))
        return st.number_input(
            label, value=None, step=1 if whole else float(f.step or 1), format=None if whole else (f.format or "%.4g"),
            key=key, help=f.help, placeholder=MISSING if f.allow_missing else None,
        )  # fmt: skip
    if f.kind == "category":
        options = list(f.levels)
        if current is not None and current != MISSING and current not in options:
            options.append(current)  # a held-out row's level that training never saw
        if f.allow_missing or current == MISSING:
            options.append(MISSING)
        return st.selectbox(label, options, index=None, format_func=str, key=key, help=f.help)
    return st.text_area(label, value=None, key=key, help=f.help, height=100)


def remember(run: Any, result: whatif.WhatIfResult) -> None:
    history = st.session_state.setdefault(HISTORY, [])
    number = (history[-1]["number"] + 1) if history else 1
    history.append(
        {
            "number": number,
            "run_id": run.run_id,
            "values": result.values,
            "prediction": result.prediction,
            "probabilities": result.probabilities,
            "warnings": len(result.warnings),
            "changed": [c.name for c in result.changes],
        }
    )
    del history[:-HISTORY_CAP]
    st.session_state[LAST] = (run.run_id, number, result)


def show_result(run: Any, number: int, result: whatif.WhatIfResult, start_what: str) -> None:
    st.subheader(f"Scenario {number}")
    for warning in result.warnings:
        st.warning(render.md_escape(warning), icon=":material/warning:")
    cols = st.columns([1, 2])
    with cols[0]:
        st.metric(f"Predicted {render.md_escape(run.target)}", shown(result.prediction))
        if result.probabilities is not None:
            st.dataframe(
                pd.DataFrame(
                    {"class": [str(c) for c in result.probabilities], "probability": list(result.probabilities.values())}
                ),
                hide_index=True,
                width="stretch",
                column_config={"probability": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.3f")},
            )
        st.caption(f"Predicted in {result.seconds * 1000:.0f} ms, SHAP included ({result.explain_seconds * 1000:.0f} ms).")
        if result.changes:
            st.markdown(f"**Changed from {start_what}**")
            st.dataframe(
                pd.DataFrame(
                    {
                        "feature": [c.name for c in result.changes],
                        "start": [shown(c.start) for c in result.changes],
                        "what-if": [shown(c.value) for c in result.changes],
                    }
                ),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption(f"Same values as {start_what}.")
    with cols[1]:
        if result.waterfall is not None:
            render.show_figure(result.waterfall, key=f"predict_waterfall_{number}")
        else:
            st.info(render.md_escape(result.waterfall_note))


def compare_scenarios(run: Any) -> None:
    history = [h for h in st.session_state.get(HISTORY, []) if h["run_id"] == run.run_id]
    if not history:
        return
    st.subheader("Scenarios this session")
    st.caption(f"The last {HISTORY_CAP} what-if rows of this browser session; they are not saved anywhere.")
    target = run.target
    st.dataframe(
        pd.DataFrame(
            {
                "scenario": [h["number"] for h in history],
                f"predicted {target}": [shown(h["prediction"]) for h in history],
                "changed from its start": [", ".join(h["changed"]) or "nothing" for h in history],
                "range warnings": [h["warnings"] for h in history],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if len(history) < 2:
        st.caption("Predict another scenario to compare two side by side.")
        return
    numbers = [h["number"] for h in history]
    left, right = st.columns(2)
    a = left.selectbox("Compare scenario", numbers, index=len(numbers) - 2, key=f"predict_cmp_a_{run.run_id}")
    b = right.selectbox("with scenario", numbers, index=len(numbers) - 1, key=f"predict_cmp_b_{run.run_id}")
    first = next(h for h in history if h["number"] == a)
    second = next(h for h in history if h["number"] == b)
    rows = [(f"predicted {target}", first["prediction"], second["prediction"])]
    if first["probabilities"] is not None:
        rows += [(f"P({c})", first["probabilities"][c], second["probabilities"][c]) for c in first["probabilities"]]
    rows += [(name, first["values"][name], second["values"][name]) for name in run.schema.names]
    table = pd.DataFrame(
        {
            "": [r[0] for r in rows],
            f"scenario {a}": [shown(r[1]) for r in rows],
            f"scenario {b}": [shown(r[2]) for r in rows],
            "differs": ["yes" if shown(r[1]) != shown(r[2]) else "" for r in rows],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")


def what_if(run: Any) -> None:
    fields = whatif.form_fields(run.schema)
    start_what, start_values = ensure_form_state(run, fields)
    held_out = len(run.X_test) if run.X_test is not None else 0
    with st.container(border=True):
        modes = ["median row", "a held-out row"] if held_out else ["median row"]
        c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
        mode = c1.radio("Start from", modes, horizontal=True, key=f"predict_start_mode_{run.run_id}")
        if mode == "a held-out row":
            c2.number_input(
                f"Row (0 to {held_out - 1})", min_value=0, max_value=held_out - 1, value=0, step=1,
                key=f"predict_start_row_{run.run_id}",
            )  # fmt: skip
        c3.button("Load into the form", on_click=load_start, args=(run, fields), key=f"predict_load_{run.run_id}")
        if not held_out:
            st.caption("No held-out rows are kept with this model, so the form starts from the median row.")
        error = st.session_state.get(f"predict_start_error_{run.run_id}")
        if error:
            st.error(render.md_escape(error))
        st.caption(f"The form holds {start_what}; numbers show their training range when you hover the help icon.")

    with st.form(f"predict_whatif_{run.run_id}"):
        columns = st.columns(3)
        for i, f in enumerate(fields):
            with columns[i % 3]:
                field_widget(run.run_id, i, f)
        submitted = st.form_submit_button("Predict", type="primary", icon=":material/online_prediction:")

    if submitted:
        values = {f.name: from_widget(f, st.session_state.get(field_key(run.run_id, i))) for i, f in enumerate(fields)}
        st.session_state.setdefault(VALUES, {})[run.run_id] = dict(values)
        try:
            with st.spinner("Predicting ..."):
                cache = st.session_state.setdefault(EXPLAINERS, {})
                result = whatif.predict_row(run, values, start=start_values, explainer_cache=cache)
        except WhatIfError as exc:
            render.show_error(exc)
        else:
            remember(run, result)

    last = st.session_state.get(LAST)
    if last is not None and last[0] == run.run_id:
        show_result(run, last[1], last[2], start_what)
    compare_scenarios(run)


# ---- batch scoring ------------------------------------------------------------------------------


def batch(run: Any) -> None:
    st.caption(
        "Upload rows with the model's feature columns (the same formats as the Data page). Extra columns "
        "are kept and ignored; the download adds the prediction"
        + (" and one probability column per class." if run.task != "regression" else ".")
    )
    uploaded = st.file_uploader("File of rows to score", key=f"predict_batch_upload_{run.run_id}")
    if uploaded is None:
        return
    cached = st.session_state.get(BATCH)
    if cached is None or cached[0] != uploaded.file_id or cached[1] != run.run_id:
        cached = score_file(run, uploaded)
        st.session_state[BATCH] = cached
    _, _, check, scored, csv_bytes, error = cached
    if error is not None:
        render.show_error(error)
        return
    for sentence in check.errors:
        st.error(render.md_escape(sentence), icon=":material/error:")
    for sentence in check.warnings:
        st.warning(render.md_escape(sentence), icon=":material/warning:")
    if scored is None:
        st.info("Fix the file and upload it again; nothing was scored.")
        return
    st.success(f"Scored {len(scored):,} rows.", icon=":material/check_circle:")
    st.dataframe(scored.head(BATCH_PREVIEW_ROWS), width="stretch")
    if len(scored) > BATCH_PREVIEW_ROWS:
        st.caption(f"The first {BATCH_PREVIEW_ROWS} of {len(scored):,} rows; the download has them all.")
    stem = uploaded.name.rsplit(".", 1)[0] or "rows"
    st.download_button(
        "Download predictions (CSV)", data=csv_bytes, file_name=f"{stem}_predictions.csv", mime="text/csv",
        icon=":material/download:", key=f"predict_batch_download_{run.run_id}",
        help="Cells that a spreadsheet would run as a formula start with a ' so they open as text.",
    )  # fmt: skip


def score_file(run: Any, uploaded: Any) -> tuple:
    """(file_id, run_id, check, scored, csv, error) for an upload; errors are kept to be shown."""
    try:
        with st.spinner("Reading and scoring the file ..."):
            df = datasets.read_table(uploaded.getvalue(), name=uploaded.name)
            check = scoring.check_rows(df, run.schema)
            if not check.ok:
                return uploaded.file_id, run.run_id, check, None, None, None
            scored = scoring.score(run, df)
            return uploaded.file_id, run.run_id, check, scored, scoring.to_csv_safe(scored), None
    except (DataError, ScoringError) as exc:
        return uploaded.file_id, run.run_id, None, None, None, exc


run = state.require_run()
st.title("Predict")
st.caption(
    f"Current model: {render.md_escape(run.label)} (run {run.run_id}), predicting "
    f"{render.md_escape(run.target)} ({run.task})."
)
whatif_tab, batch_tab = st.tabs(["What-if", "Batch scoring"])
with whatif_tab:
    what_if(run)
with batch_tab:
    batch(run)
