"""Experiment tracking: projects, experiments, runs, params, metric history and tags.

Every function takes the caller's session (one transaction per call from the API). Metric points
land in the history table and, in the same transaction, in `latest_metric`, which search reads.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.services.tracking.results import ArtifactPublic, RunPublic
from mlops_nb.services.values import (
    check_name,
    loaded_float,
    param_text,
)
from mlops_nb.store.db import immediate_transaction, sqlite_writer
from mlops_nb.store.models import (
    Artifact,
    DatasetVersion,
    Experiment,
    LatestMetric,
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


def tag_values(tags: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise InvalidInput(f"tags must be a mapping, got {type(tags).__name__}")
    return {check_name(k, "tag name"): param_text(k, v, "tag") for k, v in tags.items()}


def insert_run(engine, *, project_id: int, experiment: str, name: str | None, user: str,
               context: Mapping[str, Any], tags: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """Create a running run (and its tags) in one transaction on the raw path; returns its columns,
    or None when the engine is not a SQLite file or the experiment does not exist yet (the caller
    then takes the ORM path, which creates it)."""
    conn = sqlite_writer(engine)
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
    inserted = immediate_transaction(conn, work) if values else conn.execute(_INSERT_RUN, row).rowcount == 1
    if not inserted:
        return None
    return {"id": run_id, "name": name, "start_time": now, "heartbeat_at": now, "tags": values}


def finish_run(engine, *, run_id: str, status: str) -> float | None:
    """End a running run on the raw path; its end time, or None when the engine is not a SQLite file
    or the run was not running (the caller then reads what the store has)."""
    if status not in END_STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(END_STATUSES)}")
    conn = sqlite_writer(engine)
    if conn is None:
        return None
    now = time.time()
    changed = conn.execute(_END_RUN, (status, now, run_id)).rowcount  # one statement: its own transaction
    return now if changed == 1 else None


def write_params(engine, *, run_id: str, params: Mapping[str, Any]) -> bool:
    """`log_params` on the raw path; False when the engine is not a SQLite file."""
    conn = sqlite_writer(engine)
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

    immediate_transaction(conn, work)
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
