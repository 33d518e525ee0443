"""The engine: SQLite gets WAL, a busy timeout and foreign keys; URLs are accepted as users type them."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mlops_nb.store.db import SQLITE_BUSY_TIMEOUT_MS, get_engine, normalize_url, session_scope, sqlite_path


def _pragma(engine, name: str):
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_engine_uses_wal_busy_timeout_and_foreign_keys(sqlite_url):
    engine = get_engine(sqlite_url)
    assert _pragma(engine, "journal_mode").lower() == "wal"
    assert _pragma(engine, "busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
    assert _pragma(engine, "foreign_keys") == 1


def test_sqlite_synchronous_is_normal_unless_mlops_sqlite_synchronous_says_full(sqlite_url, monkeypatch):
    from mlops_nb.store.db import dispose_engines

    assert _pragma(get_engine(sqlite_url), "synchronous") == 1  # NORMAL
    dispose_engines()
    monkeypatch.setenv("MLOPS_SQLITE_SYNCHRONOUS", "full")
    assert _pragma(get_engine(sqlite_url), "synchronous") == 2  # FULL
    dispose_engines()


def test_an_unknown_sqlite_synchronous_level_is_refused_by_name(monkeypatch):
    from mlops_nb.config import sqlite_synchronous

    monkeypatch.setenv("MLOPS_SQLITE_SYNCHRONOUS", "off")
    with pytest.raises(ValueError, match="MLOPS_SQLITE_SYNCHRONOUS must be one of NORMAL, FULL, EXTRA, got 'OFF'"):
        sqlite_synchronous()


def test_sqlite_foreign_keys_are_enforced(sqlite_url):
    from mlops_nb.store.migrate import ensure_schema

    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            session.execute(text("INSERT INTO experiment (project_id, name, created_at) VALUES (999, 'x', 0)"))


def test_sqlite_store_folder_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'store.db'}"
    with get_engine(url).connect() as conn:
        conn.execute(text("SELECT 1"))
    assert sqlite_path(url).parent.is_dir()


def test_get_engine_returns_one_engine_per_url(sqlite_url):
    assert get_engine(sqlite_url) is get_engine(sqlite_url)


@pytest.mark.parametrize("typed", ["postgres://u@h/db", "postgresql://u@h/db", "postgresql+psycopg://u@h/db"])
def test_postgres_urls_use_psycopg3(typed):
    assert normalize_url(typed) == "postgresql+psycopg://u@h/db"


def test_session_scope_rolls_back_on_error(sqlite_url):
    from mlops_nb.store.migrate import ensure_schema

    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            session.execute(text("INSERT INTO project (name, created_at) VALUES ('p', 0)"))
            raise RuntimeError("boom")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM project")).scalar() == 0
