"""Shared test settings: where the real data lives, and the repo root on sys.path."""

import os
import re
import sys
from pathlib import Path

import pytest

# As in streamlit_app.py: OpenMP threads wait passively (spin-waiting starves a 2-core machine).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.exists(), reason="../shared/data is absent (fresh clone without the course files)"
)


def shown(markdown: str) -> str:
    """The text a person sees for a markdown source whose user text was escaped (ui.render.md_escape)."""
    return re.sub(r"\\(.)", r"\1", markdown)
