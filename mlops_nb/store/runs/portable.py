"""`PortableRunStore`: the run store through SQLAlchemy, for any database and inside a caller's session.

On an engine each write is its own transaction (`engine.begin()`: BEGIN IMMEDIATE on SQLite, see
store.db); given a connection (a Session's), every method runs in that connection's transaction
and commits nothing, so a service can make a run and the rows that refer to it in one transaction.

    >>> store = PortableRunStore(engine)
    >>> store.write_metric_points([(run_id, "auc", 0.8, 0, time.time())])
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine

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


class PortableRunStore:
    """The RunStore (see store.runs.types) on an engine, or on one open connection (`connection=`).

    Raises:
        TypeError: given both an engine and a connection, or neither.
    """

    def __init__(self, engine: Engine | None = None, *, connection: Connection | None = None) -> None:
        bind: Engine | Connection
        if connection is not None and engine is None:
            bind = connection
        elif engine is not None and connection is None:
            bind = engine
        else:
            raise TypeError("PortableRunStore takes an engine or a connection, not both or neither")
        self._engine = engine
        self._connection = connection
        self._dialect = bind.dialect.name

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """The caller's connection, else a transaction of our own, committed when the block ends."""
        if self._connection is not None:
            yield self._connection
            return
        assert self._engine is not None
        with self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """The caller's connection, else one of our own for the block (one snapshot on PostgreSQL)."""
        if self._connection is not None:
            yield self._connection
            return
        assert self._engine is not None
        with self._engine.connect() as conn:
            yield conn

    def insert_run(self, *, project_id: int, experiment: str, values: Mapping[str, Any],
                   tags: Mapping[str, str]) -> bool:
        """See RunStore.insert_run."""
        with self._writing() as conn:
            inserted = conn.execute(statements.insert_run(),
                                    {**values, "project_id": project_id, "experiment": experiment}).rowcount == 1
            if inserted and tags:
                conn.execute(statements.upsert_tag(self._dialect),
                             [{"run_id": values["id"], "key": k, "value": v} for k, v in tags.items()])
        return inserted

    def add_experiment(self, *, project_id: int, name: str, created_at: float) -> None:
        """See RunStore.add_experiment."""
        with self._writing() as conn:
            conn.execute(statements.add_experiment(self._dialect),
                         {"project_id": project_id, "name": name, "created_at": created_at})

    def end_run(self, *, run_id: str, status: str, end_time: float) -> bool:
        """See RunStore.end_run."""
        with self._writing() as conn:
            return conn.execute(statements.end_run(),
                                {"run_id": run_id, "status": status, "end_time": end_time}).rowcount == 1

    def run_state(self, *, run_id: str) -> RunState | None:
        """See RunStore.run_state."""
        with self._reading() as conn:
            row = conn.execute(statements.run_state(), {"run_id": run_id}).first()
        return None if row is None else RunState(*row)

    def write_tags(self, *, run_id: str, tags: Mapping[str, str]) -> None:
        """See RunStore.write_tags."""
        if not tags:
            return
        with self._writing() as conn:
            conn.execute(statements.upsert_tag(self._dialect),
                         [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()])

    def write_params(self, *, run_id: str, values: Mapping[str, str], check: ParamCheck) -> None:
        """See RunStore.write_params."""
        with self._writing() as conn:
            row = conn.execute(statements.run_state(), {"run_id": run_id}).first()
            existing: dict[str, str] = {key: value for key, value in conn.execute(
                statements.params_of(), {"run_id": run_id, "keys": list(values)})}
            new = check(None if row is None else RunState(*row), existing)
            if new:
                conn.execute(statements.insert_param(), [{"run_id": run_id, "key": k, "value": v} for k, v in new])

    def write_metric_points(self, points: Sequence[MetricRow]) -> None:
        """See RunStore.write_metric_points."""
        rows = [dict(zip(POINT_COLUMNS, point)) for point in points]
        latest = [dict(zip(POINT_COLUMNS, point)) for point in statements.latest_points(points)]
        with self._writing() as conn:
            conn.execute(statements.insert_metric(), rows)
            conn.execute(statements.upsert_latest(self._dialect), latest)

    def latest_steps(self, *, run_id: str, keys: Sequence[str]) -> dict[str, int]:
        """See RunStore.latest_steps."""
        if not keys:
            return {}
        with self._reading() as conn:
            return {key: step for key, step in conn.execute(
                statements.latest_steps(), {"run_id": run_id, "keys": list(keys)})}

    def mark_stale_runs(self, *, cutoff: float) -> int:
        """See RunStore.mark_stale_runs."""
        with self._reading() as conn:
            if conn.execute(statements.any_stale_run(), {"cutoff": cutoff}).first() is None:
                return 0  # the usual case: one indexed read, no write transaction
        with self._writing() as conn:
            return conn.execute(statements.mark_stale_runs(), {"cutoff": cutoff}).rowcount

    def search_runs(self, query: RunQuery) -> list[dict[str, Any]]:
        """See RunStore.search_runs."""
        with self._reading() as conn:
            return self._search(conn, query)

    def search_page(self, query: RunQuery) -> tuple[int, list[dict[str, Any]]]:
        """See RunStore.search_page."""
        with self._reading() as conn, self._snapshot(conn):
            params = search_params(query, self._dialect)
            total = int(conn.execute(count_statement(shape_of(query), self._dialect), params).scalar_one())
            return total, self._search(conn, query)

    @contextmanager
    def _snapshot(self, conn: Connection) -> Iterator[None]:
        """The block's reads in one snapshot: on our own PostgreSQL connection a REPEATABLE READ
        transaction (READ COMMITTED would let a run logged between the count and the page show in one
        and not the other); SQLite's one read transaction is one snapshot already."""
        if self._connection is None and self._dialect == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield

    def _search(self, conn: Connection, query: RunQuery) -> list[dict[str, Any]]:
        rows = run_rows(conn.execute(search_statement(shape_of(query), self._dialect),
                                     search_params(query, self._dialect)))
        ids = list(rows)
        for kind in KEYED_TABLES:
            for chunk in id_chunks(ids):
                add_columns(rows, kind, conn.execute(statements.keyed_values(kind), {"ids": chunk}))
        return list(rows.values())
