"""Engines and sessions for any SQLAlchemy URL; SQLite gets WAL, a busy timeout and foreign keys.

SQLite transactions start with BEGIN IMMEDIATE: a writer takes the write lock up front and waits
(busy timeout) instead of failing when another process committed between its read and its write,
which is what lets several notebooks log to one file without losing a point.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from mlops_nb.config import use_nullpool

SQLITE_BUSY_TIMEOUT_MS = 30_000
RAW_CACHE_KIB = 32_768  # page cache of the hot path's own sqlite3 connections

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory one."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` as users type them, and use psycopg 3 for both."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _sqlite_pragmas(dbapi_connection) -> None:
    """What every SQLite connection of ours gets: autocommit driver (we emit BEGIN), busy timeout, WAL,
    synchronous NORMAL (a commit survives a killed process; only a power loss may drop the last
    ones) and foreign keys."""
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - exercised via every test
        _sqlite_pragmas(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # pragma: no cover
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# --- the hot path's connections --------------------------------------------------------------------
# Logging a metric point is one short write transaction. Through an ORM Session that costs ~0.3 ms
# of Python per call; on a SQLite file the hot path instead keeps one plain sqlite3 connection per
# thread (same pragmas as the engine's) and emits BEGIN IMMEDIATE / COMMIT itself.
_raw: dict[tuple[Engine, int], tuple[int, object]] = {}
_raw_lock = threading.Lock()


def sqlite_writer(engine: Engine):
    """This thread's own sqlite3 connection to `engine`'s database file, or None when the engine is
    not a SQLite file (PostgreSQL, in-memory SQLite): callers then use `engine.begin()`."""
    key = (engine, threading.get_ident())
    held = _raw.get(key)
    pid = os.getpid()
    if held is not None and held[0] == pid:  # a connection inherited over fork is never used
        return held[1]
    conn = None
    path = sqlite_path(str(engine.url)) if engine.dialect.name == "sqlite" else None
    if path is not None:
        import sqlite3

        conn = sqlite3.connect(str(path), timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                               isolation_level=None)
        _sqlite_pragmas(conn)
        # a search probes run, param and metric rows by random run id: with SQLite's default 2 MiB
        # page cache most probes of a 10,000-run store miss it (~2x slower); this connection's own
        # writes keep its cache valid, so runs just logged are searched from memory
        conn.execute(f"PRAGMA cache_size = -{RAW_CACHE_KIB}")
    with _raw_lock:
        _raw[key] = (pid, conn)
    return conn


def immediate_transaction(conn, work):
    """Run `work()` inside BEGIN IMMEDIATE / COMMIT on a raw sqlite3 connection; roll back on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work()
        conn.execute("COMMIT")
        return result
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _close_raw() -> None:
    with _raw_lock:
        pid = os.getpid()
        for held_pid, conn in _raw.values():
            if held_pid == pid and conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass
        _raw.clear()


def canonical_json(value) -> str:
    """How JSON columns are written: sorted keys, no spaces, UTF-8 kept. The audit chain hashes this
    same text, so `mlops audit verify` can check stored events without parsing them."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def make_engine(url: str) -> Engine:
    """A new engine for `url`; SQLite files get their folder created and the pragmas above."""
    url = normalize_url(url)
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
        if path is None:
            from sqlalchemy.pool import StaticPool

            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, json_serializer=canonical_json, **kwargs)
        _configure_sqlite(engine)
        return engine
    pool = {"poolclass": NullPool} if use_nullpool() else {"pool_pre_ping": True}
    return create_engine(url, json_serializer=canonical_json, **pool)


def get_engine(url: str) -> Engine:
    """One engine per URL per process, so every call reuses its pooled connection."""
    url = normalize_url(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, and after a fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
    _close_raw()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
