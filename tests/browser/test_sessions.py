"""Sessions on one real server: two browser contexts never see each other's data, runs or what-if
history; a long training can be stopped; a reload during training leaves the server healthy."""

from __future__ import annotations

import os
import re
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect
from support import choose, nav

LONG = 120_000  # ms: training on a busy 2-core machine


def load_sample(page, name: str) -> None:
    choose(page, "Built-in sample", name)
    page.get_by_role("button", name="Load sample").click()
    expect(page.get_by_test_id("stSidebar").get_by_text(f"Data: {name}", exact=True)).to_be_visible()


def train(page, model: str) -> None:
    nav(page, "Train")
    choose(page, "Model", model)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_role("heading", name=f"{model} · run")).to_be_visible(timeout=LONG)


def what_if(page) -> None:
    nav(page, "Predict")
    page.get_by_role("button", name="Predict", exact=True).click()
    expect(page.get_by_role("heading", name="Scenarios this session")).to_be_visible(timeout=LONG)


def start_long_mlp(page, epochs: int) -> None:
    """A PyTorch MLP on the 25,000-row sample with many epochs and no early stopping, until its
    live loss curve shows."""
    load_sample(page, "height_weight")
    nav(page, "Train")
    choose(page, "Model", "PyTorch MLP")
    epochs_box = page.get_by_label("Epochs", exact=True)
    epochs_box.fill(str(epochs))
    epochs_box.press("Enter")
    early = page.get_by_test_id("stCheckbox").filter(has_text="Early stopping")
    early.click()
    expect(early.get_by_role("checkbox")).not_to_be_checked()
    expect(epochs_box).to_have_value(str(epochs))
    page.get_by_role("button", name="Train", exact=True).click()
    live = page.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(r"^Epoch [\d,]+: loss"))
    expect(live).to_be_visible(timeout=LONG)


@pytest.fixture
def second_page(browser, app_server):
    """A second browser context (another user) against the same server."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(app_server)
    yield pg
    context.close()


def test_two_sessions_never_see_each_others_data_runs_or_what_if_history(page, second_page, shots):
    a, b = page, second_page
    sidebar_a, sidebar_b = a.get_by_test_id("stSidebar"), b.get_by_test_id("stSidebar")
    load_sample(a, "iris")
    load_sample(b, "height_weight")
    train(a, "Logistic regression")
    what_if(a)
    expect(a.get_by_role("heading", name="Scenario 1", exact=True)).to_be_visible()

    # B: its own data, no model, no history.
    expect(sidebar_b.get_by_text("Data: height_weight", exact=True)).to_be_visible()
    expect(sidebar_b.get_by_text("Data: iris", exact=True)).to_have_count(0)
    expect(sidebar_b.get_by_text("Model:")).to_have_count(0)
    nav(b, "Train")
    expect(b.get_by_text("No model trained yet in this session.")).to_be_visible()
    expect(b.get_by_role("heading", name="Leaderboard")).to_have_count(0)
    nav(b, "Predict", heading=False)
    expect(b.get_by_text("No model yet.")).to_be_visible()
    shots(b, "sessions-b-sees-nothing-of-a")

    # B trains and asks a what-if of its own: its history starts at 1 and lists one scenario.
    train(b, "Linear regression")
    expect(b.get_by_test_id("stDataFrame").filter(has_text="Logistic regression")).to_have_count(0)
    what_if(b)
    expect(b.get_by_role("heading", name="Scenario 1", exact=True)).to_be_visible()
    expect(b.get_by_role("heading", name="Scenario 2", exact=True)).to_have_count(0)

    # A: still iris, its logistic regression, its one scenario.
    expect(sidebar_a.get_by_text("Data: iris", exact=True)).to_be_visible()
    expect(sidebar_a.get_by_text("Data: height_weight", exact=True)).to_have_count(0)
    expect(sidebar_a.get_by_text("Model: Logistic regression", exact=True)).to_be_visible()
    nav(a, "Train")
    expect(a.get_by_role("heading", name="Logistic regression · run")).to_be_visible()
    expect(a.get_by_role("heading", name="Linear regression · run")).to_have_count(0)
    nav(a, "Predict")
    a.get_by_role("button", name="Predict", exact=True).click()
    expect(a.get_by_role("heading", name="Scenario 2", exact=True)).to_be_visible(timeout=LONG)
    shots(a, "sessions-a-keeps-its-own")


def test_a_long_training_can_be_stopped(page, shots):
    start_long_mlp(page, epochs=5000)
    began = time.monotonic()
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_role("heading", name="PyTorch MLP · run")).to_be_visible(timeout=LONG)
    stopped_after = time.monotonic() - began
    note = page.get_by_text("Training was stopped after")
    expect(note).to_be_visible()
    epochs = int(note.inner_text().split("stopped after ", 1)[1].split(" epochs", 1)[0].replace(",", ""))
    assert 0 < epochs < 5000
    print(f"\nstopped after {epochs} of 5000 epochs; the run showed {stopped_after:.1f} s after Stop")
    shots(page, "sessions-stopped-training")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, timeout: float = 120, window: float = 2.0) -> float:
    """Seconds until the process uses under 10% of a core over a window (its background work ended)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < 0.1 * window:
            return time.monotonic() - began
    raise AssertionError(f"the server was still busy {timeout:.0f} s after the reload")


def test_a_reload_during_training_leaves_the_server_healthy(page, app_server, server_process, shots):
    pid, log = server_process
    start_long_mlp(page, epochs=1500)
    page.reload()
    with urllib.request.urlopen(f"{app_server}/_stcore/health", timeout=10) as response:
        assert response.status == 200
    # A fresh session: the page renders and works while the old session's job runs out.
    expect(page.get_by_test_id("stSidebar").get_by_text("No data set loaded")).to_be_visible()
    expect(page.get_by_text("No data set loaded yet.")).to_be_visible()  # the Train page, reloaded
    nav(page, "Data")
    load_sample(page, "iris")
    nav(page, "Explore")
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=LONG)
    shots(page, "sessions-after-reload")
    # The old session's job trains to its end in the background (nobody takes its result; the
    # session and the run are dropped when Streamlit forgets the disconnected session), quietly.
    idle_after = wait_until_idle(pid)
    print(f"\nserver idle {idle_after:.1f} s after the new session's charts showed")
    with urllib.request.urlopen(f"{app_server}/_stcore/health", timeout=10) as response:
        assert response.status == 200
    assert "Traceback" not in log.read_text()
