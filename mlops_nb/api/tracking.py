"""The tracking verbs of the Python API: thin calls into services.tracking with the current context.

The hot path (`log_metric`) keeps each key's next step and the run's liveness in the process, so a
point costs one short transaction: the history row and the key's latest value.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from mlops_nb.api import cells
from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.api.context import ActiveRun, Context
from mlops_nb.api.heartbeat import HEARTBEATS
from mlops_nb.config import run_stale_seconds
from mlops_nb.display import present
from mlops_nb.display.tracking import RunView
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.tracking.results import ArtifactPublic, MetricPoint, RunPublic, RunTable
from mlops_nb.store.db import session_scope


def _mark_stale(context: Context) -> None:
    """SPEC §4: a reader marks running runs whose heartbeat is older than MLOPS_RUN_STALE_S killed.
    One indexed read when none is stale (the usual case); a write transaction only when one is."""
    from mlops_nb.services import tracking

    tracking.mark_stale_runs(store=context.runs, stale_s=run_stale_seconds())


@store_errors
def start_run(experiment: str = "default", *, name: str | None = None, tags: Mapping[str, Any] | None = None,
              nested: bool = False) -> RunView:
    """Start a run and make it the active run; with `nested=True`, inside the active run (as MLflow's
    `start_run(nested=True)`): tag `mlops.parentRunId` names the outer run, which is active again
    when the nested one ends.

    >>> with mlops.start_run(experiment="credit", name="search") as parent:
    ...     for C in (0.1, 1.0):
    ...         with mlops.start_run(experiment="credit", name=f"C={C}", nested=True):
    ...             mlops.log_param("C", C)

    Used as a context manager, the run ends when the block does: finished, `killed` when the block
    was interrupted (KeyboardInterrupt: Ctrl-C, the kernel's Interrupt), `failed` for any other
    exception. A run another process ended before is ended quietly first (it is not lost: see
    `end_run`).

    Raises:
        InvalidInput: a run is active and `nested` is not True (the message names it: end it with
            mlops.end_run() first, or pass nested=True); a bad experiment, run or tag name, or a tag
            value over 6,000 characters. Nothing is started, and the active run stays active.
    """
    from mlops_nb.services import tracking

    context = get_context()
    parent = context.active_run
    if parent is not None and parent.lost:  # ended elsewhere: close it here too, then go on
        end_run()
        parent = context.active_run
    if parent is not None and not nested:
        raise InvalidInput(f"run {parent.name!r} ({parent.id}) is active; end it first with mlops.end_run() "
                           "(or %mlops end), or pass nested=True (%mlops start --nested) to start a run "
                           "inside it")
    if parent is not None:
        tags = {**(tags or {}), tracking.PARENT_TAG: parent.id}
    in_cell = cells.in_ipython_cell()
    code_file = None if in_cell else cells.calling_file()  # outside a notebook: the script that called
    captured = tracking.capture(code_path=code_file)
    # the cell that starts the run (all of it, for `with start_run():`), or the script: written with the run
    first = cells.starting_code(in_cell=in_cell, code_file=code_file)
    started = tracking.start_run(store=context.runs, project_id=context.project_id, experiment=experiment,
                                 name=name, user=context.user, context={**captured, **cells.starting_columns(first)},
                                 tags=tags)
    active = ActiveRun(id=started.id, name=started.name, experiment=experiment, start_time=started.start_time,
                       parent=parent)
    cells.adopt(active, first)
    context.active_run = active
    HEARTBEATS.add(context, active)
    # the Run as just written (no read back): running, no params or metrics yet
    run = RunView(id=started.id, name=started.name, status="running", experiment=experiment,
                  project=context.project, user=context.user, start_time=started.start_time,
                  end_time=None, params={}, metrics={}, tags=dict(started.tags),
                  context={**{k: captured.get(k) for k in tracking.CONTEXT_COLUMNS}, "code_hash": cells.code_hash(active),
                           "cell_hashes": list(active.cell_hashes), "cell_source": cells.joined(active) or None,
                           "heartbeat_at": started.heartbeat_at},
                  datasets=[], artifacts=[])
    run.context["packages"] = run.context["packages"] or {}
    run._on_exit = _exit_run
    return run


def _exit_run(run: RunPublic, exc_type: type[BaseException] | None) -> None:
    from mlops_nb.services import tracking

    end_run_of_block(run.id, tracking.ending_status(exc_type))


def end_run_of_block(run_id: str, status: str) -> RunPublic:
    """End run `run_id` with `status` when its block (`with start_run()`, a `%%mlops run` cell)
    ends: nested runs the block left open end first, with the same status; the run it was nested in
    is active again. A run the block ended (or replaced) itself is returned as the store has it.

    Raises:
        InvalidInput: an unknown status (nothing changes).
    """
    context = get_context()
    chain, active = [], context.active_run
    while active is not None:
        chain.append(active.id)
        active = active.parent
    if run_id not in chain:
        return get_run(run_id)
    while True:
        ended = end_run(status)
        if ended.id == run_id:
            return ended


@store_errors
def end_run(status: str = "finished") -> RunPublic:
    """End the active run with `status` (finished, failed or killed) and return it; the run it was
    nested in, if any, is active again. A run another process ended keeps, and returns, how it
    ended; a run a reader marked killed while this process was paused ends with `status`.

    >>> mlops.end_run("failed").status
    'failed'

    Raises:
        InvalidInput: no active run, or an unknown status (the run stays active).
    """
    from mlops_nb.services import tracking

    context = get_context()
    if context.active_run is not None:
        cells.record_current_cell()  # the cell that ends the run is part of its code
    active, ended = context.end_active_run(status)
    engine, run_id = context.engine, active.id

    def load() -> RunPublic:
        with session_scope(engine) as session:
            return tracking.get_run(session=session, run_id=run_id)

    # params, metrics, tags and the rest are read when first looked at (most loops never do)
    return RunView.deferred(load, id=run_id, name=active.name, status=ended.status, experiment=active.experiment,
                            project=context.project, user=context.user, start_time=active.start_time,
                            end_time=ended.end_time)


@store_errors
def active_run() -> RunPublic | None:
    """The active run as the store has it now, or None.

    >>> mlops.active_run().params
    {'C': '0.5'}
    """
    context = get_context()
    return get_run(context.active_run.id) if context.active_run else None


@store_errors
def log_param(key: str, value: Any) -> None:
    """Log one param (stored as text; lists and dicts as JSON).

    >>> mlops.log_param("C", 0.5)

    Raises:
        InvalidInput: no active run, a bad name, or a value over 6,000 characters.
        Conflict: `key` was logged before with another value.
    """
    log_params({key: value})


@store_errors
def log_params(params: Mapping[str, Any]) -> None:
    """Log several params at once, all or none.

    >>> mlops.log_params({"C": 0.5, "penalty": "l2", "layers": [64, 32]})

    Raises:
        InvalidInput: no active run, not a mapping, a bad name, or a value over 6,000 characters.
        Conflict: a key was logged before with another value (nothing is stored).
    """
    from mlops_nb.services import tracking

    context = get_context()
    active = context.require_run()
    tracking.log_params(store=context.runs, run_id=active.id, params=params)


@store_errors
def log_metric(key: str, value: float, *, step: int | None = None) -> None:
    """Log one metric point; without `step` it takes the key's next step (0 first).

    >>> mlops.log_metric("roc_auc", 0.78)
    >>> mlops.log_metric("loss", 0.41, step=3)

    Raises:
        InvalidInput: no active run, a bad name, a value that is not a number, or a bad step.
    """
    log_metrics({key: value}, step=step)


@store_errors
def log_metrics(metrics: Mapping[str, Any], *, step: int | None = None) -> None:
    """Log several metrics at one step (or each key's next step). NaN and inf are kept.

    One committed transaction per call (the history rows and each key's latest value): once it
    returns, a killed kernel loses none of it.

    >>> mlops.log_metrics({"roc_auc": 0.78, "loss": 0.41})

    Raises:
        InvalidInput: no active run, not a mapping, a bad name, a value that is not a number, or a bad step.
    """
    from mlops_nb.services import tracking

    context = get_context()
    active = context.require_run()
    if not isinstance(metrics, Mapping):
        raise InvalidInput(f"metrics must be a mapping of names to numbers, got {type(metrics).__name__}")
    if not metrics:
        return
    next_step = active.next_step
    if step is None:
        missing = [k for k in metrics if k not in next_step]
        if missing:
            next_step.update(tracking.read_next_steps(store=context.runs, run_id=active.id, keys=missing))
        steps = {k: next_step[k] for k in metrics}
    else:
        steps = dict.fromkeys(metrics, step)
    points = tracking.metric_points(active.id, metrics, steps)
    tracking.write_metric_points(store=context.runs, points=points)
    for point in points:
        key, used = point[1], point[3]
        if used >= next_step.get(key, 0):
            next_step[key] = used + 1


@store_errors
def log_metric_history(key: str, values: Iterable[float], *, start_step: int | None = None) -> None:
    """Log a whole curve in one transaction (e.g. a loss per epoch): steps start_step, start_step+1, …

    Also the batch call for many points of one key: 1,000 points cost about what 10 single
    `log_metric` calls do.

    >>> mlops.log_metric_history("loss", losses)              # steps continue after the last one

    Raises:
        InvalidInput: no active run, `values` not a sequence of numbers, a bad name, or a step
            beyond the 64-bit range (nothing is stored).
    """
    from mlops_nb.services import tracking

    context = get_context()
    active = context.require_run()
    if isinstance(values, (str, bytes, Mapping)):
        raise InvalidInput(f"values must be a sequence of numbers, got {type(values).__name__}")
    if start_step is None:
        if key not in active.next_step:
            active.next_step.update(tracking.read_next_steps(store=context.runs, run_id=active.id, keys=[key]))
        start_step = active.next_step[key]
    points = tracking.history_points(active.id, key, values, start_step)
    if not points:
        return
    tracking.write_metric_points(store=context.runs, points=points)
    active.next_step[key] = max(active.next_step.get(key, 0), points[-1][3] + 1)


@store_errors
def get_metric_history(run_id: str, key: str) -> list[MetricPoint]:
    """Every point of a run's metric, ordered by step then time.

    >>> [(p.step, p.value) for p in mlops.get_metric_history(run.id, "loss")]
    [(0, 0.9), (1, 0.7)]

    Raises:
        NotFound: no such run.
    """
    from mlops_nb.services import tracking

    with session_scope(get_context().engine) as session:
        return [present(p) for p in tracking.metric_history(session=session, run_id=run_id, key=key)]


@store_errors
def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run (tags may change; params may not).

    >>> mlops.set_tag("stage", "final")

    Raises:
        InvalidInput: no active run, a bad name, or a value over 6,000 characters.
    """
    set_tags({key: value})


@store_errors
def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run; a tag set again takes the new value.

    >>> mlops.set_tags({"team": "risk", "stage": "draft"})

    Raises:
        InvalidInput: no active run, not a mapping, a bad name, or a value over 6,000 characters.
    """
    from mlops_nb.services import tracking

    context = get_context()
    active = context.require_run()
    with session_scope(context.engine) as session:
        tracking.set_tags(session=session, run_id=active.id, tags=tags)


@store_errors
def log_artifact(path: str | os.PathLike[str], *, name: str | None = None) -> ArtifactPublic:
    """Copy a file into the active run's artifacts; its sha256 and size are recorded.

    >>> mlops.log_artifact("confusion.png").sha256[:12]

    Raises:
        InvalidInput: no active run, a name leaving the artifact root, or `path` not a readable file.
        Conflict: the run has an artifact of that name with other contents.
    """
    from mlops_nb.services import tracking

    context = get_context()
    active = context.require_run()
    with session_scope(context.engine) as session:
        return present(tracking.log_artifact(session=session, store=context.artifacts, run_id=active.id,
                                             path=path, name=name))


@store_errors
def log_dataset(df: Any, *, name: str, role: str = "train") -> DatasetVersionPublic:
    """Version a DataFrame (content fingerprint, schema, profile, sample) and link it to the active run.

    >>> ds = mlops.log_dataset(train_df, name="german-credit", role="train")
    >>> ds.version, ds.fingerprint[:12]

    Raises:
        InvalidInput: no active run, `df` not a non-empty DataFrame with unique columns, a bad name,
            or an unknown role.
    """
    from mlops_nb.services import data
    from mlops_nb.services.monitoring import drift

    context = get_context()
    active = context.require_run()
    frame = data.check_frame(df)
    # the drift reference (what a drift test needs of every column) is computed and staged before the
    # transaction, like the sample, and stored with a new version in the same transaction
    with drift.staged_reference(context.artifacts, frame) as reference, session_scope(context.engine) as session:
        version = data.log_dataset(session=session, store=context.artifacts, project_id=context.project_id,
                                   df=frame, name=name, role=role, run_id=active.id, user=context.user)
        drift.store_reference(session=session, store=context.artifacts, dataset_version_id=version.id,
                              profile=reference.profile, staged_file=reference.file)
        return present(version)


@store_errors
def get_dataset(name: str, *, version: int | None = None) -> DatasetVersionPublic:
    """A dataset version of the current project (the newest when `version` is None).

    >>> mlops.get_dataset("german-credit", version=2).rows

    Raises:
        NotFound: no such dataset, or no such version (the message lists the versions).
    """
    from mlops_nb.services import data

    context = get_context()
    with session_scope(context.engine) as session:
        return present(data.get_dataset(session=session, project_id=context.project_id, name=name, version=version))


@store_errors
def runs(experiment: str | None = None, *, filter: str | None = None) -> RunTable:
    """Runs of the current project, newest first, filtered with MLflow's search syntax.

    >>> mlops.runs("credit", filter="metrics.auc > 0.7 and params.penalty = 'l2'").to_frame()

    Running runs whose heartbeat is older than MLOPS_RUN_STALE_S are first marked killed (SPEC §4).
    The filter grammar (MLflow's; docs/api.md) is services.tracking.filters.

    Raises:
        InvalidInput: the filter is not a string, too long (over 20,000 characters or 50
            conditions), or cannot be read; the message names the part and what is accepted.
        StoreUnavailable: the database could not run the search.
        NotFound: `experiment` does not exist in the project (the message lists those that do).
    """
    from mlops_nb.services import tracking

    context = get_context()
    with session_scope(context.engine) as session:  # used only to name an unknown experiment
        return present(tracking.read_runs(session=session, store=context.runs, project_id=context.project_id,
                                          experiment=experiment, filter=filter, stale_s=run_stale_seconds()))


@store_errors
def get_run(run_id: str) -> RunPublic:
    """A run with its params, latest metrics, tags, datasets, artifacts and captured context.

    >>> mlops.get_run(run_id).metrics["roc_auc"]

    Running runs whose heartbeat is older than MLOPS_RUN_STALE_S are first marked killed (SPEC §4).

    Raises:
        NotFound: no such run.
    """
    from mlops_nb.services import tracking

    context = get_context()
    _mark_stale(context)
    with session_scope(context.engine) as session:
        return present(tracking.get_run(session=session, run_id=run_id))
