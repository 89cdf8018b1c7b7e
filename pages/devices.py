"""Compare devices: one PyTorch configuration trained on each device beside its scikit-learn twin.

Thin: the comparison is core.compare.compare_devices, run in the background (core.jobs) so the
page stays usable and Stop works; this page picks the model, its settings and the devices, and
shows the table, the verdict and the two charts.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import compare, jobs
from core import devices as device_info
from core.torch_catalog import SPECS
from ui import render, state, widgets

JOB = "devices_job"
RESULT = "devices_result"  # (data set name, DeviceComparison)
ERROR = "devices_error"

def on_done(job: jobs.Job) -> None:
    """Keep the finished comparison (or its one-sentence error) for this session."""
    if job.ok:
        st.session_state[RESULT] = (job.name, job.result)
        st.session_state.pop(ERROR, None)
    elif isinstance(job.error, ValueError):
        st.session_state[ERROR] = job.error
    else:
        st.session_state[ERROR] = RuntimeError(
            f"The comparison failed unexpectedly ({job.error.__class__.__name__}: {job.error}); "
            "earlier results are kept."
        )


def show_result(name: str, cmp: compare.DeviceComparison) -> None:
    shape = cmp.shape
    st.subheader("Side by side")
    st.caption(
        f"{render.md_escape(cmp.label)} on {render.md_escape(name)}: {shape['train_rows']:,} training rows x "
        f"{shape['features']:,} features after preprocessing, {shape['test_rows']:,} test rows; same split, "
        "seed and epochs on every device."
    )
    if cmp.gpu_slower:
        st.warning(cmp.verdict, icon=":material/speed:")
    else:
        st.info(cmp.verdict, icon=":material/speed:")
    seconds = st.column_config.NumberColumn(format="%.4f")
    st.dataframe(
        cmp.table,
        hide_index=True,
        width="stretch",
        column_config={
            compare.FIT_S: seconds,
            compare.OVERHEAD_S: seconds,
            compare.STEADY_S: seconds,
            compare.PREDICT_S: seconds,
            compare.EPOCH_MS: st.column_config.NumberColumn(format="%.3f"),
            compare.SAMPLES_PER_S: st.column_config.NumberColumn(format="%.3e"),
            compare.SPEEDUP: st.column_config.NumberColumn(format="%.2fx"),
            compare.STEADY_SPEEDUP: st.column_config.NumberColumn(format="%.2fx"),
            cmp.metric: st.column_config.NumberColumn(format="%.4f"),
        },
    )
    for note in cmp.notes:
        st.caption(render.md_escape(note))
    left, right = st.columns(2)
    with left:
        render.show_figure(compare.timing_chart(cmp), key="devices_timing_chart")
    with right:
        render.show_figure(compare.loss_curves(cmp), key="devices_loss_curves")


st.title("Compare devices")
st.caption(
    "Train the same PyTorch model on every device this machine has, beside the matching scikit-learn model, "
    "and see where the time goes: first-call overhead (device start-up, copying the data) apart from "
    "steady-state epochs."
)
data = state.require_data()
if not data.target or not data.task:
    st.info("Pick a target column on the Data page first: the comparison trains a model to predict it.")
    st.stop()

choices = [key for key, spec in SPECS.items() if spec.serves(data.task)]
model = st.selectbox(
    "PyTorch model", choices, format_func=lambda key: SPECS[key].label, key="devices_model",
    help=f"Models that do {data.task}; target: {render.md_escape(data.target)}.",
)  # fmt: skip
spec = SPECS[model]
st.caption(render.md_escape(spec.description))

with st.expander("Model settings", expanded=True):
    params: dict[str, Any] = {}
    columns = st.columns(4)
    for i, param in enumerate(spec.params):
        with columns[i % 4]:
            params[param.name] = widgets.param_widget(param, key=f"devices_{model}_{param.name}")
with st.expander("Split"):
    test_size = st.slider("Test fraction", 0.1, 0.5, 0.2, 0.05, key="devices_test_size")
    split_seed = st.number_input("Split seed", 0, 2**31 - 1, 7, key="devices_split_seed")

st.subheader("Devices")
chosen: list[str] = []
for device in device_info.detect():
    if device.name == "cpu":
        st.checkbox(device.label, value=True, disabled=True, key="device_cpu",
                    help="The CPU is always measured: it is the baseline of the speedups.")  # fmt: skip
        chosen.append("cpu")
        continue
    if st.checkbox(device.label, value=device.available, disabled=not device.available, key=f"device_{device.name}",
                   help=device.reason or None) and device.available:  # fmt: skip
        chosen.append(device.name)
    if not device.available:
        st.caption(f"{render.md_escape(device.label)}: {render.md_escape(device.reason)}")

running = JOB in st.session_state
if st.button(
    "Compare devices", type="primary", icon=":material/compare_arrows:", disabled=running, key="devices_run"
):
    df, target, features, kinds, task = data.df, data.target, list(data.features), dict(data.kinds), data.task

    def work(job: jobs.Job) -> compare.DeviceComparison:
        return compare.compare_devices(
            df, target, model, features=features, params=params, devices=chosen, test_size=test_size,
            random_state=int(split_seed), progress=job.progress, should_stop=lambda: job.stop_requested,
            task=task, kinds=kinds,
        )  # fmt: skip

    st.session_state.pop(ERROR, None)
    st.session_state[JOB] = jobs.start(data.name, work)  # the job's name is the data set's: on_done shows it
    st.rerun()

render.follow_job(JOB, on_done)

if ERROR in st.session_state:
    render.show_error(st.session_state[ERROR])
if RESULT in st.session_state:
    show_result(*st.session_state[RESULT])
