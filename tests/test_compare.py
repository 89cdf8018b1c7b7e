"""compare_devices on small frames: a row per measured device plus the sklearn reference, speedups
against the CPU, a verdict that says what was (not) measured, stopping, errors, and the figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from core import compare
from core.compare import CompareError, DeviceComparison, compare_devices, loss_curves, timing_chart

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


def regression_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "Index": np.arange(n),
            "height": rng.normal(68, 2, n),
            "area": rng.choice(["north", "south", "east"], n),
        }
    )
    frame["weight"] = (
        3 * frame["height"] + frame["area"].map({"north": 5, "south": 0, "east": -5}) + rng.normal(0, 4, n)
    )
    frame.loc[::11, "height"] = np.nan
    return frame


def labels_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"income": rng.lognormal(8, 0.5, n), "history": rng.choice([1.0, 0.0, np.nan], n)})
    frame["status"] = np.where((frame["history"] == 1) | (frame["income"] > 4000), "Y", "N")
    return frame


def test_linear_comparison_has_cpu_and_reference_rows():
    seen: list[tuple[float, str]] = []
    cmp = compare_devices(
        regression_frame(),
        "weight",
        "torch_linear",
        params={"epochs": 60},
        progress=lambda f, m: seen.append((f, m)),
    )
    assert isinstance(cmp, DeviceComparison)
    table = cmp.table
    assert list(table[compare.DEVICE])[0] == "cpu"
    assert list(table[compare.MODEL]) == [
        "PyTorch linear regression",
        "scikit-learn LinearRegression (reference)",
    ]
    assert cmp.metric == "test RMSE" and cmp.reference == "scikit-learn LinearRegression"
    cpu = table.iloc[0]
    assert cpu[compare.SPEEDUP] == pytest.approx(1.0) and cpu[compare.EPOCHS] == 60
    assert cpu[compare.FIT_S] > 0 and cpu[compare.EPOCH_MS] > 0 and cpu[compare.SAMPLES_PER_S] > 0
    assert cpu[compare.OVERHEAD_S] <= cpu[compare.FIT_S]
    reference = table.iloc[1]
    assert reference[compare.SPEEDUP] == pytest.approx(cpu[compare.FIT_S] / reference[compare.FIT_S])
    assert math.isnan(reference[compare.STEADY_SPEEDUP])
    # The same split and preprocessing: the torch model reaches the closed-form solution's error.
    assert cpu["test RMSE"] == pytest.approx(reference["test RMSE"], rel=0.01)
    assert cmp.shape == {"train_rows": 240, "test_rows": 60, "features": 4}
    assert set(cmp.curves) == set(cmp.devices) and len(cmp.curves["cpu"]) == 60
    assert seen[-1] == (1.0, "done") and any("epoch" in m for _, m in seen)


@no_gpu
def test_verdict_says_no_gpu_was_measured_here():
    cmp = compare_devices(regression_frame(), "weight", "torch_linear", params={"epochs": 20})
    assert cmp.devices == ["cpu"] and cmp.gpu_slower is None
    assert cmp.verdict.startswith("No GPU here, so only the CPU and the scikit-learn reference were measured")
    assert "no CUDA GPU found" in cmp.verdict
    assert "cuda" in cmp.not_measured


@no_gpu
def test_asking_for_an_absent_gpu_skips_it_with_the_reason():
    cmp = compare_devices(
        regression_frame(), "weight", "torch_linear", params={"epochs": 5}, devices=["cuda"]
    )
    assert cmp.devices == ["cpu"]
    assert "no CUDA GPU found" in cmp.not_measured["cuda"]


def test_mlp_classifier_is_compared_with_sklearns_mlp():
    cmp = compare_devices(
        labels_frame(),
        "status",
        "torch_mlp",
        params={"hidden_layers": "16", "epochs": 30, "early_stopping": False},
    )
    assert cmp.task == "binary" and cmp.metric == "test accuracy"
    assert cmp.reference == "scikit-learn MLPClassifier"
    reference = cmp.table.iloc[-1]
    assert reference[compare.EPOCHS] <= 30 and reference[compare.SAMPLES_PER_S] > 0
    assert (cmp.table["test accuracy"] > 0.7).all()


def test_stop_returns_what_was_measured():
    cmp = compare_devices(
        regression_frame(), "weight", "torch_linear", params={"epochs": 500}, should_stop=lambda: True
    )
    assert cmp.stopped and cmp.devices == ["cpu"]
    assert len(cmp.table) == 1  # no reference after a stop
    assert len(cmp.curves["cpu"]) < 500
    assert "stopped" in cmp.verdict


def test_gpu_verdicts_name_the_reason_when_slower():
    table = pd.DataFrame(
        {
            compare.MODEL: ["PyTorch MLP", "PyTorch MLP"],
            compare.DEVICE: ["cpu", "cuda"],
            compare.FIT_S: [0.05, 0.9],
            compare.OVERHEAD_S: [0.001, 0.8],
            compare.EPOCH_MS: [0.4, 0.3],
            "test RMSE": [1.0, 1.0],
        }
    )
    table[compare.SPEEDUP] = 0.05 / table[compare.FIT_S]
    table[compare.STEADY_SPEEDUP] = 0.4 / table[compare.EPOCH_MS]
    shape = {"train_rows": 400, "features": 3}
    verdict, slower = compare._verdict(table, "PyTorch MLP", "test RMSE", shape, {}, False)
    assert slower is True
    assert "CUDA run is 18.0x slower" in verdict and "first-call overhead" in verdict
    assert "kernel-launch" in verdict and "1.3x faster" in verdict
    table[compare.FIT_S] = [0.9, 0.05]
    table[compare.SPEEDUP] = 0.9 / table[compare.FIT_S]
    verdict, slower = compare._verdict(table, "PyTorch MLP", "test RMSE", shape, {}, False)
    assert slower is False and "CUDA run is 18.0x faster" in verdict


def test_figures_show_every_row_and_curve():
    cmp = compare_devices(
        regression_frame(),
        "weight",
        "torch_mlp",
        params={"hidden_layers": "8", "epochs": 15, "early_stopping": True},
    )
    chart = timing_chart(cmp)
    assert [trace.name for trace in chart.data] == [
        "first-call overhead",
        "steady-state training",
        "input checks, scaling, copy back",
    ]
    assert len(chart.data[0].y) == len(cmp.table)
    total = sum(np.asarray(trace.x, dtype=float) for trace in chart.data)
    np.testing.assert_allclose(total, cmp.table[compare.FIT_S], rtol=1e-9)
    curves = loss_curves(cmp)
    names = [trace.name for trace in curves.data]
    assert "cpu training loss" in names and "cpu validation loss" in names


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model": "linear_regression"}, "PyTorch model"),
        ({"model": "torch_logistic"}, "does not do regression"),
        ({"model": "torch_linear", "target": "nope"}, "not a column"),
        ({"model": "torch_mlp", "params": {"hidden_layers": "a,b"}}, "Hidden layers must be whole numbers"),
        ({"model": "torch_linear", "params": {"colour": 1}}, "has no setting"),
    ],
)
def test_bad_requests_are_one_sentence(kwargs, message):
    args = {"df": regression_frame(), "target": "weight", **kwargs}
    with pytest.raises(CompareError, match=message):
        compare_devices(**args)
