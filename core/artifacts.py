"""The model file: one joblib file holding the fitted Pipeline, its metadata, and checks on it.

`dump(run)` gives the bytes of the file the download button offers. It is the fitted sklearn
Pipeline itself, so `joblib.load("model.joblib").predict(df)` works on raw rows wherever the
libraries and this project's `core` package are importable (the preprocessing functions and the
torch estimators live there). The training schema, metrics, versions and data fingerprint ride
along as a plain dict in the attribute `workbench_metadata_`.

joblib files run code when they are loaded, so `load` is only for files this workbench wrote and
checks a recorded SHA-256 first; the app never unpickles an uploaded file.
"""

from __future__ import annotations

import copy
import hashlib
import io
import math
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from core.schema import FeatureSchema
from core.text import md_escape

METADATA_ATTR = "workbench_metadata_"
FORMAT_VERSION = 1
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Rows compared when verifying a file: enough to catch a broken preprocessing step, quick to score.
VERIFY_ROWS = 200
REGRESSION_RTOL = 1e-6
PROBA_ATOL = 1e-9

_LIBRARIES = {
    "python": None,
    "scikit-learn": "scikit-learn",
    "pandas": "pandas",
    "numpy": "numpy",
    "joblib": "joblib",
    "shap": "shap",
}


class ArtifactError(ValueError):
    """A model file could not be written, read or trusted; the message says what to do."""


@dataclass
class Verification:
    """The outcome of loading a model file in a fresh Python process and comparing predictions."""

    ok: bool
    rows: int
    message: str
    seconds: float


def sha256(blob: bytes) -> str:
    """Hex SHA-256 of the file's bytes: what the page shows and the store records."""
    return hashlib.sha256(blob).hexdigest()


def jsonable(value: Any) -> Any:
    """value with numpy scalars, tuples and non-finite floats turned into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def library_versions(library: str = "scikit-learn") -> dict[str, str]:
    """Versions of what the file needs to load, read without importing the heavy ones."""
    versions = {"python": platform.python_version()}
    names = [n for n in _LIBRARIES if n != "python"] + (["torch"] if library == "pytorch" else [])
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build_metadata(run: Any) -> dict[str, Any]:
    """The plain, JSON-safe dict attached to the exported Pipeline."""
    return jsonable(
        {
            "format_version": FORMAT_VERSION,
            "workbench": "ml-workbench",
            "run_id": run.run_id,
            "model": run.model,
            "label": run.label,
            "library": run.library,
            "params": dict(run.params),
            "task": run.task,
            "target": run.target,
            "features": list(run.features),
            "schema": run.schema.to_dict(),
            "classes": list(run.classes) if run.classes is not None else None,
            "metrics": dict(run.metrics),
            "timings": dict(run.timings),
            "device": run.device,
            "dataset": getattr(run, "dataset", ""),
            "data_fingerprint": dict(getattr(run, "data_fingerprint", {}) or {}),
            "trained": getattr(run, "created", "") or "",
            "split": dict(getattr(run, "split", {}) or {}),
            "notes": list(getattr(run, "notes", []) or []),
            "heldout_rows": len(run.X_test) if getattr(run, "X_test", None) is not None else 0,
            "exported": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": library_versions(run.library),
        }
    )


def with_metadata(pipeline: Any, meta: dict[str, Any]) -> Any:
    """A shallow copy of the fitted pipeline carrying meta; the run's own pipeline is not touched.

    The copy shares the fitted steps (no second copy of a big forest in memory). The attribute is
    not an __init__ parameter, so clone(), get_params() and predict() never see it.
    """
    exported = copy.copy(pipeline)
    setattr(exported, METADATA_ATTR, meta)
    return exported


def dump(run: Any, meta: dict[str, Any] | None = None) -> bytes:
    """The bytes of the model file: the fitted Pipeline with its metadata, joblib, compress=3.

    meta defaults to build_metadata(run); the store passes its own so card and file agree.
    """
    exported = with_metadata(run.pipeline, meta if meta is not None else build_metadata(run))
    buffer = io.BytesIO()
    try:
        joblib.dump(exported, buffer, compress=3)
    except Exception as exc:  # a step that cannot be pickled (a lambda, an open handle)
        raise ArtifactError(f"The model could not be written to a file: {exc}.") from exc
    return buffer.getvalue()


def metadata(model: Any) -> dict[str, Any]:
    """The metadata dict of a loaded model file."""
    meta = getattr(model, METADATA_ATTR, None)
    if not isinstance(meta, dict):
        raise ArtifactError("This model has no workbench metadata: it was not written by this workbench.")
    return meta


def load(blob_or_path: bytes | str | Path, expected_sha256: str | None = None) -> Any:
    """Load a model file this workbench wrote, refusing it when its SHA-256 is not the recorded one.

    Never call this on a file from elsewhere: unpickling runs code. With expected_sha256 given
    (the store always gives it) a changed file is refused before anything is unpickled.
    """
    if isinstance(blob_or_path, bytes | bytearray):
        blob = bytes(blob_or_path)
    else:
        try:
            blob = Path(blob_or_path).read_bytes()
        except OSError as exc:
            raise ArtifactError(f"The model file could not be read: {exc.strerror or exc}.") from exc
    if expected_sha256 is not None and sha256(blob) != expected_sha256.lower():
        raise ArtifactError(
            "The model file's SHA-256 does not match the one recorded when it was saved, "
            "so it was changed afterwards and will not be opened."
        )
    try:
        model = joblib.load(io.BytesIO(blob))
    except Exception as exc:
        raise ArtifactError(f"The model file could not be loaded: {exc}.") from exc
    if not hasattr(model, "predict"):
        raise ArtifactError("The file does not hold a model: the loaded object has no predict method.")
    return model


def _describe_difference(expected: np.ndarray, got: np.ndarray, what: str, close: bool) -> str | None:
    """None when the arrays agree, else a sentence naming how many rows differ and the first one."""
    if expected.shape != got.shape:
        return f"the file's {what} have shape {got.shape}, the app's {expected.shape}"
    if close:
        same = np.isclose(got.astype(float), expected.astype(float), rtol=REGRESSION_RTOL, atol=PROBA_ATOL)
        same |= np.isnan(got.astype(float)) & np.isnan(expected.astype(float))
    else:
        same = got == expected
    if same.ndim > 1:
        same = same.all(axis=1)
    if bool(np.all(same)):
        return None
    first = int(np.flatnonzero(~same)[0])
    return (
        f"{int((~same).sum())} of {len(same)} {what} differ "
        f"(first at row {first}: {expected[first]!r} in the app, {got[first]!r} from the file)"
    )


def verify(
    blob: bytes,
    X: pd.DataFrame,
    expected: np.ndarray,
    expected_proba: np.ndarray | None = None,
    regression: bool = False,
    timeout: float = 120,
) -> Verification:
    """Load the file in a separate Python process, predict X there, and compare with the app's predictions.

    The child imports only joblib and what unpickling the Pipeline needs (this project's core and
    the libraries), never streamlit. Class labels must match exactly; regression values within a
    relative 1e-6; probabilities within 1e-9.
    """
    start = time.perf_counter()
    rows = len(X)
    if rows == 0:
        return Verification(False, 0, "not verified: there are no held-out rows to check the file on", 0.0)
    with tempfile.TemporaryDirectory(prefix="wb-verify-") as tmp:
        work = Path(tmp)
        (work / "model.joblib").write_bytes(blob)
        X.to_pickle(work / "rows.pkl")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "core.verify_model", str(work)],
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            seconds = time.perf_counter() - start
            return Verification(
                False, rows, f"verification failed: the fresh Python process did not finish in {timeout:.0f} s", seconds
            )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            lines = [line for line in (done.stderr or "").strip().splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit status {done.returncode}"
            return Verification(
                False, rows, f"verification failed: the file did not load and predict in a fresh Python process ({reason})", seconds
            )
        with open(work / "predictions.pkl", "rb") as fh:  # written by our own child just now
            result = pickle.load(fh)
    problems = []
    diff = _describe_difference(np.asarray(expected), np.asarray(result["predict"]), "predictions", regression)
    if diff:
        problems.append(diff)
    if expected_proba is not None:
        got_proba = result.get("proba")
        if got_proba is None:
            problems.append("the file's model has no predict_proba")
        else:
            diff = _describe_difference(np.asarray(expected_proba), np.asarray(got_proba), "probability rows", True)
            if diff:
                problems.append(diff)
    if problems:
        return Verification(False, rows, "verification failed: " + "; ".join(problems), seconds)
    what = "identical predictions"
    if not np.array_equal(np.asarray(expected), np.asarray(result["predict"])):
        # Parallel tree sums (n_jobs) add in a different order run to run: say so, with the size.
        largest = float(np.max(np.abs(np.asarray(expected, float) - np.asarray(result["predict"], float))))
        what += f" up to float rounding (largest difference {largest:.1e})"
    if expected_proba is not None:
        what += " and probabilities"
    return Verification(True, rows, f"verified: {rows} rows, {what}", seconds)


def verification_rows(run: Any, limit: int = VERIFY_ROWS) -> pd.DataFrame:
    """The held-out rows a file is checked on (training-sample rows when none were kept)."""
    rows = getattr(run, "X_test", None)
    if rows is None or len(rows) == 0:
        rows = getattr(run, "X_background", None)
    if rows is None:
        return pd.DataFrame(columns=list(run.features))
    return rows.iloc[:limit]


def verify_run(run: Any, blob: bytes, limit: int = VERIFY_ROWS, timeout: float = 120) -> Verification:
    """verify() on up to `limit` held-out rows of run, against run.pipeline's in-app predictions."""
    X = verification_rows(run, limit)
    if len(X) == 0:
        return Verification(False, 0, "not verified: this model has no held-out rows to check the file on", 0.0)
    expected = run.pipeline.predict(X)
    proba = run.pipeline.predict_proba(X) if run.task != "regression" and hasattr(run.pipeline, "predict_proba") else None
    return verify(blob, X, expected, proba, regression=run.task == "regression", timeout=timeout)




def _format_metric(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def model_card(run: Any, sha: str, size: int | None = None) -> str:
    """A markdown model card: what the model is, its data, metrics, intended use, how to load it."""
    return card_markdown(build_metadata(run), sha, size)


def card_markdown(meta: dict[str, Any], sha: str, size: int | None = None) -> str:
    """The model card from a metadata dict (a stored model's card.json works too)."""
    schema = FeatureSchema.from_dict(meta["schema"])
    fp = meta.get("data_fingerprint") or {}
    lines = [
        f"# Model card: {md_escape(meta['label'])}",
        "",
        f"- **Run:** {md_escape(meta['run_id'])} ({md_escape(meta['model'])}, {meta['library']}, trained on {meta['device']})",
        f"- **Task:** {meta['task']}, predicting {md_escape(meta['target'])}",
    ]
    if meta.get("classes") is not None:
        lines.append(f"- **Classes:** {', '.join(md_escape(c) for c in meta['classes'])}")
    lines += [
        f"- **Trained:** {meta.get('trained') or 'unknown'}",
        f"- **SHA-256 of model.joblib:** `{sha}`",
    ]
    if size is not None:
        lines.append(f"- **File size:** {size:,} bytes")
    lines += ["", "## Data", ""]
    lines.append(f"- **Data set:** {md_escape(meta.get('dataset') or 'unnamed')}")
    if fp:
        columns = fp.get("columns", "?")
        count = len(columns) if isinstance(columns, list) else columns
        lines.append(
            f"- **Training data fingerprint:** {fp.get('rows', '?')} rows x {count} columns, "
            f"SHA-256 `{fp.get('sha256', '?')}`"
        )
    lines.append(f"- **Held-out rows behind the metrics:** {meta.get('heldout_rows', 'unknown')}")
    lines += ["", "## Features", "", "| Column | Kind | Training range or levels | Missing in training |", "|---|---|---|---|"]
    for spec in schema.features:
        if spec.kind == "numeric" and spec.min is not None:
            guide = md_escape(f"{spec.min:g} to {spec.max:g} (median {spec.median:g})")
        elif spec.kind == "categorical":
            shown = ", ".join(md_escape(v) for v in spec.levels[:12])
            guide = shown + (f" and {len(spec.levels) - 12} more" if len(spec.levels) > 12 else "")
        else:
            guide = "free text" if spec.kind == "text" else ""
        lines.append(f"| {md_escape(spec.name)} | {spec.kind} | {guide} | {spec.missing} |")
    lines += ["", "## Metrics (held-out split)", "", "| Metric | Value |", "|---|---|"]
    lines += [f"| {md_escape(k)} | {_format_metric(v)} |" for k, v in (meta.get("metrics") or {}).items()]
    if meta.get("timings"):
        lines += ["", "## Timings", "", "| Step | Seconds |", "|---|---|"]
        lines += [f"| {k} | {_format_metric(v)} |" for k, v in meta["timings"].items()]
    if meta.get("params"):
        lines += ["", "## Hyperparameters", ""]
        lines += [f"- {md_escape(k)} = {md_escape(v)}" for k, v in meta["params"].items()]
    names = [f.name for f in schema.features]
    example = ", ".join(f"{n!r}: [...]" for n in names[:3]) + (", ..." if len(names) > 3 else "")
    lines += [
        "",
        "## Intended use and limitations",
        "",
        f"- Predicts {md_escape(meta['target'])} for rows shaped like the training data: the columns above, "
        "values in the training ranges and levels.",
        "- Values outside the training ranges are extrapolation; unseen category levels are ignored "
        "by the encoder; missing values are imputed with training medians or most frequent levels.",
        "- The metrics come from one held-out split of one data set; they say nothing about other "
        "populations, later data, or fairness across groups. Check before using it for decisions about people.",
        "",
        "## How to load it",
        "",
        "```python",
        "import joblib",
        "import pandas as pd",
        "",
        'clf = joblib.load("model.joblib")  # only load files you trust: joblib runs code when loading',
        "meta = clf.workbench_metadata_      # schema, metrics, versions, data fingerprint",
        f"df = pd.DataFrame({{{example}}})",
        "clf.predict(df)                     # raw rows: preprocessing is inside the Pipeline",
        "```",
        "",
        "It needs the libraries below and this workbench's `core` package importable "
        "(run from the project folder or put it on PYTHONPATH). Serve it over HTTP with "
        "`python serve_model.py model.joblib --port 8000`.",
        "",
        "## Library versions",
        "",
    ]
    lines += [f"- {k} {v}" for k, v in (meta.get("versions") or {}).items()]
    return "\n".join(lines) + "\n"
