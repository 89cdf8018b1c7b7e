"""core.explain: every explainer path is additive on the original columns, fast paths stay fast.

Runs are trained with core.training.train on small synthetic frames (tests/fitted_runs.py), or,
for estimators the catalog does not offer, built here as Pipeline(preprocess, model).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fitted_runs import house_frame, loan_frame, make_run, review_frame
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from core import explain
from core.preprocessing import build_preprocessor
from core.schema import feature_schema
from core.training import TrainResult

ROOT = Path(__file__).resolve().parents[1]


def run_from_estimator(df: pd.DataFrame, target: str, estimator, task: str, background_rows: int = 200) -> TrainResult:
    """A TrainResult around Pipeline(preprocess, estimator), for estimators outside the catalog."""
    features = [c for c in df.columns if c != target]
    train, test = df.iloc[: int(len(df) * 0.75)], df.iloc[int(len(df) * 0.75) :]
    schema = feature_schema(train[features])
    pipeline = Pipeline([("preprocess", build_preprocessor(schema)), ("model", estimator)])
    pipeline.fit(train[features], train[target])
    classes = list(pipeline.classes_) if task != "regression" else None
    return TrainResult(
        run_id=uuid.uuid4().hex[:8], model="custom", label=type(estimator).__name__, library="scikit-learn",
        params={}, task=task, target=target, features=features, schema=schema, pipeline=pipeline,
        classes=classes, metrics={}, timings={}, device="cpu", X_test=test[features], y_test=test[target],
        y_pred=pipeline.predict(test[features]), y_proba=None,
        X_background=train[features].sample(n=min(background_rows, len(train)), random_state=7),
    )


def three_class_frame(n: int = 240, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n).astype(object)
    label = np.where(a + 0.3 * (colour == "red") > 0.5, "high", np.where(b > 0, "mid", "low"))
    return pd.DataFrame({"a": a, "b": b, "colour": colour, "label": label})


def transformed(run, rows=None):
    X = run.pipeline.named_steps["preprocess"].transform(run.X_test if rows is None else rows)
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


def assert_grouped_by_columns(exp, run):
    assert exp.columns == list(run.features) == run.schema.names
    assert exp.output_values.shape[:2] == (exp.n_explained, len(run.features))


# --- tree ------------------------------------------------------------------------------------


def test_tree_regressor_is_additive_in_target_units():
    run = make_run(house_frame(), "MEDV", "gradient_boosting", {"n_estimators": 50})
    exp = explain.explain(run)
    assert exp.explainer == "tree" and exp.output_space == "target units"
    assert exp.values.shape == (len(run.X_test), len(run.features))
    assert exp.class_values is None and exp.base_values.shape == (1,)
    np.testing.assert_allclose(exp.model_output(), run.pipeline.predict(exp.rows), atol=1e-6)
    assert exp.additivity_error < 1e-6 and exp.n_explained == exp.n_requested
    assert_grouped_by_columns(exp, run)
    # LSTAT and RM drive MEDV in this frame; TAX is noise.
    importance = dict(zip(exp.columns, np.abs(exp.values).mean(axis=0), strict=True))
    assert min(importance["RM"], importance["LSTAT"]) > 3 * importance["TAX"]


def test_random_forest_classifier_gives_probabilities_per_class_on_original_columns():
    run = make_run(loan_frame(), "Loan_Status", "random_forest", {"n_estimators": 20, "max_depth": 6})
    exp = explain.explain(run)
    assert exp.explainer == "tree" and exp.output_space == "probability"
    assert exp.outputs == list(run.classes) and exp.class_values.shape == (len(run.X_test), len(run.features), 2)
    proba = run.pipeline.predict_proba(exp.rows)
    for k, label in enumerate(run.classes):
        np.testing.assert_allclose(exp.model_output(label), proba[:, k], atol=1e-6)
    # One-hot columns are summed back: Property_Area is one column, no Property_Area_Urban.
    assert "Property_Area" in exp.columns and not any("Urban" in c for c in exp.columns)
    assert_grouped_by_columns(exp, run)
    assert exp.default_class == run.classes[1]


def test_gradient_boosting_binary_gives_both_classes_in_log_odds():
    run = make_run(loan_frame(), "Loan_Status", "gradient_boosting", {"n_estimators": 30})
    exp = explain.explain(run)
    assert exp.output_space == "log-odds" and exp.outputs == ["N", "Y"]
    Xt = transformed(run, exp.rows)
    log_odds = run.pipeline.named_steps["model"].decision_function(Xt)
    np.testing.assert_allclose(exp.model_output("Y"), log_odds, atol=1e-6)
    np.testing.assert_allclose(exp.model_output("N"), -log_odds, atol=1e-6)
    np.testing.assert_allclose(exp.class_values[:, :, 0], -exp.class_values[:, :, 1])
    proba = run.pipeline.predict_proba(exp.rows)[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-exp.model_output("Y"))), proba, atol=1e-6)


def test_gradient_boosting_multiclass_is_explained_per_class_by_tree_shap():
    run = make_run(three_class_frame(), "label", "gradient_boosting", {"n_estimators": 20})
    exp = explain.explain(run)
    assert exp.explainer == "tree" and exp.output_space == "log-odds"
    raw = run.pipeline.named_steps["model"].decision_function(transformed(run, exp.rows))
    for k, label in enumerate(exp.outputs):
        np.testing.assert_allclose(exp.model_output(label), raw[:, k], atol=1e-6)
    assert exp.columns == ["a", "b", "colour"]


def test_hist_gradient_boosting_uses_path_dependent_tree_shap():
    run = make_run(house_frame(), "MEDV", "hist_gradient_boosting", {"max_iter": 30})
    exp = explain.explain(run)
    assert exp.explainer == "tree" and "path-dependent" in exp.method and exp.background_size == 0
    np.testing.assert_allclose(exp.model_output(), run.pipeline.predict(exp.rows), atol=1e-6)


def test_deep_forest_gets_a_background_only_when_it_is_safe_and_cheaper():
    run = make_run(house_frame(n=3000), "MEDV", "random_forest", {"n_estimators": 20, "max_depth": 12, "min_samples_leaf": 1})
    exp = explain.explain(run)
    assert exp.explainer == "tree" and "interventional" in exp.method
    assert 0 < exp.background_size <= explain.TREE_BACKGROUND_ROWS
    np.testing.assert_allclose(exp.model_output(), run.pipeline.predict(exp.rows), atol=1e-5)


BIG_FOREST_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, "tests"); sys.path.insert(0, ".")
    import numpy as np, pandas as pd
    from sklearn.ensemble import RandomForestRegressor
    from test_explain import run_from_estimator
    from core import explain

    rng = np.random.default_rng(0)
    n = 40_000
    df = pd.DataFrame(rng.normal(size=(n, 4)), columns=["w", "x", "y", "z"])
    df["t"] = df["w"] + rng.normal(size=n)  # mostly noise: fully grown trees get huge
    forest = RandomForestRegressor(n_estimators=2, min_samples_leaf=1, max_depth=None, random_state=0, n_jobs=1)
    run = run_from_estimator(df, "t", forest, "regression")
    nodes = max(e.tree_.node_count for e in run.pipeline.named_steps["model"].estimators_)
    exp = explain.explain(run, run.X_test.iloc[:12], allow_slow=True)
    print(json.dumps({"nodes": int(nodes), "background_size": exp.background_size, "explainer": exp.explainer,
                      "n": exp.n_explained, "additivity": exp.additivity_error, "background": exp.background}))
    """
)


def test_forest_with_trees_over_32767_nodes_is_explained_without_crashing():
    # A segfault inside shap must fail this test, not kill pytest: run it in a child process.
    done = subprocess.run(
        [sys.executable, "-c", BIG_FOREST_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"child died with {done.returncode}: {done.stderr[-2000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["nodes"] > explain.SHAP_TREE_NODE_LIMIT
    assert result["explainer"] == "tree" and result["background_size"] == 0 and result["n"] == 12
    assert "32,767" in result["background"] and result["additivity"] < 1e-6


# --- linear ----------------------------------------------------------------------------------


def test_ridge_matches_shap_linear_explainer_and_is_additive():
    import shap

    run = make_run(house_frame(), "MEDV", "ridge")
    exp = explain.explain(run)
    assert exp.explainer == "linear" and exp.output_space == "target units"
    np.testing.assert_allclose(exp.model_output(), run.pipeline.predict(exp.rows), atol=1e-8)
    background = transformed(run, run.X_background)
    reference = shap.LinearExplainer(run.pipeline.named_steps["model"], shap.maskers.Independent(background, max_samples=len(background)))
    expected = reference(transformed(run, exp.rows)).values  # numeric columns only: 1:1 with originals
    np.testing.assert_allclose(exp.values, expected, atol=1e-8)


def test_logistic_regression_on_text_gives_word_contributions_with_the_right_sign():
    run = make_run(review_frame(n=200), "Liked", "logistic_regression", kinds={"Review": "text", "Stars": "numeric"})
    exp = explain.explain(run)
    assert exp.explainer == "linear" and exp.output_space == "log-odds"
    raw = run.pipeline.named_steps["model"].decision_function(run.pipeline.named_steps["preprocess"].transform(exp.rows))
    np.testing.assert_allclose(exp.model_output(exp.outputs[1]), raw, atol=1e-8)
    np.testing.assert_allclose(exp.model_output(exp.outputs[0]), -raw, atol=1e-8)
    assert exp.columns == ["Review", "Stars"]
    text = exp.rows["Review"].str.lower()
    bad = int(np.flatnonzero(text.str.contains("awful") & ~text.str.contains("great")).min())
    good = int(np.flatnonzero(text.str.contains("great") & ~text.str.contains("awful")).min())
    words_bad = explain.token_contributions(exp, bad, "Review", class_=exp.outputs[1]).set_index("token")
    words_good = explain.token_contributions(exp, good, "Review", class_=exp.outputs[1]).set_index("token")
    assert words_bad.loc["awful", "contribution"] < 0 < words_good.loc["great", "contribution"]
    assert set(words_bad.index) <= set(text.iloc[bad].replace(",", " ").split())
    # Present words plus the absent remainder sum to the column's SHAP value.
    for position, words in ((bad, words_bad), (good, words_good)):
        total = words["contribution"].sum() + words.attrs["absent"]
        assert total == pytest.approx(exp.output_values[position, 0, 1], abs=1e-9)
    # Class 0's words are class 1's with the sign flipped.
    flipped = explain.token_contributions(exp, bad, "Review", class_=exp.outputs[0]).set_index("token")
    assert flipped.loc["awful", "contribution"] == pytest.approx(-words_bad.loc["awful", "contribution"])


# --- deep (PyTorch) ------------------------------------------------------------------------------


def test_torch_mlp_regressor_uses_deep_explainer_additively():
    pytest.importorskip("torch")
    run = make_run(house_frame(), "MEDV", "torch_mlp", {"epochs": 30})
    exp = explain.explain(run)
    assert exp.explainer == "deep" and exp.output_space == "target units" and exp.exact
    np.testing.assert_allclose(exp.model_output(), run.pipeline.predict(exp.rows), atol=1e-3)
    assert exp.background_size == min(100, len(run.X_background))
    assert_grouped_by_columns(exp, run)


def test_torch_mlp_classifier_explains_probabilities_per_class():
    pytest.importorskip("torch")
    run = make_run(loan_frame(), "Loan_Status", "torch_mlp", {"epochs": 30})
    exp = explain.explain(run)
    assert exp.explainer == "deep" and exp.output_space == "probability"
    proba = run.pipeline.predict_proba(exp.rows)
    for k, label in enumerate(exp.outputs):
        np.testing.assert_allclose(exp.model_output(label), proba[:, k], atol=1e-4)


# --- fallback (permutation over original columns) -------------------------------------------------


def test_knn_falls_back_to_permutation_shap_on_original_columns():
    run = make_run(house_frame(n=200), "MEDV", "knn")
    exp = explain.explain(run, run.X_test.iloc[:10])
    assert exp.explainer == "permutation" and exp.output_space == "target units"
    assert exp.background_size == explain.PERMUTATION_BACKGROUND_ROWS and "random sample of 50" in exp.background
    np.testing.assert_allclose(exp.model_output(), run.pipeline.predict(exp.rows), atol=1e-8)
    assert_grouped_by_columns(exp, run)
    # Seeded per row: the same rows get the same values however the work was chunked.
    again = explain.explain(run, run.X_test.iloc[:4])
    np.testing.assert_allclose(again.values, exp.values[:4])


def test_svm_classifier_fallback_is_additive_per_class_in_probability():
    run = make_run(loan_frame(n=200), "Loan_Status", "svm")
    exp = explain.explain(run, run.X_test.iloc[:6], allow_slow=True)
    assert exp.explainer == "permutation" and exp.output_space == "probability"
    proba = run.pipeline.predict_proba(exp.rows)
    for k, label in enumerate(exp.outputs):
        np.testing.assert_allclose(exp.model_output(label), proba[:, k], atol=1e-8)


class UnlistedLinear(LinearRegression):
    """A linear model under a name the explainer does not know: it must take the fallback path."""


def test_permutation_shap_is_exact_for_a_linear_model():
    df = house_frame(n=160)
    run = run_from_estimator(df, "MEDV", UnlistedLinear(), "regression", background_rows=40)
    exp = explain.explain(run, allow_slow=True)
    assert exp.explainer == "permutation"
    # For a linear model every permutation gives coef * (x - background mean), per column.
    coef = run.pipeline.named_steps["model"].coef_
    expected = (transformed(run, exp.rows) - transformed(run, run.X_background).mean(axis=0)) * coef
    np.testing.assert_allclose(exp.values, expected, atol=1e-8)


# --- cost, sampling, caching, errors ---------------------------------------------------------------


def test_slow_fallback_explains_a_sample_that_fits_the_time_budget():
    run = make_run(house_frame(n=2000), "MEDV", "knn", {"n_neighbors": 15})
    rows = pd.concat([run.X_test] * 3)  # 1,500 rows
    estimate = explain.estimate_seconds(run, len(rows))
    assert estimate > 2.0
    calls = []
    exp = explain.explain(run, rows, max_seconds=1.5, progress=lambda f, m: calls.append((f, m)))
    assert 0 < exp.n_explained < exp.n_requested == len(rows)
    assert exp.sampled and f"explained {exp.n_explained:,} of {len(rows):,} rows" in exp.note
    assert exp.seconds < 6 and exp.seconds_all_rows > exp.seconds
    np.testing.assert_allclose(exp.model_output(), run.pipeline.predict(exp.rows), atol=1e-8)
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and len(calls) >= 2


def test_fast_path_explains_every_row_and_estimate_is_small():
    run = make_run(house_frame(n=800), "MEDV", "gradient_boosting", {"n_estimators": 100})
    assert explain.estimate_seconds(run, len(run.X_test)) < 5
    exp = explain.explain(run, max_seconds=5)
    assert exp.n_explained == exp.n_requested == len(run.X_test)
    assert exp.note.startswith("explained all")
    assert list(exp.row_index) == list(run.X_test.index)


def test_cache_key_changes_with_rows_and_run_only():
    run = make_run(house_frame(n=120), "MEDV", "ridge")
    same = explain.cache_key(run, run.X_test.copy())
    assert explain.cache_key(run) == same
    assert explain.cache_key(run, run.X_test.iloc[:5]) != same
    changed = run.X_test.copy()
    changed.iloc[0, 1] += 1
    assert explain.cache_key(run, changed) != same
    other = make_run(house_frame(n=120), "MEDV", "ridge")
    assert explain.cache_key(other, run.X_test) != same


def test_errors_are_one_actionable_sentence():
    run = make_run(house_frame(n=120), "MEDV", "ridge")
    with pytest.raises(explain.ExplainError, match="lack the model's columns RM"):
        explain.explain(run, run.X_test.drop(columns=["RM"]))
    with pytest.raises(explain.ExplainError, match="no rows"):
        explain.explain(run, run.X_test.iloc[:0])
    exp = explain.explain(run)
    with pytest.raises(explain.ExplainError, match="not a text column"):
        explain.token_contributions(exp, 0, "RM")
    with pytest.raises(explain.ExplainError, match="outside"):
        explain.waterfall(exp, 10_000)


def test_importing_explain_or_training_does_not_import_shap_or_torch():
    code = "import sys; import core.explain, core.training; print('shap' in sys.modules, 'torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False False", done.stderr


# --- figures -----------------------------------------------------------------------------------


def test_charts_show_original_columns_exact_values_and_escaped_names():
    df = loan_frame(n=240).rename(columns={"Property_Area": "<b>Area</b>"})
    run = make_run(df, "Loan_Status", "gradient_boosting", {"n_estimators": 30})
    exp = explain.explain(run)
    bar = explain.importance_bar(exp)
    assert "&lt;b&gt;Area&lt;/b&gt;" in list(bar.data[0].y) and "<b>Area</b>" not in bar.to_json()
    np.testing.assert_allclose(
        sorted(bar.data[0].x), sorted(np.abs(exp.output_values[:, :, 1]).mean(axis=0)), rtol=1e-12
    )
    swarm = explain.beeswarm(exp)
    assert "log-odds of class Y" in swarm.layout.xaxis.title.text
    assert sum(len(t.x) for t in swarm.data) == exp.n_explained * len(exp.columns)
    dep = explain.dependence(exp, "ApplicantIncome")
    partner = explain.strongest_interaction(exp, "ApplicantIncome")
    assert partner in exp.columns and partner != "ApplicantIncome"
    assert f"colored by {partner} (strongest interaction)" in dep.layout.title.text
    assert "colored by Gender (chosen)" in explain.dependence(exp, "ApplicantIncome", color_by="Gender").layout.title.text
    assert "colored by" not in explain.dependence(exp, "ApplicantIncome", color_by=False).layout.title.text
    fall = explain.waterfall(exp, 0, max_features=3)
    labels = list(fall.data[0].y)
    assert labels[0] == f"{len(exp.columns) - 3} other features" and labels[-1] == "model output f(x)"
    assert any(label.startswith("Credit_History = ") for label in labels)
    k = exp.output_position(None, 0)
    assert fall.data[0].base + sum(fall.data[0].x) == pytest.approx(exp.model_output(exp.outputs[k])[0])


def test_waterfall_label_shows_the_row_value_and_class_defaults_to_prediction():
    run = make_run(house_frame(), "MEDV", "gradient_boosting", {"n_estimators": 30})
    exp = explain.explain(run)
    fig = explain.waterfall(exp, 2)
    rm = exp.rows["RM"].iloc[2]
    assert f"RM = {rm:.4g}" in list(fig.data[0].y)
    clf = explain.explain(make_run(loan_frame(), "Loan_Status", "random_forest", {"n_estimators": 10}))
    row = int(np.flatnonzero(clf.predictions == "N")[0])
    assert "for class N" in explain.waterfall(clf, row).layout.title.text


def test_text_token_chart_and_big_beeswarm_stay_small():
    run = make_run(review_frame(n=200), "Liked", "logistic_regression", kinds={"Review": "text", "Stars": "numeric"})
    exp = explain.explain(run)
    tokens = explain.text_tokens(exp, 0, "Review")
    words = set(explain.token_contributions(exp, 0, "Review")["token"])
    assert words & set(tokens.data[0].y)
    big = make_run(house_frame(n=12_000), "MEDV", "ridge")
    many = explain.explain(big, pd.concat([big.X_test] * 2))  # 6,000 rows
    fig = explain.beeswarm(many)
    assert sum(len(t.x) for t in fig.data) == explain.BEESWARM_MAX_ROWS * len(many.columns)
    assert "a sample of 2,000 of 6,000 rows" in fig.layout.title.text
    assert len(fig.to_json()) < 1_000_000
    dep = explain.dependence(many, "RM")
    assert len(dep.data[0].x) == explain.DEPENDENCE_MAX_ROWS and len(dep.to_json()) < 1_000_000


def test_dependence_on_a_category_puts_each_row_at_its_own_level():
    run = make_run(loan_frame(n=200), "Loan_Status", "random_forest", {"n_estimators": 10})
    exp = explain.explain(run)
    fig = explain.dependence(exp, "Property_Area", color_by=False)
    ticks = list(fig.layout.xaxis.ticktext)
    assert ticks == sorted(exp.rows["Property_Area"].dropna().unique())
    assert exp.rows["Property_Area"].notna().all()  # loan_frame leaves this column complete
    assert [ticks[int(round(x))] for x in fig.data[0].x] == exp.rows["Property_Area"].tolist()


def test_fallback_on_a_text_column_keeps_the_text_whole():
    run = make_run(review_frame(n=120), "Liked", "knn", kinds={"Review": "text", "Stars": "numeric"})
    exp = explain.explain(run, run.X_test.iloc[:8], allow_slow=True)
    assert exp.explainer == "permutation" and exp.columns == ["Review", "Stars"]
    proba = run.pipeline.predict_proba(exp.rows)
    np.testing.assert_allclose(exp.model_output(exp.outputs[1]), proba[:, 1], atol=1e-8)
    with pytest.raises(explain.ExplainError, match="treats the whole text as one column"):
        explain.token_contributions(exp, 0, "Review")


class SineNet(RegressorMixin, BaseEstimator):
    """A torch 'model' with a layer DeepLIFT cannot see (a functional sin): gradient fallback."""

    def fit(self, X, y):
        import torch

        self.weight_ = torch.linspace(0.5, 1.5, X.shape[1]).reshape(-1, 1)
        return self

    def explainable_module(self):
        import torch

        weight = self.weight_

        class Sine(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.linear = torch.nn.Linear(weight.shape[0], 1)
                with torch.no_grad():
                    self.linear.weight.copy_(weight.T)
                    self.linear.bias.zero_()

            def forward(self, x):
                return torch.sin(self.linear(x)) * 3.0

        return Sine().eval()

    def predict(self, X):
        import torch

        X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
        with torch.no_grad():
            return self.explainable_module()(torch.as_tensor(X, dtype=torch.float32)).numpy().ravel()


def test_torch_module_deeplift_cannot_handle_falls_back_to_gradient_explainer():
    pytest.importorskip("torch")
    run = run_from_estimator(house_frame(n=120), "MEDV", SineNet(), "regression")
    exp = explain.explain(run)
    assert exp.explainer == "gradient" and not exp.exact and "GradientExplainer" in exp.method
    # Expected gradients only approximate the sum: close, not exact.
    prediction = run.pipeline.predict(exp.rows)
    assert np.abs(exp.model_output() - prediction).mean() < 0.5 * np.abs(prediction - prediction.mean()).mean()


def test_interventional_tree_shap_is_additive_on_training_rows_too():
    run = make_run(house_frame(n=3000), "MEDV", "random_forest", {"n_estimators": 10, "max_depth": 12, "min_samples_leaf": 1})
    exp = explain.explain(run, run.X_background.iloc[:200])
    assert "interventional" in exp.method
    np.testing.assert_allclose(exp.model_output(), run.pipeline.predict(exp.rows), atol=1e-5)


def test_strongest_interaction_finds_the_partner_of_a_product():
    rng = np.random.default_rng(4)
    df = pd.DataFrame(rng.normal(size=(600, 4)), columns=["a", "b", "c", "d"])
    df["y"] = df["a"] * df["b"] + df["c"] + 0.1 * rng.normal(size=600)
    run = make_run(df, "y", "gradient_boosting", {"n_estimators": 150})
    exp = explain.explain(run)
    assert explain.strongest_interaction(exp, "a") == "b"
    assert explain.strongest_interaction(exp, "b") == "a"
