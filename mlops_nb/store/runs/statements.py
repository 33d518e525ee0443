"""Every write and read of experiment tracking, written once in SQLAlchemy Core.

`PortableRunStore` executes these through SQLAlchemy; `sqlite_fast` compiles each once with the
engine's SQLite dialect and runs the text on its own sqlite3 connection. So a rule that lives in SQL
(the latest value keeps the highest step; a stale run ends at its last heartbeat) is written here
and nowhere else. Bind parameters are named; the names are the contract with both stores: an
insert's binds are its columns (POINT_COLUMNS, in that order, for metric points), the others say
what they hold. The `ON CONFLICT` statements differ by dialect (SQLite and PostgreSQL).

    >>> from mlops_nb.store.runs import statements
    >>> print(statements.upsert_latest("sqlite"))      # INSERT INTO latest_metric ... ON CONFLICT ...
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    Insert,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnClause
from sqlmodel import SQLModel

from mlops_nb.store import models as _models  # noqa: F401  (defines the tables below)
from mlops_nb.store.runs.types import NEW_RUN_COLUMNS, POINT_COLUMNS, MetricRow

_TABLES = SQLModel.metadata.tables
RUN: Table = _TABLES["run"]
EXPERIMENT: Table = _TABLES["experiment"]
PARAM: Table = _TABLES["param"]
TAG: Table = _TABLES["tag"]
METRIC: Table = _TABLES["metric"]
LATEST_METRIC: Table = _TABLES["latest_metric"]
# the tables of a run's keyed values (one row per run and key), by their prefix in the filter syntax
KEYED_TABLES: dict[str, Table] = {"params": PARAM, "metrics": LATEST_METRIC, "tags": TAG}
RUN_INPUT: Table = _TABLES["run_input"]
DATASET_VERSION: Table = _TABLES["dataset_version"]


def _dialect_insert(dialect: str, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that can take an ON CONFLICT clause: PostgreSQL's for "postgresql", else SQLite's."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# --- runs and experiments ----------------------------------------------------------------------------

@cache
def insert_run() -> Insert:
    """A running run from the NEW_RUN_COLUMNS binds, in the experiment named :experiment of project
    :project_id, found inside the INSERT: no row is inserted when that experiment does not exist."""
    given = {name: bindparam(name, type_=RUN.c[name].type) for name in NEW_RUN_COLUMNS}
    columns: dict[str, Any] = {
        **given, "experiment_id": EXPERIMENT.c.id, "status": literal("running"), "end_time": null()}
    names = list(columns)
    source = (select(*columns.values())
              .where(EXPERIMENT.c.project_id == bindparam("project_id"), EXPERIMENT.c.name == bindparam("experiment")))
    # SQLAlchemy keeps an INSERT's rowcount (how the caller learns whether the experiment existed) only when asked
    return insert(RUN).from_select(names, source).execution_options(preserve_rowcount=True)


@cache
def add_experiment(dialect: str) -> Insert:
    """Experiment :name of project :project_id created at :created_at, unless it exists already."""
    stmt = _dialect_insert(dialect, EXPERIMENT).values(
        project_id=bindparam("project_id"), name=bindparam("name"), created_at=bindparam("created_at"))
    return stmt.on_conflict_do_nothing(index_elements=[EXPERIMENT.c.project_id, EXPERIMENT.c.name])


STALE = "stale"  # run.end_reason of a run a reader marked killed (see mark_stale_runs, revive_run)
_RUNNING: ColumnClause[str] = literal_column("'running'")  # written into the SQL: the statements below take only their named binds


@cache
def end_run() -> Update:
    """Run :run_id, if still running or only marked killed by a reader for a stale heartbeat, ends
    with :status at :end_time (an explicit end: end_reason cleared, so it is never revived)."""
    marked_stale = and_(RUN.c.status == literal_column("'killed'"), RUN.c.end_reason == literal_column(f"'{STALE}'"))
    return (update(RUN).where(RUN.c.id == bindparam("run_id"), or_(RUN.c.status == _RUNNING, marked_stale))
            .values(status=bindparam("status"), end_time=bindparam("end_time"), end_reason=null()))


@cache
def run_state() -> Select[Any]:
    """The name, status, end time and end reason of run :run_id."""
    return select(RUN.c.name, RUN.c.status, RUN.c.end_time, RUN.c.end_reason).where(RUN.c.id == bindparam("run_id"))


@cache
def any_stale_run() -> Select[Any]:
    """One running run whose heartbeat is older than :cutoff, if any (an index probe)."""
    return (select(RUN.c.id).where(RUN.c.status == "running", RUN.c.heartbeat_at < bindparam("cutoff"))
            .limit(1))


@cache
def mark_stale_runs() -> Update:
    """Running runs whose heartbeat is older than :cutoff are killed, ending at their last heartbeat,
    with end_reason 'stale' (so their owner can tell this from an explicit end, and revive them)."""
    return (update(RUN).where(RUN.c.status == "running", RUN.c.heartbeat_at < bindparam("cutoff"))
            .values(status="killed", end_time=RUN.c.heartbeat_at, end_reason=STALE))


@cache
def revive_run() -> Update:
    """Run :run_id, if a reader marked it killed for a stale heartbeat (and nothing ended it since),
    is running again with its heartbeat at :now; an explicitly ended run is never touched."""
    return (update(RUN).where(RUN.c.id == bindparam("run_id"), RUN.c.status == "killed",
                              RUN.c.end_reason == STALE)
            .values(status=_RUNNING, end_time=null(), end_reason=null(), heartbeat_at=bindparam("now")))


# --- tags and params -----------------------------------------------------------------------------

@cache
def upsert_tag(dialect: str) -> Insert:
    """Tag :key of run :run_id set to :value, replacing the value it had."""
    stmt = _dialect_insert(dialect, TAG).values(
        run_id=bindparam("run_id"), key=bindparam("key"), value=bindparam("value"))
    return stmt.on_conflict_do_update(index_elements=[TAG.c.run_id, TAG.c.key],
                                      set_={"value": stmt.excluded.value})


@cache
def params_of() -> Select[Any]:
    """(key, value) of the params of run :run_id whose keys are in the list :keys."""
    return select(PARAM.c.key, PARAM.c.value).where(
        PARAM.c.run_id == bindparam("run_id"), PARAM.c.key.in_(bindparam("keys", expanding=True)))


@cache
def insert_param() -> Insert:
    """Param :key = :value of run :run_id."""
    return insert(PARAM).values(run_id=bindparam("run_id"), key=bindparam("key"), value=bindparam("value"))


# --- metric points -------------------------------------------------------------------------------

@cache
def insert_metric() -> Insert:
    """One point of a metric's history; its binds are POINT_COLUMNS."""
    return insert(METRIC).values({name: bindparam(name) for name in POINT_COLUMNS})


@cache
def upsert_latest(dialect: str) -> Insert:
    """A key's latest value: the point given (POINT_COLUMNS binds) replaces the stored one unless
    that one has a higher step; among equal steps the last written wins."""
    stmt = _dialect_insert(dialect, LATEST_METRIC).values({name: bindparam(name) for name in POINT_COLUMNS})
    return stmt.on_conflict_do_update(
        index_elements=[LATEST_METRIC.c.run_id, LATEST_METRIC.c.key],
        set_={"value": stmt.excluded.value, "step": stmt.excluded.step, "timestamp": stmt.excluded.timestamp},
        where=stmt.excluded.step >= LATEST_METRIC.c.step)


@cache
def latest_steps() -> Select[Any]:
    """(key, highest step) of run :run_id for the keys in the list :keys that it has logged."""
    return select(LATEST_METRIC.c.key, LATEST_METRIC.c.step).where(
        LATEST_METRIC.c.run_id == bindparam("run_id"), LATEST_METRIC.c.key.in_(bindparam("keys", expanding=True)))


@cache
def keyed_values(kind: str) -> Select[Any]:
    """(run_id, key, value) of the `kind` (params, metrics, tags) of the runs in the list :ids."""
    table = KEYED_TABLES[kind]
    return select(table.c.run_id, table.c.key, table.c.value).where(table.c.run_id.in_(bindparam("ids", expanding=True)))


def latest_points(points: Sequence[MetricRow]) -> Sequence[MetricRow]:
    """One point per key of a batch of MetricRow tuples: the highest step, the last given among
    equals (what `upsert_latest` would keep; PostgreSQL refuses one statement touching a row twice)."""
    if len(points) == 1:
        return points
    latest: dict[str, MetricRow] = {}
    for point in points:
        current = latest.get(point[1])
        if current is None or point[3] >= current[3]:
            latest[point[1]] = point
    return list(latest.values())
