"""The PyTorch estimators: scikit-learn's contract and checks, convergence against sklearn,
pickling with CPU weights, raw rows through a Pipeline, probabilities, Stop, early stopping,
seeds, the SHAP module, and (where a GPU exists) CUDA training.

scikit-learn's estimator checks all pass with small epoch budgets; none is marked as an expected
failure. What cannot apply, and so is not run or is skipped by sklearn itself:
- check_array_api_input: the estimators turn inputs into numpy and then torch tensors; they do not
  take Array API inputs (array_api_support is False, and the check skips without SCIPY_ARRAY_API).
- the sample-weight checks (check_sample_weights_*): fit takes no sample_weight, so sklearn does
  not select them.
- check_regressors_train needs enough epochs for the MLP to fit sklearn's toy data (R^2 > 0.5
  after standardization): 50 epochs here, not fewer.
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from support import ROOT, SHARED_DATA
from torch import nn

from core import datasets
from core.preprocessing import build_preprocessor
from core.schema import feature_schema
from core.torch_catalog import SPECS, parse_layers
from core.torch_models import (
    TorchLinearRegressor,
    TorchLogisticClassifier,
    TorchMLPClassifier,
    TorchMLPRegressor,
)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")

CHECKED = [
    TorchLinearRegressor(epochs=20),
    TorchLogisticClassifier(epochs=20),
    TorchMLPRegressor(hidden_layers=(8,), epochs=50),
    TorchMLPClassifier(hidden_layers=(8,), epochs=20),
]


@parametrize_with_checks(CHECKED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ---- data ---------------------------------------------------------------------------------------


def regression_data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1, 10, 100, 0.1] + [0, 50, -300, 2]
    y = X @ [2.0, -0.3, 0.05, 20.0] + 5 + rng.normal(0, 0.5, n)
    return X, y


def labels_data(
    n: int = 300, classes: tuple[str, ...] = ("N", "Y"), seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    score = X @ [1.5, -2.0, 0.5]
    cuts = np.quantile(score, np.linspace(0, 1, len(classes) + 1)[1:-1])
    return X, np.asarray(classes, dtype=object)[np.searchsorted(cuts, score)]


def mixed_frame(n: int = 240, seed: int = 1) -> pd.DataFrame:
    """Numbers, a categorical column and missing values in both: what the workbench feeds its models."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(8, 0.5, n),
            "age": rng.integers(18, 80, n).astype(float),
            "area": rng.choice(["Urban", "Rural", "Semiurban"], n),
        }
    )
    frame["amount"] = (
        0.01 * frame["income"]
        + 2 * frame["age"]
        + frame["area"].map({"Urban": 30, "Rural": 0, "Semiurban": 10})
    )
    frame["status"] = np.where(frame["amount"] > frame["amount"].median(), "Y", "N")
    frame.loc[::9, "income"] = np.nan
    frame.loc[::13, "area"] = None
    return frame


def height_weight() -> pd.DataFrame:
    """The real file when the course data is here, else the offline sample with the same statistics."""
    real = SHARED_DATA / "height_weight_25k.csv"
    return pd.read_csv(real) if real.exists() else datasets.load_sample("height_weight")


# ---- the estimator contract -------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls", [TorchLinearRegressor, TorchLogisticClassifier, TorchMLPRegressor, TorchMLPClassifier]
)
def test_params_are_stored_untouched_and_clone_round_trips(cls):
    est = cls(epochs=7, learning_rate=0.05, random_state=3, device="cpu")
    params = est.get_params()
    assert params["epochs"] == 7 and params["learning_rate"] == 0.05 and params["device"] == "cpu"
    assert set(vars(est)) == set(params)  # __init__ stores its parameters and nothing else
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    twin.set_params(epochs=3, optimizer="adam")
    assert twin.epochs == 3 and twin.optimizer == "adam" and est.epochs == 7


def test_fitted_attributes_end_with_underscore_and_classifiers_have_classes():
    X, y = labels_data(classes=("a", "b", "c"))
    est = TorchMLPClassifier(hidden_layers=(6,), epochs=5, random_state=0)
    before = set(vars(est))
    est.fit(X, y)
    learned = set(vars(est)) - before
    assert learned and all(name.endswith("_") for name in learned)
    assert {
        "module_",
        "history_",
        "fit_timings_",
        "classes_",
        "x_mean_",
        "x_scale_",
        "n_features_in_",
    } <= learned
    assert list(est.classes_) == ["a", "b", "c"]


def test_hidden_layers_accept_text_and_reject_nonsense():
    assert parse_layers("64, 32") == (64, 32)
    assert parse_layers((16,)) == (16,)
    assert parse_layers("") == ()
    with pytest.raises(ValueError, match="whole numbers"):
        parse_layers("64,lots")
    with pytest.raises(ValueError, match="between 1 and 4096"):
        parse_layers("0")
    X, y = regression_data()
    est = TorchMLPRegressor(hidden_layers="5,3", epochs=2, random_state=0).fit(X, y)
    assert [m.out_features for m in est.module_ if isinstance(m, nn.Linear)] == [5, 3, 1]


# ---- convergence --------------------------------------------------------------------------------


@pytest.mark.parametrize("epochs", [40, None])
def test_linear_model_reaches_least_squares_on_height_weight(epochs):
    df = height_weight()
    X, y = df[["Height-Inches"]].to_numpy(), df["Weight-Pounds"].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=7)
    best = mean_squared_error(y_test, LinearRegression().fit(X_train, y_train).predict(X_test)) ** 0.5
    est = TorchLinearRegressor(random_state=0, learning_rate=0.1, optimizer="sgd")
    if epochs:
        est.set_params(epochs=epochs)
    rmse = mean_squared_error(y_test, est.fit(X_train, y_train).predict(X_test)) ** 0.5
    assert 9.5 < best < 10.8  # the material's ~10.1-10.3
    assert abs(rmse / best - 1) < 0.01


def test_mini_batches_also_converge():
    X, y = regression_data(n=2000)
    exact = LinearRegression().fit(X, y).predict(X)
    est = TorchLinearRegressor(epochs=30, batch_size=128, random_state=0).fit(X, y)
    assert mean_squared_error(y, est.predict(X)) ** 0.5 < 1.05 * mean_squared_error(y, exact) ** 0.5
    assert len(est.history_) == 30


def test_sparse_input_gives_the_dense_result():
    X, y = regression_data()
    X[X < 0] = 0.0
    dense = TorchLinearRegressor(epochs=20, random_state=1).fit(X, y)
    sparse = TorchLinearRegressor(epochs=20, random_state=1).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-6)


def test_divergence_is_one_sentence():
    X, y = regression_data()
    with pytest.raises(ValueError, match="lower the learning rate"):
        TorchLinearRegressor(epochs=200, learning_rate=5.0, random_state=0).fit(X, y)


# ---- pickling -----------------------------------------------------------------------------------


def tensors_in(obj: object) -> list[torch.Tensor]:
    found: list[torch.Tensor] = []
    for value in vars(obj).values():
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, nn.Module):
            found.extend(value.state_dict().values())
    return found


@pytest.mark.parametrize(
    "make", [lambda: TorchLinearRegressor(epochs=10), lambda: TorchMLPClassifier(epochs=10)]
)
def test_joblib_round_trip_predicts_identically(make):
    X, y = labels_data(classes=("N", "Y")) if "Classifier" in type(make()).__name__ else regression_data()
    est = make().set_params(random_state=0).fit(X, y)
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    if hasattr(est, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert loaded.history_ == est.history_


def test_pickled_state_holds_only_cpu_tensors_even_when_trained_for_cuda():
    # A CUDA-trained model differs from this one only in its `device` parameter once fit has moved the
    # weights back: pickle it that way and load it where there may be no GPU.
    X, y = regression_data()
    est = TorchMLPRegressor(hidden_layers=(8,), epochs=10, random_state=0).fit(X, y)
    est.device = "cuda"
    state = est.__getstate__()
    assert all(t.device.type == "cpu" for t in state["module_"].state_dict().values())
    loaded = pickle.loads(pickle.dumps(est))
    assert all(t.device.type == "cpu" for t in tensors_in(loaded))
    assert not loaded.module_.training
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


# ---- pipelines and probabilities ----------------------------------------------------------------


def pipeline_for(frame: pd.DataFrame, features: list[str], estimator) -> Pipeline:
    schema = feature_schema(frame[features])
    return Pipeline([("preprocess", build_preprocessor(schema, dense=True)), ("model", estimator)])


def test_regressor_predicts_raw_rows_through_a_pipeline():
    frame = mixed_frame()
    features = ["income", "age", "area"]
    pipe = pipeline_for(frame, features, TorchLinearRegressor(epochs=60, random_state=0))
    pipe.fit(frame[features], frame["amount"])
    raw = pd.DataFrame({"income": [np.nan, 3000.0], "age": [40.0, None], "area": ["Mars", None]})
    predictions = pipe.predict(raw)
    assert predictions.shape == (2,) and np.isfinite(predictions).all()
    fitted = pipe.predict(frame[features])
    assert np.corrcoef(fitted, frame["amount"])[0, 1] > 0.9


@pytest.mark.parametrize("cls", [TorchLogisticClassifier, TorchMLPClassifier])
def test_classifier_pipeline_with_string_labels(cls):
    frame = mixed_frame()
    features = ["income", "age", "area"]
    pipe = pipeline_for(frame, features, cls(epochs=80, random_state=0))
    pipe.fit(frame[features], frame["status"])
    assert list(pipe.classes_) == ["N", "Y"]
    proba = pipe.predict_proba(frame[features])
    assert proba.shape == (len(frame), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert set(pipe.predict(frame[features])) <= {"N", "Y"}
    assert (pipe.predict(frame[features]) == frame["status"]).mean() > 0.8


@pytest.mark.parametrize("cls", [TorchLogisticClassifier, TorchMLPClassifier])
def test_multiclass_probabilities_sum_to_one_and_agree_with_predict(cls):
    X, y = labels_data(classes=("low", "mid", "high"))
    est = cls(epochs=100, random_state=0).fit(X, y)
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 3) and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], est.predict(X))
    assert est.score(X, y) > 0.8


# ---- stopping -------------------------------------------------------------------------------------


def test_callback_returning_true_stops_and_keeps_a_usable_model():
    X, y = regression_data()
    seen: list[tuple[int, float, float | None]] = []

    def stop_at_five(epoch: int, loss: float, val_loss: float | None) -> bool:
        seen.append((epoch, loss, val_loss))
        return epoch >= 5

    est = TorchLinearRegressor(epochs=100, random_state=0).fit(X, y, epoch_callback=stop_at_five)
    assert est.stopped_early_ and est.n_epochs_ == 5 and len(est.history_) == 5
    assert [e for e, _, _ in seen] == [1, 2, 3, 4, 5]
    assert [loss for _, loss, _ in seen] == pytest.approx([h["loss"] for h in est.history_])
    assert np.isfinite(est.predict(X)).all()
    untouched = TorchLinearRegressor(epochs=100, random_state=0).fit(X, y)
    assert not untouched.stopped_early_ and untouched.n_epochs_ == 100


def test_throttled_callback_is_called_less_often_but_after_the_last_epoch():
    X, y = regression_data()
    epochs: list[int] = []
    TorchLinearRegressor(epochs=50, random_state=0).fit(
        X, y, epoch_callback=lambda e, loss, val: epochs.append(e) or False, callback_every_s=3600
    )
    assert epochs == [1, 50]


def test_early_stopping_restores_the_best_epoch():
    # Few noisy rows and a wide network: the validation loss turns up while the training loss falls.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 10))
    y = X[:, 0] + rng.normal(0, 1.0, 80)
    settings = dict(hidden_layers=(128, 128), learning_rate=0.01, optimizer="adam", early_stopping=True,
                    validation_fraction=0.25, random_state=0)  # fmt: skip
    est = TorchMLPRegressor(epochs=300, n_iter_no_change=15, **settings).fit(X, y)
    val = [h["val_loss"] for h in est.history_]
    assert est.n_epochs_ < 300 and est.best_epoch_ < est.n_epochs_
    assert val[est.best_epoch_ - 1] == min(val)
    # Training exactly to the best epoch gives the same network as the restored one.
    short = TorchMLPRegressor(epochs=est.best_epoch_, n_iter_no_change=10_000, **settings).fit(X, y)
    np.testing.assert_allclose(est.predict(X), short.predict(X), rtol=1e-6)


# ---- seeds, timings, devices ---------------------------------------------------------------------


def test_same_seed_same_model_other_seed_other_model():
    X, y = regression_data()
    a = TorchMLPRegressor(hidden_layers=(16,), epochs=20, batch_size=32, random_state=4).fit(X, y)
    b = TorchMLPRegressor(hidden_layers=(16,), epochs=20, batch_size=32, random_state=4).fit(X, y)
    c = TorchMLPRegressor(hidden_layers=(16,), epochs=20, batch_size=32, random_state=5).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert not np.allclose(a.predict(X), c.predict(X))


def test_fit_timings_add_up():
    X, y = regression_data(n=1000)
    t = (
        TorchMLPRegressor(hidden_layers=(16,), epochs=12, random_state=0, early_stopping=False)
        .fit(X, y)
        .fit_timings_
    )
    assert set(t) == {
        "prepare_s",
        "setup_s",
        "first_epoch_s",
        "epochs_s",
        "epoch_s",
        "samples_per_s",
        "finish_s",
        "fit_s",
    }
    assert all(v >= 0 for v in t.values())
    assert t["epoch_s"] == pytest.approx(t["epochs_s"] / 11)
    assert t["samples_per_s"] == pytest.approx(1000 / t["epoch_s"])
    parts = t["prepare_s"] + t["setup_s"] + t["first_epoch_s"] + t["epochs_s"] + t["finish_s"]
    assert parts <= t["fit_s"] + 1e-6


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_an_absent_device_is_refused_with_the_reason():
    X, y = regression_data()
    with pytest.raises(ValueError, match="no CUDA GPU found"):
        TorchLinearRegressor(device="cuda").fit(X, y)
    with pytest.raises(ValueError, match="Unknown device"):
        TorchLinearRegressor(device="tpu").fit(X, y)


@needs_cuda
def test_cuda_training_matches_cpu_and_loads_on_cpu():
    X, y = regression_data(n=2000)
    cpu = TorchMLPRegressor(hidden_layers=(32,), epochs=50, random_state=0, early_stopping=False).fit(X, y)
    gpu = TorchMLPRegressor(
        hidden_layers=(32,), epochs=50, random_state=0, early_stopping=False, device="cuda"
    ).fit(X, y)
    assert gpu.device_.startswith("cuda") and gpu.fit_timings_["setup_s"] > 0
    assert all(t.device.type == "cpu" for t in tensors_in(gpu))
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-3, atol=1e-3 * np.std(y))
    loaded = pickle.loads(pickle.dumps(gpu))
    assert all(t.device.type == "cpu" for t in tensors_in(loaded))
    np.testing.assert_array_equal(loaded.predict(X), gpu.predict(X))


@needs_cuda
def test_cuda_mini_batch_classifier():
    X, y = labels_data(n=3000, classes=("a", "b", "c"))
    est = TorchMLPClassifier(epochs=20, batch_size=256, random_state=0, device="cuda").fit(X, y)
    assert est.score(X, y) > 0.8
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0, atol=1e-12)


# ---- the SHAP module ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, classes",
    [
        (lambda: TorchLinearRegressor(epochs=30), None),
        (lambda: TorchMLPRegressor(hidden_layers=(16, 8), epochs=30), None),
        (lambda: TorchLogisticClassifier(epochs=30), ("N", "Y")),
        (lambda: TorchMLPClassifier(hidden_layers=(16,), epochs=30), ("a", "b", "c")),
    ],
)
def test_explainable_module_reproduces_predictions_from_raw_inputs(make, classes):
    X, y = regression_data() if classes is None else labels_data(classes=classes)
    est = make().set_params(random_state=0).fit(X, y)
    module = est.explainable_module()
    assert not module.training
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in module.parameters())
    assert {type(m) for m in module} <= {nn.Linear, nn.ReLU, nn.Softmax}
    out = module(torch.as_tensor(X, dtype=torch.float32)).detach().numpy()
    if classes is None:
        assert out.shape == (len(X), 1)
        np.testing.assert_allclose(out[:, 0], est.predict(X), rtol=1e-4, atol=1e-4 * np.std(y))
    else:
        assert out.shape == (len(X), len(classes))
        np.testing.assert_allclose(out, est.predict_proba(X), atol=1e-5)
    assert est.module_ is not module  # the estimator's own network is untouched


# ---- the catalog --------------------------------------------------------------------------------


def test_catalog_lists_without_importing_torch():
    code = "import sys, core.torch_catalog as c; assert 'torch' not in sys.modules; print(sorted(c.SPECS))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "torch_linear" in done.stdout


@pytest.mark.parametrize(
    "key, task, cls",
    [
        ("torch_linear", "regression", TorchLinearRegressor),
        ("torch_logistic", "binary", TorchLogisticClassifier),
        ("torch_mlp", "regression", TorchMLPRegressor),
        ("torch_mlp", "multiclass", TorchMLPClassifier),
    ],
)
def test_catalog_builds_the_estimator_for_the_task(key, task, cls):
    spec = SPECS[key]
    assert spec.library == "pytorch" and spec.uses_device and spec.needs_dense and spec.serves(task)
    est = spec.build(task, {"epochs": 12}, "cpu", 99)
    assert type(est) is cls
    assert est.epochs == 12 and est.device == "cpu" and est.random_state == 99
    if cls in (TorchMLPRegressor, TorchMLPClassifier):
        assert est.hidden_layers == (64, 32)


def test_catalog_uses_the_run_seed_unless_the_seed_widget_is_set():
    spec = SPECS["torch_linear"]
    params = {k: v for k, v in spec.defaults().items() if k != "random_state"}
    assert spec.build("regression", params, "cpu", 99).random_state == 99
    assert spec.build("regression", {"random_state": 3}, "cpu", 99).random_state == 3
    with pytest.raises(ValueError, match="does not do"):
        SPECS["torch_linear"].build("binary", {}, "cpu", 0)


def test_mlp_defaults_learn_more_than_the_majority_class_on_the_loan_sample():
    """At defaults the MLP once stopped at epoch 12 predicting only "Y" (balanced accuracy 0.5)."""
    from core import datasets, training

    run = training.train(datasets.load_sample("loan_applications"), "Loan_Status", "torch_mlp")
    assert run.metrics["balanced_accuracy"] > 0.65
    assert set(run.y_pred) == {"Y", "N"}
