"""The SQLite fast path's pieces: statements compiled once from Core, and one connection per thread."""
from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import JSON, bindparam, select

from mlops_nb.store.db import dispose_engines, get_engine
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.run_store import run_store
from mlops_nb.store.runs import statements
from mlops_nb.store.runs.statements import RUN
from mlops_nb.store.sqlite_fast.compiled import SqliteStatement
from mlops_nb.store.sqlite_fast.connection import connection_for


@pytest.fixture()
def engine(sqlite_url):
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    return engine


def test_values_are_converted_as_sqlalchemy_would(engine):
    insert = SqliteStatement(statements.insert_run(), engine.dialect)
    values = {"id": "r", "name": "n", "user": "u", "start_time": 1, "heartbeat_at": 2.5, "host": None, "pid": 7,
              "git_commit": None, "git_dirty": True, "notebook_path": None, "code_status": None, "code_hash": None,
              "cell_hashes": None, "cell_source": None, "python_version": "3.11",
              "packages": {"b": 1, "a": "ü"}, "project_id": 1, "experiment": "e"}
    sql, params = insert.bind(values)
    by_name = dict(zip(insert.names, params))
    assert sql.startswith("INSERT INTO run (") and sql.count("?") == len(params)
    assert by_name["packages"] == '{"a":"ü","b":1}' and by_name["git_dirty"] == 1  # the engine's serializer
    assert by_name["start_time"] == 1.0 and isinstance(by_name["start_time"], float)
    assert "running" in params and "null" in params  # the statement's own literals: status, cell_hashes
    assert insert.bind({**values, "packages": None})[1][insert.names.index("packages")] == "null"  # JSON null
    with pytest.raises(KeyError, match="experiment"):
        insert.bind({k: v for k, v in values.items() if k != "experiment"})


def test_a_list_bind_takes_as_many_placeholders_as_values(engine):
    steps = SqliteStatement(statements.latest_steps(), engine.dialect)
    assert steps.names == ("run_id", "keys")
    assert steps.expanded(3).endswith('IN (?, ?, ?)') and steps.expanded(3) is steps.expanded(3)
    sql, params = steps.bind({"run_id": "r", "keys": ["a", "b"]})
    assert sql == steps.expanded(2) and params == ["r", "a", "b"]


def test_a_list_bind_that_needs_a_conversion_is_refused(engine):
    statement = select(RUN.c.id).where(RUN.c.packages.in_(bindparam("docs", expanding=True, type_=JSON)))
    with pytest.raises(RuntimeError, match="list parameter 'docs' needs a conversion per element"):
        SqliteStatement(statement, engine.dialect)


def test_statements_run_with_tuples_must_take_them_in_column_order(engine):
    store = run_store(engine)
    with pytest.raises(RuntimeError, match=r"does not take \(key, run_id, value\) tuples as they are"):
        store._positional(statements.insert_param(), ("key", "run_id", "value"))
    with pytest.raises(RuntimeError, match="does not take"):  # its value and timestamp need float(): not declared
        store._positional(statements.insert_metric(), ("run_id", "key", "value", "step", "timestamp"))


def test_each_thread_has_its_own_connection_until_the_engines_are_disposed(engine, tmp_path):
    path = tmp_path / "store.db"
    mine = connection_for(engine, path)
    theirs: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: theirs.append(connection_for(engine, path)))
    thread.start()
    thread.join()
    assert connection_for(engine, path) is mine and theirs[0] is not mine
    assert mine.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert mine.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    dispose_engines()
    with pytest.raises(sqlite3.ProgrammingError):
        mine.execute("SELECT 1")
    assert connection_for(engine, path) is not mine
