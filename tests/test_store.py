"""The model store: atomic saves, listing that skips unfinished entries, SHA-checked reopening, delete."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from fitted_runs import house_run, loan_run
from support import ROOT

from core import artifacts, store
from core.artifacts import ArtifactError


@pytest.fixture(scope="module")
def loan():
    return loan_run()


@pytest.fixture(scope="module")
def house():
    return house_run()


def test_save_writes_file_cards_and_rows(loan, tmp_path):
    entry = store.save(loan, tmp_path)
    folder = tmp_path / loan.run_id
    assert entry.path == folder and entry.model_id == loan.run_id
    assert {p.name for p in folder.iterdir()} == {"model.joblib", "card.json", "card.md", "heldout.parquet", "background.parquet"}
    blob = (folder / "model.joblib").read_bytes()
    card = json.loads((folder / "card.json").read_text())
    assert card["sha256"] == artifacts.sha256(blob) and card["size"] == len(blob)
    assert card["saved"] and card["schema"] == loan.schema.to_dict() and card["heldout_saved"] == len(loan.X_test)
    # The card and the file's own metadata were made once: they agree.
    assert artifacts.metadata(artifacts.load(blob))["exported"] == card["exported"]
    assert card["sha256"] in (folder / "card.md").read_text()


def test_default_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(store.STORE_ENV, str(tmp_path / "elsewhere"))
    assert store.store_root() == tmp_path / "elsewhere"
    monkeypatch.delenv(store.STORE_ENV)
    assert store.store_root() == ROOT / "data" / "models"


def test_list_reopen_and_delete(loan, house, tmp_path):
    store.save(loan, tmp_path)
    store.save(house, tmp_path)
    assert {m.model_id for m in store.list_models(tmp_path)} == {loan.run_id, house.run_id}
    pipeline, card = store.open_model(loan.run_id, tmp_path)
    np.testing.assert_array_equal(pipeline.predict(loan.X_test), loan.pipeline.predict(loan.X_test))
    assert card["label"] == loan.label
    store.delete(loan.run_id, tmp_path)
    assert [m.model_id for m in store.list_models(tmp_path)] == [house.run_id]
    assert not (tmp_path / loan.run_id).exists()
    with pytest.raises(ArtifactError, match="no complete stored model"):
        store.open_model(loan.run_id, tmp_path)
    with pytest.raises(ArtifactError, match="no stored model"):
        store.delete(loan.run_id, tmp_path)


def test_saving_twice_keeps_the_first_entry(loan, tmp_path):
    first = store.save(loan, tmp_path)
    again = store.save(loan, tmp_path)
    assert again.sha256 == first.sha256 and again.saved == first.saved


def test_to_run_rebuilds_a_usable_current_model(loan, tmp_path):
    store.save(loan, tmp_path)
    run = store.to_run(loan.run_id, tmp_path)
    assert (run.run_id, run.task, run.target, run.features) == (loan.run_id, loan.task, loan.target, loan.features)
    assert run.classes == loan.classes and run.schema.to_dict() == loan.schema.to_dict()
    assert run.metrics == pytest.approx(loan.metrics)
    assert list(run.X_test.index) == list(loan.X_test.index)
    assert run.y_test.tolist() == loan.y_test.tolist()
    np.testing.assert_array_equal(run.y_pred, loan.y_pred)
    np.testing.assert_allclose(run.y_proba, loan.y_proba)
    assert len(run.X_background) == len(loan.X_background)


def test_to_run_without_kept_rows_has_an_empty_held_out_frame(house, tmp_path):
    entry = store.save(house, tmp_path)
    (entry.path / store.HELDOUT_FILE).unlink()
    run = store.to_run(house.run_id, tmp_path)
    assert len(run.X_test) == 0 and list(run.X_test.columns) == house.features
    assert len(run.y_pred) == 0


def test_a_tampered_model_file_is_refused(loan, tmp_path):
    entry = store.save(loan, tmp_path)
    blob = bytearray(entry.model_file.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    entry.model_file.write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="SHA-256 does not match"):
        store.open_model(loan.run_id, tmp_path)
    with pytest.raises(ArtifactError, match="SHA-256 does not match"):
        store.to_run(loan.run_id, tmp_path)


def test_tampered_kept_rows_are_refused(loan, tmp_path):
    entry = store.save(loan, tmp_path)
    path = entry.path / store.HELDOUT_FILE
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ArtifactError, match="changed after saving"):
        store.to_run(loan.run_id, tmp_path)


def test_crash_before_the_card_leaves_the_store_readable(loan, house, tmp_path, monkeypatch):
    store.save(house, tmp_path)
    real_replace = os.replace

    def crash_on_card(src, dst):
        if str(dst).endswith("card.json"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", crash_on_card)
    with pytest.raises(ArtifactError, match="could not be saved"):
        store.save(loan, tmp_path)
    monkeypatch.undo()
    folder = tmp_path / loan.run_id
    assert (folder / "model.joblib").exists() and not (folder / "card.json").exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]  # temp files cleaned up
    assert [m.model_id for m in store.list_models(tmp_path)] == [house.run_id]
    # Saving again after the crash completes the entry.
    store.save(loan, tmp_path)
    assert {m.model_id for m in store.list_models(tmp_path)} == {loan.run_id, house.run_id}


def test_a_process_killed_mid_write_leaves_no_listed_entry(loan, tmp_path):
    """A child process dies (os._exit) right after writing the model's temp file, before any rename."""
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from fitted_runs import loan_run
        from core import store
        real_fdopen = os.fdopen
        class Dying:
            def __init__(self, fh): self.fh = fh
            def __enter__(self): return self
            def write(self, data): self.fh.write(data[: len(data) // 2]); self.fh.flush(); os._exit(9)
            def __exit__(self, *exc): return False
        os.fdopen = lambda fd, mode: Dying(real_fdopen(fd, mode))
        store.save(loan_run(), {str(tmp_path)!r})
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 9, done.stderr
    folders = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(folders) == 1
    names = [p.name for p in folders[0].iterdir()]
    assert "model.joblib" not in names and "card.json" not in names
    assert any(name.endswith(".tmp") for name in names)  # the half-written temp file
    assert store.list_models(tmp_path) == []
    store.save(loan, tmp_path)
    assert [m.model_id for m in store.list_models(tmp_path)] == [loan.run_id]


def test_damaged_cards_and_stray_folders_are_skipped(loan, tmp_path):
    store.save(loan, tmp_path)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "card.json").write_text("{not json")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "model.joblib").write_bytes(b"partial")
    (tmp_path / "notes.txt").write_text("hello")
    wrong_size = tmp_path / "wrongsize"
    wrong_size.mkdir()
    card = json.loads((tmp_path / loan.run_id / "card.json").read_text())
    (wrong_size / "card.json").write_text(json.dumps(card))
    (wrong_size / "model.joblib").write_bytes(b"short")
    assert [m.model_id for m in store.list_models(tmp_path)] == [loan.run_id]
    assert store.list_models(tmp_path / "does-not-exist") == []


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "", ".hidden", "x" * 200])
def test_model_ids_cannot_leave_the_store(bad_id, tmp_path):
    with pytest.raises(ArtifactError, match="not a model id"):
        store.open_model(bad_id, tmp_path)
    with pytest.raises(ArtifactError, match="not a model id"):
        store.delete(bad_id, tmp_path)
