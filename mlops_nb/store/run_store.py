"""Which run store a bind gets: the SQLite fast path for a SQLite file, else the portable store.

Kept out of `store.runs` (whose statements and records the fast path imports) so the two packages
do not import each other.

    >>> from mlops_nb.store.run_store import run_store
    >>> store = run_store(engine)                 # cached per engine: fast on a SQLite file
    >>> store = run_store(session)                # inside the session's transaction
"""
from __future__ import annotations

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from mlops_nb.store.db import on_dispose, sqlite_path
from mlops_nb.store.runs import PortableRunStore, RunStore
from mlops_nb.store.sqlite_fast import FastRunStore

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
    return FastRunStore(engine, path)


on_dispose(_stores.clear)


__all__ = ["run_store"]
