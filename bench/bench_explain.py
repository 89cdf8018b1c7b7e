"""How fast the Explain page's SHAP values are: explain time and rows explained per explainer path.

Cases (targets from issue 5, on a 2-core CPU):
  GBM(400) on Boston 506 x 6 (CHAS RM TAX PTRATIO B LSTAT -> MEDV), all 506 rows     < 0.5 s
  random forest at catalog defaults on 100,000 x 10, 1,000 held-out rows              < 5 s
  logistic regression on a text pipeline, all 1,000 sentences (Yelp)                  < 2 s
  PyTorch MLP (catalog layers, 50 epochs) on 10,000 x 10, 500 held-out rows           < 3 s
The real Boston and Yelp files are used when ../shared/data has them, else synthetic stand-ins.
Training time is not measured here. Run: .venv/bin/python bench/bench_explain.py
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import explain, training  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BOSTON_COLUMNS = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT", "MEDV"]


def boston() -> tuple[pd.DataFrame, str]:
    path = SHARED / "boston_housing.txt"
    if path.exists():
        df = pd.read_csv(path, sep=r"\s+", header=None, names=BOSTON_COLUMNS)
        return df[["CHAS", "RM", "TAX", "PTRATIO", "B", "LSTAT", "MEDV"]], "Boston file"
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(506, 6)), columns=["CHAS", "RM", "TAX", "PTRATIO", "B", "LSTAT"])
    X["MEDV"] = 22 + 6 * X["RM"] - 5 * X["LSTAT"] + rng.normal(size=506)
    return X, "synthetic 506 x 6"


def yelp() -> tuple[pd.DataFrame, str]:
    path = SHARED / "yelp_labelled.txt"
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [line.rsplit("\t", 1) for line in lines if "\t" in line]
        return pd.DataFrame(rows, columns=["sentence", "label"]).astype({"label": int}), "Yelp file"
    rng = np.random.default_rng(0)
    good, bad = ["great", "loved", "tasty", "friendly"], ["awful", "rude", "bland", "slow"]
    label = rng.integers(0, 2, 1000)
    text = [" ".join(rng.choice(good if y else bad, 3)) + " food and service" for y in label]
    return pd.DataFrame({"sentence": text, "label": label}), "synthetic 1,000 sentences"


def numeric_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 10)), columns=[f"x{i}" for i in range(10)])
    X["y"] = 2 * X["x0"] + np.sin(3 * X["x1"]) + X["x2"] * X["x3"] + 0.5 * rng.normal(size=n)
    return X


def main() -> None:
    results = []
    # The server pays these imports once per process, not per explanation: timed apart.
    start = time.perf_counter()
    import shap  # noqa: F401
    import torch  # noqa: F401

    imports_s = time.perf_counter() - start

    def case(name: str, run, rows: pd.DataFrame, target_s: float) -> None:
        start = time.perf_counter()
        exp = explain.explain(run, rows)
        seconds = time.perf_counter() - start
        ok = seconds < target_s and exp.n_explained == exp.n_requested
        results.append((name, exp.explainer, f"{exp.n_explained:,} of {exp.n_requested:,}", seconds, target_s, ok, exp.method))

    df, source = boston()
    run = training.train(df, target="MEDV", model="gradient_boosting", params={"n_estimators": 400}, random_state=7)
    case(f"GBM(400), {source} 506 x 6, all rows", run, df[run.features], 0.5)

    big = numeric_frame(100_000, 1)
    run = training.train(big, target="y", model="random_forest", random_state=7)
    p = training.MODELS["random_forest"].defaults()
    shape = f"{p['n_estimators']} trees, depth {p['max_depth']}, leaf {p['min_samples_leaf']}"
    case(f"random forest (catalog defaults: {shape}), 100,000 x 10", run, run.X_test.iloc[:1000], 5.0)

    text, source = yelp()
    run = training.train(text, target="label", model="logistic_regression", kinds={"sentence": "text"}, random_state=7)
    case(f"logistic regression, text pipeline, {source}", run, text[run.features], 2.0)

    mid = numeric_frame(10_000, 2)
    run = training.train(mid, target="y", model="torch_mlp", params={"epochs": 50}, random_state=7)
    case("PyTorch MLP (50 epochs), 10,000 x 10", run, run.X_test.iloc[:500], 3.0)

    load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    print(f"bench_explain: {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores{load}, "
          f"python {platform.python_version()}; shap+torch import {imports_s:.1f} s (once per process, not below)")
    header = f"{'case':<76} {'explainer':<12} {'rows explained':>15} {'seconds':>8} {'target':>7}  ok"
    print(header)
    print("-" * len(header))
    for name, explainer, rows, seconds, target_s, ok, _ in results:
        print(f"{name:<76} {explainer:<12} {rows:>15} {seconds:>8.2f} {target_s:>7.1f}  {'yes' if ok else 'NO'}")
    print()
    for name, _, _, _, _, _, method in results:
        print(f"{name.split(' (')[0].split(',')[0]}: {method}")


if __name__ == "__main__":
    main()
