"""Long work (training, device comparison, slow SHAP) in a background thread.

The page starts a Job and polls it. The work survives Streamlit reruns (a click elsewhere does not
kill a fit halfway), reports progress through a plain callable, and can be asked to stop: work
that checks `job.stop_requested` ends early and returns what it has (a torch model trained so far).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    """One piece of work in its own thread; every field is safe to read from the page at any time."""

    name: str
    fraction: float = 0.0
    message: str = "waiting to start"
    result: Any = None
    error: BaseException | None = None
    error_detail: str = ""
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    # Extra live data the work wants to show (a loss curve so far, say).
    live: dict[str, Any] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.finished is not None

    @property
    def ok(self) -> bool:
        return self.done and self.error is None

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    def request_stop(self) -> None:
        self._stop.set()

    def progress(self, fraction: float, message: str = "") -> None:
        """The `progress` callable handed to core functions: (fraction, message)."""
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        if message:
            self.message = message

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done


def start(name: str, work: Callable[[Job], Any]) -> Job:
    """Run work(job) in a daemon thread and return the job at once."""
    job = Job(name=name)

    def run() -> None:
        try:
            job.result = work(job)
            job.fraction = 1.0
        except BaseException as exc:  # reported on the page, never lost in a thread
            job.error = exc
            job.error_detail = traceback.format_exc()
        finally:
            job.finished = time.perf_counter()

    job._thread = threading.Thread(target=run, name=f"job:{name}", daemon=True)
    job._thread.start()
    return job
