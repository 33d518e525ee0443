"""Searching runs with MLflow's filter syntax: a portable SQLAlchemy query, and on a SQLite file a
faster one on the hot path's sqlite3 connection that starts from the first condition's index.

tests/services/test_search_parity.py holds the two to the same answers.
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from mlops_nb.services.tracking.results import RunTable
from mlops_nb.services.tracking.filters import apply_filter
from mlops_nb.services.values import loaded_float
from mlops_nb.store.db import immediate_transaction, sqlite_writer
from mlops_nb.store.models import Experiment, LatestMetric, Param, Run, Tag


def search_runs(*, session: Session, project_id: int, experiment: str | None = None,
                filter: str | None = None, limit: int | None = None) -> RunTable:
    """Runs of a project (optionally one experiment) matching an MLflow-style filter, newest first."""
    conditions = [Experiment.project_id == project_id]
    if experiment is not None:
        conditions.append(Experiment.name == experiment)
    query = (select(Run.id, Run.name, Run.status, Experiment.name, Run.user, Run.start_time, Run.end_time)
             .select_from(Run).join(Experiment, Experiment.id == Run.experiment_id).where(and_(*conditions)))
    query = apply_filter(query, filter).order_by(Run.start_time.desc(), Run.id)
    if limit is not None:
        query = query.limit(limit)
    rows: dict[str, dict[str, Any]] = {}
    for rid, name, status, exp, user, start, end in session.execute(query).all():
        rows[rid] = {"run_id": rid, "name": name, "status": status, "experiment": exp, "user": user,
                     "start_time": start, "end_time": end}
    if rows:  # by the ids found (not a subquery re-running the filter once per table)
        ids = list(rows)
        for table, prefix, convert in ((Param, "params.", str), (LatestMetric, "metrics.", loaded_float),
                                       (Tag, "tags.", str)):
            for start in range(0, len(ids), 5000):
                for rid, key, value in session.execute(select(table.run_id, table.key, table.value)
                                                       .where(table.run_id.in_(ids[start:start + 5000]))):
                    rows[rid][prefix + key] = convert(value)
    title = f"Runs in {experiment}" if experiment else "Runs"
    return RunTable(rows=list(rows.values()), title=title + (f" where {filter}" if filter else ""))


def search_runs_sqlite(engine, *, project_id: int, experiment: str | None = None, filter: str | None = None,
                       limit: int | None = None, stale_s: float | None = None) -> RunTable | None:
    """`search_runs` on the raw path (the same SQL, on the thread's own sqlite3 connection, in one read
    transaction, without ORM rows); None when the engine is not a SQLite file. With `stale_s`, running
    runs whose heartbeat is older are first marked killed (SPEC §4), which costs one indexed read when
    none is (the UPDATE runs in a write transaction only when one is)."""
    conn = sqlite_writer(engine)
    if conn is None:
        return None
    from mlops_nb.services.tracking.filters import sqlite_filter

    with_clause, with_params, source, terms, term_params = sqlite_filter(filter)  # bad filters fail first
    if stale_s is not None:
        now = time.time()
        if conn.execute("SELECT 1 FROM run WHERE status = 'running' AND heartbeat_at < ? LIMIT 1",
                        (now - stale_s,)).fetchone() is not None:
            immediate_transaction(conn, lambda: conn.execute(
                "UPDATE run SET status = 'killed', end_time = heartbeat_at "
                "WHERE status = 'running' AND heartbeat_at < ?", (now - stale_s,)))
    sql = (f'{with_clause}SELECT run.id, run.name, run.status, experiment.name, run."user", run.start_time, '
           f'run.end_time FROM {source} JOIN experiment ON experiment.id = run.experiment_id '
           'WHERE experiment.project_id = ?')
    params = [*with_params, project_id]
    if experiment is not None:
        sql += " AND experiment.name = ?"
        params.append(experiment)
    sql += terms + " ORDER BY run.start_time DESC, run.id"
    params += term_params
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    conn.execute("BEGIN")  # one snapshot for the runs and their columns; a read takes no lock in WAL
    try:
        found = conn.execute(sql, params).fetchall()
        rows: dict[str, dict[str, Any]] = {
            r[0]: {"run_id": r[0], "name": r[1], "status": r[2], "experiment": r[3], "user": r[4],
                   "start_time": r[5], "end_time": r[6]} for r in found}
        ids = list(rows)
        for table, prefix in (("param", "params."), ("latest_metric", "metrics."), ("tag", "tags.")):
            for start in range(0, len(ids), 5000):
                chunk = ids[start:start + 5000]
                values = conn.execute(f'SELECT run_id, "key", value FROM {table} '
                                      f'WHERE run_id IN ({",".join("?" * len(chunk))})', chunk).fetchall()
                if table == "latest_metric":
                    for rid, key, value in values:
                        rows[rid][prefix + key] = _NAN if value is None else float(value)
                else:
                    for rid, key, value in values:
                        rows[rid][prefix + key] = value
    finally:
        conn.execute("COMMIT")
    title = f"Runs in {experiment}" if experiment else "Runs"
    return RunTable(rows=list(rows.values()), title=title + (f" where {filter}" if filter else ""))


_NAN = float("nan")


def count_runs(*, session: Session, project_id: int) -> int:
    return session.execute(select(func.count()).select_from(Run).join(Experiment)
                           .where(Experiment.project_id == project_id)).scalar_one()
