"""Metric points: validated history rows and each key's latest value, written in one transaction.

The hot path (`write_metric_points`, `read_next_steps`) runs on the thread's own sqlite3 connection
on a SQLite file (store.db.sqlite_writer) and on a Core transaction elsewhere; the session-taking
functions (`log_metrics`, `next_steps`) serve callers that already hold one.
NaN is stored as NULL; `latest_metric` keeps the highest step, the last logged among equals.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.tracking.results import MetricPoint
from mlops_nb.services.tracking.runs import get_run_row, require_running
from mlops_nb.services.values import check_name, loaded_float, metric_step, metric_value, stored_float
from mlops_nb.store.db import immediate_transaction, sqlite_writer
from mlops_nb.store.models import LatestMetric, Metric


_POINT_COLUMNS = ("run_id", "key", "value", "step", "timestamp")


def metric_points(run_id: str, metrics: Mapping[str, Any], steps: Mapping[str, int],
                  timestamp: float | None = None) -> list[tuple]:
    """Validated history rows as (run_id, key, value, step, timestamp); NaN becomes None (NULL)."""
    ts = time.time() if timestamp is None else timestamp
    return [(run_id, check_name(k, "metric name"), stored_float(metric_value(k, v)), metric_step(k, steps[k]), ts)
            for k, v in metrics.items()]


def history_points(run_id: str, key: str, values: Iterable[Any], start_step: int,
                   timestamp: float | None = None) -> list[tuple]:
    """Validated rows of one key's curve at steps start_step, start_step + 1, ..."""
    check_name(key, "metric name")
    step = metric_step(key, start_step)
    ts = time.time() if timestamp is None else timestamp
    isnan = math.isnan
    points = []
    append = points.append
    for value in values:
        if type(value) is not float:
            value = metric_value(key, value)
        append((run_id, key, None if isnan(value) else value, step, ts))
        step += 1
    if points:
        metric_step(key, step - 1)  # the last step must fit the column too
    return points


def next_steps(*, session: Session, run_id: str, keys: Iterable[str]) -> dict[str, int]:
    """For each key, the step after the highest logged (0 for a new key)."""
    keys = list(keys)
    found = dict(session.execute(select(LatestMetric.key, LatestMetric.step).where(
        LatestMetric.run_id == run_id, LatestMetric.key.in_(keys))).all())
    return {k: found[k] + 1 if k in found else 0 for k in keys}


def read_next_steps(engine, run_id: str, keys: Iterable[str]) -> dict[str, int]:
    """`next_steps` in a short read of its own (the hot path's, see store.db.sqlite_writer)."""
    keys = list(keys)
    names = [k for k in keys if isinstance(k, str)]  # others fail validation before any write
    conn = sqlite_writer(engine)
    if conn is None:
        with Session(engine) as session:
            found = next_steps(session=session, run_id=run_id, keys=names)
        return {k: found.get(k, 0) for k in keys}
    found = dict(conn.execute(
        f'SELECT "key", step FROM latest_metric WHERE run_id = ? AND "key" IN ({", ".join("?" * len(names))})',
        [run_id, *names]).fetchall()) if names else {}
    return {k: found[k] + 1 if k in found else 0 for k in keys}


@lru_cache(maxsize=4)
def _latest_upsert_for(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(LatestMetric)
    return stmt.on_conflict_do_update(
        index_elements=["run_id", "key"],
        set_={"value": stmt.excluded.value, "step": stmt.excluded.step, "timestamp": stmt.excluded.timestamp},
        where=stmt.excluded.step >= LatestMetric.__table__.c.step)


def _latest_points(points: list[tuple]) -> list[tuple]:
    """One row per key: the highest step, the last logged among equals."""
    if len(points) == 1:
        return points
    latest: dict[str, tuple] = {}
    for point in points:
        current = latest.get(point[1])
        if current is None or point[3] >= current[3]:
            latest[point[1]] = point
    return list(latest.values())


def _insert_points(connection, points: list[tuple]) -> None:
    """History rows and each key's latest value through SQLAlchemy Core, in the caller's transaction
    (PostgreSQL, in-memory SQLite, or a Session's connection)."""
    rows = [dict(zip(_POINT_COLUMNS, p)) for p in points]
    connection.execute(Metric.__table__.insert(), rows)
    connection.execute(_latest_upsert_for(connection.dialect.name),
                       [dict(zip(_POINT_COLUMNS, p)) for p in _latest_points(points)])


_INSERT_METRIC = 'INSERT INTO metric (run_id, "key", value, step, timestamp) VALUES (?, ?, ?, ?, ?)'
_UPSERT_LATEST = ('INSERT INTO latest_metric (run_id, "key", value, step, timestamp) VALUES (?, ?, ?, ?, ?) '
                  'ON CONFLICT (run_id, "key") DO UPDATE SET value = excluded.value, step = excluded.step, '
                  'timestamp = excluded.timestamp WHERE excluded.step >= latest_metric.step')


def write_metric_points(engine, points: list[tuple]) -> None:
    """History plus each key's latest value, in one committed transaction of its own: once this
    returns, a killed process loses none of these points. Points come from `metric_points` or
    `history_points` (validated). On a SQLite file this is two statements on the thread's own
    sqlite3 connection between BEGIN IMMEDIATE and COMMIT; elsewhere a Core transaction."""
    if not points:
        return
    conn = sqlite_writer(engine)
    if conn is None:
        with engine.begin() as connection:
            _insert_points(connection, points)
        return
    latest = _latest_points(points)

    def write() -> None:
        if len(points) == 1:
            conn.execute(_INSERT_METRIC, points[0])
        else:
            conn.executemany(_INSERT_METRIC, points)
        if len(latest) == 1:
            conn.execute(_UPSERT_LATEST, latest[0])
        else:
            conn.executemany(_UPSERT_LATEST, latest)

    immediate_transaction(conn, write)


def log_metrics(*, session: Session, run_id: str, metrics: Mapping[str, Any], step: int | None = None,
                timestamp: float | None = None) -> dict[str, int]:
    """Log several metrics at one step (or each key's next step); returns the steps used."""
    if not isinstance(metrics, Mapping):
        raise InvalidInput(f"metrics must be a mapping of names to numbers, got {type(metrics).__name__}")
    if not metrics:
        return {}
    require_running(session=session, run_id=run_id)
    steps = ({k: step for k in metrics} if step is not None
             else next_steps(session=session, run_id=run_id, keys=metrics))
    _insert_points(session.connection(), metric_points(run_id, metrics, steps, timestamp))
    return steps


def metric_history(*, session: Session, run_id: str, key: str) -> list[MetricPoint]:
    get_run_row(session=session, run_id=run_id)
    rows = session.execute(select(Metric.key, Metric.value, Metric.step, Metric.timestamp)
                           .where(Metric.run_id == run_id, Metric.key == key)
                           .order_by(Metric.step, Metric.timestamp, Metric.id)).all()
    return [MetricPoint(key=r[0], value=loaded_float(r[1]), step=r[2], timestamp=r[3]) for r in rows]
