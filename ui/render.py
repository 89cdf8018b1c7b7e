"""Rendering helpers every page uses: safe text, figures, errors, and following a background job."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.jobs import Job
from core.text import md_escape  # noqa: F401  (re-exported: pages import it from here)


def show_figure(fig, key: str | None = None) -> None:
    """A plotly figure at full width, interactive, with the toolbar's download as PNG."""
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})


def show_error(exc: BaseException) -> None:
    """One sentence a person can act on; the message of our own error types is that sentence.

    The sentence often quotes user text (file names, URLs, column names): it renders as text.
    """
    st.error(md_escape(str(exc) or exc.__class__.__name__), icon=":material/error:")


def follow_job(
    key: str,
    on_done: Callable[[Job], None],
    live: Callable[[Job], None] | None = None,
    stoppable: bool = True,
    interval: float = 0.5,
) -> None:
    """Show the job in st.session_state[key] until it ends, then hand it to on_done once and rerun.

    The poll is a fragment that reruns a few times a second, so the rest of the page stays usable
    and the job keeps running through reruns. When the job ends the whole page reruns once so
    on_done's effects (a new run in the leaderboard, say) show everywhere.
    """
    job: Job | None = st.session_state.get(key)
    if job is None:
        return
    if job.done:
        st.session_state.pop(key, None)
        on_done(job)
        # Widgets drawn before this call (a Train button disabled while the job ran, the sidebar's
        # current model) were drawn with the job still running: draw the page again without it.
        st.rerun()

    @st.fragment(run_every=interval)
    def poll() -> None:
        current: Job | None = st.session_state.get(key)
        if current is None:
            return
        if current.done:
            st.rerun(scope="app")
        st.progress(current.fraction, text=f"{current.message} ({current.elapsed:.1f} s)")
        if live is not None:
            live(current)
        if stoppable and st.button(
            "Stop", key=f"{key}_stop", icon=":material/stop_circle:", disabled=current.stop_requested
        ):
            current.request_stop()
            st.toast("Stopping: the model keeps what it has learned so far.")

    poll()
