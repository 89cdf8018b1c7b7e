"""training.train and the scikit-learn catalog: every model on every task it claims, raw-row
prediction, text pipelines, cross-validation, grid search, errors, model size, progress."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from core import sklearn_models, training
from core.training import TrainingError

TASK_TARGETS = {"regression": "amount", "binary": "approved", "multiclass": "grade"}
FEATURES = ["income", "debt", "region"]


def make_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Two numbers and a category (with missing values) driving a regression target and two label targets."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 10, n)
    debt = rng.normal(20, 5, n)
    region = rng.choice(["north", "south", "east"], n)
    effect = pd.Series(region).map({"north": 5.0, "south": -5.0, "east": 0.0}).to_numpy()
    signal = (income - 50) / 10 - (debt - 20) / 5 + effect / 5
    df = pd.DataFrame(
        {
            "income": income,
            "debt": debt,
            "region": region,
            "amount": 3 * income - 2 * debt + effect + rng.normal(0, 1, n),
            "approved": np.where(signal > 0, "Y", "N"),
            "grade": pd.cut(signal, [-np.inf, -0.7, 0.7, np.inf], labels=["C", "B", "A"]).astype(str),
        }
    )
    # Missing feature values the pipeline must impute (targets stay complete).
    df.loc[df.index % 17 == 0, "income"] = np.nan
    df.loc[df.index % 23 == 0, "region"] = np.nan
    return df


@pytest.fixture(autouse=True)
def one_openmp_thread():
    """The test machine is shared: under load, OpenMP's spin-waiting threads turn a 0.2 s histogram
    boosting fit into 15 s. One OpenMP thread keeps these correctness tests quick."""
    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


def raw_rows() -> pd.DataFrame:
    """Rows as a person would type them: a missing number, an unseen level, a missing level."""
    return pd.DataFrame(
        {
            "income": [55.0, np.nan, 40.0],
            "debt": [18.0, 25.0, np.nan],
            "region": ["north", "atlantis", None],
        }
    )


def model_tasks() -> list[tuple[str, str]]:
    cases = []
    for key, spec in sklearn_models.SPECS.items():
        for task in ("regression", "binary", "multiclass"):
            if spec.serves(task):
                cases.append((key, task))
    return cases


@pytest.mark.parametrize(("model", "task"), model_tasks())
def test_each_sklearn_model_trains_and_predicts_raw_rows(frame: pd.DataFrame, model: str, task: str) -> None:
    run = training.train(frame, TASK_TARGETS[task], model, features=FEATURES)
    assert run.task == task
    assert run.model == model and run.library == "scikit-learn" and run.device == "cpu"
    assert list(run.pipeline.named_steps) == ["preprocess", "model"]
    predicted = run.pipeline.predict(raw_rows())
    assert len(predicted) == 3
    if task == "regression":
        assert np.isfinite(predicted.astype(float)).all()
        # Easy, nearly linear data: every catalog model explains most of the variance.
        assert run.metrics["r2"] > 0.8, run.metrics
    else:
        assert set(predicted) <= set(run.classes)
        assert run.classes == sorted(frame[TASK_TARGETS[task]].unique())
        proba = run.pipeline.predict_proba(raw_rows())
        assert proba.shape == (3, len(run.classes))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
        # Well above chance (0.5 binary, about 0.33 for three classes) on these easy labels.
        assert run.metrics["accuracy"] > (0.75 if task == "binary" else 0.6), run.metrics
        assert 0.5 < run.metrics["roc_auc"] <= 1.0
    assert run.timings["fit_s"] > 0 and run.timings["predict_s"] >= 0
    assert run.file_size > 0


def test_catalog_entries_are_consistent() -> None:
    assert set(sklearn_models.SPECS) <= set(training.MODELS)
    for key, spec in sklearn_models.SPECS.items():
        assert spec.key == key and spec.library == "scikit-learn" and spec.label
        assert set(spec.tasks) <= {"regression", "classification"} and spec.tasks
        for param in spec.params:
            if param.kind in ("int", "float"):
                assert param.low <= param.default <= param.high, (key, param.name)
            if param.kind == "choice":
                assert param.default in param.choices, (key, param.name)
            # Depth <= 13 means at most 2**14 - 1 nodes: below shap's 32,767-node crash (issue 3486).
            if param.name == "max_depth":
                assert param.default <= 13, key
    assert training.models_for("regression")[0] == "linear_regression"
    assert "logistic_regression" in training.models_for("binary")
    assert "linear_regression" not in training.models_for("multiclass")
    assert "logistic_regression" not in training.models_for("regression")
    assert training.MODELS["hist_gradient_boosting"].needs_dense


def test_linear_and_logistic_are_near_perfect_on_easy_data(frame: pd.DataFrame) -> None:
    regression = training.train(frame, "amount", "linear_regression", features=FEATURES)
    assert regression.metrics["r2"] > 0.9
    assert regression.metrics["rmse"] == pytest.approx(np.sqrt(regression.metrics["mse"]))
    classification = training.train(frame, "approved", "logistic_regression", features=FEATURES)
    assert classification.metrics["accuracy"] > 0.9


def test_result_carries_what_later_pages_need(frame: pd.DataFrame) -> None:
    run = training.train(frame, "approved", "decision_tree", features=FEATURES, test_size=0.25, random_state=3)
    assert len(run.X_test) == 60 and list(run.X_test.columns) == FEATURES
    assert len(run.y_test) == len(run.y_pred) == 60 and run.y_proba.shape == (60, 2)
    assert run.schema.names == FEATURES
    assert run.schema["region"].kind == "categorical" and run.schema["region"].levels == ["east", "north", "south"]
    assert run.schema["income"].kind == "numeric" and run.schema["income"].min < run.schema["income"].max
    assert 0 < len(run.X_background) <= training.BACKGROUND_ROWS
    assert set(run.X_background.index).isdisjoint(run.X_test.index)
    assert run.params == {"max_depth": 8, "min_samples_leaf": 5}
    assert run.data_fingerprint["rows"] == 240 and len(run.data_fingerprint["sha256"]) == 64
    assert run.created.endswith("+00:00") and len(run.run_id) == 8
    assert run.split["train_rows"] == 180 and run.split["test_rows"] == 60 and run.split["stratified"]
    # Stratified: the test split has the same class shares as the whole frame (within a row).
    share = (run.y_test == "Y").mean()
    assert share == pytest.approx((frame["approved"] == "Y").mean(), abs=1 / 60)
    assert run.file_size == training.model_file_size(run.pipeline)


def test_same_seed_same_split_and_fingerprint_changes_with_data(frame: pd.DataFrame) -> None:
    a = training.train(frame, "amount", "ridge", features=FEATURES, random_state=11)
    b = training.train(frame, "amount", "ridge", features=FEATURES, random_state=11)
    assert list(a.X_test.index) == list(b.X_test.index)
    assert a.metrics == b.metrics and a.data_fingerprint == b.data_fingerprint
    changed = frame.copy()
    changed.loc[0, "debt"] += 1
    c = training.train(changed, "amount", "ridge", features=FEATURES, random_state=11)
    assert c.data_fingerprint["sha256"] != a.data_fingerprint["sha256"]


def test_default_features_skip_identifiers_and_target(frame: pd.DataFrame) -> None:
    df = frame.copy()
    df.insert(0, "Loan_ID", [f"LP{i:06d}" for i in range(len(df))])
    run = training.train(df, "amount", "linear_regression")
    assert "Loan_ID" not in run.features and "amount" not in run.features
    assert set(FEATURES) <= set(run.features)


def test_kinds_override_and_headerless_integer_columns() -> None:
    rng = np.random.default_rng(4)
    df = pd.DataFrame({0: rng.integers(0, 4, 120), 1: rng.normal(size=120)})
    df[2] = df[0] * 2.0 + df[1] + rng.normal(0, 0.05, 120)
    run = training.train(df, 2, "linear_regression", kinds={"0": "categorical"})
    assert run.features == ["0", "1"] and run.schema["0"].kind == "categorical"
    assert run.metrics["r2"] > 0.95
    assert len(run.pipeline.predict(pd.DataFrame({"0": [1, 9], "1": [0.0, 0.5]}))) == 2


def test_missing_target_rows_are_dropped_with_a_note(frame: pd.DataFrame) -> None:
    df = frame.copy()
    df.loc[:9, "amount"] = np.nan
    run = training.train(df, "amount", "linear_regression", features=FEATURES)
    assert run.split["dropped_missing_target"] == 10
    assert run.split["train_rows"] + run.split["test_rows"] == 230
    assert any("10 rows" in note for note in run.notes)


def sentences(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    good = ["great", "tasty", "friendly", "lovely", "excellent", "fresh"]
    bad = ["awful", "cold", "rude", "bland", "terrible", "slow"]
    filler = ["the", "food", "was", "really", "and", "service", "staff", "place", "our", "dinner", "very"]
    rows = []
    for i in range(n):
        positive = i % 2 == 0
        words = list(rng.choice(filler, 5)) + list(rng.choice(good if positive else bad, 2))
        rng.shuffle(words)
        rows.append({"review": " ".join(words) + f" visit {i}", "liked": int(positive)})
    return pd.DataFrame(rows)


def test_text_column_pipeline_reproduces_the_material_yelp_model() -> None:
    df = sentences(200)
    run = training.train(df, "liked", "logistic_regression")
    assert run.schema["review"].kind == "text"
    vectorizer = run.pipeline["preprocess"].named_transformers_["text0"].steps[-1][1]
    assert isinstance(vectorizer, CountVectorizer) and "tasty" in vectorizer.vocabulary_
    assert run.metrics["accuracy"] > 0.9
    # The material's pipeline on the same split: CountVectorizer then LogisticRegression.
    X_train, X_test, y_train, _ = train_test_split(
        df["review"], df["liked"], test_size=0.2, random_state=7, stratify=df["liked"]
    )
    material = Pipeline([("vectorize", CountVectorizer()), ("model", LogisticRegression(max_iter=1000))])
    material.fit(X_train, y_train)
    np.testing.assert_allclose(run.y_proba, material.predict_proba(X_test), atol=1e-4)
    # New sentences with unseen words and a missing one still predict.
    new = pd.DataFrame({"review": ["tasty and friendly staff", "zzz qqq unknown words", None]})
    assert list(run.pipeline.predict(new)[:1]) == [1]


def test_cross_validation_structure(frame: pd.DataFrame) -> None:
    run = training.train(frame, "approved", "logistic_regression", features=FEATURES, cv_folds=4)
    assert run.cv["metric"] == "accuracy" and run.cv["folds"] == 4 and len(run.cv["scores"]) == 4
    assert run.cv["mean"] == pytest.approx(np.mean(run.cv["scores"]))
    assert run.cv["std"] == pytest.approx(np.std(run.cv["scores"]))
    assert all(0.5 < s <= 1 for s in run.cv["scores"])
    assert run.timings["cv_s"] > 0 and run.grid is None


def test_grid_search_matches_gridsearchcv_and_refits_the_best(frame: pd.DataFrame) -> None:
    grid = {"n_estimators": [10, 40], "max_depth": [1, 3]}
    run = training.train(frame, "amount", "gradient_boosting", features=FEATURES, grid=grid, cv_folds=3)
    table = run.grid
    assert list(table.columns) == ["n_estimators", "max_depth", "mean_score", "std_score", "mean_fit_s", "rank", "is_best"]
    assert len(table) == 4 and table["is_best"].sum() == 1
    best = table[table["is_best"]].iloc[0]
    assert best["rank"] == 1 and best["mean_score"] == table["mean_score"].max()
    assert run.params["n_estimators"] == best["n_estimators"] and run.params["max_depth"] == best["max_depth"]
    assert run.pipeline[-1].n_estimators == best["n_estimators"]
    assert run.cv["metric"] == "neg_mean_squared_error" and run.cv["mean"] == pytest.approx(best["mean_score"])
    assert run.timings["grid_s"] > 0
    # The same folds and scores as scikit-learn's GridSearchCV over the whole pipeline.
    X_train, _, y_train, _ = train_test_split(frame[FEATURES], frame["amount"], test_size=0.2, random_state=7)
    search = GridSearchCV(
        clone(run.pipeline),
        {"model__n_estimators": [10, 40], "model__max_depth": [1, 3]},
        scoring="neg_mean_squared_error",
        cv=KFold(3, shuffle=True, random_state=7),
    ).fit(X_train, y_train)
    ours = {(r.n_estimators, r.max_depth): r.mean_score for r in table.itertuples()}
    for setting, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True):
        assert ours[(setting["model__n_estimators"], setting["model__max_depth"])] == pytest.approx(score)


def test_grid_values_are_parsed_and_checked() -> None:
    assert training.parse_grid_values("gradient_boosting", "n_estimators", "50, 100,100, 200") == [50, 100, 200]
    assert training.parse_grid_values("knn", "weights", "uniform,Distance") == ["uniform", "distance"]
    assert training.parse_grid_values("gradient_boosting", "learning_rate", "0.05,0.1") == [0.05, 0.1]
    with pytest.raises(TrainingError, match="whole number"):
        training.parse_grid_values("gradient_boosting", "n_estimators", "50, many")
    with pytest.raises(TrainingError, match="one of uniform, distance"):
        training.parse_grid_values("knn", "weights", "closest")
    with pytest.raises(TrainingError, match="no setting"):
        training.parse_grid_values("linear_regression", "alpha", "1")


def test_effective_params_fill_defaults_and_type_values() -> None:
    params = training.effective_params("random_forest", {"n_estimators": 20.0, "max_depth": "4"})
    assert params == {"n_estimators": 20, "max_depth": 4, "min_samples_leaf": 5, "max_features": 0.5}
    assert isinstance(params["n_estimators"], int)
    assert training.effective_params("linear_regression") == {}


def one_sentence(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.endswith(".") and len(message) < 400
    return message


LR, TREE = "linear_regression", "decision_tree"


@pytest.mark.parametrize(
    ("change", "kwargs", "expected"),
    [
        (lambda df: df.assign(approved="Y"), {"target": "approved", "model": TREE}, "single value ('Y')"),
        (lambda df: df, {"target": "approved", "model": "ridge", "task": "regression"}, "not numeric"),
        (lambda df: df.assign(amount=4.0), {"target": "amount", "model": LR}, "single value (4.0)"),
        (lambda df: df.head(14), {"target": "amount", "model": LR, "cv_folds": 12}, "12-fold"),
        (lambda df: df.head(8), {"target": "amount", "model": LR}, "at least 10"),
        (lambda df: df.assign(approved=["rare"] + ["Y", "N"] * 119 + ["Y"]), {"target": "approved", "model": TREE},
         "'rare'"),
        (lambda df: df.assign(approved=["rare"] * 4 + ["Y", "N"] * 118),
         {"target": "approved", "model": TREE, "cv_folds": 5}, "fewer than the 5 folds"),
        (lambda df: df, {"target": "nope", "model": LR}, "not a column"),
        (lambda df: df, {"target": "amount", "model": LR, "features": ["income", "ghost"]}, "'ghost'"),
        (lambda df: df, {"target": "amount", "model": "random_forest", "params": {"trees": 5}}, "no setting 'trees'"),
        (lambda df: df, {"target": "amount", "model": "random_forest", "params": {"max_depth": "deep"}}, "whole number"),
        (lambda df: df, {"target": "amount", "model": "logistic_regression"}, "does not do regression"),
        (lambda df: df, {"target": "amount", "model": "no_such_model"}, "Unknown model"),
        (lambda df: df, {"target": "amount", "model": LR, "test_size": 1.5}, "test fraction"),
        (lambda df: df, {"target": "amount", "model": "ridge", "grid": {"alpha": [1], "max_iter": [1], "x": [1]}},
         "one or two"),
    ],
)
def test_bad_input_raises_one_actionable_sentence(frame: pd.DataFrame, change, kwargs, expected) -> None:
    kwargs = {"features": FEATURES, **kwargs}
    with pytest.raises(TrainingError) as exc:
        training.train(change(frame), **kwargs)
    assert expected in one_sentence(exc)


def test_single_class_error_names_the_target(frame: pd.DataFrame) -> None:
    with pytest.raises(TrainingError, match="approved has a single value"):
        training.train(frame.assign(approved="N"), "approved", "logistic_regression", features=FEATURES)


def test_forced_task_is_corrected_to_the_number_of_classes(frame: pd.DataFrame) -> None:
    run = training.train(frame, "grade", "logistic_regression", features=FEATURES, task="binary")
    assert run.task == "multiclass" and any("3 classes" in n for n in run.notes)


def test_mixed_type_labels_are_compared_as_text() -> None:
    df = make_frame(120)
    df["dependents"] = [0, 1, "3+", 2] * 30
    run = training.train(df, "dependents", "decision_tree", features=FEATURES)
    assert run.classes == ["0", "1", "2", "3+"] and run.task == "multiclass"


def test_progress_fractions_only_grow_and_name_the_stages(frame: pd.DataFrame) -> None:
    calls: list[tuple[float, str]] = []
    training.train(
        frame, "approved", "logistic_regression", features=FEATURES, cv_folds=3,
        progress=lambda f, m: calls.append((f, m)),
    )
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] <= 0.05 and fractions[-1] == 1.0
    text = " | ".join(m for _, m in calls)
    for stage in ("splitting", "fold 2/3", "fitting Logistic regression", "evaluating", "file size"):
        assert stage in text


def test_stop_during_cross_validation_keeps_the_folds_done(frame: pd.DataFrame) -> None:
    folds_started = []

    def progress(fraction: float, message: str) -> None:
        if "fold" in message:
            folds_started.append(message)

    run = training.train(
        frame, "amount", "ridge", features=FEATURES, cv_folds=5, progress=progress,
        should_stop=lambda: len(folds_started) >= 2,
    )
    assert len(run.cv["scores"]) == 2 and run.stopped_early
    assert any("2 of 5 folds" in n for n in run.notes)
    assert run.metrics["r2"] > 0.9  # the final model is still fitted


def test_random_forest_defaults_bound_tree_and_file_size() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20_000, 10))
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)])
    df["y"] = X @ rng.normal(size=10) + np.sin(X[:, 0] * 3) + rng.normal(0, 0.5, 20_000)
    run = training.train(df, "y", "random_forest")
    trees = run.pipeline[-1].estimators_
    assert len(trees) == 100
    assert max(t.tree_.node_count for t in trees) < 32_767
    assert run.file_size < 20_000_000, run.file_size


def test_leaderboard_has_one_row_per_run_and_the_task_metrics(frame: pd.DataFrame) -> None:
    runs = [
        training.train(frame, "amount", "ridge", features=FEATURES, params={"alpha": 2.5}),
        training.train(frame, "approved", "knn", features=FEATURES, dataset="loans"),
    ]
    board = training.leaderboard(runs)
    assert list(board["run_id"]) == [r.run_id for r in runs]
    for column in ("model", "params", "task", "rmse", "mae", "r2", "accuracy", "balanced_accuracy", "f1",
                   "roc_auc", "log_loss", "fit_s", "size_mb", "device", "dataset", "created", "stopped_early"):
        assert column in board.columns
    assert board.loc[0, "params"] == "alpha=2.5"
    assert board.loc[0, "rmse"] == runs[0].metrics["rmse"] and np.isnan(board.loc[0, "accuracy"])
    assert board.loc[1, "dataset"] == "loans" and board.loc[1, "size_mb"] == runs[1].file_size / 1e6
    only_regression = training.leaderboard(runs[:1])
    assert "rmse" in only_regression.columns and "accuracy" not in only_regression.columns
    assert training.leaderboard([]).empty


def test_torch_models_report_epochs_and_stop_through_train(frame: pd.DataFrame, monkeypatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.setattr(training, "EPOCH_CALLBACK_EVERY_S", 0.0)
    if "torch_linear" not in training.MODELS:
        pytest.skip("core.torch_catalog is not there yet")
    seen: list[tuple[int, float]] = []
    run = training.train(
        frame, "amount", "torch_linear", features=FEATURES, params={"epochs": 3000},
        on_epoch=lambda epoch, loss, val: seen.append((epoch, loss)),
        should_stop=lambda: len(seen) >= 1,
    )
    assert seen and run.stopped_early and run.history
    assert len(run.history) < 3000
    assert len(run.pipeline.predict(raw_rows())) == 3
