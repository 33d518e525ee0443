"""`FastRunStore`: the run store on a SQLite file through plain sqlite3, the notebook's hot path.

The same methods as `store.runs.PortableRunStore`, running the same statements (store.runs), each
compiled once with the engine's dialect (see compiled.py), on this thread's own connection
(connection.py): no ORM, no SQL built per call. A metric point is one BEGIN IMMEDIATE, two
statements and a COMMIT (WAL, synchronous NORMAL: once it returns, a killed process loses nothing).

    >>> store = FastRunStore(engine, Path("/home/dana/.mlops/mlops.db"))
    >>> store.write_metric_points([(run_id, "loss", 0.41, 3, time.time())])
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.sql import ClauseElement

from mlops_nb.store.runs import statements
from mlops_nb.store.runs.search import (
    add_columns,
    count_statement,
    id_chunks,
    run_rows,
    search_params,
    search_statement,
    shape_of,
)
from mlops_nb.store.runs.statements import KEYED_TABLES
from mlops_nb.store.runs.types import POINT_COLUMNS, MetricRow, ParamCheck, RunQuery, RunState
from mlops_nb.store.sqlite_fast.compiled import SqliteStatement
from mlops_nb.store.sqlite_fast.connection import connection_for, immediate_transaction

T = TypeVar("T")
_SEARCH_CACHE = 256  # compiled search and count statements kept per store (one per shape of filter)
_KEYED_COLUMNS = ("run_id", "key", "value")  # a param's or tag's binds


class FastRunStore:
    """The RunStore (see store.runs.types) of the SQLite file at `path`, the database of `engine`.

    Raises:
        RuntimeError: when built, if a statement no longer takes its values as the hot path passes
            them (a SQLAlchemy upgrade changed how it compiles): caught by the test suite, never at a user.
    """

    def __init__(self, engine: Engine, path: Path) -> None:
        self._engine = engine
        self._path = path
        self._dialect = engine.dialect
        self._compiled: dict[ClauseElement, SqliteStatement] = {}
        self._searches: dict[Hashable, SqliteStatement] = {}
        # statements run many times per call take tuples as they are (see _positional)
        self._insert_metric = self._positional(statements.insert_metric(), POINT_COLUMNS, {"value", "timestamp"})
        self._upsert_latest = self._positional(statements.upsert_latest("sqlite"), POINT_COLUMNS,
                                               {"value", "timestamp"})
        self._insert_param = self._positional(statements.insert_param(), _KEYED_COLUMNS)
        self._upsert_tag = self._positional(statements.upsert_tag("sqlite"), _KEYED_COLUMNS)
        self._run_state = self._positional(statements.run_state(), ("run_id",))
        self._end_run = self._positional(statements.end_run(), ("status", "end_time", "run_id"), {"end_time"})
        # (run_id, keys...): a run's rows for a list of keys
        self._params_of = self._keyed_list(statements.params_of())
        self._latest_steps = self._keyed_list(statements.latest_steps())

    def _keyed_list(self, statement: ClauseElement) -> SqliteStatement:
        compiled = self._statement(statement)
        if compiled.names != ("run_id", "keys") or compiled.conversions:
            raise RuntimeError(f"{compiled.sql!r} does not take (run_id, keys...) as they are")
        return compiled

    def _positional(self, statement: ClauseElement, columns: tuple[str, ...],
                    floats: set[str] | frozenset[str] = frozenset()) -> str:
        """The text of a statement that takes tuples of `columns` as they are: its binds must be those
        columns in that order, and the only conversion the dialect would make is float() of the
        `floats` ones, which the callers' tuples hold as floats already (MetricRow)."""
        compiled = self._statement(statement)
        if compiled.names != columns or not compiled.conversions <= floats:
            raise RuntimeError(f"{compiled.sql!r} does not take ({', '.join(columns)}) tuples as they are")
        return compiled.sql

    def _statement(self, statement: ClauseElement) -> SqliteStatement:
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = SqliteStatement(statement, self._dialect)
        return compiled

    def _connection(self) -> sqlite3.Connection:
        return connection_for(self._engine, self._path)

    def insert_run(self, *, project_id: int, experiment: str, values: Mapping[str, Any],
                   tags: Mapping[str, str]) -> bool:
        """See RunStore.insert_run."""
        conn = self._connection()
        sql, params = self._statement(statements.insert_run()).bind(
            values, {"project_id": project_id, "experiment": experiment})
        if not tags:  # the INSERT is the whole transaction (autocommit: one statement is atomic)
            return bool(conn.execute(sql, params).rowcount == 1)
        rows = [(values["id"], k, v) for k, v in tags.items()]

        def work() -> bool:
            if conn.execute(sql, params).rowcount != 1:
                return False
            conn.executemany(self._upsert_tag, rows)
            return True

        return immediate_transaction(conn, work)

    def add_experiment(self, *, project_id: int, name: str, created_at: float) -> None:
        """See RunStore.add_experiment."""
        self._connection().execute(*self._statement(statements.add_experiment("sqlite")).bind(
            {"project_id": project_id, "name": name, "created_at": created_at}))

    def end_run(self, *, run_id: str, status: str, end_time: float) -> bool:
        """See RunStore.end_run."""
        # one statement: its own transaction
        return bool(self._connection().execute(self._end_run, (status, end_time, run_id)).rowcount == 1)

    def run_state(self, *, run_id: str) -> RunState | None:
        """See RunStore.run_state."""
        row = self._connection().execute(self._run_state, (run_id,)).fetchone()
        return None if row is None else RunState(*row)

    def write_tags(self, *, run_id: str, tags: Mapping[str, str]) -> None:
        """See RunStore.write_tags."""
        if not tags:
            return
        conn = self._connection()
        rows = [(run_id, k, v) for k, v in tags.items()]
        immediate_transaction(conn, lambda: conn.executemany(self._upsert_tag, rows))

    def write_params(self, *, run_id: str, values: Mapping[str, str], check: ParamCheck) -> None:
        """See RunStore.write_params."""
        conn = self._connection()
        stored = self._params_of.expanded(len(values))

        def work() -> None:
            row = conn.execute(self._run_state, (run_id,)).fetchone()
            existing = dict(conn.execute(stored, (run_id, *values)).fetchall())
            new = check(None if row is None else RunState(*row), existing)
            if new:
                conn.executemany(self._insert_param, [(run_id, k, v) for k, v in new])

        immediate_transaction(conn, work)

    def write_metric_points(self, points: Sequence[MetricRow]) -> None:
        """See RunStore.write_metric_points."""
        conn = self._connection()
        latest = statements.latest_points(points)
        insert, upsert = self._insert_metric, self._upsert_latest

        def work() -> None:
            if len(points) == 1:
                conn.execute(insert, points[0])
            else:
                conn.executemany(insert, points)
            if len(latest) == 1:
                conn.execute(upsert, latest[0])
            else:
                conn.executemany(upsert, latest)

        immediate_transaction(conn, work)

    def latest_steps(self, *, run_id: str, keys: Sequence[str]) -> dict[str, int]:
        """See RunStore.latest_steps."""
        if not keys:
            return {}
        found = self._connection().execute(self._latest_steps.expanded(len(keys)), (run_id, *keys))
        return dict(found.fetchall())

    def mark_stale_runs(self, *, cutoff: float) -> int:
        """See RunStore.mark_stale_runs."""
        conn = self._connection()
        if conn.execute(*self._statement(statements.any_stale_run()).bind({"cutoff": cutoff})).fetchone() is None:
            return 0  # the usual case: one indexed read, no write transaction
        sql, params = self._statement(statements.mark_stale_runs()).bind({"cutoff": cutoff})
        return int(immediate_transaction(conn, lambda: conn.execute(sql, params).rowcount))

    def search_runs(self, query: RunQuery) -> list[dict[str, Any]]:
        """See RunStore.search_runs."""
        return self._read_snapshot(lambda conn: self._search(conn, query))

    def search_page(self, query: RunQuery) -> tuple[int, list[dict[str, Any]]]:
        """See RunStore.search_page."""
        shape = shape_of(query)
        counting = self._cached_search(("count", shape), lambda: count_statement(shape, "sqlite"))

        def read(conn: sqlite3.Connection) -> tuple[int, list[dict[str, Any]]]:
            (total,) = conn.execute(*counting.bind(search_params(query, "sqlite"))).fetchone()
            return int(total), self._search(conn, query)

        return self._read_snapshot(read)

    def _cached_search(self, key: Hashable, statement: Callable[[], ClauseElement]) -> SqliteStatement:
        compiled = self._searches.get(key)
        if compiled is None:
            if len(self._searches) >= _SEARCH_CACHE:
                self._searches.clear()
            compiled = self._searches[key] = SqliteStatement(statement(), self._dialect)
        return compiled

    def _read_snapshot(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        conn.execute("BEGIN")  # one snapshot for the runs and their columns; a read takes no lock in WAL
        try:
            return work(conn)
        finally:
            conn.execute("COMMIT")

    def _search(self, conn: sqlite3.Connection, query: RunQuery) -> list[dict[str, Any]]:
        shape = shape_of(query)
        compiled = self._cached_search(shape, lambda: search_statement(shape, "sqlite"))
        # fetchall: stepping the cursor a row at a time from Python costs ~5% of a search
        rows = run_rows(conn.execute(*compiled.bind(search_params(query, "sqlite"))).fetchall())
        ids = list(rows)
        for kind in KEYED_TABLES:
            keyed = self._statement(statements.keyed_values(kind))
            for chunk in id_chunks(ids):
                add_columns(rows, kind, conn.execute(*keyed.bind({"ids": chunk})).fetchall())
        return list(rows.values())
