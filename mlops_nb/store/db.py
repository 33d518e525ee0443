"""Engines and sessions for any SQLAlchemy URL; SQLite gets WAL, a busy timeout and foreign keys.

SQLite transactions start with BEGIN IMMEDIATE: a writer takes the write lock up front and waits
(busy timeout) instead of failing when another process committed between its read and its write,
which is what lets several notebooks log to one file without losing a point.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool, StaticPool
from sqlmodel import Session, create_engine

from mlops_nb.config import DEFAULT_SQLITE_BUSY_TIMEOUT_MS, sqlite_busy_timeout_ms, sqlite_synchronous, use_nullpool

SQLITE_BUSY_TIMEOUT_MS = DEFAULT_SQLITE_BUSY_TIMEOUT_MS  # MLOPS_SQLITE_BUSY_TIMEOUT_MS overrides it

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
_dispose_hooks: list[Callable[[], None]] = []


def is_sqlite(url: str) -> bool:
    """Whether `url` names a SQLite database (a file or in memory)."""
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


# the SQL function a search's ILIKE folds text with on SQLite (store.runs.search)
SQLITE_LOWER = "mlops_lower"


def unicode_lower(value: Any) -> Any:
    """Python's lower(): SQLite's own lower() folds ASCII letters only, PostgreSQL's every letter."""
    return value.lower() if isinstance(value, str) else value


def sqlite_pragmas(dbapi_connection: Any) -> None:
    """What every SQLite connection of ours gets, the engine's and the fast path's own sqlite3 ones:
    autocommit driver (we emit BEGIN), busy timeout (config.sqlite_busy_timeout_ms), WAL, synchronous
    as `MLOPS_SQLITE_SYNCHRONOUS` says (default NORMAL: a commit survives a killed process, only a
    power loss may drop the last ones; FULL syncs every commit), foreign keys, and SQLITE_LOWER, a
    Unicode lower() so that a search's ILIKE folds É to é as PostgreSQL's does."""
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    dbapi_connection.create_function(SQLITE_LOWER, 1, unicode_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(sqlite_busy_timeout_ms())}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute(f"PRAGMA synchronous = {sqlite_synchronous()}")  # one of three fixed words
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:  # pragma: no cover - exercised via every test
        sqlite_pragmas(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:  # pragma: no cover
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def canonical_json(value: Any) -> str:
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
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False,
                                                   "timeout": sqlite_busy_timeout_ms() / 1000}}
        if path is None:
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, json_serializer=canonical_json, **kwargs)
        _configure_sqlite(engine)
        return engine
    pool: dict[str, Any] = {"poolclass": NullPool} if use_nullpool() else {"pool_pre_ping": True}
    return create_engine(url, json_serializer=canonical_json, **pool)


def get_engine(url: str) -> Engine:
    """One engine per URL per process, so every call reuses its pooled connection."""
    url = normalize_url(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def on_dispose(hook: Callable[[], None]) -> None:
    """Call `hook()` whenever `dispose_engines` runs: what caches connections or per-engine objects
    (the SQLite fast path, the run stores) registers here, so this module needs to know none of them."""
    _dispose_hooks.append(hook)


def dispose_engines() -> None:
    """Close every cached engine and what hangs on them (tests, and after a fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
    for hook in list(_dispose_hooks):
        hook()


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
