"""The run store: where experiment tracking writes and searches runs, params, tags and metric points.

Each job's SQL is written once, in SQLAlchemy Core (`statements`, `search`), behind one interface,
`RunStore` (`types`), with two implementations of the same methods: `PortableRunStore` (SQLAlchemy:
PostgreSQL, in-memory SQLite, or a caller's session) and, on a SQLite file, the fast path
`store.sqlite_fast.FastRunStore` (the same statements compiled once, run on a plain sqlite3
connection). `store.run_store.run_store` chooses once per engine, so no caller ever branches on the
database (it lives beside this package, which the fast path imports, not in it).

    >>> from mlops_nb.store.run_store import run_store
    >>> store = run_store(engine)                 # cached per engine: fast on a SQLite file
    >>> store = run_store(session)                # inside the session's transaction
    >>> store.latest_steps(run_id=run_id, keys=["loss"])
"""
from __future__ import annotations

from mlops_nb.store.runs.portable import PortableRunStore
from mlops_nb.store.runs.search import ATTRIBUTES, NUMERIC_ATTRIBUTES
from mlops_nb.store.runs.types import (
    NEW_RUN_COLUMNS,
    ORDER_ATTRIBUTES,
    POINT_COLUMNS,
    Condition,
    MetricRow,
    ParamCheck,
    RunOrder,
    RunQuery,
    RunState,
    RunStore,
    loaded_float,
    stored_float,
)

__all__ = ["ATTRIBUTES", "NEW_RUN_COLUMNS", "NUMERIC_ATTRIBUTES", "ORDER_ATTRIBUTES", "POINT_COLUMNS", "Condition",
           "MetricRow", "ParamCheck", "PortableRunStore", "RunOrder", "RunQuery", "RunState", "RunStore", "loaded_float",
           "stored_float"]
