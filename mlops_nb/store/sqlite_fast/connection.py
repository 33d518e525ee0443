"""The hot path's connections: one plain sqlite3 connection per thread and SQLite file.

Logging a metric point is one short write transaction. Through SQLAlchemy that costs tens of
microseconds of Python per call; here each thread keeps its own sqlite3 connection to the file (the
engine's pragmas, see store.db.sqlite_pragmas) and emits BEGIN IMMEDIATE / COMMIT itself. A
connection inherited over fork is never used: the child opens its own.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Engine

from mlops_nb.config import sqlite_busy_timeout_ms
from mlops_nb.store.db import on_dispose, sqlite_pragmas

RAW_CACHE_KIB = 32_768  # page cache of the hot path's own connections, in KiB

T = TypeVar("T")

_held: dict[tuple[Engine, int], tuple[int, sqlite3.Connection]] = {}
_held_lock = threading.Lock()


def connection_for(engine: Engine, path: Path) -> sqlite3.Connection:
    """This thread's own sqlite3 connection to `path`, the database file of `engine`, opened on
    first use with the engine's pragmas and a 32 MiB page cache."""
    key = (engine, threading.get_ident())
    held = _held.get(key)
    pid = os.getpid()
    if held is not None and held[0] == pid:
        return held[1]
    conn = sqlite3.connect(str(path), timeout=sqlite_busy_timeout_ms() / 1000, check_same_thread=False,
                           isolation_level=None)
    sqlite_pragmas(conn)
    # a search probes run, param and metric rows by random run id: with SQLite's default 2 MiB page
    # cache most probes of a 10,000-run store miss it (~2x slower); this connection's own writes
    # keep its cache valid, so runs just logged are searched from memory
    conn.execute(f"PRAGMA cache_size = -{RAW_CACHE_KIB}")
    with _held_lock:
        _held[key] = (pid, conn)
    return conn


def immediate_transaction(conn: sqlite3.Connection, work: Callable[[], T]) -> T:
    """Run `work()` between BEGIN IMMEDIATE and COMMIT on `conn` and return what it returns; on any
    exception roll back and re-raise it, so nothing of `work` is kept. BEGIN IMMEDIATE takes the
    write lock up front, waiting up to the busy timeout (30 s unless configured) for another writer.

    Raises:
        sqlite3.OperationalError: the database stayed locked beyond the busy timeout.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work()
        conn.execute("COMMIT")
        return result
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def close_all() -> None:
    """Close every connection this process opened and forget them (those inherited over fork are
    only forgotten: they belong to the parent)."""
    with _held_lock:
        pid = os.getpid()
        for held_pid, conn in _held.values():
            if held_pid == pid:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
        _held.clear()


on_dispose(close_all)
