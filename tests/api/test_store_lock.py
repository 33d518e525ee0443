"""Heavy work never holds the store's write lock, and a lock held too long is a named error.

SQLite has one write lock for the whole file: whatever a writer does between BEGIN IMMEDIATE and
COMMIT, every other notebook's `log_metric` waits for. The probes below open their own connection
and try to take that lock without waiting while the heavy steps (hashing, profiling, sampling,
writing files) run: it must be free. A lock held by someone else past the busy timeout
(MLOPS_SQLITE_BUSY_TIMEOUT_MS) makes the call raise StoreBusy, and nothing is stored.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlops_nb as mlops
from mlops_nb.services.data import datasets
from mlops_nb.services.monitoring import drift_store
from mlops_nb.store.artifacts import LocalArtifactStore
from tests.factories import fit_credit_model


def _lock_is_free(db_file: Path) -> bool:
    """Whether another connection can take the write lock right now (no waiting)."""
    conn = sqlite3.connect(str(db_file), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as err:
        assert "locked" in str(err)
        return False
    finally:
        conn.close()


@pytest.fixture()
def lite(sqlite_url, tmp_path):
    context = mlops.init(project="lock", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "artifacts"))
    return context, Path(sqlite_url.removeprefix("sqlite:///"))


def _probing(monkeypatch, target, name, db_file, seen):
    original = getattr(target, name)

    def probe(*args, **kwargs):
        seen.append((name, _lock_is_free(db_file)))
        return original(*args, **kwargs)
    monkeypatch.setattr(target, name, probe)


def _frame(rows: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"id": [f"cust-{i:08d}" for i in range(rows)], "x": rng.normal(size=rows),
                         "y": rng.integers(0, 2, size=rows)})


def test_log_dataset_hashes_profiles_and_samples_without_holding_the_write_lock(lite, monkeypatch):
    context, db_file = lite
    seen: list[tuple[str, bool]] = []
    for name in ("fingerprint", "schema_and_profile", "_sample_bytes"):
        _probing(monkeypatch, datasets, name, db_file, seen)
    _probing(monkeypatch, drift_store, "reference_profile", db_file, seen)  # the drift reference (issue 11)
    _probing(monkeypatch, LocalArtifactStore, "put_bytes", db_file, seen)
    with mlops.start_run(experiment="lock"):
        version = mlops.log_dataset(_frame(), name="customers")
    assert version.version == 1 and version.rows == 2_000
    assert [n for n, _ in seen] == ["reference_profile", "put_bytes", "fingerprint", "schema_and_profile",
                                    "_sample_bytes", "put_bytes"]
    assert all(free for _, free in seen), f"the write lock was held during {[n for n, f in seen if not f]}"


def test_register_model_writes_its_file_without_holding_the_write_lock(lite, credit, monkeypatch):
    context, db_file = lite
    model, _ = fit_credit_model(credit)
    with mlops.start_run(experiment="lock"):
        mlops.log_dataset(credit, name="german")
        seen: list[tuple[str, bool]] = []
        _probing(monkeypatch, LocalArtifactStore, "put_bytes", db_file, seen)
        version = mlops.register_model(model, name="credit", target="creditability")
    assert version.version == 1 and version.artifact_uri.endswith("/v1/model.skops")
    assert seen == [("put_bytes", True)]
    assert mlops.load_model("credit").predict_proba(credit.drop(columns="creditability").head(3)).shape == (3, 2)


def test_log_artifact_copies_and_hashes_without_holding_the_write_lock(lite, tmp_path, monkeypatch):
    context, db_file = lite
    source = tmp_path / "report.txt"
    source.write_text("auc 0.8\n")
    seen: list[tuple[str, bool]] = []
    _probing(monkeypatch, LocalArtifactStore, "put_file", db_file, seen)
    with mlops.start_run(experiment="lock"):
        first = mlops.log_artifact(source)
        again = mlops.log_artifact(source)  # same bytes: the stored one, and the staged copy is gone
        source.write_text("changed\n")
        with pytest.raises(mlops.Conflict, match="already exists"):
            mlops.log_artifact(source, name="report.txt")
    assert seen == [("put_file", True)] * 3
    assert first == again and Path(first.uri.removeprefix("file://")).read_text() == "auc 0.8\n"
    assert not list((Path(context.artifact_root) / ".staging").glob("*")), "a staged copy was left behind"


def test_a_lock_held_past_the_busy_timeout_is_store_busy_and_stores_nothing(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_SQLITE_BUSY_TIMEOUT_MS", "50")
    context = mlops.init(project="lock", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "artifacts"))
    run = mlops.start_run(experiment="lock")
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer, holding the lock
    try:
        with pytest.raises(mlops.StoreBusy, match="another writer held its lock past the busy timeout"):
            mlops.log_metric("auc", 0.5)
        with pytest.raises(mlops.StoreBusy, match="database is locked"):
            mlops.log_dataset(_frame(100), name="customers")
        with pytest.raises(mlops.StoreBusy):
            mlops.log_params({"C": 1})
        with pytest.raises(mlops.StoreBusy):
            mlops.set_tag("team", "risk")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    stored = mlops.get_run(run.id)
    assert stored.metrics == {} and stored.params == {} and "team" not in stored.tags and stored.datasets == []
    assert not list((Path(context.artifact_root) / ".staging").glob("*")), "a staged sample was left behind"
    with pytest.raises(mlops.NotFound):
        mlops.get_dataset("customers")
    mlops.log_metric("auc", 0.5)  # the same call, once the lock is free
    assert mlops.end_run().metrics == {"auc": 0.5}


def test_store_busy_is_an_mlops_error_a_magic_shows_in_one_line(sqlite_url, tmp_path, monkeypatch, shell):
    monkeypatch.setenv("MLOPS_SQLITE_BUSY_TIMEOUT_MS", "50")
    mlops.init(project="lock", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "artifacts"))
    mlops.start_run(experiment="lock")
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        from IPython.core.error import UsageError

        with pytest.raises(UsageError, match="the store is busy"):
            shell.run_line_magic("mlops", "log metric auc=0.5")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert issubclass(mlops.StoreBusy, mlops.StoreUnavailable) and issubclass(mlops.StoreBusy, mlops.MlopsError)
