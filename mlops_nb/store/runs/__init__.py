"""The run store: where experiment tracking writes and searches runs, params, tags and metric points.

Each job's SQL is written once, in SQLAlchemy Core (`statements`, `search`), behind one interface,
`RunStore` (`types`), with two implementations of the same methods: `PortableRunStore` (SQLAlchemy:
PostgreSQL, in-memory SQLite, or a caller's session) and, on a SQLite file, the fast path
`store.sqlite_fast.FastRunStore` (the same statements compiled once, run on a plain sqlite3
connection). `run_store` chooses once per engine, so no caller ever branches on the database.

    >>> from mlops_nb.store.runs import run_store
    >>> store = run_store(engine)                 # cached per engine: fast on a SQLite file
    >>> store = run_store(session)                # inside the session's transaction
    >>> store.latest_steps(run_id=run_id, keys=["loss"])
"""
from __future__ import annotations

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from mlops_nb.store.db import on_dispose, sqlite_path
from mlops_nb.store.runs.portable import PortableRunStore
from mlops_nb.store.runs.search import ATTRIBUTES, NUMERIC_ATTRIBUTES
from mlops_nb.store.runs.types import (
    NEW_RUN_COLUMNS,
    POINT_COLUMNS,
    Condition,
    MetricRow,
    ParamCheck,
    RunQuery,
    RunState,
    RunStore,
    loaded_float,
    stored_float,
)

_stores: dict[Engine, RunStore] = {}


def run_store(bind: Engine | Connection | Session) -> RunStore:
    """The run store for `bind`. For an engine it is chosen once and cached: the SQLite fast path
    for a SQLite file, else the portable store, each write its own committed transaction. For a
    session or connection it is a portable store inside that transaction (nothing is committed)."""
    if isinstance(bind, Engine):
        store = _stores.get(bind)
        if store is None:
            store = _stores[bind] = _for_engine(bind)
        return store
    if isinstance(bind, Session):
        bind.flush()  # the store's statements see what the session holds, as its own queries would
        return PortableRunStore(connection=bind.connection())
    return PortableRunStore(connection=bind)


def _for_engine(engine: Engine) -> RunStore:
    path = sqlite_path(str(engine.url)) if engine.dialect.name == "sqlite" else None
    if path is None:
        return PortableRunStore(engine)
    from mlops_nb.store.sqlite_fast import FastRunStore

    return FastRunStore(engine, path)


on_dispose(_stores.clear)

__all__ = ["ATTRIBUTES", "NEW_RUN_COLUMNS", "NUMERIC_ATTRIBUTES", "POINT_COLUMNS", "Condition", "MetricRow",
           "ParamCheck", "PortableRunStore", "RunQuery", "RunState", "RunStore", "loaded_float", "run_store",
           "stored_float"]
