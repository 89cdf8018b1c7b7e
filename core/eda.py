"""Explore: a summary table and plotly figures that aggregate on the server.

Every figure ships counts, quantiles or a bounded, seeded sample, never the raw rows, so its
JSON stays far under 1 MB whatever the row count (a naive px.scatter of 1,000,000 points is
27 MB, and px.density_heatmap ships the raw points too). Sampled figures say so on the chart.

Column names and category values are user text: every one that reaches a title, axis, legend or
hover goes through `_label`, so "<b>" shows as "<b>" instead of turning the title bold.
"""

from __future__ import annotations

import html
import math
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.schema import column_kind, infer_task, is_id_like

MAX_SCATTER_POINTS = 5_000
MAX_LEVELS = 30  # category levels drawn one by one; the rest share one "other" bar
MAX_CLASSES = 10  # classes drawn one by one in classification views and scatter colours
MAX_HIST_BINS = 80
MIN_HIST_BINS = 10
DISCRETE_MAX_VALUES = 30  # a numeric column with at most this many values is drawn per value
DENSITY_BINS = 60
TARGET_BINS = 20
MAX_CORR_COLUMNS = 40
MAX_CORR_CANDIDATES = 400  # columns considered when more than MAX_CORR_COLUMNS are numeric
MAX_OVERVIEW_COLUMNS = 400  # columns the default set looks at in a very wide frame
MAX_MISSING_BARS = 50
OVERVIEW_DISTRIBUTIONS = 12
OVERVIEW_TARGET_VIEWS = 3
RANKING_ROWS = 50_000  # rows sampled to rank columns; the figures themselves use all rows
SEED = 0
CHUNK_ROWS = 65_536  # rows per block in the correlation sums: bounded memory, cache-friendly
HUGE = 1e150  # larger magnitudes are treated as infinite (their squares overflow float64)

# Levels we add ourselves are drawn in italics: a user's own level with the same words is
# escaped, so it can never be confused with these.
MISSING_LEVEL = "<i>missing</i>"
REGRESSION = "regression"


class EDAError(ValueError):
    """A figure cannot be drawn for these columns; the message says what to pick instead."""


# ---------------------------------------------------------------- small helpers


def _label(name: object) -> str:
    """User text made inert for plotly: tags escaped, and no %{...} template placeholders."""
    return html.escape(str(name), quote=False).replace("%{", "%\u200b{")


def _count_text(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _title(main: str, notes: list[str] | None = None) -> dict:
    """A title with the notes (sample size, dropped values) on a smaller second line."""
    text = main
    if notes:
        text += "<br><sup>" + "; ".join(notes) + "</sup>"
    return {"text": text, "x": 0.0, "xanchor": "left"}


def _finish(fig: go.Figure, main: str, notes: list[str] | None = None, **layout) -> go.Figure:
    fig.update_layout(title=_title(main, notes), margin={"t": 90 if notes else 60}, **layout)
    return fig


def _message_figure(main: str, message: str) -> go.Figure:
    """A figure that says, in its middle, why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _finish(fig, main, height=300)


def _column(df: pd.DataFrame, column: object) -> pd.Series:
    if column not in df.columns:
        raise EDAError(f"There is no column named {str(column)!r} in this data set.")
    if int((df.columns == column).sum()) > 1:
        raise EDAError(f"Several columns are named {str(column)!r}; rename them on the Data page first.")
    return df[column]


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _floats(s: pd.Series, view: str) -> tuple[np.ndarray, int]:
    """Values as floats with missing as NaN, plus how many infinities were turned into NaN.

    Values beyond ±1e150 count as infinite: their squares overflow, so no variance, fit or bin
    width could be computed with them (such magnitudes are sentinels, not measurements).
    Booleans count as 0/1; text raises EDAError naming the view that needs numbers.
    """
    if pd.api.types.is_bool_dtype(s):
        values = s.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    elif _is_numeric(s):
        values = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        raise EDAError(f"Column {str(s.name)!r} is not numeric, so it cannot be used in the {view}; pick a numeric column.")
    with np.errstate(invalid="ignore"):
        infinite = np.abs(values) > HUGE
    n_inf = int(infinite.sum())
    if n_inf:
        values = values.copy()
        values[infinite] = np.nan
    return values, n_inf


def _drop_notes(n_missing: int, n_inf: int) -> list[str]:
    notes = []
    if n_missing:
        notes.append(f"{n_missing:,} missing left out")
    if n_inf:
        notes.append(_count_text(n_inf, "infinite value") + " dropped")
    return notes


def _sample_index(n: int, size: int = MAX_SCATTER_POINTS, seed: int = SEED) -> np.ndarray:
    """Positions of a seeded random sample of at most size rows, in row order."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _shown_note(shown: int, total: int) -> str:
    if shown == total:
        return f"all {_count_text(total, 'row')} shown"
    return f"{shown:,} of {total:,} rows shown (random sample)"


def _hist_bins(values: np.ndarray) -> tuple[int, tuple[float, float]]:
    """Bin count (Freedman-Diaconis, kept between 10 and 80 for readability) and range for np.histogram.

    The quartiles come from a sample: they only choose the bin width. Equal-width bins given as
    (count, range) keep np.histogram on its fast path; an array of edges makes it sort the data.
    """
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        pad = max(0.5, abs(lo) * 1e-6)  # a relative pad survives float rounding of huge values
        return 1, (lo - pad, hi + pad)
    q1, q3 = np.percentile(values[_sample_index(len(values), RANKING_ROWS)], [25, 75])
    width = 2 * (q3 - q1) / len(values) ** (1 / 3)
    bins = math.ceil((hi - lo) / width) if width > 0 else 30
    return min(MAX_HIST_BINS, max(MIN_HIST_BINS, bins)), (lo, hi)


def _discrete_values(values: np.ndarray) -> np.ndarray | None:
    """The sorted distinct values when there are at most DISCRETE_MAX_VALUES of them, else None."""
    probe = values[_sample_index(len(values), 20_000)]
    if len(np.unique(probe)) > DISCRETE_MAX_VALUES:
        return None
    distinct = np.unique(values)
    return distinct if len(distinct) <= DISCRETE_MAX_VALUES else None


def _number_text(value: float) -> str:
    return f"{value:.10g}"


def _levels(s: pd.Series, max_levels: int, keep_missing: bool) -> tuple[np.ndarray, list[str], np.ndarray, int]:
    """Group a column into its most frequent levels, one "other" group and (optionally) missing.

    Returns per-row group codes (-1 for rows left out), the escaped group labels, the group
    sizes (largest level first), and how many distinct levels the column has.
    """
    # factorize is a single hash pass (about 10x faster than value_counts plus a lookup).
    row_codes, uniques = pd.factorize(s, use_na_sentinel=True)
    missing = row_codes < 0
    counts = np.bincount(row_codes[~missing], minlength=len(uniques))
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] > 0]
    top = order[:max_levels]
    group_of = np.full(len(uniques), -1, dtype=np.int64)
    group_of[top] = np.arange(len(top))
    labels = [_label(uniques[i]) for i in top]
    sizes = [int(counts[i]) for i in top]
    rest = len(order) - len(top)
    if rest > 0:
        group_of[order[len(top):]] = len(labels)
        labels.append(f"<i>other ({_count_text(rest, 'level')})</i>")
        sizes.append(int(counts[order[len(top):]].sum()))
    codes = np.where(missing, -1, group_of[np.maximum(row_codes, 0)])
    if keep_missing and missing.any():
        codes[missing] = len(labels)
        labels.append(MISSING_LEVEL)
        sizes.append(int(missing.sum()))
    return codes, labels, np.array(sizes, dtype=np.int64), len(order)


# ---------------------------------------------------------------- summary and missing values


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per column: kind, counts, missing, and describe()'s statistics or top level.

    Numeric statistics use the finite values; infinities are counted apart. The table is typed
    per column (no mixed object columns) so st.dataframe shows it as is.
    """
    rows = []
    for position, name in enumerate(df.columns):
        s = df.iloc[:, position]
        missing = int(s.isna().sum())
        row: dict[str, object] = {
            "column": str(name),
            "kind": column_kind(s),
            "dtype": str(s.dtype),
            "count": len(s) - missing,
            "missing": missing,
            "missing %": 100.0 * missing / len(s) if len(s) else 0.0,
        }
        if _is_numeric(s):
            values, n_inf = _floats(s, "summary")
            finite = values[~np.isnan(values)]
            row["infinite"] = n_inf
            if len(finite):
                q1, median, q3 = np.percentile(finite, [25, 50, 75])
                row.update(
                    mean=float(finite.mean()),
                    std=float(finite.std(ddof=1)) if len(finite) > 1 else np.nan,
                    min=float(finite.min()),
                    **{"25%": float(q1), "50%": float(median), "75%": float(q3)},
                    max=float(finite.max()),
                )
        else:
            counts = s.dropna().astype(str).value_counts()
            row["unique"] = len(counts)
            if len(counts):
                top = str(counts.index[0])
                row["top"] = top if len(top) <= 100 else top[:99] + "\u2026"
                row["freq"] = int(counts.iloc[0])
        rows.append(row)
    columns = ["column", "kind", "dtype", "count", "missing", "missing %", "unique", "top", "freq",
               "infinite", "mean", "std", "min", "25%", "50%", "75%", "max"]
    table = pd.DataFrame(rows, columns=columns)
    for name in ("count", "missing"):
        table[name] = table[name].astype("int64")
    for name in ("unique", "freq", "infinite"):
        table[name] = table[name].astype("Int64")
    for name in ("missing %", "mean", "std", "min", "25%", "50%", "75%", "max"):
        table[name] = table[name].astype("float64")
    table["top"] = table["top"].astype(object).where(table["top"].notna(), None)
    return table.set_index("column")


def missing_chart(df: pd.DataFrame) -> go.Figure:
    """Missing values per column (bars of %, count in the hover), most missing first."""
    title = "Missing values per column"
    n_rows, n_cols = df.shape
    if n_rows == 0 or n_cols == 0:
        return _message_figure(title, "The data set has no rows, so nothing can be missing.")
    counts = df.isna().sum().to_numpy(dtype=np.int64)
    names = [str(c) for c in df.columns]
    with_missing = np.flatnonzero(counts)
    if len(with_missing) == 0:
        return _message_figure(
            title, f"No missing values: all {n_rows * n_cols:,} cells in {_count_text(n_cols, 'column')} are filled."
        )
    order = with_missing[np.argsort(-counts[with_missing], kind="stable")]
    notes = [f"{len(with_missing):,} of {_count_text(n_cols, 'column')} have missing values, {n_rows:,} rows"]
    if len(order) > MAX_MISSING_BARS:
        notes.append(f"the {MAX_MISSING_BARS} with the most shown")
        order = order[:MAX_MISSING_BARS]
    shown = counts[order]
    fig = go.Figure(
        go.Bar(
            x=[_label(names[i]) for i in order],
            y=100.0 * shown / n_rows,
            customdata=shown,
            hovertemplate=f"%{{x}}<br>missing: %{{customdata:,}} of {n_rows:,} rows<br>%{{y:.2f}}%<extra></extra>",
            marker_color="#d62728",
        )
    )
    fig.update_xaxes(title_text="column", type="category")
    fig.update_yaxes(title_text="missing (% of rows)", rangemode="tozero")
    return _finish(fig, title, notes)


# ---------------------------------------------------------------- one column


def _value_bars(fig: go.Figure, labels: list[str], counts: np.ndarray, total: int, name: str = "") -> None:
    """Horizontal bars of counts per level, largest first, share in the hover."""
    fig.add_trace(
        go.Bar(
            y=labels,
            x=counts,
            orientation="h",
            name=name,
            customdata=counts / total if total else counts * 0.0,
            hovertemplate="%{y}<br>rows: %{x:,}<br>share: %{customdata:.2%}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_layout(height=max(320, 22 * len(labels) + 140))


def _numeric_histogram(values: np.ndarray, axis_title: str) -> go.Figure:
    """Counts per bin (or per value, for a few distinct values) of finite, non-missing values."""
    total = len(values)
    fig = go.Figure()
    distinct = _discrete_values(values)
    if distinct is not None:
        counts = np.array([0] * len(distinct)) if total == 0 else np.unique(values, return_counts=True)[1]
        fig.add_trace(
            go.Bar(
                x=[_number_text(v) for v in distinct],
                y=counts,
                customdata=counts / total,
                hovertemplate=f"{axis_title} = %{{x}}<br>rows: %{{y:,}}<br>share: %{{customdata:.2%}}<extra></extra>",
            )
        )
        fig.update_xaxes(type="category")
    else:
        bins, value_range = _hist_bins(values)
        counts, edges = np.histogram(values, bins=bins, range=value_range)
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=counts,
                width=np.diff(edges),
                customdata=np.column_stack([edges[:-1], edges[1:], counts / total]),
                hovertemplate=(
                    f"{axis_title} in [%{{customdata[0]:.6g}}, %{{customdata[1]:.6g}})"
                    "<br>rows: %{y:,}<br>share: %{customdata[2]:.2%}<extra></extra>"
                ),
            )
        )
        fig.update_layout(bargap=0)
    fig.update_xaxes(title_text=axis_title)
    fig.update_yaxes(title_text="rows")
    return fig


def _datetime_histogram(s: pd.Series, axis_title: str) -> go.Figure:
    stamps = pd.to_datetime(s.dropna())
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    nanos = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    bins, value_range = _hist_bins(nanos.astype(float))
    counts, edges = np.histogram(nanos.astype(float), bins=bins, range=value_range)
    starts = pd.to_datetime(edges[:-1].astype(np.int64))
    ends = pd.to_datetime(edges[1:].astype(np.int64))
    fig = go.Figure(
        go.Bar(
            x=starts + (ends - starts) / 2,
            y=counts,
            width=np.diff(edges) / 1e6,  # plotly date axes measure widths in milliseconds
            customdata=np.column_stack([starts.astype(str), ends.astype(str)]),
            hovertemplate="from %{customdata[0]}<br>to %{customdata[1]}<br>rows: %{y:,}<extra></extra>",
        )
    )
    fig.update_layout(bargap=0)
    fig.update_xaxes(title_text=axis_title)
    fig.update_yaxes(title_text="rows")
    return fig


def distribution(df: pd.DataFrame, column: object) -> go.Figure:
    """Histogram for numbers, bar counts for categories (top 30 + other), lengths for free text."""
    s = _column(df, column)
    name = _label(column)
    kind = column_kind(s)
    n_missing = int(s.isna().sum())
    if n_missing == len(s):
        return _message_figure(f"Distribution of {name}", f"No values to draw: all {_count_text(len(s), 'row')} are missing.")
    if kind == "numeric":
        values, n_inf = _floats(s, "distribution")
        values = values[~np.isnan(values)]
        if len(values) == 0:
            return _message_figure(f"Distribution of {name}", "No finite values to draw: every value is missing or infinite.")
        fig = _numeric_histogram(values, name)
        notes = [f"{len(values):,} values"] + _drop_notes(n_missing, n_inf)
        return _finish(fig, f"Distribution of {name}", notes)
    if kind == "datetime":
        fig = _datetime_histogram(s, name)
        return _finish(fig, f"Distribution of {name}", [f"{len(s) - n_missing:,} values"] + _drop_notes(n_missing, 0))
    if kind == "text":
        lengths = s.dropna().astype(str).str.len().to_numpy(dtype=float)
        fig = _numeric_histogram(lengths, f"length of {name} (characters)")
        notes = [f"{len(lengths):,} texts, median {np.median(lengths):,.0f} characters"] + _drop_notes(n_missing, 0)
        return _finish(fig, f"Text length of {name}", notes)
    _, labels, sizes, n_levels = _levels(s, MAX_LEVELS, keep_missing=False)
    fig = go.Figure()
    total = int(sizes.sum())
    _value_bars(fig, labels, sizes, total)
    fig.update_xaxes(title_text="rows")
    fig.update_yaxes(title_text=name)
    notes = [f"{_count_text(n_levels, 'level')}, {total:,} values"]
    if len(labels) > MAX_LEVELS:
        notes.append(f"the {MAX_LEVELS} most frequent shown")
    return _finish(fig, f"Distribution of {name}", notes + _drop_notes(n_missing, 0))


# ---------------------------------------------------------------- two numeric columns


def _paired(df: pd.DataFrame, x: object, y: object, view: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Finite x and y values of the rows where both have one, their row positions, and notes."""
    xv, x_inf = _floats(_column(df, x), view)
    yv, y_inf = _floats(_column(df, y), view)
    keep = ~(np.isnan(xv) | np.isnan(yv))
    rows = np.flatnonzero(keep)
    notes = []
    if x_inf + y_inf:
        notes.append(_count_text(x_inf + y_inf, "infinite value") + " dropped")
    if len(rows) < len(xv):
        notes.append(f"{len(xv) - len(rows):,} rows without both values left out")
    return xv[rows], yv[rows], rows, notes


def fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float] | None:
    """Least-squares line y = slope * x + intercept over all points, and its R²; None if x is constant."""
    if len(x) < 2:
        return None
    dx = x - x.mean()
    sxx = float(dx @ dx)
    if sxx <= 0:
        return None
    dy = y - y.mean()
    slope = float(dx @ dy) / sxx
    intercept = float(y.mean() - slope * x.mean())
    syy = float(dy @ dy)
    r2 = 1.0 - float(((dy - slope * dx) ** 2).sum()) / syy if syy > 0 else float("nan")
    return slope, intercept, r2


def _line_text(slope: float, intercept: float, r2: float) -> str:
    sign = "-" if intercept < 0 else "+"
    r2_text = "n/a" if math.isnan(r2) else f"{r2:.3f}"
    return f"trend: y = {slope:.4g}·x {sign} {abs(intercept):.4g}, R² = {r2_text}"


def _color_traces(fig: go.Figure, s: pd.Series, idx: np.ndarray, xs: np.ndarray, ys: np.ndarray, hover: str) -> None:
    """Sampled points coloured by a column: a colour scale for numbers, one trace per level otherwise."""
    name = _label(s.name)
    if _is_numeric(s):
        values, _ = _floats(s, "colour")
        colors = values[idx]
        fig.add_trace(
            go.Scattergl(
                x=xs, y=ys, mode="markers", name="rows", showlegend=False,
                marker={"size": 5, "opacity": 0.6, "color": colors, "colorscale": "Viridis",
                        "colorbar": {"title": {"text": name}}},
                customdata=colors,
                hovertemplate=hover + f"<br>{name}: %{{customdata}}<extra></extra>",
            )
        )
        return
    codes, labels, _, _ = _levels(s, MAX_CLASSES, keep_missing=True)
    sample_codes = codes[idx]
    for code, level in enumerate(labels):
        pick = sample_codes == code
        if pick.any():
            fig.add_trace(
                go.Scattergl(
                    x=xs[pick], y=ys[pick], mode="markers", name=level,
                    marker={"size": 5, "opacity": 0.6},
                    hovertemplate=hover + f"<br>{name}: {level}<extra></extra>",
                )
            )
    fig.update_layout(legend_title_text=name)


def scatter(df: pd.DataFrame, x: object, y: object, color: object | None = None) -> go.Figure:
    """Sampled scatter (at most 5,000 points) with a least-squares trend line fitted on all rows."""
    xv, yv, rows, notes = _paired(df, x, y, "scatter")
    xl, yl = _label(x), _label(y)
    title = f"{yl} vs {xl}"
    if len(rows) == 0:
        return _message_figure(title, "No row has a finite value in both columns.")
    idx = _sample_index(len(rows))
    xs, ys = xv[idx], yv[idx]
    hover = f"{xl}: %{{x}}<br>{yl}: %{{y}}"
    fig = go.Figure()
    if color is not None and color not in (x, y):
        _color_traces(fig, _column(df, color), rows[idx], xs, ys, hover)
    else:
        fig.add_trace(
            go.Scattergl(
                x=xs, y=ys, mode="markers", name="rows",
                marker={"size": 5, "opacity": 0.5 if len(idx) > 500 else 0.8},
                hovertemplate=hover + "<extra></extra>",
            )
        )
    line = fit_line(xv, yv)
    meta = {"rows": len(rows), "shown": len(idx)}
    if line is None:
        notes.append(f"no trend line: {xl} has a single value")
    else:
        slope, intercept, r2 = line
        ends = np.array([xv.min(), xv.max()])
        fig.add_trace(
            go.Scatter(
                x=ends, y=slope * ends + intercept, mode="lines", name=_line_text(slope, intercept, r2),
                line={"color": "#d62728", "width": 3},
                hovertemplate=f"trend<br>{xl}: %{{x}}<br>{yl}: %{{y}}<extra></extra>",
            )
        )
        meta.update(slope=slope, intercept=intercept, r2=r2)
        notes.insert(0, f"trend fitted on all {len(rows):,} rows")
    notes.insert(0, _shown_note(len(idx), len(rows)))
    fig.update_xaxes(title_text=xl)
    fig.update_yaxes(title_text=yl)
    fig.update_layout(meta=meta, legend={"orientation": "h", "y": -0.2})
    return _finish(fig, title, notes)


def _density_range(values: np.ndarray) -> tuple[float, float]:
    """The 0.5th to 99.5th percentile for large samples (so outliers do not squash the view)."""
    lo, hi = (np.percentile(values, [0.5, 99.5]) if len(values) >= 1000 else (values.min(), values.max()))
    lo, hi = float(lo), float(hi)
    pad = max(0.5, abs(lo) * 1e-6)  # a single value still gets a bin; relative so huge values work
    return (lo - pad, hi + pad) if lo == hi else (lo, hi)


def density2d(df: pd.DataFrame, x: object, y: object, bins: int | None = None) -> go.Figure:
    """Two-variable density: 2-D histogram heatmap with marginal histograms, binned on the server.

    By default the grid grows with the row count (about sqrt(rows)/3 bins a side, 10 to 60), so
    a few hundred rows do not scatter into a speckle of single counts.
    """
    xv, yv, rows, notes = _paired(df, x, y, "density view")
    xl, yl = _label(x), _label(y)
    title = f"Density of {yl} vs {xl}"
    if len(rows) == 0:
        return _message_figure(title, "No row has a finite value in both columns.")
    bins = bins or min(DENSITY_BINS, max(10, int(math.sqrt(len(rows)) / 3)))
    (x_lo, x_hi), (y_lo, y_hi) = _density_range(xv), _density_range(yv)
    counts, x_edges, y_edges = np.histogram2d(xv, yv, bins=bins, range=[[x_lo, x_hi], [y_lo, y_hi]])
    inside = int(counts.sum())
    x_mid = (x_edges[:-1] + x_edges[1:]) / 2
    y_mid = (y_edges[:-1] + y_edges[1:]) / 2
    fig = make_subplots(
        rows=2, cols=2, column_widths=[0.82, 0.18], row_heights=[0.18, 0.82],
        shared_xaxes=True, shared_yaxes=True, horizontal_spacing=0.02, vertical_spacing=0.02,
    )
    # Empty bins stay transparent, so the shape of the cloud reads like the KDE jointplot.
    z = np.where(counts.T > 0, counts.T, np.nan)
    fig.add_trace(
        go.Heatmap(
            x=x_mid, y=y_mid, z=z, colorscale="Blues", colorbar={"title": {"text": "rows"}, "len": 0.8, "y": 0.4},
            hovertemplate=f"{xl} ≈ %{{x:.4g}}<br>{yl} ≈ %{{y:.4g}}<br>rows: %{{z:,}}<extra></extra>",
            name="rows per bin",
        ),
        row=2, col=1,
    )
    fig.add_trace(
        go.Bar(x=x_mid, y=counts.sum(axis=1), width=np.diff(x_edges), marker_color="#4a7ab5", showlegend=False,
               hovertemplate=f"{xl} ≈ %{{x:.4g}}<br>rows: %{{y:,}}<extra></extra>"),
        row=1, col=1,
    )
    fig.add_trace(
        go.Bar(y=y_mid, x=counts.sum(axis=0), width=np.diff(y_edges), orientation="h", marker_color="#4a7ab5",
               showlegend=False, hovertemplate=f"{yl} ≈ %{{y:.4g}}<br>rows: %{{x:,}}<extra></extra>"),
        row=2, col=2,
    )
    fig.update_layout(bargap=0, height=560, meta={"rows": len(rows), "binned": inside, "bins": bins})
    fig.update_xaxes(title_text=xl, row=2, col=1)
    fig.update_yaxes(title_text=yl, row=2, col=1)
    fig.update_yaxes(title_text="rows", row=1, col=1)
    fig.update_xaxes(title_text="rows", row=2, col=2)
    notes.insert(0, f"{len(rows):,} rows counted in {bins}×{bins} bins")
    if inside < len(rows):
        notes.append(f"{len(rows) - inside:,} rows outside the 0.5–99.5th percentiles not drawn")
    return _finish(fig, title, notes)


# ---------------------------------------------------------------- correlation


def _correlation_matrix(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of every column pair on the rows where both are finite, and those row counts.

    Each column is centred on its own mean and its gaps filled with 0, so one matrix product
    gives every pair's sums over the rows both have; only columns with gaps need the extra
    masked products. Rows go through one reused block of CHUNK_ROWS, so memory stays small and
    a million rows by 20 columns takes a fraction of a second.
    """
    n_rows, k = frame.shape
    columns = [_floats(frame.iloc[:, j], "correlation")[0] for j in range(k)]
    has_gaps = [bool(np.isnan(column).any()) for column in columns]
    centres = []
    for column, gaps in zip(columns, has_gaps, strict=True):
        present = column[~np.isnan(column)] if gaps else column
        centres.append(float(present.mean()) if len(present) else 0.0)
    gap_columns = [j for j in range(k) if has_gaps[j]]
    s_xy = np.zeros((k, k))
    s_x = np.zeros((k, k))  # s_x[i, j]: sum of column i over the rows where column j has a value
    s_xx_gaps = np.zeros((k, len(gap_columns)))
    n_gaps = np.zeros((len(gap_columns), len(gap_columns)))
    present_counts = np.zeros(len(gap_columns))
    block_buffer = np.empty((min(CHUNK_ROWS, n_rows), k), order="F")
    for start in range(0, n_rows, CHUNK_ROWS):
        block = block_buffer[: min(CHUNK_ROWS, n_rows - start)]
        for j, column in enumerate(columns):
            np.subtract(column[start : start + len(block)], centres[j], out=block[:, j])
        if gap_columns:
            gapped = block[:, gap_columns]
            mask = ~np.isnan(gapped)
            gapped[~mask] = 0.0
            block[:, gap_columns] = gapped
            mask = mask.astype(float)
            n_gaps += mask.T @ mask
            present_counts += mask.sum(axis=0)
            s_x[:, gap_columns] += block.T @ mask
            s_xx_gaps += (block * block).T @ mask
        s_xy += block.T @ block
    n = np.full((k, k), float(n_rows))
    # s_xx[i, j]: sum of squares of column i over the rows where column j has a value.
    s_xx = np.tile(np.diag(s_xy)[:, None], (1, k))
    if gap_columns:
        n[:, gap_columns] = present_counts
        n[gap_columns, :] = present_counts[:, None]
        n[np.ix_(gap_columns, gap_columns)] = n_gaps
        s_xx[:, gap_columns] = s_xx_gaps
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = s_xy - s_x * s_x.T / n
        var = s_xx - s_x**2 / n
        sd = np.sqrt(var)
        corr = cov / (sd * sd.T)  # sd products, not var products: those overflow for large values
    corr = np.clip(corr, -1.0, 1.0)
    corr[n < 2] = np.nan
    return corr, n.astype(np.int64)


def _usable_numeric(df: pd.DataFrame) -> tuple[list[int], int]:
    """Positions of numeric columns with at least two distinct finite values, and how many others were numeric."""
    usable, left_out = [], 0
    for position in range(df.shape[1]):
        s = df.iloc[:, position]
        if not _is_numeric(s):
            continue
        values, _ = _floats(s, "correlation")
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are expected here
            varies = bool(np.nanmin(values) < np.nanmax(values)) if len(values) else False
        if varies:
            usable.append(position)
        else:
            left_out += 1
    return usable, left_out


def _most_correlated(df: pd.DataFrame, positions: list[int], keep: int) -> list[int]:
    """The keep columns with the highest mean |correlation| to the others, ranked on a row sample."""
    candidates = positions[:MAX_CORR_CANDIDATES]
    sample = df.iloc[_sample_index(len(df), RANKING_ROWS), candidates]
    corr, _ = _correlation_matrix(sample)
    strength = np.nanmean(np.abs(corr), axis=0)
    order = np.argsort(-np.nan_to_num(strength), kind="stable")[:keep]
    return [candidates[i] for i in sorted(order)]


def _correlation_figure(names: list[str], corr: np.ndarray, n: np.ndarray, notes: list[str], title: str) -> go.Figure:
    labels = [_label(c) for c in names]
    k = len(labels)
    fig = go.Figure(
        go.Heatmap(
            x=labels, y=labels, z=corr, zmin=-1, zmax=1, colorscale="RdBu_r", customdata=n,
            colorbar={"title": {"text": "r"}},
            text=np.round(corr, 2) if k <= 20 else None,
            texttemplate="%{text:.2f}" if k <= 20 else None,
            hovertemplate="%{y} and %{x}<br>r = %{z:.4f}<br>rows: %{customdata:,}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category", tickangle=-45)
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_layout(height=min(900, max(420, 24 * k + 200)), meta={"columns": names})
    return _finish(fig, title, notes)


def correlation(df: pd.DataFrame, max_columns: int = MAX_CORR_COLUMNS) -> go.Figure:
    """Correlation heatmap of the numeric columns (at most 40: those most correlated with the others)."""
    title = "Correlation of numeric columns"
    positions, left_out = _usable_numeric(df)
    if len(positions) < 2:
        return _message_figure(title, "Correlation needs at least two numeric columns whose values vary.")
    notes = [f"Pearson r on {_count_text(len(df), 'row')} (pairwise complete)"]
    if left_out:
        notes.append(f"{_count_text(left_out, 'constant or empty column')} left out")
    if len(positions) > max_columns:
        considered = min(len(positions), MAX_CORR_CANDIDATES)
        title = f"Correlation of the {max_columns} most correlated of {considered:,} numeric columns"
        positions = _most_correlated(df, positions, max_columns)
    corr, n = _correlation_matrix(df.iloc[:, positions])
    return _correlation_figure([str(df.columns[p]) for p in positions], corr, n, notes, title)


# ---------------------------------------------------------------- target vs feature


def _group_quartiles(codes: np.ndarray, y: np.ndarray, groups: int) -> dict[str, np.ndarray]:
    """Box statistics per group: quartiles, mean, count, and whiskers at the furthest points within 1.5 IQR."""
    frame = pd.DataFrame({"g": codes, "y": y})
    grouped = frame.groupby("g")["y"]
    quart = grouped.quantile([0.25, 0.5, 0.75]).unstack()
    index = np.arange(groups)
    quart = quart.reindex(index)
    q1, med, q3 = (quart[q].to_numpy() for q in (0.25, 0.5, 0.75))
    iqr = q3 - q1
    low_limit, high_limit = (q1 - 1.5 * iqr)[codes], (q3 + 1.5 * iqr)[codes]
    low = frame["y"].where(frame["y"] >= low_limit).groupby(frame["g"]).min().reindex(index).to_numpy()
    high = frame["y"].where(frame["y"] <= high_limit).groupby(frame["g"]).max().reindex(index).to_numpy()
    return {
        "q1": q1, "median": med, "q3": q3, "low": low, "high": high,
        "mean": grouped.mean().reindex(index).to_numpy(),
        "count": grouped.size().reindex(index).fillna(0).to_numpy(dtype=np.int64),
    }


def _bin_feature(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per-value groups for a few distinct values, else quantile bins with about equal row counts.

    Returns each row's group code, the groups' x positions and their range texts.
    """
    distinct = _discrete_values(values)
    if distinct is not None:
        codes = np.searchsorted(distinct, values)
        return codes, distinct, [_number_text(v) for v in distinct]
    edges = np.unique(np.quantile(values, np.linspace(0, 1, TARGET_BINS + 1)))
    codes = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    texts = [f"[{_number_text(lo)}, {_number_text(hi)}{']' if i == len(edges) - 2 else ')'}"
             for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True))]
    return codes, (edges[:-1] + edges[1:]) / 2, texts


def _regression_view(df: pd.DataFrame, target: object, feature: object) -> go.Figure:
    tl, fl = _label(target), _label(feature)
    y_all, y_inf = _floats(_column(df, target), "regression target view")
    s = _column(df, feature)
    if column_kind(s) == "numeric":
        xv, yv, rows, notes = _paired(df, feature, target, "target view")
        if len(rows) == 0:
            return _message_figure(f"{tl} by {fl}", "No row has a finite value in both columns.")
        codes, centres, texts = _bin_feature(xv)
        groups = len(centres)
        count = np.bincount(codes, minlength=groups)
        y_centre = yv.mean()
        dy = yv - y_centre
        mean_y = np.bincount(codes, weights=dy, minlength=groups) / np.maximum(count, 1)
        sq = np.bincount(codes, weights=dy * dy, minlength=groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd_y = np.sqrt(np.maximum(sq - count * mean_y**2, 0) / (count - 1))
        mean_x = np.bincount(codes, weights=xv, minlength=groups) / np.maximum(count, 1)
        used = count > 0
        idx = _sample_index(len(rows))
        fig = go.Figure()
        fig.add_trace(
            go.Scattergl(
                x=xv[idx], y=yv[idx], mode="markers", name=f"rows ({_shown_note(len(idx), len(rows))})",
                marker={"size": 4, "opacity": 0.25, "color": "#7f7f7f"},
                hovertemplate=f"{fl}: %{{x}}<br>{tl}: %{{y}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=mean_x[used], y=(mean_y + y_centre)[used], mode="lines+markers", name="mean ± sd per bin",
                error_y={"type": "data", "array": np.nan_to_num(sd_y[used])},
                line={"color": "#d62728", "width": 3},
                customdata=np.column_stack([np.array(texts, dtype=object)[used], count[used], sd_y[used]]),
                hovertemplate=(
                    f"{fl} in %{{customdata[0]}}<br>rows: %{{customdata[1]:,}}<br>"
                    f"mean {tl}: %{{y:.6g}}<br>sd: %{{customdata[2]:.6g}}<extra></extra>"
                ),
            )
        )
        fig.update_xaxes(title_text=fl)
        fig.update_yaxes(title_text=tl)
        fig.update_layout(legend={"orientation": "h", "y": -0.2}, meta={"rows": len(rows), "shown": len(idx)})
        notes.insert(0, f"mean ± sd of {tl} in {_count_text(int(used.sum()), 'bin')} of {fl} from all {len(rows):,} rows")
        notes.insert(1, _shown_note(len(idx), len(rows)))
        return _finish(fig, f"{tl} by {fl}", notes)
    codes, labels, _, _ = _levels(s, MAX_LEVELS, keep_missing=True)
    keep = (codes >= 0) & ~np.isnan(y_all)
    notes = [f"boxes from all {int(keep.sum()):,} rows; whiskers reach the furthest points within 1.5 IQR"]
    notes += _drop_notes(int(np.isnan(y_all).sum()) - y_inf, y_inf)
    if not keep.any():
        return _message_figure(f"{tl} by {fl}", f"No row has a value of {tl}.")
    stats = _group_quartiles(codes[keep], y_all[keep], len(labels))
    present = stats["count"] > 0
    shown = [label for label, p in zip(labels, present, strict=True) if p]
    fig = go.Figure(
        go.Box(
            x=shown,
            q1=stats["q1"][present], median=stats["median"][present], q3=stats["q3"][present],
            lowerfence=stats["low"][present], upperfence=stats["high"][present], mean=stats["mean"][present],
            name=tl, boxpoints=False, marker_color="#1f77b4",
        )
    )
    fig.update_xaxes(
        title_text=fl, type="category", tickmode="array", tickvals=shown,
        ticktext=[f"{label}<br>n={c:,}" for label, c in zip(shown, stats["count"][present], strict=True)],
    )
    fig.update_yaxes(title_text=tl)
    fig.update_layout(meta={"levels": len(shown)})
    return _finish(fig, f"{tl} by {fl}", notes)


def _class_shares(fig: go.Figure, table: np.ndarray, x_labels: list[str], classes: list[str], fl: str, tl: str) -> None:
    """100% stacked bars: the share of each class among the rows of each feature level."""
    per_level = table.sum(axis=1)
    used = per_level > 0
    shares = table[used] / per_level[used, None]
    x = [label for label, u in zip(x_labels, used, strict=True) if u]
    for j, cls in enumerate(classes):
        fig.add_trace(
            go.Bar(
                x=x, y=shares[:, j], name=cls, customdata=table[used, j],
                hovertemplate=f"{fl}: %{{x}}<br>{tl} = {cls}<br>share: %{{y:.1%}}<br>rows: %{{customdata:,}}<extra></extra>",
            )
        )
    sizes = per_level[used]
    fig.update_xaxes(type="category", tickmode="array", tickvals=x,
                     ticktext=[f"{label}<br>n={n:,}" for label, n in zip(x, sizes, strict=True)])
    fig.update_yaxes(title_text="share of rows", tickformat=".0%")


def _class_histograms(fig: go.Figure, values: np.ndarray, cls: np.ndarray, classes: list[str], fl: str, tl: str) -> int:
    """Stacked equal-width histograms, one colour per class; returns the number of bins."""
    bins, value_range = _hist_bins(values)
    edges = np.linspace(value_range[0], value_range[1], bins + 1)
    position = np.clip(((values - edges[0]) / (edges[-1] - edges[0]) * bins).astype(np.int64), 0, bins - 1)
    table = np.bincount(position * len(classes) + cls, minlength=bins * len(classes)).reshape(bins, len(classes))
    per_bin = np.maximum(table.sum(axis=1), 1)
    for j, cls_label in enumerate(classes):
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2, y=table[:, j], width=np.diff(edges), name=cls_label,
                customdata=np.column_stack([edges[:-1], edges[1:], table[:, j] / per_bin]),
                hovertemplate=(
                    f"{fl} in [%{{customdata[0]:.6g}}, %{{customdata[1]:.6g}})<br>{tl} = {cls_label}"
                    "<br>rows: %{y:,}<br>share of bin: %{customdata[2]:.1%}<extra></extra>"
                ),
            )
        )
    fig.update_yaxes(title_text="rows")
    fig.update_layout(bargap=0)
    return bins


def _classification_view(df: pd.DataFrame, target: object, feature: object) -> go.Figure:
    """Class shares per level (few distinct values or categories) or stacked per-class histograms."""
    tl, fl = _label(target), _label(feature)
    class_codes, classes, _, _ = _levels(_column(df, target), MAX_CLASSES, keep_missing=False)
    s = _column(df, feature)
    title = f"{tl} by {fl}"
    has_class = class_codes >= 0
    notes = []
    if (~has_class).any():
        notes.append(f"{int((~has_class).sum()):,} rows without a {tl} left out")
    fig = go.Figure()
    if column_kind(s) == "numeric":
        xv, x_inf = _floats(s, "target view")
        keep = has_class & ~np.isnan(xv)
        notes += _drop_notes(int((has_class & np.isnan(xv)).sum()) - x_inf, x_inf)
        if not keep.any():
            return _message_figure(title, f"No row has both a {tl} and a finite {fl}.")
        values, cls = xv[keep], class_codes[keep]
        distinct = _discrete_values(values)
        if distinct is None:
            bins = _class_histograms(fig, values, cls, classes, fl, tl)
            notes.insert(0, f"rows per class in {bins} equal-width bins, all {len(values):,} rows")
        else:
            codes = np.searchsorted(distinct, values)
            table = np.bincount(codes * len(classes) + cls, minlength=len(distinct) * len(classes))
            _class_shares(fig, table.reshape(len(distinct), len(classes)), [_number_text(v) for v in distinct],
                          classes, fl, tl)
            notes.insert(0, f"class shares per value from all {len(values):,} rows")
    else:
        feature_codes, feature_labels, _, _ = _levels(s, MAX_LEVELS, keep_missing=True)
        keep = has_class & (feature_codes >= 0)
        if not keep.any():
            return _message_figure(title, f"No row has both a {tl} and a {fl}.")
        table = np.bincount(feature_codes[keep] * len(classes) + class_codes[keep],
                            minlength=len(feature_labels) * len(classes))
        _class_shares(fig, table.reshape(len(feature_labels), len(classes)), feature_labels, classes, fl, tl)
        notes.insert(0, f"class shares per level from all {int(keep.sum()):,} rows")
    fig.update_xaxes(title_text=fl)
    fig.update_layout(barmode="stack", legend_title_text=tl, meta={"rows": int(keep.sum())})
    return _finish(fig, title, notes)


def target_view(df: pd.DataFrame, target: object, feature: object, task: str | None = None) -> go.Figure:
    """Target against one feature: box per level or binned means for a numeric target,
    class shares per level or stacked per-class histograms for a classification target."""
    if target == feature:
        raise EDAError("Pick a feature other than the target itself.")
    target_s = _column(df, target)
    feature_s = _column(df, feature)
    kind = column_kind(feature_s)
    if kind in ("text", "datetime"):
        word = "free text" if kind == "text" else "a date column"
        raise EDAError(f"Column {str(feature)!r} is {word}; pick a numeric or categorical feature for the target view.")
    if target_s.isna().all():
        return _message_figure(f"{_label(target)} by {_label(feature)}", "The target has no values.")
    task = task or infer_task(target_s)
    if task == REGRESSION:
        if not _is_numeric(target_s):
            raise EDAError(f"Target {str(target)!r} is not numeric, so it cannot be treated as regression; set a classification task.")
        return _regression_view(df, target, feature)
    return _classification_view(df, target, feature)


# ---------------------------------------------------------------- the default set


def _association(df: pd.DataFrame, target: object, feature: object, task: str) -> float:
    """How strongly a feature goes with the target, 0..1, for ranking the default target views.

    |r| for two numbers; otherwise bias-corrected measures (epsilon-squared for a number against
    groups, Bergsma's corrected Cramér's V for two categories), because the plain ones approach
    1 for a column of near-unique labels (names, cabin numbers) that says nothing general.
    """
    y, f = df[target], df[feature]
    feature_numeric = column_kind(f) == "numeric"
    if task == REGRESSION and feature_numeric:
        r = fit_line(*_paired(df, feature, target, "ranking")[:2])
        return math.sqrt(max(r[2], 0.0)) if r and not math.isnan(r[2]) else 0.0
    if task == REGRESSION or feature_numeric:
        numeric, groups = (y, f) if task == REGRESSION else (f, y)
        values, _ = _floats(numeric, "ranking")
        codes, _, _, _ = _levels(groups, MAX_LEVELS, keep_missing=True)
        keep = (codes >= 0) & ~np.isnan(values)
        values, codes = values[keep], codes[keep]
        count = np.bincount(codes) if len(codes) else np.zeros(0, dtype=np.int64)
        k, n = int((count > 0).sum()), len(values)
        if k < 2 or n <= k:
            return 0.0
        total = ((values - values.mean()) ** 2).sum()
        means = np.bincount(codes, weights=values) / np.maximum(count, 1)
        between = (count * (means - values.mean()) ** 2).sum()
        within = total - between
        epsilon2 = (between - (k - 1) * within / (n - k)) / total if total > 0 else 0.0
        return float(math.sqrt(max(epsilon2, 0.0)))
    a, _, _, _ = _levels(y, MAX_CLASSES, keep_missing=False)
    b, _, _, _ = _levels(f, MAX_LEVELS, keep_missing=True)
    keep = (a >= 0) & (b >= 0)
    table = pd.crosstab(a[keep], b[keep]).to_numpy(dtype=float)
    n = table.sum()
    if table.size == 0 or min(table.shape) < 2 or n < 2:
        return 0.0
    rows, cols = table.shape
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    phi2 = ((table - expected) ** 2 / expected).sum() / n
    phi2 = max(0.0, phi2 - (rows - 1) * (cols - 1) / (n - 1))
    rows_c, cols_c = rows - (rows - 1) ** 2 / (n - 1), cols - (cols - 1) ** 2 / (n - 1)
    scale = min(rows_c - 1, cols_c - 1)
    return float(math.sqrt(phi2 / scale)) if scale > 0 else 0.0


def _worth_a_target_view(s: pd.Series) -> bool:
    """Numbers, and categories whose levels repeat: a box per near-unique label (a name) says nothing."""
    kind = column_kind(s)
    values = s.dropna()
    if values.empty or kind not in ("numeric", "categorical"):
        return False
    return kind == "numeric" or values.nunique() <= 0.5 * len(values)


def _timed(timings: dict[str, float] | None, name: str, build: Callable[[], go.Figure]) -> go.Figure:
    """Build one overview figure (timed); one that cannot be drawn says why instead of ending the set."""
    start = time.perf_counter()
    try:
        fig = build()
    except EDAError as exc:
        fig = _message_figure(_label(name), str(exc))
    if timings is not None:
        timings[name] = time.perf_counter() - start
    return fig


def overview(
    df: pd.DataFrame,
    target: object | None = None,
    task: str | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, go.Figure]:
    """The figures the Explore page shows by default, name -> figure.

    Names: "missing", "correlation", "distribution: <col>" (target first, then up to 12 columns
    that are not row identifiers), "scatter: <x> vs <y>" and "density: <x> vs <y>" for the target
    and its most correlated numeric feature (else the most correlated numeric pair), and
    "target: <feature>" for the features that go most with the target. A very wide frame is
    looked at through its first 400 columns (plus the target). When timings is a dict it receives
    each figure's build time in seconds ("ranking" is the shared column ranking).
    """
    figs: dict[str, go.Figure] = {"missing": _timed(timings, "missing", lambda: missing_chart(df))}
    if df.shape[1] == 0 or int(df.columns.duplicated().sum()):
        return figs
    if target is not None:
        _column(df, target)
        if task is None and df[target].notna().any():
            task = infer_task(df[target])
    start = time.perf_counter()
    # Row identifiers are recognised from the first rows: their sequence or codes show there.
    head = df.iloc[:RANKING_ROWS]
    considered = list(df.columns[:MAX_OVERVIEW_COLUMNS])
    if target is not None and target not in considered:
        considered.append(target)
    id_like = {c for c in considered if c != target and is_id_like(c, head[c])}
    columns = [c for c in considered if c not in id_like]
    numeric = [c for c in columns if _is_numeric(df[c])]
    positions, _ = _usable_numeric(df[numeric])
    numeric = [numeric[p] for p in positions]
    if timings is not None:
        timings["ranking"] = time.perf_counter() - start

    if len(numeric) >= 2:
        figs["correlation"] = _timed(timings, "correlation", lambda: correlation(df[numeric]))

    shown = ([target] if target is not None else []) + [c for c in columns if c != target and df[c].notna().any()]
    for c in shown[:OVERVIEW_DISTRIBUTIONS]:
        figs[f"distribution: {c}"] = _timed(timings, f"distribution: {c}", lambda c=c: distribution(df, c))

    pair = _overview_pair(df, numeric, target, task)
    if pair is not None:
        x, y = pair
        colour = target if target is not None and task not in (None, REGRESSION) and target not in pair else None
        figs[f"scatter: {x} vs {y}"] = _timed(timings, f"scatter: {x} vs {y}", lambda: scatter(df, x, y, color=colour))
        figs[f"density: {x} vs {y}"] = _timed(timings, f"density: {x} vs {y}", lambda: density2d(df, x, y))

    if target is not None and task is not None:
        start = time.perf_counter()
        sample = df.iloc[_sample_index(len(df), RANKING_ROWS)]
        candidates = [c for c in columns if c != target and _worth_a_target_view(sample[c])]
        strength = {c: _association(sample, target, c, task) for c in candidates}
        top = sorted(candidates, key=lambda c: -strength[c])[:OVERVIEW_TARGET_VIEWS]
        if timings is not None:
            timings["ranking"] += time.perf_counter() - start
        for c in top:
            figs[f"target: {c}"] = _timed(timings, f"target: {c}", lambda c=c: target_view(df, target, c, task))
    return figs


def _overview_pair(df: pd.DataFrame, numeric: list, target: object | None, task: str | None) -> tuple | None:
    """(x, y) for the default scatter: target against its best numeric feature, else the strongest pair."""
    if len(numeric) < 2:
        return None
    ranked = numeric if len(numeric) <= MAX_CORR_CANDIDATES else numeric[:MAX_CORR_CANDIDATES]
    sample = df.iloc[_sample_index(len(df), RANKING_ROWS)][ranked]
    corr = np.abs(np.nan_to_num(_correlation_matrix(sample)[0]))
    np.fill_diagonal(corr, -1)
    if task == REGRESSION and target in ranked:
        t = ranked.index(target)
        return ranked[int(np.argmax(corr[t]))], target
    features = [i for i, c in enumerate(ranked) if c != target]
    if len(features) < 2:
        return None
    sub = corr[np.ix_(features, features)]
    i, j = np.unravel_index(int(np.argmax(sub)), sub.shape)
    return ranked[features[min(i, j)]], ranked[features[max(i, j)]]
