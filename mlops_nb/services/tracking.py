"""Experiment tracking: projects, experiments, runs, params, metric history and tags.

Every function takes the caller's session (one transaction per call from the API). Metric points
land in the history table and, in the same transaction, in `latest_metric`, which search reads.
"""
from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.services.results import ArtifactPublic, MetricPoint, RunPublic, RunTable
from mlops_nb.services.run_filter import apply_filter
from mlops_nb.services.validation_rules import (
    check_name,
    loaded_float,
    metric_step,
    metric_value,
    param_text,
    stored_float,
)
from mlops_nb.store.db import sqlite_writer
from mlops_nb.store.models import (
    Artifact,
    DatasetVersion,
    Experiment,
    LatestMetric,
    Metric,
    Param,
    Project,
    Run,
    RunInput,
    Tag,
)

END_STATUSES = ("finished", "failed", "killed")


# --- projects and experiments ----------------------------------------------------------------------

def _get_or_insert(session: Session, query, make):
    """The row `query` finds, else a new one from `make()`. Two processes creating the same name at
    once (several notebooks opening a new store on PostgreSQL) both end with the one row: the loser's
    insert fails on the unique constraint inside a savepoint, and it reads the winner's row."""
    row = session.execute(query).scalars().first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = make()
            session.add(row)
    except IntegrityError:
        row = session.execute(query).scalars().first()
        if row is None:
            raise
    return row


def get_or_create_project(*, session: Session, name: str) -> Project:
    check_name(name, "project name")
    query = select(Project).where(Project.name == name)
    return _get_or_insert(session, query, lambda: Project(name=name, created_at=time.time()))


def get_project(*, session: Session, name: str) -> Project:
    project = session.execute(select(Project).where(Project.name == name)).scalars().first()
    if project is None:
        known = session.execute(select(Project.name).order_by(Project.name).limit(20)).scalars().all()
        raise NotFound(f"project {name!r} does not exist; projects: {', '.join(known) or 'none yet'}")
    return project


def get_or_create_experiment(*, session: Session, project_id: int, name: str) -> Experiment:
    check_name(name, "experiment name")
    query = select(Experiment).where(Experiment.project_id == project_id, Experiment.name == name)
    return _get_or_insert(session, query,
                          lambda: Experiment(project_id=project_id, name=name, created_at=time.time()))


def get_experiment(*, session: Session, project_id: int, name: str) -> Experiment:
    experiment = session.execute(select(Experiment).where(
        Experiment.project_id == project_id, Experiment.name == name)).scalars().first()
    if experiment is None:
        known = session.execute(select(Experiment.name).where(Experiment.project_id == project_id)
                             .order_by(Experiment.name).limit(20)).scalars().all()
        raise NotFound(f"experiment {name!r} does not exist in this project; experiments: "
                       f"{', '.join(known) or 'none yet'} (start a run to create one)")
    return experiment


# --- runs ------------------------------------------------------------------------------------------

def create_run(*, session: Session, experiment_id: int, name: str | None, user: str,
               context: Mapping[str, Any] | None = None) -> Run:
    """A new running run; `context` holds the captured environment (see services.environment)."""
    run_id = uuid.uuid4().hex
    if name is None:
        name = f"run-{run_id[:8]}"
    check_name(name, "run name")
    now = time.time()
    run = Run(id=run_id, experiment_id=experiment_id, name=name, user=user, status="running",
              start_time=now, heartbeat_at=now, **dict(context or {}))
    session.add(run)
    session.flush()
    return run


def get_run_row(*, session: Session, run_id: str) -> Run:
    run = session.get(Run, run_id) if isinstance(run_id, str) else None
    if run is None:
        raise NotFound(f"run {run_id!r} does not exist; list runs with mlops.runs() or %mlops runs")
    return run


def require_running(*, session: Session, run_id: str) -> Run:
    run = get_run_row(session=session, run_id=run_id)
    if run.status != "running":
        raise InvalidInput(f"run {run.name!r} ({run_id}) is {run.status}; start a new run to log more")
    return run


def end_run(*, session: Session, run_id: str, status: str = "finished") -> Run:
    if status not in END_STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(END_STATUSES)}")
    run = get_run_row(session=session, run_id=run_id)
    if run.status == "running":
        run.status = status
        run.end_time = time.time()
        session.add(run)
        session.flush()
    return run


# --- the run lifecycle's raw path ------------------------------------------------------------------
# On a SQLite file, start_run / log_params / end_run are each one short transaction on the thread's
# own sqlite3 connection (store.db.sqlite_writer), like log_metric: no ORM Session, no SQL compiled
# per call. These return None (or False) when the engine is not a SQLite file; the API then takes
# the ORM functions above, which do the same in a Session.

# one statement: the run's experiment is looked up by (project, name) inside the INSERT; no row
# inserted means the experiment does not exist yet
_INSERT_RUN = ('INSERT INTO run (id, experiment_id, name, status, "user", start_time, end_time, heartbeat_at, '
               'host, pid, git_commit, git_dirty, notebook_path, code_hash, cell_hashes, cell_source, '
               'python_version, packages) SELECT ?, id, ?, \'running\', ?, ?, NULL, ?, ?, ?, ?, ?, ?, NULL, '
               '\'null\', NULL, ?, ? FROM experiment WHERE project_id = ? AND name = ?')
_UPSERT_TAG = ('INSERT INTO tag (run_id, "key", value) VALUES (?, ?, ?) '
               'ON CONFLICT (run_id, "key") DO UPDATE SET value = excluded.value')
_END_RUN = "UPDATE run SET status = ?, end_time = ? WHERE id = ? AND status = 'running'"
_RUN_STATE = "SELECT name, status FROM run WHERE id = ?"
_INSERT_PARAM = 'INSERT INTO param (run_id, "key", value) VALUES (?, ?, ?)'


_tuned: dict[int, Any] = {}  # the raw connections given a larger page cache (held, so ids stay unique)
SQLITE_CACHE_KIB = 32768


def _writer(engine):
    """The thread's raw sqlite3 connection (store.db.sqlite_writer), with a page cache of up to
    32 MiB instead of SQLite's 2 MiB: a search probes run, param and metric rows by random run id,
    and with the small cache most probes of a 10,000-run store miss it (~2x slower). The cache
    stays valid across this connection's own writes, so runs just logged are searched from memory."""
    conn = sqlite_writer(engine)
    if conn is not None and id(conn) not in _tuned:
        conn.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        _tuned[id(conn)] = conn
    return conn


def _in_transaction(conn, work):
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work()
        conn.execute("COMMIT")
        return result
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def tag_values(tags: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise InvalidInput(f"tags must be a mapping, got {type(tags).__name__}")
    return {check_name(k, "tag name"): param_text(k, v, "tag") for k, v in tags.items()}


def insert_run(engine, *, project_id: int, experiment: str, name: str | None, user: str,
               context: Mapping[str, Any], tags: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """Create a running run (and its tags) in one transaction on the raw path; returns its columns,
    or None when the engine is not a SQLite file or the experiment does not exist yet (the caller
    then takes the ORM path, which creates it)."""
    conn = _writer(engine)
    if conn is None:
        return None
    check_name(experiment, "experiment name")
    run_id = uuid.uuid4().hex
    if name is None:
        name = f"run-{run_id[:8]}"
    check_name(name, "run name")
    values = tag_values(tags) if tags else {}
    from mlops_nb.store.db import canonical_json

    ctx = dict(context)
    packages = ctx.get("packages")
    git_dirty = ctx.get("git_dirty")

    now = time.time()
    row = (run_id, name, user, now, now, ctx.get("host"), ctx.get("pid"), ctx.get("git_commit"),
           None if git_dirty is None else int(bool(git_dirty)), ctx.get("notebook_path"),
           ctx.get("python_version"), canonical_json(packages), project_id, experiment)

    def work():
        if conn.execute(_INSERT_RUN, row).rowcount != 1:
            return False
        if values:
            conn.executemany(_UPSERT_TAG, [(run_id, k, v) for k, v in values.items()])
        return True

    # without tags the INSERT is the whole transaction (autocommit: one statement is atomic)
    inserted = _in_transaction(conn, work) if values else conn.execute(_INSERT_RUN, row).rowcount == 1
    if not inserted:
        return None
    return {"id": run_id, "name": name, "start_time": now, "heartbeat_at": now, "tags": values}


def finish_run(engine, *, run_id: str, status: str) -> float | None:
    """End a running run on the raw path; its end time, or None when the engine is not a SQLite file
    or the run was not running (the caller then reads what the store has)."""
    if status not in END_STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(END_STATUSES)}")
    conn = _writer(engine)
    if conn is None:
        return None
    now = time.time()
    changed = conn.execute(_END_RUN, (status, now, run_id)).rowcount  # one statement: its own transaction
    return now if changed == 1 else None


def write_params(engine, *, run_id: str, params: Mapping[str, Any]) -> bool:
    """`log_params` on the raw path; False when the engine is not a SQLite file."""
    conn = _writer(engine)
    if conn is None:
        return False
    values = _param_values(params)
    if not values:
        return True

    def work():
        state = conn.execute(_RUN_STATE, (run_id,)).fetchone()
        if state is None:
            raise NotFound(f"run {run_id!r} does not exist; list runs with mlops.runs() or %mlops runs")
        if state[1] != "running":
            raise InvalidInput(f"run {state[0]!r} ({run_id}) is {state[1]}; start a new run to log more")
        keys = list(values)
        existing = dict(conn.execute(
            f'SELECT "key", value FROM param WHERE run_id = ? AND "key" IN ({", ".join("?" * len(keys))})',
            [run_id, *keys]).fetchall())
        new = _new_params(existing, values)
        if new:
            conn.executemany(_INSERT_PARAM, [(run_id, k, v) for k, v in new])

    _in_transaction(conn, work)
    return True


def any_stale_run(engine, *, stale_s: float, now: float | None = None) -> bool:
    """Whether some running run's heartbeat is older than `stale_s`: one read of the
    (status, heartbeat_at) index, outside any write transaction."""
    cutoff = (time.time() if now is None else now) - stale_s
    conn = sqlite_writer(engine)
    if conn is None:
        with engine.connect() as connection:
            return connection.execute(select(Run.id).where(Run.status == "running", Run.heartbeat_at < cutoff)
                                      .limit(1)).first() is not None
    return conn.execute("SELECT 1 FROM run WHERE status = 'running' AND heartbeat_at < ? LIMIT 1",
                        (cutoff,)).fetchone() is not None


def heartbeat(*, session: Session, run_id: str) -> bool:
    """Refresh a running run's heartbeat; False when the run is no longer running."""
    result = session.execute(update(Run).where(Run.id == run_id, Run.status == "running")
                             .values(heartbeat_at=time.time()))
    return result.rowcount == 1


def mark_stale_runs_killed(*, session: Session, stale_s: float, now: float | None = None) -> int:
    """Mark running runs whose heartbeat is older than `stale_s` as killed; returns how many."""
    now = time.time() if now is None else now
    cutoff = now - stale_s
    stale = session.execute(select(Run.id).where(Run.status == "running", Run.heartbeat_at < cutoff)
                            .limit(1)).first()
    if stale is None:  # the common case: one indexed read, no UPDATE
        return 0
    result = session.execute(update(Run).where(Run.status == "running", Run.heartbeat_at < cutoff)
                             .values(status="killed", end_time=Run.heartbeat_at))
    return result.rowcount or 0


def set_run_code(*, session: Session, run_id: str, cell_source: str | None = None,
                 code_hash: str | None = None, cell_hashes: list | None = None) -> None:
    run = get_run_row(session=session, run_id=run_id)
    if cell_source is not None:
        run.cell_source = (run.cell_source + "\n\n" if run.cell_source else "") + cell_source
    if code_hash is not None:
        run.code_hash = code_hash
    if cell_hashes is not None:
        run.cell_hashes = list(cell_hashes)
    session.add(run)


# --- params, metrics, tags -------------------------------------------------------------------------

def log_params(*, session: Session, run_id: str, params: Mapping[str, Any]) -> None:
    """Store params; a key logged again with another value is a Conflict and changes nothing."""
    values = _param_values(params)
    if not values:
        return
    require_running(session=session, run_id=run_id)
    existing = dict(session.execute(select(Param.key, Param.value).where(
        Param.run_id == run_id, Param.key.in_(list(values)))).all())
    new = [{"run_id": run_id, "key": k, "value": v} for k, v in _new_params(existing, values)]
    if new:
        session.execute(Param.__table__.insert(), new)


def _param_values(params: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(params, Mapping):
        raise InvalidInput(f"params must be a mapping of names to values, got {type(params).__name__}")
    return {check_name(k, "param name"): param_text(k, v) for k, v in params.items()}


def _new_params(existing: Mapping[str, str], values: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (key, value) pairs not logged yet; a key logged before with another value is a Conflict."""
    for key, value in values.items():
        if key in existing and existing[key] != value:
            raise Conflict(f"param {key!r} was already logged as {existing[key][:60]!r}; "
                           f"params are immutable within a run (tried {value[:60]!r}); "
                           "log a new run to try another value")
    return [(k, v) for k, v in values.items() if k not in existing]


def metric_rows(run_id: str, metrics: Mapping[str, Any], steps: Mapping[str, int],
                timestamp: float | None = None) -> list[dict[str, Any]]:
    """Validated history rows for `metrics`, each at the step given for its key."""
    return [dict(zip(_POINT_COLUMNS, point)) for point in metric_points(run_id, metrics, steps, timestamp)]


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


def _latest_upsert(session: Session):
    return _latest_upsert_for(session.get_bind().dialect.name)


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


def insert_metric_rows(*, session: Session, rows: list[dict[str, Any]]) -> None:
    """History plus latest value per key, in the caller's transaction. Rows must be validated."""
    if not rows:
        return
    session.execute(Metric.__table__.insert(), rows)
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:  # one upsert per key: the highest step, the last logged among equals
        current = latest.get(row["key"])
        if current is None or row["step"] >= current["step"]:
            latest[row["key"]] = row
    session.execute(_latest_upsert(session), list(latest.values()))


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
    latest = _latest_points(points)
    conn = sqlite_writer(engine)
    if conn is None:
        with engine.begin() as connection:
            connection.execute(Metric.__table__.insert(), [dict(zip(_POINT_COLUMNS, p)) for p in points])
            connection.execute(_latest_upsert_for(connection.dialect.name),
                               [dict(zip(_POINT_COLUMNS, p)) for p in latest])
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if len(points) == 1:
            conn.execute(_INSERT_METRIC, points[0])
        else:
            conn.executemany(_INSERT_METRIC, points)
        if len(latest) == 1:
            conn.execute(_UPSERT_LATEST, latest[0])
        else:
            conn.executemany(_UPSERT_LATEST, latest)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


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
    insert_metric_rows(session=session, rows=metric_rows(run_id, metrics, steps, timestamp))
    return steps


def set_tags(*, session: Session, run_id: str, tags: Mapping[str, Any]) -> None:
    """Tags are mutable labels: setting one again replaces its value."""
    values = tag_values(tags)
    get_run_row(session=session, run_id=run_id)
    for key, value in values.items():
        tag = session.get(Tag, (run_id, key))
        if tag is None:
            session.add(Tag(run_id=run_id, key=key, value=value))
        else:
            tag.value = value
            session.add(tag)
    session.flush()


def metric_history(*, session: Session, run_id: str, key: str) -> list[MetricPoint]:
    get_run_row(session=session, run_id=run_id)
    rows = session.execute(select(Metric.key, Metric.value, Metric.step, Metric.timestamp)
                           .where(Metric.run_id == run_id, Metric.key == key)
                           .order_by(Metric.step, Metric.timestamp, Metric.id)).all()
    return [MetricPoint(key=r[0], value=loaded_float(r[1]), step=r[2], timestamp=r[3]) for r in rows]


# --- reading runs ----------------------------------------------------------------------------------

def _context(run: Run) -> dict[str, Any]:
    return {"host": run.host, "pid": run.pid, "git_commit": run.git_commit, "git_dirty": run.git_dirty,
            "notebook_path": run.notebook_path, "code_hash": run.code_hash,
            "cell_hashes": run.cell_hashes or [], "cell_source": run.cell_source,
            "python_version": run.python_version, "packages": run.packages or {},
            "heartbeat_at": run.heartbeat_at}


def get_run(*, session: Session, run_id: str) -> RunPublic:
    run = get_run_row(session=session, run_id=run_id)
    experiment = session.get(Experiment, run.experiment_id)
    project = session.get(Project, experiment.project_id)
    params = dict(session.execute(select(Param.key, Param.value).where(Param.run_id == run_id)).all())
    metrics = {k: loaded_float(v) for k, v in session.execute(
        select(LatestMetric.key, LatestMetric.value).where(LatestMetric.run_id == run_id)).all()}
    tags = dict(session.execute(select(Tag.key, Tag.value).where(Tag.run_id == run_id)).all())
    datasets = [{"name": d.name, "version": d.version, "role": role, "fingerprint": d.fingerprint, "id": d.id}
                for d, role in session.execute(
                    select(DatasetVersion, RunInput.role).join(RunInput, RunInput.dataset_version_id == DatasetVersion.id)
                    .where(RunInput.run_id == run_id).order_by(RunInput.created_at)).all()]
    artifacts = [ArtifactPublic(name=a.name, uri=a.uri, sha256=a.sha256, size=a.size, run_id=a.run_id)
                 for a in session.execute(select(Artifact).where(Artifact.run_id == run_id)
                                       .order_by(Artifact.id)).scalars().all()]
    return RunPublic(id=run.id, name=run.name, status=run.status, experiment=experiment.name,
                     project=project.name, user=run.user, start_time=run.start_time, end_time=run.end_time,
                     params=params, metrics=metrics, tags=tags, context=_context(run),
                     datasets=datasets, artifacts=artifacts)


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
    conn = _writer(engine)
    if conn is None:
        return None
    from mlops_nb.services.run_filter import sqlite_filter

    with_clause, with_params, source, terms, term_params = sqlite_filter(filter)  # bad filters fail first
    if stale_s is not None:
        now = time.time()
        if conn.execute("SELECT 1 FROM run WHERE status = 'running' AND heartbeat_at < ? LIMIT 1",
                        (now - stale_s,)).fetchone() is not None:
            _in_transaction(conn, lambda: conn.execute(
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


