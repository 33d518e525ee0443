"""Driver errors named at the edge (services/store_errors.py): a lock past its timeout is StoreBusy,
a store that cannot be used is StoreUnavailable, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

import mlops_nb as mlops
from mlops_nb.services.errors import StoreBusy, StoreUnavailable
from mlops_nb.services.store_errors import store_error


def test_sqlite_locked_is_store_busy(tmp_path):
    path = tmp_path / "x.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as raised:
        other.execute("BEGIN IMMEDIATE")
    holder.execute("ROLLBACK")
    named = store_error(raised.value)
    assert isinstance(named, StoreBusy) and "database is locked" in str(named)


def test_sqlalchemy_wrapped_unopenable_file_is_store_unavailable(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    with pytest.raises(OperationalError) as raised, engine.connect():
        pass
    named = store_error(raised.value)
    assert type(named) is StoreUnavailable and "unable to open database file" in str(named)


def test_other_errors_are_left_alone():
    assert store_error(ValueError("x")) is None
    assert store_error(sqlite3.IntegrityError("UNIQUE constraint failed")) is None


@pytest.mark.postgres
def test_postgres_lock_timeout_is_store_busy(pg_admin_url):
    url = pg_admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS mlops_lock_probe (id int)")
    try:
        with psycopg.connect(url) as holder, psycopg.connect(url) as waiter:
            holder.execute("LOCK TABLE mlops_lock_probe IN ACCESS EXCLUSIVE MODE")
            waiter.execute("SET lock_timeout = '20ms'")
            with pytest.raises(psycopg.OperationalError) as raised:
                waiter.execute("SELECT * FROM mlops_lock_probe")
            holder.rollback()
        named = store_error(raised.value)
        assert isinstance(named, StoreBusy) and "lock" in str(named)
    finally:
        with psycopg.connect(url, autocommit=True) as setup:
            setup.execute("DROP TABLE IF EXISTS mlops_lock_probe")


def test_an_unreachable_postgres_store_is_a_named_error_from_init():
    """init names the URL it could not open (InvalidInput: the URL is what the user can fix)."""
    with pytest.raises(mlops.InvalidInput, match=r"cannot open the store at postgresql\+psycopg://nobody@127.0.0.1:1/none"):
        mlops.init(project="p", db_url="postgresql://nobody@127.0.0.1:1/none", user="dana")


def test_any_other_operational_error_is_store_unavailable(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn, pytest.raises(OperationalError) as raised:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert type(store_error(raised.value)) is StoreUnavailable
