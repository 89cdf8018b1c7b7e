"""Explore page: summary table, missing values, distributions, scatter with trend, density,
correlation and target-vs-feature views of the loaded data set.

The figures come from core.eda, which aggregates on the server, so even a million rows send
little to the browser. Built figures are cached per data set (by a content hash computed once
per loaded frame), so switching widgets and tabs stays fast.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pandas as pd
import streamlit as st

from core import eda
from ui import render, state

DATA_KEY_MEMO = "explore_data_key"
TABS = ["Overview", "Distributions", "Scatter & density", "Correlation", "Target"]


def data_key(df: pd.DataFrame) -> str:
    """A content hash of the frame, computed once per loaded frame and remembered for this session."""
    memo = st.session_state.get(DATA_KEY_MEMO)
    if memo is not None and memo[0] is df:
        return memo[1]
    digest = hashlib.sha256(repr((list(map(str, df.columns)), list(map(str, df.dtypes)), df.shape)).encode())
    try:
        digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    except TypeError:
        # Unhashable cells (lists from a JSON file): fall back to this object's identity; the memo
        # keeps the frame alive, so the identity cannot be reused while it is remembered.
        digest.update(str(id(df)).encode())
    key = digest.hexdigest()[:20]
    st.session_state[DATA_KEY_MEMO] = (df, key)
    return key


@st.cache_data(max_entries=16, show_spinner=False)
def cached_summary(key: str, _df: pd.DataFrame) -> pd.DataFrame:
    return eda.summary(_df)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_overview(key: str, target: object, task: str | None, _df: pd.DataFrame) -> dict:
    return eda.overview(_df, target=target, task=task)


@st.cache_data(max_entries=128, show_spinner=False)
def cached_figure(key: str, view: str, args: tuple, _df: pd.DataFrame):
    """One eda figure; key identifies the data set, view and args the figure."""
    builders: dict[str, Callable] = {
        "missing": eda.missing_chart,
        "distribution": eda.distribution,
        "scatter": eda.scatter,
        "density": eda.density2d,
        "correlation": lambda frame, kept: eda.correlation(frame[list(kept)]),
        "target": eda.target_view,
    }
    return builders[view](_df, *args)


def show(key: str, view: str, args: tuple, df: pd.DataFrame, chart_key: str) -> None:
    """Build (or fetch) a figure and draw it; a figure that cannot be drawn says why in one sentence."""
    try:
        fig = cached_figure(key, view, args, df)
    except eda.EDAError as exc:
        render.show_error(exc)
        return
    except Exception as exc:  # noqa: BLE001 - keep the page alive; the sentence names the failure
        render.show_error(RuntimeError(f"This chart could not be drawn ({exc.__class__.__name__}: {exc})."))
        return
    render.show_figure(fig, key=chart_key)


data = state.require_data()
df = data.df
key = data_key(df)
columns = list(df.columns)
# Roles hold column names as text; map them back to the frame's own labels (which may be numbers).
by_name = {str(c): c for c in columns}
target = by_name.get(str(data.target)) if data.target is not None else None
numeric = [c for c in columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
# Columns the analyst ignores (row IDs, say) stay pickable but are not the defaults.
kept = [c for c in columns if str(c) not in set(data.ignored)]

st.title("Explore")
st.caption(f"{render.md_escape(data.name)} · {data.shape_text}")

# Lazy tabs: only the open tab's figures are built on each run.
overview_tab, distribution_tab, pair_tab, correlation_tab, target_tab = st.tabs(
    TABS, key="explore_tab", on_change="rerun"
)

if overview_tab.open:
    with overview_tab:
        st.subheader("Summary statistics")
        try:
            st.dataframe(cached_summary(key, df), width="stretch")
        except Exception as exc:  # noqa: BLE001 - a table that cannot be shown must not end the page
            render.show_error(RuntimeError(f"The summary table could not be built ({exc.__class__.__name__})."))
        st.subheader("At a glance")
        st.caption(
            "Missing values, correlation, the first columns' distributions, the strongest numeric pair and "
            "the features that go most with the target. The other tabs let you pick columns."
        )
        try:
            figures = cached_overview(key, target, data.task, df)
        except eda.EDAError as exc:
            render.show_error(exc)
            figures = {}
        except Exception as exc:  # noqa: BLE001 - keep the page alive; the sentence names the failure
            render.show_error(RuntimeError(f"The overview charts could not be drawn ({exc.__class__.__name__})."))
            figures = {}
        charts = list(figures.values())
        for row in range(0, len(charts), 2):
            # One st.columns per row keeps the charts of a row side by side at the same height.
            for offset, (column, fig) in enumerate(zip(st.columns(2), charts[row : row + 2], strict=False)):
                with column:
                    render.show_figure(fig, key=f"explore_overview_{row + offset}")

if distribution_tab.open:
    with distribution_tab:
        if not columns:
            st.info("This data set has no columns.")
        else:
            column = st.selectbox("Column", columns, format_func=str, key=f"explore_dist_{key}")
            show(key, "distribution", (column,), df, "explore_distribution")

if pair_tab.open:
    with pair_tab:
        if len(numeric) < 2:
            st.info("The scatter and density views need two numeric columns; this data set has fewer.")
        else:
            preferred = [c for c in numeric if c in kept and c != target] or [c for c in numeric if c != target]
            default_x = preferred[0] if preferred else numeric[0]
            default_y = target if target in numeric else next(c for c in numeric if c != default_x)
            left, middle, right = st.columns(3)
            x = left.selectbox("x", numeric, index=numeric.index(default_x), format_func=str, key=f"explore_x_{key}")
            y = middle.selectbox("y", numeric, index=numeric.index(default_y), format_func=str, key=f"explore_y_{key}")
            colour = right.selectbox(
                "Colour by (optional)", [None, *columns], format_func=lambda c: "none" if c is None else str(c),
                key=f"explore_colour_{key}",
            )
            if x == y:
                st.info("Pick two different columns for x and y.")
            else:
                st.caption("Scatter with a least-squares trend line (fitted on all rows; points are a sample when there are many).")
                show(key, "scatter", (x, y, colour), df, "explore_scatter")
                st.caption("Two-variable density: rows counted in a grid, with each column's histogram at the sides.")
                show(key, "density", (x, y), df, "explore_density")

if correlation_tab.open:
    with correlation_tab:
        st.caption("Ignored columns (row IDs, say) are left out; change roles on the Data page.")
        show(key, "correlation", (tuple(kept),), df, "explore_correlation")

if target_tab.open:
    with target_tab:
        if target is None:
            st.info("No target is chosen. Pick one on the Data page to see how the features relate to it.")
        else:
            usable = [by_name[c] for c in data.features
                      if c in by_name and data.kinds.get(c) in ("numeric", "categorical")]
            st.caption(
                f"Target: {render.md_escape(data.target)} · task: {data.task or 'not set'}. "
                "Boxes or binned means for a numeric target; class shares or per-class histograms for classes."
            )
            if not usable:
                st.info("No numeric or categorical feature to compare with the target.")
            else:
                feature = st.selectbox("Feature", usable, format_func=str, key=f"explore_feature_{key}")
                show(key, "target", (target, feature, data.task), df, "explore_target")
