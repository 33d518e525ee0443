"""Migration 0008 (run.end_reason) on a store that already has runs: they survive, and a run killed
before the upgrade is never taken for one a reader marked stale (so it is never revived)."""
from __future__ import annotations

from sqlalchemy import inspect, text

from mlops_nb.services import tracking
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import HEAD, current_revision, downgrade, upgrade


def test_runs_killed_before_the_upgrade_keep_no_end_reason_and_are_never_revived(db_url):
    engine = get_engine(db_url)
    upgrade(engine, "0002")
    with session_scope(engine) as session:
        session.execute(text("INSERT INTO project (id, name, created_at) VALUES (1, 'p', 1.0)"))
        session.execute(text("INSERT INTO experiment (id, project_id, name, created_at) VALUES (1, 1, 'e', 1.0)"))
        for run_id, status in (("killed1", "killed"), ("live1", "running")):
            session.execute(text("INSERT INTO run (id, experiment_id, name, status, \"user\", start_time, "
                                 "heartbeat_at) VALUES (:id, 1, :id, :status, 'dana', 1.0, 1.0)"),
                            {"id": run_id, "status": status})
    upgrade(engine)
    assert current_revision(engine) == HEAD
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, end_reason FROM run")).all())
    assert rows == {"killed1": None, "live1": None}
    with session_scope(engine) as session:
        assert tracking.revive_run(session=session, run_id="killed1") is False
    from mlops_nb.store.run_store import run_store

    assert tracking.mark_stale_runs(store=run_store(engine), stale_s=60) == 1  # live1's heartbeat is old
    with session_scope(engine) as session:
        assert tracking.revive_run(session=session, run_id="live1") is True
    downgrade(engine, "0002")
    assert "end_reason" not in {c["name"] for c in inspect(engine).get_columns("run")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM run")).scalar() == 2
