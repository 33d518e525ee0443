"""Retraining: a model's training notebook, approved once, run headless on a new data window.

SPEC §3 (Alerts and retraining triggers), issue 11 item 5. The rules that never bend:

- The notebook that runs is the one approved: `set_retraining` (a proven ml_engineer or admin,
  "set_monitoring") stores a copy as an artifact, with its sha256; a run reads that copy, verified,
  never whatever the path holds later.
- One retraining per model at a time: the "running" row is committed before the notebook starts
  (the console sees it), under the model's row lock, so a second start is a Conflict naming it.
- The store and the proof of identity reach the kernel in its environment (MLOPS_DB_URL, MLOPS_HOME,
  MLOPS_ARTIFACT_ROOT, MLOPS_RETRAINING_RUN, and the caller's MLOPS_TOKEN / MLOPS_USER when given),
  never as parameters: the executed notebook, kept as the run's evidence, shows its parameters.
- The notebook decides nothing the gates would not: whoever the kernel proves to be (MLOPS_TOKEN of
  a retraining user) is the requester of the promotion it asks for, and the gates and four eyes
  decide it as any request.
- Never a silent gap: the executed notebook is stored whether it succeeded or failed, and a failure
  (a cell raised, a timeout, the notebook ran but registered no version) marks the run failed with
  the error and fires a critical "retraining_failed" alert whose evidence is the run.

What the notebook produced is found by the tag its runs carry (tracking.RETRAINING_TAG, set by
`mlops.start_run` while MLOPS_RETRAINING_RUN is set): the run, the version registered from it and
the version's promotion request.

    set_retraining(session=s, store=store, project_id=1, actor=eli, model="credit-risk",
                   notebook="mlops_nb/demo/credit_retraining.ipynb", parameters={"C": 0.5})
    run = start_retraining(engine=engine, store=store, project_id=1, actor=eli, model="credit-risk",
                           window=("2024-05-01", "2024-07-31"), env={"MLOPS_TOKEN": token})
    run.status, run.model_version, run.request_id      # "succeeded", 4, 17
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import keyword
import os
import stat
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from mlops_nb.config import child_environment, mlops_home
from mlops_nb.services.errors import Conflict, InvalidInput, MlopsError, NotFound
from mlops_nb.services.governance import audit
from mlops_nb.services.governance.stages import lock_model
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.monitoring import headless
from mlops_nb.services.monitoring.alerts import fingerprint_of, fire_alert
from mlops_nb.services.monitoring.retraining_results import RetrainingConfigPublic, RetrainingRunPublic
from mlops_nb.services.registry.lookups import get_model
from mlops_nb.services.tracking.artifacts import read_verified, store_bytes
from mlops_nb.services.tracking.runs import RETRAINING_TAG
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import (
    Alert,
    Artifact,
    Experiment,
    ModelVersion,
    Project,
    PromotionRequest,
    RegisteredModel,
    Run,
    Tag,
)
from mlops_nb.store.models.alerts import RetrainingConfig, RetrainingRun

# injected by every run into the cell after the one tagged `parameters`; not settable by hand
INJECTED = ("model_name", "project", "window_start", "window_end", "retraining_run_id")
# the variables that prove who the kernel is: passed only when the caller gives them
IDENTITY_VARIABLES = ("MLOPS_TOKEN", "MLOPS_USER")
MAX_NOTEBOOK_BYTES = 64 * 2**20  # a training notebook with its outputs cleared is kilobytes
# a run still "running" this long after it started is presumed dead (its process ended without a
# result) and marked failed when the next retraining of its model starts
ABANDONED_AFTER_S = 24 * 3600.0
ALERT_KIND = "retraining_failed"


def _parameters(value: Any, what: str) -> dict[str, Any]:
    """`value` as notebook parameters: Python names (not the injected ones) -> JSON values.

    Raises:
        InvalidInput: not a mapping; a name that is not a Python identifier or is injected by each
            run; a value JSON cannot hold (NaN, a set, an object).
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a dict of parameter name -> value, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
            raise InvalidInput(f"{what}: parameter name {key!r} is not a Python variable name (the notebook "
                               "assigns it in the injected cell)")
        if key in INJECTED:
            raise InvalidInput(f"{what}: parameter {key!r} is set by each retraining run ({', '.join(INJECTED)} "
                               "are injected); leave it out")
    try:
        parameters: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"{what}: values must be JSON numbers, strings, booleans, null, lists or dicts "
                           f"({err})") from err
    return parameters


def _window(window: Any) -> tuple[str | None, str | None]:
    """`window` (None, or (start, end) as dates, datetimes or ISO date strings) as ISO dates.

    Raises:
        InvalidInput: not a pair, an end that is not a date, or an end before the start.
    """
    if window is None:
        return None, None
    if isinstance(window, (str, bytes)) or not isinstance(window, (tuple, list)) or len(window) != 2:
        raise InvalidInput(f"window must be (start, end) dates, e.g. ('2024-05-01', '2024-07-31'), got {window!r}")
    ends: list[dt.date] = []
    for name, value in zip(("window start", "window end"), window):
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            ends.append(value)
            continue
        try:
            ends.append(dt.date.fromisoformat(str(value).strip()))
        except ValueError as err:
            raise InvalidInput(f"{name} {value!r} is not an ISO date (YYYY-MM-DD)") from err
    if ends[1] < ends[0]:
        raise InvalidInput(f"window end {ends[1]} is before window start {ends[0]}")
    return ends[0].isoformat(), ends[1].isoformat()


def _config_public(model: str, config: RetrainingConfig, sha256: str) -> RetrainingConfigPublic:
    return RetrainingConfigPublic(model=model, notebook=config.notebook_path, sha256=sha256,
                                  parameters=dict(config.parameters), set_by=config.set_by, set_at=config.set_at)


def set_retraining(*, session: Session, store: ArtifactStore, project_id: int, actor: Identity, model: str,
                   notebook: str | os.PathLike[str], parameters: Mapping[str, Any] | None = None) -> RetrainingConfigPublic:
    """Name `notebook` (a path to an .ipynb) as model `model`'s training notebook, with `parameters`
    for its cell tagged `parameters`: a copy is stored as an artifact (what every retraining runs)
    and the change is audited ("retraining.set"). Setting it again replaces notebook and parameters.

    Raises:
        PermissionDenied: `actor` is not a proven ml_engineer or admin.
        NotFound: no model `model` in the project.
        InvalidInput: the notebook cannot be read, is not a notebook, or has no cell tagged
            `parameters` (the message says how to tag one); bad parameters (not JSON values, not
            Python names, or one of the injected names). Nothing is stored.
    """
    who = permissions.authorize(session=session, actor=actor, action="set_monitoring")
    registered = get_model(session=session, project_id=project_id, name=model)
    assert registered.id is not None  # a row read from the store
    values = _parameters(parameters, "parameters")
    path = os.fspath(notebook)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO blocks open(), /dev/zero never ends
            raise InvalidInput(f"notebook {path!r} is not a regular file; give the path to an .ipynb")
        with open(path, "rb") as handle:
            data = handle.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as err:
        raise InvalidInput(f"cannot read notebook {path!r} ({err.strerror or err}); give the path to an .ipynb") from err
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise InvalidInput(f"notebook {path!r} is over {MAX_NOTEBOOK_BYTES:,} bytes; clear its outputs "
                           "(jupyter nbconvert --clear-output) and set it again")
    headless.check_notebook(data, source=f"notebook {path!r}")
    sha256 = hashlib.sha256(data).hexdigest()
    artifact = store_bytes(session=session, store=store, data=data,
                           name=f"retraining/model-{registered.id}/{sha256}.ipynb")
    config = session.get(RetrainingConfig, registered.id)
    before = None if config is None else {"notebook": config.notebook_path, "parameters": config.parameters,
                                          "notebook_artifact_id": config.notebook_artifact_id}
    assert artifact.id is not None  # written with its key
    if config is None:
        config = RetrainingConfig(model_id=registered.id, notebook_artifact_id=artifact.id, notebook_path=path[:1000],
                                  parameters=values, set_by=who.name, set_at=time.time())
    else:
        config.notebook_artifact_id, config.notebook_path = artifact.id, path[:1000]
        config.parameters, config.set_by, config.set_at = values, who.name, time.time()
    session.add(config)
    session.flush()
    audit.record(session=session, actor=who.name, action="retraining.set", entity="registered_model",
                 entity_id=model, before=before,
                 after={"notebook": config.notebook_path, "sha256": sha256, "parameters": values,
                        "notebook_artifact_id": artifact.id})
    return _config_public(model, config, sha256)


def retraining_config(*, session: Session, project_id: int, model: str) -> RetrainingConfigPublic | None:
    """Model `model`'s retraining notebook and parameters, or None when none was set.

    Raises:
        NotFound: no model `model` in the project.
    """
    registered = get_model(session=session, project_id=project_id, name=model)
    config = session.get(RetrainingConfig, registered.id)
    if config is None:
        return None
    artifact = session.get(Artifact, config.notebook_artifact_id)
    return _config_public(model, config, artifact.sha256 if artifact is not None else "")


def _public(session: Session, row: RetrainingRun, model: str | None = None) -> RetrainingRunPublic:
    if model is None:
        model = session.execute(select(col(RegisteredModel.name)).where(col(RegisteredModel.id) == row.model_id)).scalar_one()
    status = None
    if row.request_id is not None:
        status = session.execute(select(col(PromotionRequest.status))
                                 .where(col(PromotionRequest.id) == row.request_id)).scalar()
    assert row.id is not None  # a stored row has its id
    return RetrainingRunPublic(id=row.id, model=model, status=row.status, trigger=row.trigger, alert_id=row.alert_id,
                               parameters=dict(row.parameters), run_id=row.run_id, model_version=row.model_version,
                               request_id=row.request_id, request_status=status, error=row.error,
                               notebook_artifact_id=row.notebook_artifact_id, started_by=row.started_by,
                               started_at=row.started_at, finished_at=row.finished_at)


def _begin(*, session: Session, store: ArtifactStore, project_id: int, actor: Identity, model: str, trigger: str,
           alert_id: int | None, window: Any, parameters: Mapping[str, Any] | None) -> tuple[RetrainingRun, bytes, str]:
    """Checks, then the "running" row (flushed, audited); returns it, the approved notebook's bytes
    and the path it was approved from."""
    who = permissions.authorize(session=session, actor=actor, action="retrain")
    registered = get_model(session=session, project_id=project_id, name=model)
    assert registered.id is not None  # a row read from the store
    config = session.get(RetrainingConfig, registered.id)
    if config is None:
        raise NotFound(f"model {model!r} has no retraining notebook; set one first with "
                       f"mlops.set_retraining({model!r}, notebook=PATH) or `mlops retraining set {model} --notebook PATH`")
    start, end = _window(window)
    values = {**config.parameters, **_parameters(parameters, "parameters")}
    if not isinstance(trigger, str) or not trigger.strip():
        raise InvalidInput("trigger must name why the retraining runs: 'manual' or the rule's name")
    if alert_id is not None:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.project_id != project_id:
            raise NotFound(f"alert {alert_id} does not exist in this project")
    lock_model(session=session, model_id=registered.id)  # one start at a time per model
    now = time.time()
    running = session.execute(select(RetrainingRun).where(col(RetrainingRun.model_id) == registered.id,
                                                          col(RetrainingRun.status) == "running")).scalars().all()
    for other in running:
        if other.started_at < now - ABANDONED_AFTER_S:
            other.status, other.finished_at = "failed", now
            other.error = (f"abandoned: still running {ABANDONED_AFTER_S / 3600:g} h after it started (its process "
                           "ended without recording a result)")
            session.add(other)
            continue
        raise Conflict(f"model {model!r} is already being retrained (retraining run {other.id}, started by "
                       f"{other.started_by} at {dt.datetime.fromtimestamp(other.started_at, dt.UTC):%Y-%m-%d %H:%M} UTC); "
                       "wait for it to finish (mlops.retraining_runs) before starting another")
    notebook_artifact = session.get(Artifact, config.notebook_artifact_id)
    if notebook_artifact is None:
        raise NotFound(f"the retraining notebook of model {model!r} is missing from the store; set it again")
    notebook = read_verified(store=store, artifact=notebook_artifact)
    project = session.get(Project, project_id)
    assert project is not None  # the caller's project
    row = RetrainingRun(model_id=registered.id, alert_id=alert_id, trigger=trigger.strip()[:250], status="running",
                        parameters=values, notebook_artifact_id=None, started_by=who.name, started_at=now)
    session.add(row)
    session.flush()
    row.parameters = {**values, "model_name": model, "project": project.name, "window_start": start,
                      "window_end": end, "retraining_run_id": row.id}
    session.add(row)
    session.flush()
    audit.record(session=session, actor=who.name, action="retraining.started", entity="retraining_run",
                 entity_id=row.id, after={"model": model, "trigger": row.trigger, "alert_id": alert_id,
                                          "parameters": row.parameters, "notebook_sha256": notebook_artifact.sha256})
    return row, notebook, config.notebook_path


def _environment(engine: Engine, store: ArtifactStore, run_id: int, notebook_path: str,
                 env: Mapping[str, str] | None) -> dict[str, str]:
    """The kernel's whole environment: this process's, less the identity variables the caller did
    not give, plus the store, the retraining run and the caller's `env`."""
    extra = {key: str(value) for key, value in (env or {}).items() if value is not None}
    environment = child_environment(
        MLOPS_DB_URL=engine.url.render_as_string(hide_password=False), MLOPS_HOME=str(mlops_home()),
        MLOPS_ARTIFACT_ROOT=store.root, MLOPS_RETRAINING_RUN=str(run_id), MLOPS_NOTEBOOK_PATH=notebook_path, **extra)
    for variable in IDENTITY_VARIABLES:
        if variable not in extra:
            environment.pop(variable, None)
    return environment


def _produced(session: Session, row: RetrainingRun, project_id: int) -> tuple[str | None, int | None, int | None]:
    """(run id, version number, request id) the notebook produced, found by the runs' retraining tag:
    the newest version of the model registered from a tagged run, and its newest promotion request."""
    assert row.id is not None  # a stored row has its id
    tagged = (col(Tag.run_id) == col(Run.id)) & (col(Tag.key) == RETRAINING_TAG) & (col(Tag.value) == str(row.id))
    version = session.execute(
        select(col(ModelVersion.id), col(ModelVersion.version), col(ModelVersion.run_id))
        .join(Run, col(Run.id) == col(ModelVersion.run_id)).join(Tag, tagged)
        .where(col(ModelVersion.model_id) == row.model_id, col(ModelVersion.created_at) >= row.started_at)
        .order_by(col(ModelVersion.version).desc()).limit(1)).first()
    if version is None:
        run_id = session.execute(
            select(col(Run.id)).join(Experiment, col(Experiment.id) == col(Run.experiment_id)).join(Tag, tagged)
            .where(col(Experiment.project_id) == project_id, col(Run.start_time) >= row.started_at)
            .order_by(col(Run.start_time).desc()).limit(1)).scalar()
        return run_id, None, None
    request_id = session.execute(select(col(PromotionRequest.id))
                                 .where(col(PromotionRequest.model_version_id) == version.id)
                                 .order_by(col(PromotionRequest.id).desc()).limit(1)).scalar()
    return version.run_id, version.version, request_id


def _alert_version(session: Session, model_id: int) -> int | None:
    """The version a failed retraining's alert is filed under: production's, else the newest."""
    rows = session.execute(select(col(ModelVersion.id), col(ModelVersion.stage))
                           .where(col(ModelVersion.model_id) == model_id)
                           .order_by(col(ModelVersion.version).desc())).all()
    production = [version_id for version_id, stage in rows if stage == "production"]
    return production[0] if production else (rows[0][0] if rows else None)


def _finish(*, session: Session, store: ArtifactStore, project_id: int, run_id: int, model: str, who: str,
            executed: bytes | None, error: str | None) -> RetrainingRun:
    """Record how run `run_id` ended: the executed notebook, what it produced, its status and error,
    an audit event, and a critical alert when it failed."""
    row = session.get(RetrainingRun, run_id)
    assert row is not None and row.id is not None  # committed by _begin
    if executed is not None:
        try:
            artifact = store_bytes(session=session, store=store, data=executed,
                                   name=f"retraining/runs/{row.id}/executed.ipynb")
            row.notebook_artifact_id = artifact.id
        except MlopsError as err:
            error = error or f"the executed notebook could not be stored ({err})"
    row.run_id, row.model_version, row.request_id = _produced(session, row, project_id)
    if error is None and row.model_version is None:
        error = (f"the notebook ran but registered no version of model {model!r} (no version came from a run "
                 f"tagged {RETRAINING_TAG}={row.id}); it must call mlops.register_model(..., name={model!r})")
    row.status, row.error, row.finished_at = ("failed" if error else "succeeded"), error, time.time()
    session.add(row)
    session.flush()
    audit.record(session=session, actor=who, action="retraining.finished", entity="retraining_run", entity_id=row.id,
                 before={"status": "running"},
                 after={"status": row.status, "error": error, "run_id": row.run_id, "model_version": row.model_version,
                        "request_id": row.request_id, "notebook_artifact_id": row.notebook_artifact_id})
    if error:
        fire_alert(session=session, project_id=project_id, rule="retraining failed", kind=ALERT_KIND,
                   model_version_id=_alert_version(session, row.model_id), severity="critical",
                   message=f"retraining of {model!r} failed (retraining run {row.id}): {error}",
                   evidence={"retraining_run_id": row.id}, fingerprint=fingerprint_of(ALERT_KIND, row.id), actor=who)
    return row


def start_retraining(*, engine: Engine, store: ArtifactStore, project_id: int, actor: Identity, model: str,
                     trigger: str = "manual", alert_id: int | None = None, window: Any = None,
                     env: Mapping[str, str] | None = None, parameters: Mapping[str, Any] | None = None,
                     timeout_s: float = headless.DEFAULT_TIMEOUT_S) -> RetrainingRunPublic:
    """Run model `model`'s approved training notebook headless and record the run: "running" is
    committed first, then papermill executes the stored copy with the parameters set with it, then
    `parameters`, then the injected model_name, project, window_start and window_end (ISO dates of
    `window`, a (start, end) pair, or None) and retraining_run_id. The kernel is this Python, with
    the store in its environment and `env` (the caller's MLOPS_TOKEN / MLOPS_USER: whoever they
    prove is who the notebook acts as, and who requests its promotion). Each cell may take
    `timeout_s` seconds. Several transactions of `engine`'s, so it takes no session.

    Returns the finished run: succeeded (run_id, model_version and request_id of what it produced),
    or failed with its error; a failure has fired a critical "retraining_failed" alert.

    Raises:
        PermissionDenied: `actor` is not a proven ml_engineer or admin (or the operator).
        NotFound: no model `model`, no retraining notebook set for it, no alert `alert_id`.
        InvalidInput: a bad window, parameters, trigger or timeout.
        Conflict: a retraining of the model is running (the message names it).
        IntegrityFailure: the stored notebook was changed after it was approved.
    """
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s < float("inf"):
        raise InvalidInput(f"timeout_s must be a number of seconds above 0, got {timeout_s!r}")
    with session_scope(engine) as session:
        row, notebook, notebook_path = _begin(session=session, store=store, project_id=project_id, actor=actor,
                                              model=model, trigger=trigger, alert_id=alert_id, window=window,
                                              parameters=parameters)
        run_id, who, injected = row.id, row.started_by, dict(row.parameters)
    assert run_id is not None  # flushed in _begin
    execution = headless.Execution(notebook=None, error="interrupted before the notebook finished")
    try:
        execution = headless.execute(notebook, parameters=injected,
                                     environment=_environment(engine, store, run_id, notebook_path, env),
                                     timeout_s=timeout_s)
    finally:  # an interrupt (Ctrl-C) still leaves the run failed, with an alert, not "running"
        with session_scope(engine) as session:
            finished = _finish(session=session, store=store, project_id=project_id, run_id=run_id, model=model,
                               who=who, executed=execution.notebook, error=execution.error)
            result = _public(session, finished, model)
    return result


def retraining_runs(*, session: Session, project_id: int, model: str | None = None,
                    limit: int = 50) -> list[RetrainingRunPublic]:
    """The project's retraining runs (of model `model` when given), newest first, at most `limit`.

    Raises:
        InvalidInput: `limit` below 1 or above 1,000.
        NotFound: no model `model` in the project.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        raise InvalidInput(f"limit must be a whole number from 1 to 1,000, got {limit!r}")
    query = (select(RetrainingRun, col(RegisteredModel.name))
             .join(RegisteredModel, col(RegisteredModel.id) == col(RetrainingRun.model_id))
             .where(col(RegisteredModel.project_id) == project_id))
    if model is not None:
        registered = get_model(session=session, project_id=project_id, name=model)
        query = query.where(col(RetrainingRun.model_id) == registered.id)
    rows = session.execute(query.order_by(col(RetrainingRun.started_at).desc(), col(RetrainingRun.id).desc())
                           .limit(limit)).all()
    return [_public(session, row, name) for row, name in rows]


def executed_notebook(*, session: Session, store: ArtifactStore, project_id: int, retraining_run_id: int) -> bytes:
    """The executed notebook (.ipynb bytes) of retraining run `retraining_run_id`: its evidence.

    Raises:
        NotFound: no such run in the project, or it kept no notebook (still running, or the kernel
            never started).
        IntegrityFailure: the stored file was changed after it was recorded.
    """
    row = session.execute(select(RetrainingRun).join(RegisteredModel, col(RegisteredModel.id) == col(RetrainingRun.model_id))
                          .where(col(RetrainingRun.id) == retraining_run_id,
                                 col(RegisteredModel.project_id) == project_id)).scalars().first()
    if row is None:
        raise NotFound(f"retraining run {retraining_run_id} does not exist in this project")
    artifact = session.get(Artifact, row.notebook_artifact_id) if row.notebook_artifact_id is not None else None
    if artifact is None:
        raise NotFound(f"retraining run {retraining_run_id} kept no executed notebook ({row.status})")
    return read_verified(store=store, artifact=artifact)
