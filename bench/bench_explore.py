"""Build the default Explore figures for a 1,000,000 x 20 numeric frame; print build time and JSON size.

Targets (issue 2): every figure under 1 MB of JSON and under 1 s to build on this machine.
For scale: a naive px.scatter of 1,000,000 points is about 27 MB of JSON.

    .venv/bin/python bench/bench_explore.py [--rows 1000000] [--cols 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import eda  # noqa: E402

MAX_BYTES = 1_000_000
MAX_SECONDS = 1.0


def make_frame(rows: int, cols: int, seed: int = 7) -> pd.DataFrame:
    """Seeded numeric frame: features share a few latent factors (so they correlate), and a
    target that depends on some of them with noise; a few missing values in two columns."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(rows, 3))
    loadings = rng.normal(scale=0.8, size=(3, cols - 1))
    features = factors @ loadings + rng.normal(size=(rows, cols - 1))
    features[:, 1] = np.exp(features[:, 1] / 2)  # one skewed column
    features[:, 2] = np.round(features[:, 2])  # one with a handful of distinct values
    frame = pd.DataFrame(features, columns=[f"x{i:02d}" for i in range(1, cols)])
    frame["target"] = 3.0 * features[:, 0] - 2.0 * features[:, 3] + rng.normal(scale=2.0, size=rows)
    for name in ("x05", "x06"):
        frame.loc[frame.sample(frac=0.02, random_state=seed).index, name] = np.nan
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--naive", action="store_true", help="also size a raw-point px.scatter for comparison")
    args = parser.parse_args()

    frame = make_frame(args.rows, args.cols)
    print(f"frame: {args.rows:,} rows x {args.cols} numeric columns (target 'target', regression)")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    figs = eda.overview(frame, target="target", task="regression", timings=timings)
    total = time.perf_counter() - start

    print(f"{'figure':<34} {'build (s)':>9} {'JSON (KB)':>10}  ok")
    misses = 0
    json_total = 0
    for name, fig in figs.items():
        size = len(fig.to_json())
        json_total += size
        ok = size < MAX_BYTES and timings[name] < MAX_SECONDS
        misses += not ok
        print(f"{name:<34} {timings[name]:>9.3f} {size / 1000:>10.1f}  {'yes' if ok else 'NO'}")
    print(f"{'(shared column ranking)':<34} {timings['ranking']:>9.3f} {'':>10}")
    print(f"{'total: overview() wall time':<34} {total:>9.3f} {json_total / 1000:>10.1f}  ({len(figs)} figures)")

    summary_start = time.perf_counter()
    eda.summary(frame)
    print(f"{'summary table (not a figure)':<34} {time.perf_counter() - summary_start:>9.3f}")
    print("all figures under 1 MB and 1 s" if not misses else f"{misses} figure(s) missed a target")
    if args.naive:
        import plotly.express as px

        naive_start = time.perf_counter()
        naive = px.scatter(frame, x="x01", y="target")
        size = len(naive.to_json())
        print(f"{'for scale: px.scatter of all rows':<34} {time.perf_counter() - naive_start:>9.3f} {size / 1000:>10.1f}")


if __name__ == "__main__":
    main()
