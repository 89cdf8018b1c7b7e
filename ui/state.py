"""Per-session state: the loaded data set, the runs trained in this session, the current model.

Everything here lives in st.session_state, so two browser tabs are two users that never see each
other's data or runs. Pages read and write state only through these functions.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from core.schema import guess_roles, infer_task

DATA = "wb_data"
RUNS = "wb_runs"
CURRENT_RUN = "wb_current_run"
NOTICES = "wb_notices"

# Runs kept per session; the oldest unsaved one is dropped (with a notice) past this.
MAX_RUNS_PER_SESSION = 20


@dataclass
class LoadedData:
    """The data set this session works on, with the roles the analyst chose for its columns."""

    name: str
    df: pd.DataFrame
    source: str
    target: str | None
    features: list[str]
    ignored: list[str]
    kinds: dict[str, str]
    task: str | None
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def shape_text(self) -> str:
        rows, cols = self.df.shape
        return f"{rows:,} rows x {cols:,} columns"

    def frame(self) -> pd.DataFrame:
        """The features and the target, in that order: what training uses."""
        cols = list(self.features) + ([self.target] if self.target else [])
        return self.df[cols]


def loaded_data(name: str, df: pd.DataFrame, source: str) -> LoadedData:
    """A LoadedData for df with guessed roles and task (no session state touched)."""
    roles = guess_roles(df)
    task = infer_task(df[roles.target]) if roles.target else None
    return LoadedData(
        name=name,
        df=df,
        source=source,
        target=roles.target,
        features=roles.features,
        ignored=roles.ignored,
        kinds=dict(roles.kinds),
        task=task,
        reasons=roles.reasons,
    )


def set_data(name: str, df: pd.DataFrame, source: str) -> LoadedData:
    """Make df this session's data set, with guessed roles and task. Runs already trained stay."""
    data = loaded_data(name, df, source)
    st.session_state[DATA] = data
    return data


def current_data() -> LoadedData | None:
    return st.session_state.get(DATA)


def require_data() -> LoadedData:
    """The loaded data set, or a pointer to the Data page and a stop of this page's script."""
    data = current_data()
    if data is None:
        st.info("No data set loaded yet. Load a sample, upload a file or give a URL on the Data page.")
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/dataset:")
        st.stop()
    return data


def runs() -> OrderedDict[str, Any]:
    """This session's trained runs, oldest first: run_id -> TrainResult."""
    if RUNS not in st.session_state:
        st.session_state[RUNS] = OrderedDict()
    return st.session_state[RUNS]


def _saved_run_ids() -> set[str]:
    from core import store  # only when the cap is reached: a look at the model store's folder

    return {m.model_id for m in store.list_models()}


def add_run(run: Any, make_current: bool = True) -> None:
    """Keep a run in this session's leaderboard; past the cap drop the oldest unsaved run with a
    notice (a saved one only when every older run is saved: it can be re-opened from the store)."""
    store = runs()
    store[run.run_id] = run
    saved: set[str] | None = None
    while len(store) > MAX_RUNS_PER_SESSION:
        saved = _saved_run_ids() if saved is None else saved
        older = [run_id for run_id in store if run_id != run.run_id]
        drop_id = next((run_id for run_id in older if run_id not in saved), older[0])
        dropped = store.pop(drop_id)
        if drop_id in saved:
            notice(f"Closed the oldest run ({dropped.label}, {drop_id}) to keep this session's memory bounded; "
                   "it is saved, so the Models page can open it again.")
        else:
            notice(f"Dropped the oldest unsaved run ({dropped.label}, {drop_id}) to keep this session's memory bounded.")
        if st.session_state.get(CURRENT_RUN) == drop_id:
            st.session_state[CURRENT_RUN] = None
    if make_current:
        st.session_state[CURRENT_RUN] = run.run_id


def set_current_run(run_id: str) -> None:
    if run_id in runs():
        st.session_state[CURRENT_RUN] = run_id


def current_run() -> Any | None:
    run_id = st.session_state.get(CURRENT_RUN)
    return runs().get(run_id) if run_id else None


def require_run() -> Any:
    """The current model, or a pointer to the Train page and a stop of this page's script."""
    run = current_run()
    if run is None:
        st.info("No model yet. Train one on the Train page; it becomes the current model here.")
        st.page_link("pages/train.py", label="Go to the Train page", icon=":material/model_training:")
        st.stop()
    return run


def notice(message: str) -> None:
    """A message shown once, on the next page render (st.toast does not survive a rerun)."""
    st.session_state.setdefault(NOTICES, []).append(message)


def show_notices() -> None:
    for message in st.session_state.pop(NOTICES, []):
        st.toast(message)
