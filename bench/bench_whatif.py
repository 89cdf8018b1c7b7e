"""How fast a what-if row is answered: whatif.predict_row including its SHAP waterfall, per model.

Target (issue 6): under 150 ms on the server for catalog-default models, SHAP waterfall included
for tree and linear models. Each case trains the catalog model at its defaults (training time not
measured), answers one row first (imports, and the explainer the page then keeps per session),
then times 20 what-if rows (held-out rows 0..19 edited a little, as a user would) and prints the
median, with the prediction-only and SHAP shares, and the first row's time.

Data: the built-in loan_applications sample (614 rows, categoricals with gaps) for classifiers;
the tips sample (244 rows, categoricals) and a synthetic 20,000 x 20 frame for regressors.
Run: .venv/bin/python bench/bench_whatif.py
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import datasets, explain, training, whatif  # noqa: E402

TARGET_MS = 150.0
REPEATS = 20


def synthetic(rows: int = 20_000, columns: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, columns)), columns=[f"x{i}" for i in range(columns)])
    X["y"] = X.to_numpy() @ rng.normal(size=columns) + rng.normal(size=rows)
    return X


CASES = [
    ("loan_applications", "Loan_Status", "logistic_regression"),
    ("loan_applications", "Loan_Status", "random_forest"),
    ("loan_applications", "Loan_Status", "gradient_boosting"),
    ("loan_applications", "Loan_Status", "hist_gradient_boosting"),
    ("tips", "tip", "linear_regression"),
    ("tips", "tip", "ridge"),
    ("tips", "tip", "random_forest"),
    ("synthetic 20,000 x 20", "y", "ridge"),
    ("synthetic 20,000 x 20", "y", "random_forest"),
    ("synthetic 20,000 x 20", "y", "gradient_boosting"),
    ("synthetic 20,000 x 20", "y", "hist_gradient_boosting"),
    # The target names tree and linear models; the torch MLP (DeepExplainer) is shown for reference.
    ("loan_applications", "Loan_Status", "torch_mlp"),
]


def frame(name: str) -> pd.DataFrame:
    return synthetic() if name.startswith("synthetic") else datasets.load_sample(name)


def edited_rows(run: training.TrainResult) -> list[dict]:
    """Held-out rows 0..19, each with its first numeric feature nudged: what a user does in the form."""
    numeric = run.schema.by_kind("numeric")
    rows = []
    for n in range(min(REPEATS, len(run.X_test))):
        values = whatif.starting_row(run, n)
        if numeric and values[numeric[0]] is not None:
            values[numeric[0]] = values[numeric[0]] * 1.1
        rows.append(values)
    return rows


def main() -> None:
    print(f"what-if row + SHAP waterfall; target {TARGET_MS:.0f} ms; median of {REPEATS} rows after a warm-up")
    print(f"python {platform.python_version()}, {platform.machine()}, {sys.platform}")
    header = (
        f"{'data':<22} {'model':<24} {'explainer':<10} {'first ms':>9} {'total ms':>9} {'predict ms':>11} "
        f"{'SHAP ms':>8}  target"
    )
    print(header)
    print("-" * len(header))
    frames: dict[str, pd.DataFrame] = {}
    for data_name, target, model in CASES:
        df = frames.setdefault(data_name, frame(data_name))
        run = training.train(df, target=target, model=model, dataset=data_name)
        rows = edited_rows(run)
        cache: dict = {}  # what the Predict page keeps per session: the run's explainer, built once
        first = whatif.predict_row(run, rows[0], whatif.starting_row(run, 0), explainer_cache=cache)  # warm-up
        if first.waterfall is None:
            print(f"{data_name:<22} {model:<24} no waterfall: {first.waterfall_note}")
            continue
        totals, shap_times = [], []
        for n, values in enumerate(rows):
            began = time.perf_counter()
            result = whatif.predict_row(run, values, whatif.starting_row(run, n), explainer_cache=cache)
            totals.append((time.perf_counter() - began) * 1000)
            shap_times.append(result.explain_seconds * 1000)
        predict_only = []
        for values in rows:
            began = time.perf_counter()
            whatif.predict_row(run, values, with_waterfall=False)
            predict_only.append((time.perf_counter() - began) * 1000)
        total = statistics.median(totals)
        kind = explain.explain(run, whatif.row_frame(run.schema, rows[0])).explainer
        verdict = "ok" if total < TARGET_MS else "MISS"
        print(
            f"{data_name:<22} {model:<24} {kind:<10} {first.seconds * 1000:>9.1f} {total:>9.1f} "
            f"{statistics.median(predict_only):>11.1f} "
            f"{statistics.median(shap_times):>8.1f}  {verdict}"
        )


if __name__ == "__main__":
    main()
