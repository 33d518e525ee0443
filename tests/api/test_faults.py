"""Faults users meet: several notebooks writing at once, a kernel killed mid-run, a failing cell
(SPEC §5: concurrent writers lose nothing; a killed run is marked killed once its heartbeat is stale)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import mlops_nb as mlops
from mlops_nb.store.db import get_engine
from mlops_nb.store.migrate import ensure_schema

WORKERS = Path(__file__).with_name("_workers.py")


def _spawn(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKERS), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def test_four_writers_at_once_lose_nothing(db_url):
    ensure_schema(get_engine(db_url))  # four notebooks on an existing store
    n, points = 4, 500
    procs = [_spawn("log_points", db_url, str(i), str(points)) for i in range(n)]
    results = [p.communicate(timeout=150) for p in procs]
    assert [(p.returncode, err[-1500:]) for p, (_, err) in zip(procs, results) if p.returncode] == []
    with get_engine(db_url).connect() as conn:
        per_run = dict(conn.execute(text(
            "SELECT r.name, count(m.id) FROM run r JOIN metric m ON m.run_id = r.id GROUP BY r.name")).all())
        params = conn.execute(text("SELECT count(*) FROM param")).scalar()
        steps = conn.execute(text("SELECT count(DISTINCT run_id || ':' || CAST(step AS VARCHAR)) FROM metric")).scalar()
        latest = dict(conn.execute(text("SELECT run_id, step FROM latest_metric WHERE key = 'loss'")).all())
    assert per_run == {f"worker-{i}": points for i in range(n)}
    assert params == 2 * n
    assert steps == n * points  # every point got its own step
    assert sorted(latest.values()) == [points - 1] * n


def test_a_killed_kernel_leaves_a_store_that_opens_and_its_run_is_marked_killed(db_url, tmp_path, monkeypatch):
    run_file = tmp_path / "run-id"
    child = _spawn("log_forever", db_url, str(run_file), env={"MLOPS_HEARTBEAT_S": "0.2"})
    try:
        deadline = time.time() + 60
        while not run_file.exists():
            assert child.poll() is None, child.communicate()
            assert time.time() < deadline, "the child never started its run"
            time.sleep(0.02)
        run_id = run_file.read_text()
        mlops.init(project="faults", db_url=db_url, user="reader", artifact_root=str(tmp_path / "a"))
        while len(mlops.get_metric_history(run_id, "loss")) < 20:
            assert time.time() < deadline
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    if db_url.startswith("sqlite"):
        with get_engine(db_url).connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    # the store opens and reads; with the default staleness (60 s) the run still looks alive
    mlops.init(project="faults", db_url=db_url, user="reader", artifact_root=str(tmp_path / "a"))
    assert mlops.get_run(run_id).status == "running"
    points = len(mlops.get_metric_history(run_id, "loss"))
    assert points >= 20
    monkeypatch.setenv("MLOPS_RUN_STALE_S", "1")
    time.sleep(1.3)
    table = mlops.runs("killed").to_frame()
    assert list(table["status"]) == ["killed"]
    run = mlops.get_run(run_id)
    assert run.status == "killed" and run.end_time is not None
    assert len(mlops.get_metric_history(run_id, "loss")) == points
    with mlops.start_run(experiment="killed", name="after"):  # the store still takes writes
        mlops.log_metric("loss", 1.0)


def test_a_live_run_keeps_its_heartbeat_and_is_not_marked_killed(ctx, monkeypatch):
    monkeypatch.setenv("MLOPS_RUN_STALE_S", "1")
    ctx.settings = type(ctx.settings)(**{**ctx.settings.__dict__, "heartbeat_s": 0.1})
    run = mlops.start_run(experiment="alive")
    time.sleep(1.5)
    assert mlops.get_run(run.id).status == "running"
    assert mlops.end_run().status == "finished"


def test_a_run_whose_block_raises_is_failed(ctx):
    with pytest.raises(ZeroDivisionError):
        with mlops.start_run(experiment="e", name="boom") as run:
            mlops.log_metric("before", 1.0)
            raise ZeroDivisionError("division by zero")
    got = mlops.get_run(run.id)
    assert got.status == "failed" and got.end_time is not None and got.metrics == {"before": 1.0}
    assert mlops.active_run() is None


def test_a_run_ended_inside_its_block_keeps_its_status(ctx):
    with mlops.start_run(experiment="e") as run:
        mlops.end_run("killed")
    assert mlops.get_run(run.id).status == "killed"
