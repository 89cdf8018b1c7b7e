"""Fit time and model file size of every scikit-learn catalog model at its defaults.

Regression on seeded synthetic data with 20 numeric features, at 10,000 and 100,000 rows, through
training.train (so the timed fit includes the preprocessing half of the Pipeline). train() holds
out 20% for testing, so "rows" trains on 8,000 / 80,000 of them. Kernel SVM fit time grows with the
square of the rows; above SVM_MAX_ROWS it is not run, and the table says so. Logistic regression,
the one classification-only model, predicts whether y is above its median (score: accuracy).

    .venv/bin/python bench/bench_train.py                 # 10,000 and 100,000 rows
    .venv/bin/python bench/bench_train.py --rows 10000    # one size
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting (libgomp's default) make histogram gradient boosting
# many times slower on a busy 2-core machine; passive waiting removes that without changing results.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import sklearn_models, training  # noqa: E402

SVM_MAX_ROWS = 20_000
FEATURES = 20


def synthetic(rows: int, seed: int = 7) -> pd.DataFrame:
    """A mostly linear target with one non-linear term and noise, from 20 standard normal features."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=FEATURES)  # drawn first: the same target formula at every size
    X = rng.normal(size=(rows, FEATURES))
    y = X @ weights + np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] + rng.normal(0, 0.5, rows)
    df = pd.DataFrame(X, columns=[f"x{i:02d}" for i in range(FEATURES)])
    df["y"] = y
    # For classification-only models (logistic regression): is y above its median?
    df["y_high"] = np.where(y > np.median(y), "high", "low")
    return df


def max_tree_nodes(estimator) -> int | None:
    """The largest tree's node count for tree models (shap's TreeExplainer crashes above 32,767)."""
    if hasattr(estimator, "tree_"):
        return int(estimator.tree_.node_count)
    trees = getattr(estimator, "estimators_", None)
    if trees is None:
        return None
    flat = np.ravel(np.asarray(trees, dtype=object))
    counts = [t.tree_.node_count for t in flat if hasattr(t, "tree_")]
    return max(counts) if counts else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--models", nargs="+", default=list(sklearn_models.SPECS))
    args = parser.parse_args()

    print(f"# bench_train {date.today()} · {platform.machine()} · {os.cpu_count()} CPU cores · no GPU")
    print(f"# scikit-learn catalog models at their defaults, regression, {FEATURES} numeric features, "
          "80% of the rows train")
    print()
    print("| model | rows | fit (s) | predict 20% (s) | file (MB) | max tree nodes | test score |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    started = time.perf_counter()
    for rows in args.rows:
        df = synthetic(rows)
        for key in args.models:
            label = training.MODELS[key].label
            if key == "svm" and rows > SVM_MAX_ROWS:
                print(f"| {label} | {rows:,} | not run: fit time grows with rows², "
                      f"{(rows / 10_000) ** 2:.0f}x the 10,000-row fit or more | | | | |", flush=True)
                continue
            regression = training.MODELS[key].serves("regression")
            features = [c for c in df.columns if c.startswith("x")]
            run = training.train(df, "y" if regression else "y_high", key, features=features, random_state=7)
            score = f"R² {run.metrics['r2']:.3f}" if regression else f"accuracy {run.metrics['accuracy']:.3f}"
            nodes = max_tree_nodes(run.pipeline[-1])
            print(
                f"| {label} | {rows:,} | {run.timings['fit_s']:.2f} | {run.timings['predict_s']:.3f} | "
                f"{run.file_size / 1e6:.2f} | {'' if nodes is None else f'{nodes:,}'} | {score} |",
                flush=True,
            )
    print()
    print(f"# total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
