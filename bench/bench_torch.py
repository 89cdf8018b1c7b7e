"""PyTorch timings per device: our estimator against hand-written loops, and MLP throughput.

(a) The course material's workload: 20,000 x 1, full batch, 1,000 epochs of plain SGD on a linear
    model. Three ways, same math:
      estimator  TorchLinearRegressor(epochs=1000, lr=0.1): standardizes, data on the device once
      minimal    a hand-written loop on the same standardized tensors, made once (target: the
                 estimator within 1.2x of it)
      notebook   the material's loop: unscaled x in 0..100, lr=1e-4, the input tensors re-made
                 from numpy every epoch (torch.autograd.Variable is deprecated; torch.from_numpy
                 is what it wrapped) and the loss printed every epoch (to a StringIO here)
    Each is timed end to end (tensor creation included), best of --repeats, interleaved. The last column is the
    final training MSE over the least-squares optimum: the unscaled loop is far from converged.
(b) An MLP (64, 32) on 1,000,000 x 50 rows, Adam, batch 4096, 3 epochs: steady-state samples per
    second per device (the first epoch excluded), and the first-call overhead.

GPU clocks are read after torch.cuda.synchronize(). Where CUDA is absent the table says so.

    .venv/bin/python bench/bench_torch.py [--small] [--repeats 9] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import devices  # noqa: E402
from core.torch_models import TorchLinearRegressor, TorchMLPRegressor, _sync  # noqa: E402

TARGET_RATIO = 1.2


def linear_data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, size=(rows, 1))
    y = 3.0 * x[:, 0] + 5.0 + rng.normal(0, 10, rows)
    return x, y


def optimal_mse(x: np.ndarray, y: np.ndarray) -> float:
    design = np.column_stack([x, np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(np.mean((design @ coef - y) ** 2))


def run_estimator(x: np.ndarray, y: np.ndarray, epochs: int, device: str) -> float:
    est = TorchLinearRegressor(
        epochs=epochs, learning_rate=0.1, optimizer="sgd", random_state=0, device=device
    )
    est.fit(x, y)
    return float(np.mean((est.predict(x) - y) ** 2))


def run_minimal(x: np.ndarray, y: np.ndarray, epochs: int, device: str) -> float:
    """The same math as the estimator, written as short as torch allows."""
    dev = torch.device(device)
    xs = torch.tensor((x - x.mean(0)) / x.std(0), dtype=torch.float32, device=dev)
    ys = torch.tensor(((y - y.mean()) / y.std()).reshape(-1, 1), dtype=torch.float32, device=dev)
    model = nn.Linear(1, 1).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(epochs):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xs), ys)
        loss.backward()
        opt.step()
    _sync(dev)
    return loss.item() * y.std() ** 2


def run_notebook(x: np.ndarray, y: np.ndarray, epochs: int, device: str) -> float:
    """The material's loop: unscaled data, tensors re-made every epoch, the loss printed every epoch."""
    dev = torch.device(device)
    model = nn.Linear(1, 1).to(dev)
    criterion = nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    x32, y32 = x.astype(np.float32), y.astype(np.float32).reshape(-1, 1)
    out = io.StringIO()
    for epoch in range(epochs):
        inputs = torch.from_numpy(x32).to(dev)
        labels = torch.from_numpy(y32).to(dev)
        opt.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        opt.step()
        print(f"epoch {epoch}, loss {loss.item()}", file=out)
    return loss.item()


def bench_linear(device: str, rows: int, epochs: int, repeats: int) -> list[tuple[str, ...]]:
    """Best of `repeats` per variant, interleaved in rotating order so each sees the same machine load."""
    x, y = linear_data(rows)
    best = optimal_mse(x, y)
    run_estimator(x[:100], y[:100], 2, device)  # process and device start-up, paid once, not by the first row
    variants = {"estimator": run_estimator, "minimal loop": run_minimal, "notebook loop": run_notebook}
    seconds = {name: float("inf") for name in variants}
    mse: dict[str, float] = {}
    names = list(variants)
    for r in range(repeats):
        for name in names[r % 3 :] + names[: r % 3]:  # rotate the order: no variant always runs first
            fn = variants[name]
            started = time.perf_counter()
            mse[name] = fn(x, y, epochs, device)
            seconds[name] = min(seconds[name], time.perf_counter() - started)
    out = [
        (
            device,
            name,
            f"{seconds[name]:.3f}",
            f"{seconds[name] / epochs * 1e6:.0f}",
            f"{mse[name] / best:.3f}",
        )
        for name in variants
    ]
    ratio = seconds["estimator"] / seconds["minimal loop"]
    verdict = "OK" if ratio < TARGET_RATIO else f"ABOVE TARGET {TARGET_RATIO}"
    out.append((device, "estimator / minimal", f"{ratio:.2f}x", "", f"target < {TARGET_RATIO}: {verdict}"))
    out.append(
        (device, "notebook / estimator", f"{seconds['notebook loop'] / seconds['estimator']:.2f}x", "", "")
    )
    return out


def bench_mlp(device: str, rows: int, features: int, epochs: int, batch: int) -> tuple[str, ...]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    y = X[:, :5].sum(axis=1) + np.tanh(X[:, 5]) + rng.normal(0, 0.1, rows).astype(np.float32)
    est = TorchMLPRegressor(
        hidden_layers=(64, 32), epochs=epochs, batch_size=batch, learning_rate=1e-3, optimizer="adam",
        early_stopping=False, random_state=0, device=device,
    )  # fmt: skip
    started = time.perf_counter()
    est.fit(X, y)
    total = time.perf_counter() - started
    t = est.fit_timings_
    return (
        device, f"{rows:,} x {features}", f"{total:.2f}", f"{t['setup_s']:.3f}", f"{t['first_epoch_s']:.2f}",
        f"{t['epoch_s']:.2f}", f"{t['samples_per_s']:,.0f}",
    )  # fmt: skip


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="quick run: fewer epochs and rows")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    linear_rows, linear_epochs = 20_000, (200 if args.small else 1000)
    mlp_rows, mlp_features, mlp_epochs, mlp_batch = (100_000 if args.small else 1_000_000), 50, 3, 4096

    measured = devices.available()
    gpu = next((d for d in devices.detect() if d.name == "cuda"), None)
    print(f"# bench_torch  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  torch {torch.__version__}  "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch threads "
          f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    for d in devices.detect():
        print(f"#   {d.name}: {d.label if d.available else 'absent: ' + d.reason}")

    print(f"\n(a) linear regression, {linear_rows:,} x 1, full batch, {linear_epochs} epochs of SGD "
          f"(best of {args.repeats})")  # fmt: skip
    rows: list[tuple[str, ...]] = []
    for device in measured:
        rows.extend(bench_linear(device, linear_rows, linear_epochs, args.repeats))
    print(table(("device", "variant", "fit s", "us/epoch", "MSE / optimum"), rows))
    if gpu is not None and not gpu.available:
        print("cuda: not measured (no CUDA GPU here)")

    print(f"\n(b) MLP (64, 32), Adam, batch {mlp_batch}, {mlp_epochs} epochs")
    rows = []
    for device in measured:
        with contextlib.suppress(torch.cuda.OutOfMemoryError):
            rows.append(bench_mlp(device, mlp_rows, mlp_features, mlp_epochs, mlp_batch))
    print(table(("device", "rows", "fit s", "setup s", "epoch 1 s", "epoch s", "samples/s (steady)"), rows))
    if gpu is not None and not gpu.available:
        print("cuda: not measured (no CUDA GPU here)")


if __name__ == "__main__":
    main()
