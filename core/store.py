"""The model store: trained runs kept on disk, one folder per model, safe against a crash mid-write.

Layout under the root (env WORKBENCH_MODEL_STORE, default <project>/data/models, git-ignored):

    <model_id>/model.joblib     the file the download button gives (artifacts.dump)
    <model_id>/heldout.parquet  up to HELDOUT_ROWS held-out rows with their target (what-if, verify)
    <model_id>/background.parquet  the run's SHAP background sample of training rows
    <model_id>/card.md          the model card
    <model_id>/card.json        metadata + sha256 + size + saved time: written LAST

Every file goes to a temp file in the same folder and is renamed into place (os.replace is
atomic on one file system), and card.json is written last: a folder without a readable card is
an unfinished save and list_models skips it. Opening a model checks the SHA-256 recorded in the
card before anything is unpickled.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import artifacts
from core.artifacts import ArtifactError
from core.schema import FeatureSchema

STORE_ENV = "WORKBENCH_MODEL_STORE"
DEFAULT_ROOT = artifacts.PROJECT_ROOT / "data" / "models"
MODEL_FILE = "model.joblib"
CARD_JSON = "card.json"
CARD_MD = "card.md"
HELDOUT_FILE = "heldout.parquet"
BACKGROUND_FILE = "background.parquet"
# Held-out rows kept with a stored model: enough for what-if "load row N", verification and Explain.
HELDOUT_ROWS = 1000
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass
class StoredModel:
    """One complete entry of the store, as its card describes it."""

    model_id: str
    path: Path
    card: dict[str, Any]

    @property
    def label(self) -> str:
        return str(self.card.get("label", self.model_id))

    @property
    def sha256(self) -> str:
        return str(self.card["sha256"])

    @property
    def size(self) -> int:
        return int(self.card["size"])

    @property
    def saved(self) -> str:
        return str(self.card.get("saved", ""))

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE

    def card_markdown(self) -> str:
        card_file = self.path / CARD_MD
        try:
            return card_file.read_text(encoding="utf-8")
        except OSError:
            return artifacts.card_markdown(self.card, self.sha256, self.size)


def store_root(root: str | Path | None = None) -> Path:
    """The store's folder: root if given, else $WORKBENCH_MODEL_STORE, else <project>/data/models."""
    if root is not None:
        return Path(root)
    env = os.environ.get(STORE_ENV, "").strip()
    return Path(env) if env else DEFAULT_ROOT


def _folder(model_id: str, root: str | Path | None) -> Path:
    # Model ids come from run ids and from the page; never let one point outside the store.
    if not _MODEL_ID.match(str(model_id)):
        raise ArtifactError(f"{model_id!r} is not a model id of this store.")
    return store_root(root) / model_id


def _write_atomic(path: Path, data: bytes) -> None:
    """data to path via a temp file in the same folder and a rename, so path is whole or absent."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _frame_bytes(frame: pd.DataFrame) -> bytes | None:
    """A frame as parquet bytes, or None when a column's values are too mixed for parquet."""
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=True)
    except (ValueError, TypeError, ArithmeticError, ImportError):  # pyarrow refuses mixed object columns
        return None
    return buffer.getvalue()


def _read_card(folder: Path) -> dict[str, Any] | None:
    """The card of a complete entry, or None for an unfinished, damaged or foreign folder."""
    try:
        card = json.loads((folder / CARD_JSON).read_text(encoding="utf-8"))
        if not isinstance(card, dict) or not isinstance(card.get("sha256"), str):
            return None
        FeatureSchema.from_dict(card["schema"])
        if (folder / MODEL_FILE).stat().st_size != int(card["size"]):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return card


def save(run: Any, root: str | Path | None = None) -> StoredModel:
    """Keep run on disk; saving a run that is already stored returns the stored entry unchanged."""
    folder = _folder(run.run_id, root)
    existing = _read_card(folder) if folder.exists() else None
    if existing is not None:
        return StoredModel(run.run_id, folder, existing)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # A leftover card from an older, damaged save must not vouch for the new files.
        with contextlib.suppress(FileNotFoundError):
            (folder / CARD_JSON).unlink()
        meta = artifacts.build_metadata(run)
        blob = artifacts.dump(run, meta)
        sha = artifacts.sha256(blob)
        _write_atomic(folder / MODEL_FILE, blob)
        card = dict(meta)
        card.update({"sha256": sha, "size": len(blob), "heldout_saved": 0, "background_saved": 0})
        X_test = getattr(run, "X_test", None)
        if X_test is not None and len(X_test):
            heldout = X_test.iloc[:HELDOUT_ROWS].copy()
            if getattr(run, "y_test", None) is not None:
                heldout["__target__"] = run.y_test.iloc[:HELDOUT_ROWS].to_numpy()
            data = _frame_bytes(heldout)
            if data is not None:
                _write_atomic(folder / HELDOUT_FILE, data)
                card["heldout_saved"] = len(heldout)
                card["heldout_sha256"] = artifacts.sha256(data)
        background = getattr(run, "X_background", None)
        if background is not None and len(background):
            data = _frame_bytes(background)
            if data is not None:
                _write_atomic(folder / BACKGROUND_FILE, data)
                card["background_saved"] = len(background)
                card["background_sha256"] = artifacts.sha256(data)
        _write_atomic(folder / CARD_MD, artifacts.card_markdown(meta, sha, len(blob)).encode("utf-8"))
        card["saved"] = datetime.now(UTC).isoformat(timespec="seconds")
        _write_atomic(folder / CARD_JSON, json.dumps(card, indent=2, sort_keys=True).encode("utf-8"))
    except OSError as exc:
        raise ArtifactError(f"The model could not be saved to {folder}: {exc.strerror or exc}.") from exc
    return StoredModel(run.run_id, folder, card)


def list_models(root: str | Path | None = None) -> list[StoredModel]:
    """Complete entries, newest first; unfinished or damaged folders are skipped, never raised."""
    base = store_root(root)
    try:
        folders = [p for p in base.iterdir() if p.is_dir() and _MODEL_ID.match(p.name)]
    except OSError:
        return []
    models = []
    for folder in folders:
        card = _read_card(folder)
        if card is not None:
            models.append(StoredModel(folder.name, folder, card))
    return sorted(models, key=lambda m: m.saved, reverse=True)


def get(model_id: str, root: str | Path | None = None) -> StoredModel:
    """The entry model_id, or ArtifactError when it is missing or unfinished."""
    folder = _folder(model_id, root)
    card = _read_card(folder)
    if card is None:
        raise ArtifactError(f"There is no complete stored model {model_id!r}: it was deleted or never finished saving.")
    return StoredModel(model_id, folder, card)


def open_model(model_id: str, root: str | Path | None = None) -> tuple[Any, dict[str, Any]]:
    """(pipeline, card) of a stored model, after checking the file's SHA-256 against its card."""
    entry = get(model_id, root)
    try:
        blob = entry.model_file.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"The stored model file could not be read: {exc.strerror or exc}.") from exc
    return artifacts.load(blob, expected_sha256=entry.sha256), entry.card


def _read_frame(entry: StoredModel, name: str, sha_key: str) -> pd.DataFrame | None:
    path = entry.path / name
    if not path.exists() or sha_key not in entry.card:
        return None
    data = path.read_bytes()
    if artifacts.sha256(data) != entry.card[sha_key]:
        raise ArtifactError(f"The stored rows in {name} were changed after saving, so they will not be used.")
    return pd.read_parquet(path)


def to_run(model_id: str, root: str | Path | None = None) -> Any:
    """A TrainResult rebuilt from a stored model: its pipeline, card, and the rows kept with it.

    Predictions on the kept held-out rows are recomputed from the loaded pipeline. When no rows
    were kept, X_test is an empty frame with the feature columns, and pages that need rows say so.
    """
    from core.training import TrainResult

    pipeline, card = open_model(model_id, root)
    entry = get(model_id, root)
    schema = FeatureSchema.from_dict(card["schema"])
    features = list(card.get("features") or schema.names)
    heldout = _read_frame(entry, HELDOUT_FILE, "heldout_sha256")
    if heldout is not None and "__target__" in heldout.columns:
        y_test = heldout.pop("__target__").rename(card["target"])
    else:
        y_test = pd.Series([], dtype=object, name=card["target"])
    X_test = heldout[features] if heldout is not None else pd.DataFrame(columns=features)
    background = _read_frame(entry, BACKGROUND_FILE, "background_sha256")
    classifier = card["task"] != "regression"
    y_pred = pipeline.predict(X_test) if len(X_test) else np.array([])
    y_proba = pipeline.predict_proba(X_test) if classifier and len(X_test) else None
    classes = card.get("classes")
    if classifier and hasattr(pipeline, "classes_"):
        classes = list(pipeline.classes_)  # real label types (the card holds them as JSON)
    return TrainResult(
        run_id=card["run_id"],
        model=card["model"],
        label=card["label"],
        library=card["library"],
        params=dict(card.get("params") or {}),
        task=card["task"],
        target=card["target"],
        features=features,
        schema=schema,
        pipeline=pipeline,
        classes=classes,
        metrics=dict(card.get("metrics") or {}),
        timings=dict(card.get("timings") or {}),
        device=card.get("device", "cpu"),
        X_test=X_test,
        y_test=y_test,
        y_pred=y_pred,
        y_proba=y_proba,
        X_background=background[features] if background is not None else X_test.iloc[:0],
        dataset=card.get("dataset", ""),
        file_size=int(card["size"]),
        data_fingerprint=dict(card.get("data_fingerprint") or {}),
        created=card.get("trained", ""),
    )


def delete(model_id: str, root: str | Path | None = None) -> None:
    """Remove a stored model; the card goes first so a half-deleted folder is never listed."""
    folder = _folder(model_id, root)
    if not folder.exists():
        raise ArtifactError(f"There is no stored model {model_id!r} to delete.")
    try:
        with contextlib.suppress(FileNotFoundError):
            (folder / CARD_JSON).unlink()
        shutil.rmtree(folder)
    except OSError as exc:
        raise ArtifactError(f"The stored model could not be deleted: {exc.strerror or exc}.") from exc
