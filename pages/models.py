"""Models page: the current model as one verified joblib file with its model card, and the model store.

Thin: the file, its check in a fresh Python process and the card come from core.artifacts; the
store (atomic saves, SHA-256 checked re-opening) from core.store. There is no model upload: the
app never unpickles a file it did not write itself.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from core import artifacts, store
from core.artifacts import ArtifactError
from ui import render, state

VERIFIED = "models_verified"  # run_id -> {"blob", "sha", "size", "check"}: the last few runs' files
VERIFIED_KEEP = 3  # model files kept in this session's memory for their download buttons
STORE_ERROR = "models_store_error"  # a store action's failure, shown on the next render


def file_stem(run: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{run.model}_{run.run_id}")


def main_metrics(metrics: dict[str, Any], limit: int = 3) -> str:
    shown = [f"{k} {v:.4g}" for k, v in list(metrics.items())[:limit] if isinstance(v, int | float)]
    return ", ".join(shown)


def verified_file(run: Any) -> dict[str, Any] | None:
    """The run's model file and its fresh-process check, made once per run and kept for the download."""
    cache: dict[str, dict[str, Any]] = st.session_state.setdefault(VERIFIED, {})
    if run.run_id in cache:
        return cache[run.run_id]
    try:
        with st.spinner("Writing the model file and loading it back in a fresh Python process to check it ..."):
            blob = artifacts.dump(run)
            check = artifacts.verify_run(run, blob)
    except ArtifactError as exc:
        render.show_error(exc)
        return None
    cache[run.run_id] = {"blob": blob, "sha": artifacts.sha256(blob), "size": len(blob), "check": check}
    while len(cache) > VERIFIED_KEEP:
        cache.pop(next(iter(cache)))
    return cache[run.run_id]


# ---- store actions (button callbacks: they run before the page, so the sidebar sees the result) ----


def save_run(run: Any) -> None:
    try:
        entry = store.save(run)
    except ArtifactError as exc:
        st.session_state[STORE_ERROR] = str(exc)
        return
    state.notice(f"Saved {run.label} (run {run.run_id}) to the model store at {entry.path}.")


def open_stored(model_id: str) -> None:
    if model_id in state.runs():
        state.set_current_run(model_id)
        state.notice(f"Run {model_id} is already in this session; it is the current model now.")
        return
    try:
        run = store.to_run(model_id)
    except ArtifactError as exc:
        st.session_state[STORE_ERROR] = str(exc)
        return
    state.add_run(run)
    state.notice(f"Opened {run.label} (run {model_id}) from the model store as the current model.")


def delete_stored(model_id: str) -> None:
    try:
        store.delete(model_id)
    except ArtifactError as exc:
        st.session_state[STORE_ERROR] = str(exc)
        return
    state.notice(f"Deleted run {model_id} from the model store.")


# ---- sections ---------------------------------------------------------------------------------


def current_model(run: Any, stored_ids: set[str]) -> None:
    st.subheader(f"Current model: {render.md_escape(run.label)}")
    st.caption(
        f"Run {run.run_id} · {run.task} · predicts {render.md_escape(run.target)} · "
        f"{main_metrics(run.metrics)}"
    )
    made = verified_file(run)
    if made is None:
        return
    check = made["check"]
    if check.ok:
        st.success(f"{check.message} ({check.seconds:.1f} s)", icon=":material/verified:")
    else:
        st.error(render.md_escape(check.message), icon=":material/error:")
    st.markdown(f"**SHA-256:** `{made['sha']}`  \n**Size:** {made['size'] / 1e6:.2f} MB ({made['size']:,} bytes)")
    card = artifacts.model_card(run, made["sha"], made["size"])
    left, middle, right = st.columns(3)
    with left:
        st.download_button(
            "Download model (.joblib)" if check.ok else "Download the unverified file (.joblib)",
            data=made["blob"], file_name=f"{file_stem(run)}.joblib", mime="application/octet-stream",
            type="primary" if check.ok else "secondary", icon=":material/download:", key="models_download",
        )  # fmt: skip
    with middle:
        st.download_button(
            "Download model card (.md)", data=card.encode("utf-8"), file_name=f"{file_stem(run)}_card.md",
            mime="text/markdown", icon=":material/description:", key="models_card_download",
        )  # fmt: skip
    with right:
        if run.run_id in stored_ids:
            st.caption(f"Saved in the model store ({store.store_root() / run.run_id}).")
        else:
            st.button(
                "Save to model store", on_click=save_run, args=(run,), icon=":material/save:", key="models_save_current"
            )
    with st.expander("Model card"):
        st.markdown(card)
    with st.expander("Use the file in Python or over HTTP"):
        st.code(
            "import joblib\nimport pandas as pd\n\n"
            f'clf = joblib.load("{file_stem(run)}.joblib")  # only files you trust: loading runs code\n'
            "print(clf.workbench_metadata_['schema'])      # the columns it expects\n"
            "clf.predict(pd.read_csv('rows.csv'))          # raw rows: preprocessing is inside",
            language="python",
        )
        st.code(f"python serve_model.py {file_stem(run)}.joblib --port 8000", language="bash")
        st.caption("Both need this project's core package importable (run them from the project folder).")


def stored_models(models: list[store.StoredModel]) -> None:
    st.subheader("Model store")
    st.caption(
        f"Saved models live on this server in {store.store_root()} (set WORKBENCH_MODEL_STORE to move it) and "
        "survive restarts. Re-opening one checks its SHA-256 first; a changed file is refused."
    )
    error = st.session_state.pop(STORE_ERROR, None)
    if error:
        st.error(render.md_escape(error), icon=":material/error:")
    if not models:
        st.info("No saved models yet. Save the current model to keep it beyond this session.")
        return
    for m in models:
        card = m.card
        title = f"{m.label} · run {m.model_id} · {card.get('task', '?')} · saved {m.saved}"
        with st.expander(render.md_escape(title)):
            st.caption(
                f"Predicts {render.md_escape(card.get('target', '?'))} from {len(card.get('features', []))} "
                f"columns · data {render.md_escape(card.get('dataset') or 'unnamed')} · "
                f"{main_metrics(card.get('metrics') or {})} · {m.size / 1e6:.2f} MB · SHA-256 `{m.sha256[:16]}…`"
            )
            open_col, delete_col = st.columns(2)
            open_col.button(
                "Open as current model", key=f"models_open_{m.model_id}", on_click=open_stored, args=(m.model_id,),
                icon=":material/open_in_new:",
            )  # fmt: skip
            with delete_col.popover("Delete", icon=":material/delete:"):
                st.caption("The files are removed from the store; this cannot be undone.")
                st.button(
                    "Delete for good", key=f"models_delete_{m.model_id}", on_click=delete_stored, args=(m.model_id,),
                    type="primary",
                )  # fmt: skip
            st.markdown(m.card_markdown())


def session_runs(stored_ids: set[str]) -> None:
    unsaved = [r for r in state.runs().values() if r.run_id not in stored_ids]
    st.subheader("This session's unsaved runs")
    st.caption(
        "These runs live only in this browser session: they are gone when the session ends (closing the "
        "tab or a server restart). Save the ones you want to keep."
    )
    if not unsaved:
        st.caption("None: every run of this session is saved, or nothing was trained yet.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "run": [r.run_id for r in unsaved],
                "model": [r.label for r in unsaved],
                "task": [r.task for r in unsaved],
                "target": [r.target for r in unsaved],
                "metrics": [main_metrics(r.metrics) for r in unsaved],
                "trained": [r.created for r in unsaved],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    choice = st.selectbox("Run to save (see the table)", [r.run_id for r in unsaved], key="models_save_pick")
    st.button("Save this run", key="models_save_picked", on_click=save_run, args=(state.runs()[choice],))


st.title("Models")
# The current model comes first on the page but is filled last: without one, require_run stops the
# script, and the store (where a saved model can be re-opened) must still be shown.
current_box = st.container()
st.divider()
models = store.list_models()
stored_ids = {m.model_id for m in models}
stored_models(models)
session_runs(stored_ids)
with current_box:
    current_model(state.require_run(), stored_ids)
