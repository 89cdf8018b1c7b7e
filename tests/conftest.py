"""Test session settings: the repo root and tests/ on sys.path, OpenMP threads waiting passively."""

import os
import sys
from pathlib import Path

# As in streamlit_app.py: OpenMP threads wait passively (spin-waiting starves a 2-core machine).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TESTS = Path(__file__).resolve().parent
for folder in (TESTS.parent, TESTS):  # the project (core, ui) and tests/ (support, corpus)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
