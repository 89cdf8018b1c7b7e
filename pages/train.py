"""Train page: pick a model and its settings, train it in the background, see how good it is,
and compare every run of this session in a leaderboard.

Thin: training is core.training.train run as a core.jobs Job (the page stays usable, Stop works);
the target, features and column kinds come from the Data page; figures from core.evaluation.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import streamlit as st

from core import evaluation, jobs, sklearn_models, training
from core.catalog import ModelSpec, ParamSpec
from core.schema import infer_task
from ui import render, state, widgets

JOB = "train_job"
ERROR = "train_error"  # the last failure's sentence, shown until the next training starts
FIGURES = "train_figures"  # (run_id, {tab name: figure}) of the run on show

log = logging.getLogger(__name__)


# ---- widgets ----------------------------------------------------------------------------------


def param_widgets(spec: ModelSpec) -> dict[str, Any]:
    if not spec.params:
        st.caption("This model has no settings to tune.")
        return {}
    values = {}
    columns = st.columns(min(3, len(spec.params)))
    for i, param in enumerate(spec.params):
        with columns[i % len(columns)]:
            values[param.name] = widgets.param_widget(param, f"train_param_{spec.key}_{param.name}")
    return values


def device_picker(spec: ModelSpec) -> str:
    """A radio of the devices this machine has; every missing one listed, disabled, with its reason."""
    if not spec.uses_device:
        st.caption("scikit-learn models train on the CPU.")
        return "cpu"
    from core import devices  # imports torch: only for models that use a device

    found = devices.detect()
    usable = [d for d in found if d.available]
    labels = {d.name: d.label for d in found}
    chosen = st.radio(
        "Device", [d.name for d in usable], format_func=lambda name: labels[name], horizontal=True,
        key="train_device",
    )
    for d in found:
        if not d.available:
            st.checkbox(
                f"{d.label} — {d.reason}", value=False, disabled=True, key=f"train_device_missing_{d.name}",
                help="Not present on this machine.",
            )
    return chosen or "cpu"


def _grid_suggestion(param: ParamSpec) -> str:
    """Values a grid could try for a parameter, as the text the analyst edits."""
    if param.kind == "choice":
        return ", ".join(str(c) for c in param.choices)
    if param.kind == "bool":
        return "true, false"
    if param.kind == "layers":
        return f"{param.default}; 32"
    if param.kind == "float" and param.log:
        return ", ".join(f"{v:g}" for v in (param.default / 10, param.default, param.default * 10))
    if param.kind == "int" and param.name in ("n_estimators", "max_iter"):
        return ", ".join(str(v) for v in (param.default // 2, param.default, param.default * 2))
    if param.kind == "int":
        return ", ".join(str(v) for v in sorted({max(int(param.low), param.default // 2), param.default,
                                                 param.default * 2}))
    return ", ".join(f"{v:g}" for v in sorted({param.low, param.default, param.high}))


def split_and_search_widgets(spec: ModelSpec) -> dict[str, Any]:
    """Test fraction, seed, optional k-fold CV and an optional grid over one or two settings."""
    with st.expander("Split, cross-validation and grid search", icon=":material/tune:"):
        left, right = st.columns(2)
        test_size = left.slider("Test fraction", 0.1, 0.5, 0.2, 0.05, key="train_test_size",
                                help="Share of rows held out to measure the model (stratified for classes).")
        seed = right.number_input("Random seed", 0, 2**31 - 1, 7, key="train_seed",
                                  help="Same seed, same split and same model.")
        use_cv = left.checkbox("k-fold cross-validation on the training split", key="train_use_cv")
        folds = right.slider("Folds", 2, 10, 5, key="train_folds", disabled=not use_cv)
        grid_text: dict[str, str] = {}
        if spec.params:
            names = st.multiselect(
                "Grid search over (one or two settings)", [p.name for p in spec.params], max_selections=2,
                format_func=lambda n: next(p.label for p in spec.params if p.name == n), key=f"train_grid_{spec.key}",
                help="Each setting is scored by k-fold cross-validation (5 folds unless set above); "
                "the best is refitted on the training split.",
            )
            for name in names:
                param = next(p for p in spec.params if p.name == name)
                separator = "semicolons" if param.kind == "layers" else "commas"
                grid_text[name] = st.text_input(
                    f"Values for {param.label}, separated by {separator}", _grid_suggestion(param),
                    key=f"train_grid_{spec.key}_{name}",
                )
    return {"test_size": test_size, "random_state": int(seed), "cv_folds": folds if use_cv else 0,
            "grid_text": grid_text}


# ---- training in the background ---------------------------------------------------------------


def start_training(data: state.LoadedData, task: str, model: str, params: dict[str, Any], device: str,
                   options: dict[str, Any]) -> None:
    grid = {name: training.parse_grid_values(model, name, text) for name, text in options["grid_text"].items()}
    df, target, features, kinds, name = data.df, data.target, list(data.features), dict(data.kinds), data.name
    label = training.MODELS[model].label

    def work(job: jobs.Job) -> training.TrainResult:
        history: list[dict[str, Any]] = job.live.setdefault("history", [])
        return training.train(
            df, target, model, features=features, params=params, device=device, task=task, kinds=kinds,
            test_size=options["test_size"], random_state=options["random_state"], cv_folds=options["cv_folds"],
            grid=grid or None, progress=job.progress, should_stop=lambda: job.stop_requested,
            on_epoch=lambda epoch, loss, val: history.append({"epoch": epoch, "loss": loss, "val_loss": val}),
            dataset=name,
        )

    st.session_state.pop(ERROR, None)
    st.session_state[JOB] = jobs.start(f"Training {label}", work)


def failure_sentence(error: BaseException) -> str:
    if isinstance(error, training.TrainingError):
        return str(error)
    detail = " ".join(str(error).split())[:200]
    return (
        f"Training failed unexpectedly ({type(error).__name__}: {detail}); earlier runs are kept and the "
        "details are in the server log."
    )


def on_done(job: jobs.Job) -> None:
    """Keep a finished run (it becomes the current model), or the failure's sentence; earlier runs stay."""
    if not job.ok:
        if not isinstance(job.error, training.TrainingError):
            log.error("Training job %s failed:\n%s", job.name, job.error_detail)
        st.session_state[ERROR] = failure_sentence(job.error)
        return
    run = job.result
    state.add_run(run)
    state.notice(f"Trained {run.label} (run {run.run_id}); it is now the current model.")


def live_epochs(job: jobs.Job) -> None:
    """Epoch, loss and the loss curve so far, for PyTorch models (redrawn a few times a second)."""
    history = list(job.live.get("history", ()))
    if not history:
        return
    last = history[-1]
    val = f", validation loss {last['val_loss']:.4g}" if last.get("val_loss") is not None else ""
    st.caption(f"Epoch {last['epoch']:,}: loss {last['loss']:.4g}{val}")
    render.show_figure(evaluation.loss_curve(history, "Loss so far"), key="train_live_loss")


# ---- results ----------------------------------------------------------------------------------


def _number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def show_run(run: training.TrainResult) -> None:
    st.subheader(f"{run.label} · run {run.run_id}")
    st.caption(
        f"{render.md_escape(run.dataset or 'data')} · target {render.md_escape(run.target)} · {run.task} · "
        f"{run.device} · {render.md_escape(training.params_text(run.params))} · trained {run.created}"
    )
    names = evaluation.main_metrics(run.task)
    for column, name in zip(st.columns(len(names)), names, strict=True):
        column.metric(evaluation.METRIC_LABELS[name], _number(run.metrics.get(name, math.nan)), border=True)
    cells = st.columns(4)
    cells[0].metric("Fit time", _seconds(run.timings.get("fit_s")))
    cells[1].metric("Predict time (test split)", _seconds(run.timings.get("predict_s")))
    cells[2].metric("Model file size", f"{run.file_size / 1e6:.2f} MB", help="joblib, compress=3: the download.")
    cells[3].metric("Train / test rows", f"{run.split.get('train_rows', 0):,} / {run.split.get('test_rows', 0):,}")
    for note in run.notes:
        st.info(render.md_escape(note), icon=":material/info:")
    if run.cv:
        metric = run.cv["metric"]
        st.markdown(
            f"**{run.cv['folds']}-fold cross-validation** ({metric}, higher is better): "
            f"mean {_number(run.cv['mean'])} ± {_number(run.cv['std'])}"
            + (f" for the best grid setting {render.md_escape(training.params_text(run.cv['setting']))}"
               if run.cv.get("setting") else "")
        )
        st.caption("Fold scores: " + ", ".join(_number(s) for s in run.cv["scores"]))
    if run.grid is not None:
        st.markdown("**Grid search**: mean and sd of the fold scores per setting; the best one was refitted.")
        st.dataframe(run.grid, hide_index=True, width="stretch")
    cached = st.session_state.get(FIGURES)
    if cached is None or cached[0] != run.run_id:
        cached = (run.run_id, evaluation.evaluation_figures(run))
        st.session_state[FIGURES] = cached
    figures = cached[1]
    if figures:
        for tab, (name, fig) in zip(st.tabs(list(figures)), figures.items(), strict=True):
            with tab:
                render.show_figure(fig, key=f"train_fig_{run.run_id}_{name}")


def show_leaderboard() -> None:
    runs = state.runs()
    if not runs:
        return
    st.subheader("Leaderboard")
    st.caption("Every model trained in this browser session. Click a column header to sort.")
    board = training.leaderboard(runs.values())
    st.dataframe(
        board, hide_index=True, width="stretch",
        column_config={
            "fit_s": st.column_config.NumberColumn("fit (s)", format="%.3f"),
            "size_mb": st.column_config.NumberColumn("file (MB)", format="%.2f"),
            "stopped_early": st.column_config.CheckboxColumn("stopped"),
        },
    )
    ids = list(runs)
    current = state.current_run()
    index = ids.index(current.run_id) if current is not None and current.run_id in ids else len(ids) - 1

    def describe(run_id: str) -> str:
        run = runs[run_id]
        first = evaluation.main_metrics(run.task)[0]
        return f"{run.label} · {run.run_id} · {evaluation.METRIC_LABELS[first]} {_number(run.metrics.get(first))}"

    chosen = st.selectbox("Current model (the Explain, What-if and Models pages use it)", ids, index=index,
                          format_func=describe)
    if current is None or chosen != current.run_id:
        state.set_current_run(chosen)
        st.rerun()


# ---- page -------------------------------------------------------------------------------------


def main() -> None:
    data = state.require_data()
    st.title("Train")
    if not data.target:
        st.info("Pick a target column on the Data page first.")
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/dataset:")
        st.stop()
    task = data.task or infer_task(data.df[data.target])
    st.markdown(
        f"**Data:** {render.md_escape(data.name)} · **Target:** {render.md_escape(data.target)} · "
        f"**Task:** {task} · **Features:** {len(data.features)}"
    )
    with st.expander("Features and their kinds"):
        st.caption(", ".join(f"{render.md_escape(f)} ({data.kinds.get(f, '?')})" for f in data.features) or "none")
    st.page_link("pages/data.py", label="Change the target, features or kinds on the Data page",
                 icon=":material/edit:")

    keys = training.models_for(task)
    model = st.selectbox("Model", keys, format_func=lambda k: training.MODELS[k].label, key=f"train_model_{task}")
    spec = training.MODELS[model]
    if spec.description:
        st.caption(spec.description)
    params = param_widgets(spec)
    device = device_picker(spec)
    options = split_and_search_widgets(spec)
    slow = sklearn_models.scaling_note(model, int(len(data.df) * (1 - options["test_size"])))
    if slow:
        st.warning(slow, icon=":material/hourglass:")

    running = st.session_state.get(JOB) is not None
    if st.button("Train", type="primary", icon=":material/model_training:", disabled=running):
        try:
            start_training(data, task, model, params, device, options)
        except training.TrainingError as exc:  # bad grid values: nothing started
            st.session_state[ERROR] = str(exc)
    render.follow_job(JOB, on_done, live=live_epochs)
    if ERROR in st.session_state:
        render.show_error(training.TrainingError(st.session_state[ERROR]))

    run = state.current_run()
    if run is None:
        st.caption("No model trained yet in this session.")
    else:
        st.divider()
        show_run(run)
    st.divider()
    show_leaderboard()


main()
