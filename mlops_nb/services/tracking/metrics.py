"""Metric points: validated history rows and each key's latest value, written in one transaction.

A point is (run_id, key, value, step, timestamp): the value a float (NaN and +-inf kept; NaN is
stored as NULL), the step a 64-bit integer, the timestamp epoch seconds. A point logged without a
step takes its key's next step (0 first). Each write is one committed transaction of the run store
(store.runs): once `write_metric_points` returns, a killed process loses none of its points. The
API keeps each key's next step in the process, so a point costs that one transaction and no read.

    >>> store = run_store(engine)
    >>> steps = tracking.read_next_steps(store=store, run_id=run_id, keys=["loss"])     # {"loss": 0}
    >>> tracking.write_metric_points(store=store, points=tracking.metric_points(run_id, {"loss": 0.4}, steps))
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlmodel import Session, col, select

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.tracking.results import MetricPoint
from mlops_nb.services.tracking.runs import get_run_row, require_running
from mlops_nb.services.values import check_name, metric_step, metric_value
from mlops_nb.store.models import Metric
from mlops_nb.store.run_store import run_store
from mlops_nb.store.runs import MetricRow, RunStore, loaded_float, stored_float


def metric_points(run_id: str, metrics: Mapping[str, Any], steps: Mapping[str, int],
                  timestamp: float | None = None) -> list[MetricRow]:
    """Validated points (run_id, key, value, step, timestamp), one per key of `metrics`, at the step
    `steps` gives that key; `timestamp` in epoch seconds (default now). NaN becomes None (NULL).

    Raises:
        InvalidInput: a bad metric name, a value that is not a real number (bool and text are
            refused), or a step that is not a 64-bit integer.
    """
    ts = time.time() if timestamp is None else timestamp
    return [(run_id, check_name(k, "metric name"), stored_float(metric_value(k, v)), metric_step(k, steps[k]), ts)
            for k, v in metrics.items()]


def history_points(run_id: str, key: str, values: Iterable[Any], start_step: int,
                   timestamp: float | None = None) -> list[MetricRow]:
    """Validated points of one key's curve at steps start_step, start_step + 1, ...; `timestamp` in
    epoch seconds (default now), the same for every point.

    Raises:
        InvalidInput: as `metric_points`, for any value or for the last step.
    """
    check_name(key, "metric name")
    step = metric_step(key, start_step)
    ts = time.time() if timestamp is None else timestamp
    isnan = math.isnan
    points: list[MetricRow] = []
    append = points.append
    for value in values:
        if type(value) is not float:
            value = metric_value(key, value)
        append((run_id, key, None if isnan(value) else value, step, ts))
        step += 1
    if points:
        metric_step(key, step - 1)  # the last step must fit the column too
    return points


def read_next_steps(*, store: RunStore, run_id: str, keys: Iterable[Any]) -> dict[str, int]:
    """For each of `keys`, the step after the highest the run has logged (0 for a new key), in a
    short read of its own. Keys that are not strings get 0 (they fail validation before any write)."""
    keys = list(keys)
    names = [k for k in keys if isinstance(k, str)]
    found = store.latest_steps(run_id=run_id, keys=names)
    return {k: found[k] + 1 if k in found else 0 for k in keys}


def write_metric_points(*, store: RunStore, points: Sequence[MetricRow]) -> None:
    """Store `points` (from `metric_points` or `history_points`: validated) in the history and raise
    each key's latest value, in one committed transaction (or in the caller's, for a store bound to a
    session). The latest value of a key is the one at its highest step, the last logged among equals."""
    if points:
        store.write_metric_points(points)


def log_metrics(*, session: Session, run_id: str, metrics: Mapping[str, Any], step: int | None = None,
                timestamp: float | None = None) -> dict[str, int]:
    """Log several metrics of a running run at one step (or each key's next step), in the session's
    transaction; returns the step used per key. `timestamp` in epoch seconds (default now).

    Raises:
        InvalidInput: `metrics` is not a mapping, a bad name, value or step, or the run has ended.
        NotFound: no such run.
    """
    if not isinstance(metrics, Mapping):
        raise InvalidInput(f"metrics must be a mapping of names to numbers, got {type(metrics).__name__}")
    if not metrics:
        return {}
    require_running(session=session, run_id=run_id)
    store = run_store(session)
    steps = (dict.fromkeys(metrics, step) if step is not None
             else read_next_steps(store=store, run_id=run_id, keys=metrics))
    write_metric_points(store=store, points=metric_points(run_id, metrics, steps, timestamp))
    return steps


def metric_history(*, session: Session, run_id: str, key: str) -> list[MetricPoint]:
    """Every point of the run's metric `key`, ordered by step, then time, then the order logged.

    Raises:
        NotFound: no such run.
    """
    get_run_row(session=session, run_id=run_id)
    rows = session.exec(select(Metric.key, Metric.value, Metric.step, Metric.timestamp)
                        .where(Metric.run_id == run_id, Metric.key == key)
                        .order_by(col(Metric.step), col(Metric.timestamp), col(Metric.id))).all()
    return [MetricPoint(key=r[0], value=loaded_float(r[1]), step=r[2], timestamp=r[3]) for r in rows]
