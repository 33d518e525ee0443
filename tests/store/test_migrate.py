"""Migrations: new stores are created at head, data survives upgrades, many processes may open a new
store at the same moment (SPEC §5: MLflow crashed 7 of 8 such processes)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import (
    MIGRATIONS_DIR,
    SchemaMismatch,
    current_revision,
    downgrade,
    ensure_schema,
    upgrade,
)
from mlops_nb.store.migrations import HEAD

WORKERS = Path(__file__).resolve().parents[1] / "api" / "_workers.py"


def test_head_constant_matches_alembic_script_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]


def test_new_store_is_created_at_head(db_url):
    engine = get_engine(db_url)
    assert current_revision(engine) is None
    ensure_schema(engine)
    assert current_revision(engine) == HEAD
    tables = set(inspect(engine).get_table_names())
    assert {"project", "experiment", "run", "param", "metric", "latest_metric", "tag", "artifact",
            "dataset_version", "run_input", "user_account", "api_token", "audit_event"} <= tables


def test_models_match_the_migrated_schema(db_url):
    """Alembic's autogenerate finds nothing to add: the tables and the scripts agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import mlops_nb.store.models  # noqa: F401

    engine = get_engine(db_url)
    ensure_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    ours = {t.name for t in SQLModel.metadata.sorted_tables}
    # other packages may add tables in later migrations; only compare the tables the models know
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name not in ours)]
    assert diff == []


def test_ensure_schema_twice_is_a_no_op(sqlite_url):
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    ensure_schema(engine)
    assert current_revision(engine) == HEAD


def test_tables_without_alembic_version_are_refused(sqlite_url):
    engine = get_engine(sqlite_url)
    with session_scope(engine) as session:
        session.execute(text("CREATE TABLE run (id TEXT)"))
    with pytest.raises(SchemaMismatch, match="no alembic version"):
        ensure_schema(engine)


def test_data_survives_upgrade_and_downgrade_round_trip(db_url):
    engine = get_engine(db_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with session_scope(engine) as session:
        session.execute(text("INSERT INTO project (id, name, created_at) VALUES (1, 'p', 1.0)"))
        session.execute(text("INSERT INTO experiment (id, project_id, name, created_at) VALUES (1, 1, 'e', 1.0)"))
        session.execute(text("INSERT INTO run (id, experiment_id, name, status, \"user\", start_time, heartbeat_at) "
                             "VALUES ('r1', 1, 'run-1', 'finished', 'dana', 1.0, 1.0)"))
        session.execute(text("INSERT INTO param (run_id, key, value) VALUES ('r1', 'C', '0.5')"))
        session.execute(text("INSERT INTO metric (run_id, key, value, step, timestamp) VALUES ('r1', 'auc', 0.75, 0, 1.0)"))
    upgrade(engine)
    assert current_revision(engine) == HEAD

    def survivors():
        with engine.connect() as conn:
            return (conn.execute(text("SELECT name FROM run WHERE id = 'r1'")).scalar(),
                    conn.execute(text("SELECT value FROM param WHERE run_id = 'r1' AND key = 'C'")).scalar(),
                    conn.execute(text("SELECT value FROM metric WHERE run_id = 'r1' AND key = 'auc'")).scalar())

    assert survivors() == ("run-1", "0.5", 0.75)
    downgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert "audit_event" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert survivors() == ("run-1", "0.5", 0.75)


def test_eight_processes_opening_a_new_sqlite_store_at_once_all_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    n, points = 8, 50
    env = {**os.environ, "MLOPS_HOME": str(tmp_path / "home")}
    procs = [subprocess.Popen([sys.executable, str(WORKERS), "log_points", url, str(i), str(points), str(barrier)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for i in range(n)]
    deadline = time.time() + 120
    while len(list(barrier.glob("ready-*"))) < n:
        assert time.time() < deadline, "workers did not start"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
        time.sleep(0.01)
    (barrier / "go").touch()
    results = [p.communicate(timeout=120) for p in procs]
    failures = [(p.returncode, err[-6000:]) for p, (_, err) in zip(procs, results) if p.returncode != 0]
    assert failures == []
    engine = get_engine(url)
    assert current_revision(engine) == HEAD
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM metric")).scalar() == n * points
        assert conn.execute(text("SELECT count(*) FROM run WHERE status = 'finished'")).scalar() == n
        assert conn.execute(text("SELECT count(*) FROM project")).scalar() == 1


def test_a_store_migrated_by_another_process_meanwhile_is_not_refused(db_url, monkeypatch):
    """The race of several notebooks opening a new store: our version check saw an empty database,
    another process then created every table; we must not take its tables for a foreign schema."""
    from mlops_nb.store import migrate

    engine = get_engine(db_url)
    upgrade(engine)  # the other process, done between our first look and the next
    real = migrate.current_revision
    answers = [None]  # the first look: still empty

    def current_revision(e):
        return answers.pop() if answers else real(e)

    monkeypatch.setattr(migrate, "current_revision", current_revision)
    ensure_schema(engine)
    assert real(engine) == HEAD


def test_tokens_issued_before_expiry_existed_keep_working_after_the_upgrade(db_url):
    """0004 adds api_token.expires_at to a store with users and tokens: old tokens get NULL (no expiry,
    valid until revoked), new ones an expiry; the downgrade drops the column and keeps the rows."""
    from argon2 import PasswordHasher

    from mlops_nb.services import identity

    engine = get_engine(db_url)
    upgrade(engine, "0002")
    secret = "old-secret-value"
    with session_scope(engine) as session:
        session.execute(text("INSERT INTO user_account (id, name, role, active, created_at) "
                             "VALUES (1, 'rita', 'reviewer', :yes, 1.0)"), {"yes": True})
        session.execute(text("INSERT INTO api_token (user_id, prefix, token_hash, created_at, revoked) "
                             "VALUES (1, '0123abcd', :hash, 1.0, :no)"),
                        {"hash": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(secret), "no": False})
    upgrade(engine)  # to head, through 0004: the services read the tables as the current models say
    with session_scope(engine) as session:
        assert identity.user_for_token(session=session, token=f"mlops_0123abcd_{secret}").name == "rita"
        listed = identity.list_tokens(session=session, actor=identity.OPERATOR, name="rita")
        assert [(t.prefix, t.status, t.expires_at) for t in listed] == [("0123abcd", "active", None)]
    downgrade(engine, "0002")
    assert "expires_at" not in {c["name"] for c in inspect(engine).get_columns("api_token")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT prefix FROM api_token")).scalars().all() == ["0123abcd"]
    upgrade(engine)
    assert current_revision(engine) == HEAD


def test_0007_adds_code_status_to_a_store_with_runs_and_removes_it_again(db_url):
    engine = get_engine(db_url)
    upgrade(engine, "0002")
    with session_scope(engine) as session:
        session.execute(text("INSERT INTO project (id, name, created_at) VALUES (1, 'p', 1.0)"))
        session.execute(text("INSERT INTO experiment (id, project_id, name, created_at) VALUES (1, 1, 'e', 1.0)"))
        session.execute(text("INSERT INTO run (id, experiment_id, name, status, \"user\", start_time, heartbeat_at, "
                             "git_commit) VALUES ('r1', 1, 'run-1', 'finished', 'dana', 1.0, 1.0, 'abc')"))
        session.execute(text("INSERT INTO param (run_id, key, value) VALUES ('r1', 'C', '0.5')"))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT git_commit, code_status FROM run WHERE id = 'r1'")).one() == ("abc", None)
    downgrade(engine, "0002")
    assert "code_status" not in {c["name"] for c in inspect(engine).get_columns("run")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM param WHERE run_id = 'r1'")).scalar() == "0.5"
