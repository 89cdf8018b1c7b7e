"""Data page: get a data set in (sample, upload or URL), look at its columns, and set their roles."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd
import streamlit as st

from core import datasets
from core.datasets import DataError
from core.schema import TASKS, infer_task
from ui.render import md_escape, show_error
from ui.state import LoadedData, current_data, set_data

UPLOAD_TYPES = ["csv", "tsv", "txt", "tab", "dat", "data", "psv", "xlsx", "xlsm", "parquet", "pq", "json", "jsonl", "ndjson"]
PREVIEW_ROWS = 100
NO_TARGET = ""
KINDS = ["numeric", "categorical", "text", "datetime"]
# Bumped on every load or rename, so the role widgets start again from the new data's guesses.
VERSION = "data_page_version"
LAST_UPLOAD = "data_page_last_upload"
COLUMN_TABLE = "data_page_column_table"
LOADED_MESSAGE = "data_page_loaded_message"


@st.cache_data(max_entries=len(datasets.SAMPLES), show_spinner="Loading the sample ...")
def sample_frame(name: str) -> pd.DataFrame:
    return datasets.load_sample(name)


def load(name: str, source: str, read: Callable[[], pd.DataFrame]) -> None:
    """Make read()'s frame the session's data set; on bad input say why and keep the old one."""
    try:
        df = read()
    except DataError as exc:
        show_error(exc)
        return
    except Exception as exc:  # a reader bug must not show a traceback or cost the loaded data
        logging.getLogger(__name__).exception("loading %s failed", name)
        show_error(DataError(f"{name} could not be loaded ({type(exc).__name__}); try another file."))
        return
    set_data(name, df, source)
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1
    st.session_state.pop(COLUMN_TABLE, None)
    st.session_state[LOADED_MESSAGE] = f"Loaded {md_escape(name)}: {len(df):,} rows x {df.shape[1]:,} columns."
    # Rerun so everything drawn before this point (the sidebar's data set) shows the new data.
    st.rerun()


def ways_in() -> None:
    sample_tab, upload_tab, url_tab = st.tabs(["Sample", "Upload a file", "From a URL"])
    with sample_tab:
        name = st.selectbox(
            "Built-in sample (works offline)",
            list(datasets.SAMPLES),
            format_func=lambda n: f"{n} — {datasets.SAMPLES[n]}",
            key="data_sample",
        )
        if st.button("Load sample", key="data_load_sample", icon=":material/download:"):
            load(name, "built-in sample", lambda: sample_frame(name))
    with upload_tab:
        uploaded = st.file_uploader(
            "CSV, TSV, delimited or whitespace-separated text, Excel (.xlsx), Parquet or JSON",
            type=UPLOAD_TYPES,
            key="data_upload",
            help="Delimiter, header, encoding and quoting are detected. The size limit is 200 MB.",
        )
        # The uploader keeps its file across reruns: read each new file once, not on every rerun.
        if uploaded is not None and st.session_state.get(LAST_UPLOAD) != uploaded.file_id:
            st.session_state[LAST_UPLOAD] = uploaded.file_id
            # Not cached: each new file is read once here, and a cache would hold a second copy of
            # the frame (a 190 MB CSV peaked at 1.5 GB of server memory with one).
            load(uploaded.name, "uploaded file", lambda: datasets.read_table(uploaded.getvalue(), name=uploaded.name))
    with url_tab:
        url = st.text_input(
            "http:// or https:// address of a data file", key="data_url", placeholder="https://example.com/data.csv",
            help=(
                "Read with a 15 s timeout and the 200 MB limit. Addresses on this server's own network "
                "(loopback, private, link-local) are refused unless the server runs with "
                "WORKBENCH_URL_POLICY=any."
            ),
        )
        if st.button("Load from URL", key="data_load_url", icon=":material/link:"):
            if not url.strip():
                st.warning("Type the address of a file first.")
            else:
                address = url.strip()
                name = address.rstrip("/").rsplit("/", 1)[-1] or address
                load(name, address, lambda: datasets.read_url(address))


def column_table(data: LoadedData) -> pd.DataFrame:
    """dtype, missing and distinct counts per column, computed once per loaded version."""
    version = st.session_state.get(VERSION, 0)
    cached = st.session_state.get(COLUMN_TABLE)
    if cached is None or cached[0] != version or cached[1] is not data.df:
        cached = (version, data.df, datasets.describe_columns(data.df))
        st.session_state[COLUMN_TABLE] = cached
    table = cached[2].copy()
    table["kind"] = [data.kinds.get(c, k) for c, k in zip(table["column"], table["kind"], strict=True)]
    return table


def rename_editor(data: LoadedData, version: int) -> None:
    with st.expander("Rename columns", expanded=all(str(c).startswith("col_") for c in data.df.columns)):
        st.caption("Headerless files get col_1, col_2, ...: give them real names here. Roles are guessed again.")
        names = [str(c) for c in data.df.columns]
        edited = st.data_editor(
            pd.DataFrame({"column": names, "new name": names}),
            disabled=["column"],
            hide_index=True,
            key=f"data_rename_{version}",
            width="stretch",
        )
        if st.button("Apply names", key=f"data_apply_names_{version}"):
            mapping = {
                old: "" if pd.isna(new) else str(new)
                for old, new in zip(edited["column"], edited["new name"], strict=True)
            }
            try:
                renamed = datasets.rename_columns(data.df, mapping)
            except DataError as exc:
                show_error(exc)
                return
            set_data(data.name, renamed, data.source)
            st.session_state[VERSION] = version + 1
            st.session_state.pop(COLUMN_TABLE, None)
            st.rerun()


def kind_editor(data: LoadedData, table: pd.DataFrame, version: int) -> None:
    """Kind per column, editable; a non-numeric column cannot be made numeric."""
    edited = st.data_editor(
        table[["column", "dtype", "kind", "missing", "missing %", "distinct", "example"]],
        column_config={
            "kind": st.column_config.SelectboxColumn(
                "kind", options=KINDS, required=True, help="How training treats the column"
            ),
        },
        disabled=["column", "dtype", "missing", "missing %", "distinct", "example"],
        hide_index=True,
        key=f"data_kinds_{version}",
        width="stretch",
    )
    refused = []
    for column, kind in zip(edited["column"], edited["kind"], strict=True):
        values = data.df[column]
        numeric_ok = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if kind == "numeric" and not numeric_ok:
            refused.append(column)
            continue
        if kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(values):
            refused.append(column)
            continue
        data.kinds[column] = kind
    if refused:
        shown = ", ".join(md_escape(c) for c in refused)
        st.warning(f"Kept the old kind for {shown}: the values are not numbers or dates in the file.")


def role_editor(data: LoadedData, version: int) -> None:
    columns = [str(c) for c in data.df.columns]
    left, right = st.columns(2)
    with left:
        # "" stands for no target: column names are never empty, and a None option would read
        # the same as "nothing selected".
        options = [NO_TARGET, *columns]
        chosen = st.selectbox(
            "Target: the column to predict",
            options,
            index=options.index(data.target) if data.target in options else 0,
            format_func=lambda c: "(none: explore only)" if c == NO_TARGET else c,
            key=f"data_target_{version}",
        )
        target = None if chosen in (NO_TARGET, None) else chosen
    task = None
    with right:
        if target is not None:
            inferred = infer_task(data.df[target])
            # Keep the analyst's override while the target stays; a new target starts from the guess.
            current = data.task if target == data.target and data.task in TASKS else inferred
            task = st.selectbox(
                "Task",
                list(TASKS),
                index=list(TASKS).index(current),
                key=f"data_task_{version}_{target}",
                help=f"Inferred from the target: {inferred}.",
            )
    feature_options = [c for c in columns if c != target]
    features = st.multiselect(
        "Features: the columns the model sees",
        feature_options,
        default=[c for c in data.features if c in feature_options],
        key=f"data_features_{version}_{target}",
    )
    data.target, data.task = target, task
    data.features = list(features)
    data.ignored = [c for c in columns if c not in features and c != target]

    if data.ignored:
        reasons = [data.reasons.get(c, "left out by you") for c in data.ignored]
        st.caption("Ignored columns")
        st.dataframe(
            pd.DataFrame({"column": data.ignored, "why": reasons}), hide_index=True, width="stretch"
        )
    if target is not None and not features:
        st.warning("Pick at least one feature: a model needs something to learn from.")
    if task == "regression" and target is not None and not pd.api.types.is_numeric_dtype(data.df[target]):
        st.warning("Regression needs a numeric target; choose binary or multiclass, or another target.")
    if target is not None and data.kinds.get(target) == "text":
        st.warning("The target looks like free text; a target should be a number or a few labels.")


def loaded_view(data: LoadedData) -> None:
    version = st.session_state.get(VERSION, 0)
    st.subheader(md_escape(data.name))
    st.caption(f"{md_escape(data.source)} · {data.shape_text}")
    st.dataframe(data.df.head(PREVIEW_ROWS), width="stretch")
    if len(data.df) > PREVIEW_ROWS:
        st.caption(f"First {PREVIEW_ROWS} of {len(data.df):,} rows.")
    rename_editor(data, version)
    st.subheader("Columns")
    kind_editor(data, column_table(data), version)
    st.subheader("Roles")
    role_editor(data, version)


st.title("Data")
st.caption("Load a data set: a built-in sample, a file from your computer, or a file on the web.")
ways_in()
if LOADED_MESSAGE in st.session_state:
    st.success(st.session_state.pop(LOADED_MESSAGE), icon=":material/check:")
loaded = current_data()
if loaded is None:
    st.info("No data set loaded yet. Pick a sample and press Load sample to start.")
else:
    st.divider()
    loaded_view(loaded)
