"""Runs: starting and ending them, their params and tags, their liveness, and reading them back.

Rules that never bend: a run's params are immutable (the same value again is fine, another value is
a Conflict and changes nothing); only a running run takes params; a run ends once (ending it again
changes nothing and says how it ended); a reader marks running runs whose heartbeat is older than
MLOPS_RUN_STALE_S killed, ending at their last heartbeat (SPEC §4), with end_reason 'stale': such a
run is revived by its owner's heartbeat (a paused process, not a dead one), unless an explicit end
came first, which always wins and is never undone; an interrupt ends a run killed, any other
exception failed (`ending_status`), from every door.

Writes go through a run store (store.runs): `run_store(engine)` for the notebook's hot path, where
each call is one committed transaction (on a SQLite file the raw-sqlite3 fast path), or
`run_store(session)` inside a caller's transaction. Which one never changes what these do.

    >>> store = run_store(engine)
    >>> run = tracking.start_run(store=store, project_id=1, experiment="baseline", name="lr-1", user="dana")
    >>> tracking.log_params(store=store, run_id=run.id, params={"C": 0.5})
    >>> tracking.end_run(store=store, run_id=run.id).status        # 'finished'
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, col, select, update

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.services.tracking.results import ArtifactPublic, RunEnded, RunPublic, RunStarted
from mlops_nb.services.values import check_name, param_text
from mlops_nb.store.models import Artifact, DatasetVersion, Experiment, LatestMetric, Param, Project, Run, RunInput, Tag
from mlops_nb.store.run_store import run_store
from mlops_nb.store.runs import RunState, RunStore, loaded_float, statements

END_STATUSES = ("finished", "failed", "killed")
# what `capture()` records about where a run ran (see environment.py), as stored on the run
CONTEXT_COLUMNS = ("host", "pid", "git_commit", "git_dirty", "notebook_path", "code_status", "python_version",
                   "packages")
# the code the run starts with (api/cells.py: the starting cell, or the script), written with the run
CODE_COLUMNS = ("code_hash", "cell_hashes", "cell_source")
_CONTEXT_KEYS = frozenset(CONTEXT_COLUMNS + CODE_COLUMNS)


def _no_such_run(run_id: str) -> NotFound:
    return NotFound(f"run {run_id!r} does not exist; list runs with mlops.runs()")


def _not_running(run_id: str, name: str, status: str) -> InvalidInput:
    return InvalidInput(f"run {name!r} ({run_id}) is {status}; start a new run to log more")


# --- the run lifecycle ---------------------------------------------------------------------------

def start_run(*, store: RunStore, project_id: int, experiment: str, name: str | None, user: str,
              context: Mapping[str, Any] | None = None, tags: Mapping[str, Any] | None = None) -> RunStarted:
    """Create a running run (and its tags) in experiment `experiment` of project `project_id`,
    creating the experiment when it is new. `name` defaults to "run-" and the id's first 8 hex
    digits; `context` holds CONTEXT_COLUMNS (what `capture()` returns) and the CODE_COLUMNS the run
    starts with; missing ones stay empty.

    Raises:
        InvalidInput: a bad experiment, run or tag name, a tag value over 6,000 characters, or
            `context` naming something that is not a CONTEXT_COLUMNS entry.
    """
    check_name(experiment, "experiment name")
    run_id = uuid.uuid4().hex
    if name is None:
        name = f"run-{run_id[:8]}"
    check_name(name, "run name")
    tag_text = tag_values(tags) if tags else {}
    given = context or {}
    if not given.keys() <= _CONTEXT_KEYS:
        unknown = ", ".join(sorted(map(str, given.keys() - _CONTEXT_KEYS)))
        raise InvalidInput(f"run context has unknown entries {unknown}; it may hold "
                           f"{', '.join(CONTEXT_COLUMNS + CODE_COLUMNS)}")
    now = time.time()
    values: dict[str, Any] = dict.fromkeys(CONTEXT_COLUMNS + CODE_COLUMNS)
    values.update(given)
    values.update(id=run_id, name=name, user=user, start_time=now, heartbeat_at=now)
    if not store.insert_run(project_id=project_id, experiment=experiment, values=values, tags=tag_text):
        store.add_experiment(project_id=project_id, name=experiment, created_at=now)  # a new experiment
        if not store.insert_run(project_id=project_id, experiment=experiment, values=values, tags=tag_text):
            raise NotFound(f"project {project_id} does not exist")
    return RunStarted(id=run_id, name=name, start_time=now, heartbeat_at=now, tags=tag_text)


def create_run(*, session: Session, experiment_id: int, name: str | None, user: str,
               context: Mapping[str, Any] | None = None) -> Run:
    """`start_run` in the session's transaction, for a caller that holds an experiment row and wants
    the run's row back (tests, builders of other domains).

    Raises:
        NotFound: no experiment with id `experiment_id`.
        InvalidInput: as `start_run`.
    """
    experiment = session.get(Experiment, experiment_id)
    if experiment is None:
        raise NotFound(f"experiment {experiment_id} does not exist")
    started = start_run(store=run_store(session), project_id=experiment.project_id, experiment=experiment.name,
                        name=name, user=user, context=context)
    return get_run_row(session=session, run_id=started.id)


def end_run(*, store: RunStore, run_id: str, status: str = "finished") -> RunEnded:
    """End a running run with `status` (finished, failed or killed) now. A run that had ended already
    keeps how it ended, and that is what is returned; except a run a reader only marked killed for a
    stale heartbeat, which takes `status` (an explicit end wins, and the run is never revived after).

    Raises:
        InvalidInput: `status` is not one of END_STATUSES.
        NotFound: no such run.
    """
    if status not in END_STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(END_STATUSES)}")
    now = time.time()
    if store.end_run(run_id=run_id, status=status, end_time=now):
        return RunEnded(id=run_id, status=status, end_time=now)
    state = store.run_state(run_id=run_id)
    if state is None:
        raise _no_such_run(run_id)
    return RunEnded(id=run_id, status=state.status, end_time=state.end_time)


def ending_status(error: BaseException | type[BaseException] | None) -> str:
    """The status of a run whose block, cell or fit ended with `error` (an exception or its class):
    finished for None, killed for an interrupt (KeyboardInterrupt: Ctrl-C, the kernel's Interrupt
    button), failed for any other exception. Every door ends runs through this, so a status means
    the same from `with start_run()`, `%%mlops run` and autolog."""
    if error is None:
        return "finished"
    kind = error if isinstance(error, type) else type(error)
    return "killed" if issubclass(kind, KeyboardInterrupt) else "failed"


def mark_stale_runs(*, store: RunStore, stale_s: float, now: float | None = None) -> int:
    """Mark killed every running run whose heartbeat is older than `stale_s` seconds before `now`
    (epoch seconds, default the clock); returns how many. What every reader calls first (SPEC §4);
    one indexed read when none is stale."""
    return store.mark_stale_runs(cutoff=(time.time() if now is None else now) - stale_s)


def heartbeat(*, session: Session, run_id: str) -> bool:
    """Refresh a running run's heartbeat to now; False when the run is no longer running (ended, or
    marked killed by a reader) or does not exist."""
    result = session.exec(update(Run).where(col(Run.id) == run_id, col(Run.status) == "running")
                          .values(heartbeat_at=time.time()))
    return bool(result.rowcount == 1)


REVIVED_TAG = "mlops.revived"  # the run event a revival leaves (runs have no audit trail: SPEC §4)
PARENT_TAG = "mlops.parentRunId"  # a nested run's parent, as MLflow's mlflow.parentRunId
# the retraining run (services.monitoring.retraining) whose headless notebook started this run: set on
# every run started while MLOPS_RETRAINING_RUN is in the environment, so the run, the version
# registered from it and its promotion request are found afterwards
RETRAINING_TAG = "mlops.retraining_run"


def revive_run(*, session: Session, run_id: str, now: float | None = None) -> bool:
    """Bring back a run a reader marked killed because its heartbeat was stale (its process was
    paused longer than MLOPS_RUN_STALE_S: a closed laptop lid, Ctrl-Z), when its owner's heartbeat
    returns: running again, end time cleared, heartbeat at `now` (epoch seconds, default the clock).
    The revival is recorded on the run as tag `mlops.revived` (JSON: how many times, and the last
    one's kill time, revival time and reason). A run ended explicitly (end_run, by any process) is
    never revived. Returns whether the run is running now (revived here, or by a beat of the owner
    a moment before).

    Called by the run's owner only (its heartbeat, api/heartbeat.py): a reader cannot tell a paused
    owner from a dead one, the owner can.
    """
    now = time.time() if now is None else now
    conn = session.connection()
    row = conn.execute(statements.run_state(), {"run_id": run_id}).first()
    if row is None:
        return False
    state = RunState(*row)
    if state.status != "killed" or state.end_reason != statements.STALE:
        return False
    if conn.execute(statements.revive_run(), {"run_id": run_id, "now": now}).rowcount != 1:
        # changed in between (PostgreSQL re-reads a row it waited for): revived by another beat of
        # the owner (running: alive), or ended explicitly (not)
        row = conn.execute(statements.run_state(), {"run_id": run_id}).first()
        return row is not None and RunState(*row).status == "running"
    previous = session.exec(select(Tag.value).where(Tag.run_id == run_id, Tag.key == REVIVED_TAG)).first()
    try:
        count = int(json.loads(previous)["count"]) if previous else 0
    except (ValueError, KeyError, TypeError):
        count = 0
    event = {"count": count + 1, "killed_at": state.end_time, "revived_at": now,
             "reason": "a reader marked the run killed after its heartbeat went stale (the process was "
                       "paused); its heartbeat came back"}
    run_store(session).write_tags(run_id=run_id, tags={REVIVED_TAG: json.dumps(event)})
    return True


def get_run_row(*, session: Session, run_id: str) -> Run:
    """The run's table row.

    Raises:
        NotFound: no such run (also for a `run_id` that is not a string).
    """
    run = session.get(Run, run_id) if isinstance(run_id, str) else None
    if run is None:
        raise _no_such_run(run_id)
    return run


def require_running(*, session: Session, run_id: str) -> Run:
    """The run's row, when it is running.

    Raises:
        NotFound: no such run.
        InvalidInput: the run has ended (finished, failed, or killed).
    """
    run = get_run_row(session=session, run_id=run_id)
    if run.status != "running":
        raise _not_running(run_id, run.name, run.status)
    return run


def set_run_code(*, session: Session, run_id: str, cell_source: str | None = None,
                 code_hash: str | None = None, cell_hashes: Sequence[str] | None = None) -> None:
    """Record the run's code: `cell_source` (the text of every cell the run executed, see
    api/cells.py), `code_hash` and `cell_hashes` (sha256 hex digests) replace what the run had.

    Raises:
        NotFound: no such run.
    """
    run = get_run_row(session=session, run_id=run_id)
    if cell_source is not None:
        run.cell_source = cell_source
    if code_hash is not None:
        run.code_hash = code_hash
    if cell_hashes is not None:
        run.cell_hashes = list(cell_hashes)
    session.add(run)


# --- params and tags -----------------------------------------------------------------------------

def log_params(*, store: RunStore, run_id: str, params: Mapping[str, Any]) -> None:
    """Store params as text (lists, dicts and tuples as JSON), all or none, in one transaction.

    Raises:
        InvalidInput: `params` is not a mapping, a bad name, a value over 6,000 characters, or the
            run has ended.
        NotFound: no such run.
        Conflict: a key was logged before with another value (nothing is stored).
    """
    values = _param_values(params)
    if not values:
        return

    def check(state: RunState | None, existing: Mapping[str, str]) -> list[tuple[str, str]]:
        if state is None:
            raise _no_such_run(run_id)
        if state.status != "running":
            raise _not_running(run_id, state.name, state.status)
        return _new_params(existing, values)

    store.write_params(run_id=run_id, values=values, check=check)


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


def tag_values(tags: Mapping[str, Any]) -> dict[str, str]:
    """Tags as stored: checked names, values as text (lists, dicts and tuples as JSON).

    Raises:
        InvalidInput: `tags` is not a mapping, a bad name, or a value over 6,000 characters.
    """
    if not isinstance(tags, Mapping):
        raise InvalidInput(f"tags must be a mapping, got {type(tags).__name__}")
    return {check_name(k, "tag name"): param_text(k, v, "tag") for k, v in tags.items()}


def set_tags(*, session: Session, run_id: str, tags: Mapping[str, Any]) -> None:
    """Set tags on a run (running or not): tags are mutable labels, so a key set again takes the new value.

    Raises:
        InvalidInput: as `tag_values`.
        NotFound: no such run.
    """
    values = tag_values(tags)
    get_run_row(session=session, run_id=run_id)
    run_store(session).write_tags(run_id=run_id, tags=values)


# --- reading runs ----------------------------------------------------------------------------------

def _context(run: Run) -> dict[str, Any]:
    return {"host": run.host, "pid": run.pid, "git_commit": run.git_commit, "git_dirty": run.git_dirty,
            "notebook_path": run.notebook_path, "code_status": run.code_status, "code_hash": run.code_hash,
            "cell_hashes": run.cell_hashes or [], "cell_source": run.cell_source,
            "python_version": run.python_version, "packages": run.packages or {},
            "heartbeat_at": run.heartbeat_at}


def get_run(*, session: Session, run_id: str) -> RunPublic:
    """A run with its params, latest metrics, tags, datasets (oldest link first), artifacts and
    captured context.

    Raises:
        NotFound: no such run.
    """
    run = get_run_row(session=session, run_id=run_id)
    experiment = session.get(Experiment, run.experiment_id)
    project = session.get(Project, experiment.project_id) if experiment is not None else None
    if experiment is None or project is None:  # foreign keys make this impossible
        raise NotFound(f"run {run_id!r} belongs to no experiment or project")
    params = dict(session.exec(select(Param.key, Param.value).where(Param.run_id == run_id)).all())
    metrics = {k: loaded_float(v) for k, v in session.exec(
        select(LatestMetric.key, LatestMetric.value).where(LatestMetric.run_id == run_id)).all()}
    tags = dict(session.exec(select(Tag.key, Tag.value).where(Tag.run_id == run_id)).all())
    datasets = [{"name": d.name, "version": d.version, "role": role, "fingerprint": d.fingerprint, "id": d.id}
                for d, role in session.exec(
                    select(DatasetVersion, RunInput.role)
                    .join(RunInput, col(RunInput.dataset_version_id) == col(DatasetVersion.id))
                    .where(RunInput.run_id == run_id).order_by(col(RunInput.created_at))).all()]
    artifacts = [ArtifactPublic(name=a.name, uri=a.uri, sha256=a.sha256, size=a.size, run_id=a.run_id)
                 for a in session.exec(select(Artifact).where(Artifact.run_id == run_id)
                                       .order_by(col(Artifact.id))).all()]
    return RunPublic(id=run.id, name=run.name, status=run.status, experiment=experiment.name,
                     project=project.name, user=run.user, start_time=run.start_time, end_time=run.end_time,
                     params=params, metrics=metrics, tags=tags, context=_context(run),
                     datasets=datasets, artifacts=artifacts)
