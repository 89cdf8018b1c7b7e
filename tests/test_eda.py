"""core.eda: the summary table and every figure builder, on small frames with awkward data,
plus the size bound (no figure over 1 MB of JSON, whatever the row count) and name escaping."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from support import ROOT, SHARED_DATA, needs_shared_data

from core import eda

MB = 1_000_000


def strings_in(fig: go.Figure) -> list[str]:
    """Every string plotly renders (meta is data for us, not shown to the user)."""
    found: list[str] = []

    def walk(node, key=""):
        if key == "meta":
            return
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list | tuple):
            for v in node:
                walk(v)
        elif isinstance(node, np.ndarray) and node.dtype == object:
            for v in node.ravel():
                walk(v)

    walk(fig.to_plotly_json())
    return found


def title(fig: go.Figure) -> str:
    return fig.layout.title.text


@pytest.fixture
def mixed() -> pd.DataFrame:
    """Numbers, a category with "3+" and gaps, free text, a constant, an all-missing column, an infinity."""
    rng = np.random.default_rng(3)
    n = 400
    height = rng.normal(68, 2, n)
    frame = pd.DataFrame(
        {
            "Index": np.arange(n),
            "height": height,
            "weight": 3.08 * height - 82 + rng.normal(0, 10, n),
            "dependents": rng.choice(["0", "1", "2", "3+"], n),
            "review": [f"the food was fine and the service was slow, visit {i}" for i in range(n)],
            "constant": 5.0,
            "empty": np.nan,
            "status": rng.choice(["Y", "N"], n, p=[0.69, 0.31]),
        }
    )
    frame.loc[::10, "weight"] = np.nan
    frame.loc[::13, "dependents"] = None
    frame.loc[7, "height"] = np.inf
    return frame


# ---------------------------------------------------------------- summary and missing


def test_summary_numeric_statistics_match_describe_on_finite_values(mixed):
    table = eda.summary(mixed)
    finite = mixed[["height", "weight"]].replace([np.inf, -np.inf], np.nan)
    described = finite.describe()
    for column in ("height", "weight"):
        for stat in ("mean", "std", "min", "25%", "50%", "75%", "max"):
            assert table.loc[column, stat] == pytest.approx(described.loc[stat, column])
        assert table.loc[column, "count"] == mixed[column].notna().sum()
    assert table.loc["height", "infinite"] == 1
    assert table.loc["weight", "missing"] == 40
    assert table.loc["empty", "missing %"] == 100.0


def test_summary_categories_have_unique_top_and_freq(mixed):
    table = eda.summary(mixed)
    counts = mixed["dependents"].value_counts()
    assert table.loc["dependents", "unique"] == 4
    assert table.loc["dependents", "top"] == counts.index[0]
    assert table.loc["dependents", "freq"] == counts.iloc[0]
    assert table.loc["dependents", "missing"] == mixed["dependents"].isna().sum()
    assert table.loc["review", "kind"] == "text"
    assert pd.isna(table.loc["dependents", "mean"])


def test_summary_of_empty_and_one_row_frames():
    assert eda.summary(pd.DataFrame()).empty
    one = eda.summary(pd.DataFrame({"a": [1.5], "b": ["x"]}))
    assert one.loc["a", "mean"] == 1.5
    assert pd.isna(one.loc["a", "std"])
    assert one.loc["b", "top"] == "x"


def test_missing_chart_shows_percent_and_count_most_missing_first(mixed):
    fig = eda.missing_chart(mixed)
    bar = fig.data[0]
    assert list(bar.x) == ["empty", "weight", "dependents"]
    assert list(bar.customdata) == [400, 40, mixed["dependents"].isna().sum()]
    assert bar.y[1] == pytest.approx(10.0)
    assert "3 of 8 columns" in title(fig)


def test_missing_chart_says_so_when_nothing_is_missing():
    fig = eda.missing_chart(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert len(fig.data) == 0
    assert "No missing values" in fig.layout.annotations[0].text
    assert "no rows" in eda.missing_chart(pd.DataFrame()).layout.annotations[0].text


# ---------------------------------------------------------------- distribution


def test_numeric_histogram_counts_every_finite_value_and_notes_drops(mixed):
    fig = eda.distribution(mixed, "height")
    assert sum(fig.data[0].y) == 399
    assert "1 infinite value dropped" in title(fig)
    weights = eda.distribution(mixed, "weight")
    assert sum(weights.data[0].y) == 360
    assert "40 missing left out" in title(weights)


def test_histogram_bins_match_numpy_on_the_same_edges():
    values = np.random.default_rng(0).exponential(size=5000)
    fig = eda.distribution(pd.DataFrame({"v": values}), "v")
    bar = fig.data[0]
    edges = np.append(bar.customdata[:, 0], bar.customdata[-1, 1])
    counts, _ = np.histogram(values, bins=len(edges) - 1, range=(values.min(), values.max()))
    assert np.allclose(edges, np.linspace(values.min(), values.max(), len(edges)))
    assert list(bar.y) == list(counts)
    assert 10 <= len(bar.y) <= eda.MAX_HIST_BINS


def test_category_counts_keep_the_top_levels_and_group_the_rest():
    levels = [f"L{i:02d}" for i in range(40)]
    frame = pd.DataFrame({"code": np.repeat(levels, np.arange(40, 0, -1))})
    fig = eda.distribution(frame, "code")
    bar = fig.data[0]
    assert len(bar.y) == eda.MAX_LEVELS + 1
    assert list(bar.y[:2]) == ["L00", "L01"]
    assert list(bar.x[:2]) == [40, 39]
    assert "other (10 levels)" in bar.y[-1]
    assert bar.x[-1] == sum(range(1, 11))
    assert "40 levels" in title(fig)


def test_discrete_numbers_are_counted_per_value(mixed):
    frame = pd.DataFrame({"term": [360.0] * 8 + [180.0] * 2})
    fig = eda.distribution(frame, "term")
    assert list(fig.data[0].x) == ["180", "360"]
    assert list(fig.data[0].y) == [2, 8]


def test_text_columns_show_their_length(mixed):
    fig = eda.distribution(mixed, "review")
    assert title(fig).startswith("Text length of review")
    assert sum(fig.data[0].y) == 400


def test_constant_all_missing_datetime_and_one_row_columns(mixed):
    assert list(eda.distribution(mixed, "constant").data[0].y) == [400]
    empty = eda.distribution(mixed, "empty")
    assert len(empty.data) == 0 and "all 400 rows are missing" in empty.layout.annotations[0].text
    dates = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=100, freq="D")})
    assert sum(eda.distribution(dates, "when").data[0].y) == 100
    assert sum(eda.distribution(dates.iloc[:1], "when").data[0].y) == 1
    assert list(eda.distribution(pd.DataFrame({"a": [2.5]}), "a").data[0].y) == [1]


def test_only_infinite_values_give_a_message_not_an_exception():
    fig = eda.distribution(pd.DataFrame({"a": [np.inf, -np.inf]}), "a")
    assert "No finite values" in fig.layout.annotations[0].text


def test_values_too_large_to_square_count_as_infinite():
    frame = pd.DataFrame({"x": [1e308, -1e308, 1e100, 2e100, 3e100], "y": [1.0, 2.0, 3.0, 4.0, 6.0]})
    assert "2 infinite values dropped" in title(eda.distribution(frame, "x"))
    fig = eda.scatter(frame, "x", "y")
    slope, intercept = np.polyfit(frame["x"][2:], frame["y"][2:], 1)
    assert fig.layout.meta["slope"] == pytest.approx(slope)
    corr = eda.correlation(frame)
    assert np.asarray(corr.data[0].z, dtype=float)[0, 1] == pytest.approx(frame[2:].corr().iloc[0, 1])


def test_unknown_column_raises_one_sentence():
    with pytest.raises(eda.EDAError, match="no column named 'nope'"):
        eda.distribution(pd.DataFrame({"a": [1]}), "nope")


# ---------------------------------------------------------------- scatter and density


def test_trend_line_is_least_squares_on_all_rows_not_the_sample():
    rng = np.random.default_rng(11)
    x = rng.normal(68, 2, 20_000)
    y = 3.08 * x - 82 + rng.normal(0, 10, 20_000)
    fig = eda.scatter(pd.DataFrame({"x": x, "y": y}), "x", "y")
    slope, intercept = np.polyfit(x, y, 1)
    assert fig.layout.meta["slope"] == pytest.approx(slope, rel=1e-9)
    assert fig.layout.meta["intercept"] == pytest.approx(intercept, rel=1e-9)
    assert fig.layout.meta["r2"] == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2, rel=1e-9)
    points, line = fig.data
    assert isinstance(points, go.Scattergl) and len(points.x) == eda.MAX_SCATTER_POINTS
    assert np.allclose(line.y, slope * np.asarray(line.x) + intercept)
    assert f"{slope:.4g}" in line.name and "R²" in line.name
    assert "5,000 of 20,000 rows shown" in title(fig)
    assert "trend fitted on all 20,000 rows" in title(fig)


def test_scatter_drops_missing_and_infinite_rows_with_a_note(mixed):
    fig = eda.scatter(mixed, "height", "weight")
    keep = mixed["weight"].notna() & np.isfinite(mixed["height"])
    assert fig.layout.meta["rows"] == keep.sum()
    assert "1 infinite value dropped" in title(fig)
    slope, _ = np.polyfit(mixed.loc[keep, "height"], mixed.loc[keep, "weight"], 1)
    assert fig.layout.meta["slope"] == pytest.approx(slope)


def test_scatter_of_a_constant_column_draws_no_trend(mixed):
    fig = eda.scatter(mixed, "constant", "height")
    assert len(fig.data) == 1
    assert "no trend line" in title(fig)


def test_scatter_colours_by_category_or_number(mixed):
    by_level = eda.scatter(mixed, "height", "weight", color="status")
    names = {trace.name for trace in by_level.data if isinstance(trace, go.Scattergl)}
    assert names == {"Y", "N"}
    by_number = eda.scatter(mixed, "height", "weight", color="Index")
    assert by_number.data[0].marker.colorscale is not None


def test_numeric_views_refuse_text_columns(mixed):
    for build in (eda.scatter, eda.density2d):
        with pytest.raises(eda.EDAError, match="'dependents' is not numeric"):
            build(mixed, "height", "dependents")


def test_density_counts_every_row_in_range_with_matching_marginals():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=5000), "y": rng.normal(size=5000)})
    fig = eda.density2d(frame, "x", "y")
    heat, top, side = fig.data
    inside = fig.layout.meta["binned"]
    assert np.nansum(np.asarray(heat.z, dtype=float)) == inside
    assert sum(top.y) == inside and sum(side.x) == inside
    lo, hi = np.percentile(frame["x"], [0.5, 99.5])
    assert inside < 5000
    assert f"{5000 - inside:,} rows outside" in title(fig)
    bins = fig.layout.meta["bins"]
    assert bins == int(np.sqrt(5000) / 3)  # the grid grows with the row count
    assert np.asarray(heat.z).shape == (bins, bins)
    assert f"{bins}×{bins} bins" in title(fig)
    big = eda.density2d(pd.DataFrame({"x": np.arange(100_000.0), "y": np.arange(100_000.0)}), "x", "y")
    assert big.layout.meta["bins"] == eda.DENSITY_BINS
    assert heat.x[0] > lo and heat.x[-1] < hi


def test_density_of_one_row_and_of_no_shared_rows():
    one = eda.density2d(pd.DataFrame({"x": [1.0], "y": [2.0]}), "x", "y")
    assert np.nansum(np.asarray(one.data[0].z, dtype=float)) == 1
    none = eda.density2d(pd.DataFrame({"x": [1.0, np.nan], "y": [np.nan, 2.0]}), "x", "y")
    assert "No row has a finite value" in none.layout.annotations[0].text


# ---------------------------------------------------------------- correlation


def test_correlation_matches_pandas_pairwise_with_gaps_and_infinities():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(300, 4)) + [0, 1e6, 5, -3], columns=list("abcd"))
    frame["b"] += frame["a"] * 2e6
    frame.loc[::4, "b"] = np.nan
    frame.loc[::7, "c"] = np.nan
    frame.loc[3, "d"] = np.inf
    frame["constant"] = 1.0
    frame["label"] = "x"
    fig = eda.correlation(frame)
    expected = frame[list("abcd")].replace([np.inf, -np.inf], np.nan).corr()
    assert fig.layout.meta["columns"] == list("abcd")
    assert np.allclose(np.asarray(fig.data[0].z, dtype=float), expected.to_numpy(), atol=1e-9)
    assert "1 constant or empty column left out" in title(fig)


def test_correlation_caps_columns_and_says_so():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.normal(size=(200, 50)), columns=[f"c{i}" for i in range(50)])
    frame["c0"] = frame["c1"] + 0.1 * frame["c0"]
    fig = eda.correlation(frame)
    assert len(fig.layout.meta["columns"]) == eda.MAX_CORR_COLUMNS
    assert {"c0", "c1"} <= set(fig.layout.meta["columns"])
    assert "40 most correlated of 50" in title(fig)


def test_correlation_needs_two_varying_numeric_columns(mixed):
    fig = eda.correlation(mixed[["height", "constant", "dependents"]])
    assert "at least two numeric columns" in fig.layout.annotations[0].text


# ---------------------------------------------------------------- target views


def test_box_per_level_uses_quartiles_of_all_rows(mixed):
    fig = eda.target_view(mixed, "weight", "dependents", "regression")
    box = fig.data[0]
    assert box.type == "box" and box.boxpoints is False
    groups = mixed.dropna(subset=["weight"]).assign(dependents=lambda f: f["dependents"].fillna("<missing>"))
    expected = groups.groupby("dependents")["weight"].quantile([0.25, 0.5, 0.75]).unstack()
    for level, q1, median, q3 in zip(box.x, box.q1, box.median, box.q3, strict=True):
        row = expected.loc["<missing>" if "missing" in level else level]
        assert (q1, median, q3) == pytest.approx((row[0.25], row[0.5], row[0.75]))
    # Whiskers stay inside the 1.5 IQR fences and on real data points.
    for low, q1, q3 in zip(box.lowerfence, box.q1, box.q3, strict=True):
        assert low >= q1 - 1.5 * (q3 - q1) and low in set(mixed["weight"])


def test_binned_means_of_a_numeric_target(mixed):
    fig = eda.target_view(mixed, "weight", "height", "regression")
    points, means = fig.data
    keep = mixed["weight"].notna() & np.isfinite(mixed["height"])
    assert len(points.x) == keep.sum()
    counts = means.customdata[:, 1].astype(int)
    assert counts.sum() == keep.sum()
    # Quantile bins hold about the same number of rows; the weighted mean of bin means is the mean.
    overall = np.average(np.asarray(means.y, dtype=float), weights=counts)
    assert overall == pytest.approx(mixed.loc[keep, "weight"].mean())
    assert means.error_y.array is not None


def test_class_shares_per_level_sum_to_one(mixed):
    fig = eda.target_view(mixed, "status", "dependents")
    shares = np.array([np.asarray(trace.y, dtype=float) for trace in fig.data])
    assert np.allclose(shares.sum(axis=0), 1.0)
    assert {trace.name for trace in fig.data} == {"Y", "N"}
    assert fig.layout.barmode == "stack"


def test_per_class_histograms_of_a_numeric_feature(mixed):
    fig = eda.target_view(mixed, "status", "height", "binary")
    total = sum(np.asarray(trace.y).sum() for trace in fig.data)
    assert total == np.isfinite(mixed["height"]).sum()
    assert fig.layout.barmode == "stack"


def test_target_view_refusals_are_one_sentence(mixed):
    with pytest.raises(eda.EDAError, match="other than the target"):
        eda.target_view(mixed, "weight", "weight")
    with pytest.raises(eda.EDAError, match="free text"):
        eda.target_view(mixed, "weight", "review")
    with pytest.raises(eda.EDAError, match="not numeric"):
        eda.target_view(mixed, "status", "height", "regression")


# ---------------------------------------------------------------- overview, size, escaping


def test_overview_names_are_stable(mixed):
    figs = eda.overview(mixed, target="weight")
    assert list(figs)[:3] == ["missing", "correlation", "distribution: weight"]
    assert "distribution: Index" not in figs  # row identifiers are not worth a chart
    assert "scatter: height vs weight" in figs and "density: height vs weight" in figs
    targets = [name for name in figs if name.startswith("target: ")]
    assert targets and len(targets) <= eda.OVERVIEW_TARGET_VIEWS
    assert "target: height" in targets
    plain = eda.overview(mixed)
    assert not any(name.startswith("target: ") for name in plain)


def test_target_views_go_to_the_features_that_matter_not_to_unique_labels():
    rng = np.random.default_rng(12)
    n = 600
    sex = rng.choice(["male", "female"], n)
    frame = pd.DataFrame(
        {
            "Name": [f"Smith{i}, J" for i in range(n)],  # categorical, unique, not an ID code
            "Sex": sex,
            "Noise": rng.normal(size=n),
            "Port": rng.choice(["S", "C", "Q"], n),
            "Fare": rng.exponential(30, n),
        }
    )
    frame["Survived"] = np.where(rng.random(n) < np.where(sex == "female", 0.75, 0.2), 1, 0)
    frame["Fare"] += frame["Survived"] * 20
    figs = eda.overview(frame, target="Survived")
    targets = [name for name in figs if name.startswith("target: ")]
    assert targets[:2] == ["target: Sex", "target: Fare"]
    assert "target: Name" not in targets


@needs_shared_data
def test_titanic_target_views_start_with_sex_and_class():
    from core import datasets

    frame = datasets.read_table(SHARED_DATA / "titanic_train.csv")
    figs = eda.overview(frame, target="Survived", task="binary")
    assert [name for name in figs if name.startswith("target: ")][:2] == ["target: Sex", "target: Pclass"]
    assert all(len(fig.to_json()) < MB for fig in figs.values())


def test_overview_of_a_classification_target_colours_the_scatter(mixed):
    mixed["width"] = mixed["height"] * 0.5 + np.random.default_rng(0).normal(size=len(mixed))
    figs = eda.overview(mixed, target="status")
    scatter = next(fig for name, fig in figs.items() if name.startswith("scatter: "))
    assert {trace.name for trace in scatter.data if isinstance(trace, go.Scattergl)} == {"Y", "N"}


def test_a_very_wide_frame_is_looked_at_through_its_first_columns():
    rng = np.random.default_rng(6)
    frame = pd.DataFrame(rng.normal(size=(30, 1000)), columns=[f"c{i}" for i in range(1000)])
    frame["label"] = rng.choice(["a", "b"], 30)
    figs = eda.overview(frame, target="label")
    assert "distribution: label" in figs
    assert len(figs["correlation"].layout.meta["columns"]) == eda.MAX_CORR_COLUMNS
    assert "of 400 numeric columns" in title(figs["correlation"])
    features = [name.removeprefix("target: ") for name in figs if name.startswith("target: ")]
    assert len(features) == eda.OVERVIEW_TARGET_VIEWS
    assert all(int(name[1:]) < eda.MAX_OVERVIEW_COLUMNS for name in features)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(),
        pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=str)}),
        pd.DataFrame({"a": [1.0], "b": ["x"], "c": [2.0]}),
        pd.DataFrame({"a": [np.nan] * 5, "b": [np.inf] * 5, "c": [1.0] * 5}),
        pd.DataFrame({"a": [1, 2, 3], "b": [True, False, True], "c": ["x", None, "y"]}),
        pd.DataFrame({0: [1.0, 2.0, 3.0, 4.0], 1: pd.array([1, None, 3, 4], dtype="Int64"),
                      "huge": [1e308, -1e308, 1e100, 3.0], "flag": pd.array([True, None, False, True], dtype="boolean"),
                      "when": pd.date_range("2024-03-30", periods=4, tz="Europe/Berlin")}),
        pd.DataFrame({"x": [1e100] * 3, "y": [2e100] * 3}),
    ],
    ids=["empty", "no rows", "one row", "missing-inf-constant", "bool", "nullable-huge-dates", "constant-large"],
)
def test_awkward_frames_never_raise_anything_but_eda_error(frame):
    assert "missing" in eda.overview(frame, target=frame.columns[-1] if len(frame.columns) else None)
    eda.summary(frame)
    eda.correlation(frame)
    for column in frame.columns:
        assert isinstance(eda.distribution(frame, column), go.Figure)
        for other in frame.columns:
            for build in (eda.scatter, eda.density2d, eda.target_view):
                try:
                    fig = build(frame, column, other)
                except eda.EDAError as exc:
                    assert str(exc).endswith(".") and "\n" not in str(exc)
                else:
                    assert isinstance(fig, go.Figure)


def test_figures_for_200k_rows_stay_under_1_mb():
    rng = np.random.default_rng(9)
    n = 200_000
    frame = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    frame["level"] = rng.choice([f"L{i}" for i in range(50)], n)
    frame["y"] = 2 * frame["x0"] - frame["x1"] + rng.normal(size=n)
    figs = eda.overview(frame, target="y")
    figs["target: level"] = eda.target_view(frame, "y", "level")
    figs["scatter coloured"] = eda.scatter(frame, "x0", "x2", color="level")
    figs["classes"] = eda.target_view(frame, "level", "x0", "multiclass")
    for name, fig in figs.items():
        assert len(fig.to_json()) < MB, name
    scatter = figs["scatter: x0 vs y"]
    assert "5,000 of 200,000 rows shown" in title(scatter)
    assert scatter.layout.meta["shown"] == 5000
    assert "5,000 of 200,000 rows shown" in title(figs["target: x0"])


def test_user_names_are_escaped_everywhere_they_are_drawn():
    rng = np.random.default_rng(1)
    n = 300
    evil = "<b>x</b>%{y}"
    frame = pd.DataFrame(
        {
            evil: rng.normal(size=n),
            "<i>y</i>": rng.normal(size=n),
            "<img src=x>": rng.choice(["<script>", "ok"], n),
        }
    )
    figs = eda.overview(frame, target="<i>y</i>")
    figs["colour"] = eda.scatter(frame, evil, "<i>y</i>", color="<img src=x>")
    figs["classes"] = eda.target_view(frame, "<img src=x>", evil)
    assert "target: <b>x</b>%{y}" in figs
    assert "&lt;b&gt;x&lt;/b&gt;" in title(figs[f"distribution: {evil}"])
    for name, fig in figs.items():
        for text in strings_in(fig):
            for raw in ("<b>x", "<i>y", "<img", "<script", "%{y}</"):
                assert raw not in text, (name, text)
            assert "&lt;b&gt;x&lt;/b&gt;%{y}" not in text, (name, text)  # no live template placeholder


def test_importing_eda_pulls_in_no_streamlit_torch_or_shap():
    code = "import sys, core.eda; print(sorted(m for m in ('streamlit', 'torch', 'shap') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
