"""Which compute devices this machine has for the PyTorch models, and why a missing one is missing."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Device:
    name: str  # "cpu" | "cuda" | "mps": what torch.device() takes
    available: bool
    label: str  # what the page shows, e.g. "CUDA: NVIDIA H100 (80 GB)"
    reason: str = ""  # why it is not available, in one sentence
    memory_gb: float | None = None


@lru_cache(maxsize=1)
def detect() -> tuple[Device, ...]:
    """cpu, cuda and mps, each with availability and a reason when absent (torch imported here)."""
    import os

    import torch

    cpu = Device("cpu", True, f"CPU ({os.cpu_count()} cores)")
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gb = props.total_memory / 1024**3
        cuda = Device("cuda", True, f"CUDA: {props.name} ({gb:.0f} GB)", memory_gb=gb)
    elif torch.version.cuda is None:
        cuda = Device(
            "cuda", False, "CUDA", "no CUDA GPU found: this torch build has no CUDA support (CPU-only wheel)"
        )
    else:
        cuda = Device("cuda", False, "CUDA", "no CUDA GPU found: torch reports CUDA unavailable")
    mps_backend = getattr(torch.backends, "mps", None)
    if mps_backend is not None and mps_backend.is_available():
        mps = Device("mps", True, "Apple MPS")
    else:
        mps = Device("mps", False, "Apple MPS", "no Apple GPU found: MPS is only on Apple silicon Macs")
    return (cpu, cuda, mps)


def available() -> list[str]:
    """Device names torch can use here: always "cpu", plus "cuda" / "mps" where present."""
    return [d.name for d in detect() if d.available]


def describe(name: str) -> Device:
    """The Device record for a name; raises ValueError for a name torch does not know."""
    for d in detect():
        if d.name == name:
            return d
    raise ValueError(f"Unknown device {name!r}: choose one of cpu, cuda, mps.")


def check(name: str) -> None:
    """Raise ValueError with the reason when the device cannot be used here."""
    d = describe(name)
    if not d.available:
        raise ValueError(f"{d.label} cannot be used: {d.reason}.")
