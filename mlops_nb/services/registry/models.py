"""The model registry: registered models and their versions, with full lineage, and loading them safely.

A version records the run that made it, the training dataset version, feature definitions, params,
metrics, code, the input/output signature, the environment it was trained in, and its skops file
(artifact URI + sha256). Loading checks the sha256 before a byte is deserialised, trusts exactly the
types recorded at registration, and names every difference between the training environment and
this one (a warning, or a refusal when the model's policy says `env_mismatch: refuse`).

Version numbers never collide: registration locks the registered model's row (SELECT ... FOR
UPDATE on PostgreSQL; SQLite transactions are serialised by BEGIN IMMEDIATE) before it numbers.
Stage changes live in services.stages / services.promotion; this module offers them the lookups.
"""
from __future__ import annotations

import hashlib
import math
import time
import warnings
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Float,
    Text,
    bindparam,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mlops_nb.services.governance import audit
from mlops_nb.services.governance.policies import get_effective_policy
from mlops_nb.services.data import datasets
from mlops_nb.services.tracking import environment
from mlops_nb.services.registry import model_files
from mlops_nb.services.tracking.artifacts import read_verified, store_bytes
from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.services.registry.results import ModelTable, ModelVersionPublic
from mlops_nb.services.registry.scoring import ScoringModel
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.values import check_name
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import (
    Artifact,
    DatasetVersion,
    Experiment,
    LatestMetric,
    ModelVersion,
    Param,
    RegisteredModel,
    Run,
    RunInput,
)
from mlops_nb.store.models.registry import STAGES

PARAM_TEXT_LIMIT = 250
EXAMPLE_ROWS = 5


class EnvironmentMismatchWarning(UserWarning):
    """A model is loaded in an environment other than the one it was trained in."""


# --- lookups (also used by services.stages and services.promotion) ----------------------------------

def get_model(*, session: Session, project_id: int, name: str) -> RegisteredModel:
    """The registered model `name` of the project, or NotFound naming the models there are."""
    model = session.execute(select(RegisteredModel).where(
        RegisteredModel.project_id == project_id, RegisteredModel.name == name)).scalars().first()
    if model is None:
        known = session.execute(select(RegisteredModel.name).where(RegisteredModel.project_id == project_id)
                                .order_by(RegisteredModel.name).limit(20)).scalars().all()
        raise NotFound(f"model {name!r} is not registered in this project; models: {', '.join(known) or 'none yet'}"
                       " (register one with mlops.register_model(model, name=...))")
    return model


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> '1-3, 5'."""
    parts, start, prev = [], None, None
    for n in sorted(numbers):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = n
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else str(start))
    return ", ".join(parts)


def _model_name(session: Session, model_id: int) -> str:
    model = session.get(RegisteredModel, model_id)
    return model.name if model is not None else f"#{model_id}"


def get_version_row(*, session: Session, model_id: int, version: int) -> ModelVersion:
    """Version `version` of a model, or NotFound: "model 'credit' has no version 7; versions are 1-6"."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput(f"model version must be an integer, got {type(version).__name__} {version!r}")
    row = session.execute(select(ModelVersion).where(ModelVersion.model_id == model_id,
                                                     ModelVersion.version == version)).scalars().first()
    if row is None:
        numbers = session.execute(select(ModelVersion.version).where(ModelVersion.model_id == model_id)
                                  ).scalars().all()
        known = f"versions are {_ranges(list(numbers))}" if numbers else "it has no versions yet"
        raise NotFound(f"model {_model_name(session, model_id)!r} has no version {version}; {known}")
    return row


def production_version_row(*, session: Session, model_id: int) -> ModelVersion | None:
    """The version in production, if any (there is at most one)."""
    return session.execute(select(ModelVersion).where(ModelVersion.model_id == model_id,
                                                      ModelVersion.stage == "production")
                           .order_by(ModelVersion.version.desc()).limit(1)).scalars().first()


def find_version_row(*, session: Session, model: RegisteredModel, version: int | None = None,
                     stage: str | None = None) -> ModelVersion:
    """By number, by stage (the newest version in it), or the newest version when neither is given."""
    if version is not None and stage is not None:
        raise InvalidInput(f"give version or stage for model {model.name!r}, not both")
    if version is not None:
        return get_version_row(session=session, model_id=model.id, version=version)
    query = select(ModelVersion).where(ModelVersion.model_id == model.id)
    if stage is not None:
        if stage not in STAGES:
            raise InvalidInput(f"stage {stage!r} is not one of {', '.join(STAGES)}")
        query = query.where(ModelVersion.stage == stage)
    row = session.execute(query.order_by(ModelVersion.version.desc()).limit(1)).scalars().first()
    if row is None:
        if stage is None:
            raise NotFound(f"model {model.name!r} has no versions yet")
        held = session.execute(select(ModelVersion.version, ModelVersion.stage).where(
            ModelVersion.model_id == model.id).order_by(ModelVersion.version)).all()
        listed = ", ".join(f"v{v} {s}" for v, s in held[-10:]) or "none"
        raise NotFound(f"model {model.name!r} has no version in {stage}; versions: {listed}"
                       + (" (promote one with mlops.request_promotion(...))" if stage != "none" else ""))
    return row


# --- reading ---------------------------------------------------------------------------------------

def _metric_value(value: Any) -> Any:
    return float(value) if isinstance(value, str) else value


def public(*, session: Session, row: ModelVersion, model_name: str | None = None,
           artifact: Artifact | None = None, dataset: DatasetVersionPublic | None = None) -> ModelVersionPublic:
    """The read model of a version; pass the artifact and dataset when already in hand."""
    artifact = artifact or session.get(Artifact, row.artifact_id)
    if dataset is None and row.dataset_version_id is not None:
        found = session.get(DatasetVersion, row.dataset_version_id)
        sample = session.get(Artifact, found.sample_artifact_id) if found.sample_artifact_id else None
        dataset = datasets.public(found, sample)
    return ModelVersionPublic(
        id=row.id, model_id=row.model_id, name=model_name or _model_name(session, row.model_id),
        version=row.version, stage=row.stage, run_id=row.run_id, dataset=dataset, artifact_uri=artifact.uri,
        sha256=artifact.sha256, size=artifact.size, flavor=row.flavor, target=row.target,
        signature=dict(row.signature or {}), env=dict(row.env or {}), requirements=row.requirements,
        params=dict(row.params or {}), metrics={k: _metric_value(v) for k, v in (row.metrics or {}).items()},
        code=dict(row.code or {}), features=list(row.features or []), created_by=row.created_by,
        created_at=row.created_at)


def get_version(*, session: Session, project_id: int, name: str, version: int | None = None,
                stage: str | None = None) -> ModelVersionPublic:
    """A version by number or stage (`stage="production"`), or the newest one."""
    model = get_model(session=session, project_id=project_id, name=name)
    row = find_version_row(session=session, model=model, version=version, stage=stage)
    return public(session=session, row=row, model_name=model.name)


def list_models(*, session: Session, project_id: int, name: str | None = None, limit: int = 1000) -> ModelTable:
    """The project's models (one row each) or, with `name`, that model's versions, newest first."""
    if name is not None:
        model = get_model(session=session, project_id=project_id, name=name)
        rows = []
        for mv, sha, dname, dversion in session.execute(
                select(ModelVersion, Artifact.sha256, DatasetVersion.name, DatasetVersion.version)
                .join(Artifact, Artifact.id == ModelVersion.artifact_id)
                .outerjoin(DatasetVersion, DatasetVersion.id == ModelVersion.dataset_version_id)
                .where(ModelVersion.model_id == model.id).order_by(ModelVersion.version.desc()).limit(limit)).all():
            row = {"name": model.name, "version": mv.version, "stage": mv.stage, "run_id": mv.run_id,
                   "dataset": f"{dname} v{dversion}" if dname else None, "sha256": sha,
                   "created_by": mv.created_by, "created_at": mv.created_at}
            row.update({f"metrics.{k}": _metric_value(v) for k, v in (mv.metrics or {}).items()})
            rows.append(row)
        return ModelTable(rows=rows, title=f"Versions of {model.name}", kind="versions")
    stats = (select(ModelVersion.model_id, func.count().label("n"), func.max(ModelVersion.version).label("latest"),
                    func.max(ModelVersion.created_at).label("updated"))
             .group_by(ModelVersion.model_id).subquery())
    query = (select(RegisteredModel, stats.c.n, stats.c.latest, stats.c.updated)
             .outerjoin(stats, stats.c.model_id == RegisteredModel.id)
             .where(RegisteredModel.project_id == project_id).order_by(RegisteredModel.name).limit(limit))
    found = session.execute(query).all()
    staged: dict[tuple[int, str], int] = {}
    for model_id, stage, version in session.execute(
            select(ModelVersion.model_id, ModelVersion.stage, func.max(ModelVersion.version))
            .where(ModelVersion.model_id.in_([m.id for m, *_ in found]),
                   ModelVersion.stage.in_(("production", "staging")))
            .group_by(ModelVersion.model_id, ModelVersion.stage)).all():
        staged[(model_id, stage)] = version
    rows = [{"name": m.name, "versions": n or 0, "latest": latest, "production": staged.get((m.id, "production")),
             "staging": staged.get((m.id, "staging")), "created_by": m.created_by, "updated_at": updated or m.created_at}
            for m, n, latest, updated in found]
    return ModelTable(rows=rows, title="Models")


# --- registering -----------------------------------------------------------------------------------

# Statements of the registration path, built once (Core, bound parameters): a registration runs
# about ten of them, and building and ORM-executing each anew cost more than the SQL itself.
_RUN_FOR_MODEL = (select(Run.id, Run.name, Run.git_commit, Run.git_dirty, Run.code_hash, Run.cell_source,
                         Run.notebook_path, Experiment.project_id)
                  .join(Experiment, Experiment.id == Run.experiment_id).where(Run.id == bindparam("run_id")))
# The run's params (text) and latest metrics (float) in one round trip, each kind in its own column.
_RUN_PARAMS_AND_METRICS = union_all(
    select(literal("param").label("kind"), Param.key, Param.value.label("text"), null().cast(Float).label("number"))
    .where(Param.run_id == bindparam("run_id")),
    select(literal("metric"), LatestMetric.key, null().cast(Text), LatestMetric.value)
    .where(LatestMetric.run_id == bindparam("run_id")))
_DATASET_COLUMNS = (DatasetVersion.id, DatasetVersion.name, DatasetVersion.version, DatasetVersion.fingerprint,
                    DatasetVersion.rows, DatasetVersion.columns, DatasetVersion.schema_, DatasetVersion.profile,
                    DatasetVersion.created_by, DatasetVersion.created_at, Artifact.uri, Artifact.sha256)
# A dataset by name: the version the run used (its train input first, then the newest input), else the
# newest version (the order of training_dataset's two queries, in one).
_RUN_INPUT_OF = RunInput.__table__.alias("used")
_DATASET_BY_NAME = (select(*_DATASET_COLUMNS)
                    .outerjoin(Artifact, Artifact.id == DatasetVersion.sample_artifact_id)
                    .outerjoin(_RUN_INPUT_OF, (_RUN_INPUT_OF.c.dataset_version_id == DatasetVersion.id)
                               & (_RUN_INPUT_OF.c.run_id == bindparam("run_id")))
                    .where(DatasetVersion.project_id == bindparam("project_id"),
                           DatasetVersion.name == bindparam("name"))
                    .order_by(_RUN_INPUT_OF.c.run_id.is_not(None).desc(), (_RUN_INPUT_OF.c.role == "train").desc(),
                              _RUN_INPUT_OF.c.created_at.desc(), DatasetVersion.version.desc())
                    .limit(1))
_RUN_TRAINING_DATASET = (select(*_DATASET_COLUMNS)
                         .join(RunInput, RunInput.dataset_version_id == DatasetVersion.id)
                         .outerjoin(Artifact, Artifact.id == DatasetVersion.sample_artifact_id)
                         .where(RunInput.run_id == bindparam("run_id"), RunInput.role == "train")
                         .order_by(RunInput.created_at.desc()).limit(1))
# The model's row, locked (FOR UPDATE on PostgreSQL); its highest version is read by a second
# statement, after the lock is held: in one statement, PostgreSQL would evaluate the max in the
# snapshot taken before waiting for a concurrent registrant's lock, and number a duplicate.
_MODEL_FOR_UPDATE = (select(RegisteredModel.id).where(RegisteredModel.project_id == bindparam("project_id"),
                                                      RegisteredModel.name == bindparam("name")).with_for_update())
_MAX_VERSION = select(func.max(ModelVersion.version)).where(ModelVersion.model_id == bindparam("model_id"))
_INSERT_VERSION = insert(ModelVersion.__table__)


def _run_in_project(session: Session, run_id: str, project_id: int) -> Any:
    """The run's id, name, project and code fields (what registration reads of it)."""
    found = session.connection().execute(_RUN_FOR_MODEL, {"run_id": run_id}).first() \
        if isinstance(run_id, str) else None
    if found is None:
        raise NotFound(f"run {run_id!r} does not exist; list runs with mlops.runs() or %mlops runs")
    if found.project_id != project_id:
        raise InvalidInput(f"run {found.name!r} ({run_id}) belongs to another project; register from a run of this one")
    return found


def _dataset_public(row: Any) -> DatasetVersionPublic:
    (id_, name, version, fingerprint, rows, columns, schema, profile, created_by, created_at, uri, sha) = row
    return DatasetVersionPublic(id=id_, name=name, version=version, fingerprint=fingerprint, rows=rows,
                                columns=columns, schema=schema, profile=profile, created_by=created_by,
                                created_at=created_at, sample_uri=uri, sample_sha256=sha)


def training_dataset(*, session: Session, project_id: int, run_id: str, dataset: Any) -> DatasetVersionPublic | None:
    """The dataset version a model was trained on.

    None: the run's training dataset (if it logged one). A name: the version of that dataset the run
    used, else its newest version. A DatasetVersion: itself.
    """
    if dataset is None:
        row = session.connection().execute(_RUN_TRAINING_DATASET, {"run_id": run_id}).first()
        return _dataset_public(row) if row is not None else None
    if isinstance(dataset, DatasetVersionPublic):
        return datasets.get_dataset(session=session, project_id=project_id, name=dataset.name,
                                    version=dataset.version)
    if not isinstance(dataset, str):
        raise InvalidInput(f"dataset must be a dataset name or a DatasetVersion, got {type(dataset).__name__}; "
                           "log a DataFrame first with mlops.log_dataset(df, name=...)")
    row = session.connection().execute(_DATASET_BY_NAME, {"run_id": run_id, "project_id": project_id,
                                                          "name": dataset}).first()
    if row is None:  # no such dataset: get_dataset names what there is
        return datasets.get_dataset(session=session, project_id=project_id, name=dataset)
    return _dataset_public(row)


def input_signature(model: Any, *, dataset: DatasetVersionPublic | None, target: str | None,
                    input_example: Any = None) -> dict[str, Any] | None:
    """Columns and dtypes the model takes: from the example, else the training data less `target`.

    When the estimator knows the columns it was fitted on (`feature_names_in_`), the dataset's
    columns are narrowed to those, in that order, so scoring does not demand columns it ignores.
    """
    if input_example is not None:
        if hasattr(input_example, "dtypes") and hasattr(input_example, "columns"):
            return {"type": "dataframe", "columns": [{"name": str(c), "dtype": str(t)}
                                                     for c, t in input_example.dtypes.items() if str(c) != target]}
        shape = getattr(input_example, "shape", None)
        if shape is not None:
            return {"type": "ndarray", "dtype": str(getattr(input_example, "dtype", "")), "shape": [-1, *shape[1:]]}
        raise InvalidInput(f"input_example must be a DataFrame or an array, got {type(input_example).__name__}")
    fitted = getattr(model, "feature_names_in_", None)
    fitted = [str(c) for c in fitted] if fitted is not None else None
    if dataset is not None:
        columns = [{"name": c["name"], "dtype": c["dtype"]} for c in dataset.schema.get("columns", [])
                   if c["name"] != target]
        if fitted is not None:
            by_name = {c["name"]: c for c in columns}
            columns = [by_name.get(n, {"name": n, "dtype": None}) for n in fitted]
        return {"type": "dataframe", "columns": columns}
    if fitted is not None:
        return {"type": "dataframe", "columns": [{"name": n, "dtype": None} for n in fitted]}
    return None


def _example_rows(input_example: Any, target: str | None) -> Any:
    if input_example is None:
        return None
    head = input_example[:EXAMPLE_ROWS] if not hasattr(input_example, "head") else input_example.head(EXAMPLE_ROWS)
    if target is not None and hasattr(head, "columns") and target in head.columns:
        head = head.drop(columns=target)
    return head


def _check_features(features: Any) -> list[str]:
    if features is None:
        return []
    if isinstance(features, str) or not all(isinstance(f, str) for f in features):
        raise InvalidInput("features must be a list of feature definition names, e.g. ['income_ratio']")
    return [check_name(f, "feature name") for f in features]


def _json_float(value: float | None) -> float | str:
    """Metrics as JSON: NaN and +-inf as text ('nan', 'inf', '-inf'), read back as floats."""
    if value is None:
        return "nan"
    return value if math.isfinite(value) else repr(float(value))


def _code(run: Any) -> dict[str, Any]:
    code_hash = run.code_hash
    if code_hash is None and run.cell_source:
        code_hash = hashlib.sha256(run.cell_source.encode()).hexdigest()
    return {"git_commit": run.git_commit, "git_dirty": run.git_dirty, "code_hash": code_hash,
            "notebook_path": run.notebook_path}


def _lock_model(session: Session, *, project_id: int, name: str, user: str) -> RegisteredModel:
    """The model's row, locked for this transaction (created first if needed; two creators may race)."""
    query = (select(RegisteredModel).where(RegisteredModel.project_id == project_id, RegisteredModel.name == name)
             .with_for_update())
    for _ in range(5):
        model = session.execute(query).scalars().first()
        if model is not None:
            return model
        model = RegisteredModel(project_id=project_id, name=name, created_by=user, created_at=time.time())
        try:
            with session.begin_nested():  # a savepoint: losing the race leaves the transaction usable
                session.add(model)
        except IntegrityError:
            continue  # another writer created it first; lock theirs
        audit.record(session=session, actor=user, action="model.create", entity="registered_model",
                     entity_id=name, after={"project_id": project_id})
        return model
    raise Conflict(f"model {name!r} could not be created or locked; try again")


def register_model(*, session: Session, store: ArtifactStore, project_id: int, user: str, model: Any, name: str,
                   run_id: str, dataset: Any = None, target: str | None = None, features: Any = None,
                   input_example: Any = None) -> ModelVersionPublic:
    """Save `model` in skops format as the next version of `name`, with its lineage and environment.

    The model is serialised before the first query, so the store's write lock is held only for the
    few inserts (file, version, audit event) that need the new version number.
    """
    check_name(name, "model name")
    if target is not None:
        check_name(target, "target")
    features = _check_features(features)
    data, trusted = model_files.dump(model)
    example = _example_rows(input_example, target)
    try:
        outputs = model_files.output_signature(model, example)
    except Exception as err:
        raise InvalidInput(f"input_example does not fit the {type(model).__name__}: {err}") from err
    env, requirements = environment.training_env(trusted)

    run = _run_in_project(session, run_id, project_id)
    trained_on = training_dataset(session=session, project_id=project_id, run_id=run.id, dataset=dataset)
    if target is not None and trained_on is not None:
        columns = [c["name"] for c in trained_on.schema.get("columns", [])]
        if target not in columns:
            raise InvalidInput(f"target {target!r} is not a column of dataset {trained_on.name!r} "
                               f"v{trained_on.version}; its columns: {', '.join(columns[:30])}")
    signature = {"inputs": input_signature(model, dataset=trained_on, target=target, input_example=input_example),
                 "outputs": outputs}
    conn = session.connection()
    params = model_files.estimator_params(model, limit=PARAM_TEXT_LIMIT)
    metrics = {}
    for kind, key, text, number in conn.execute(_RUN_PARAMS_AND_METRICS, {"run_id": run.id}):
        if kind == "param":
            params[key] = text
        else:
            metrics[key] = _json_float(number)

    model_id = conn.execute(_MODEL_FOR_UPDATE, {"project_id": project_id, "name": name}).scalar()
    if model_id is None:  # a new model: created (or, losing a race, locked) the ORM way
        model_id = _lock_model(session, project_id=project_id, name=name, user=user).id
    number = (conn.execute(_MAX_VERSION, {"model_id": model_id}).scalar() or 0) + 1
    artifact = store_bytes(session=session, store=store, data=data, run_id=run.id,
                           name=f"models/{project_id}/{name}/v{number}/model.skops")
    values = {"model_id": model_id, "version": number, "stage": "none", "run_id": run.id,
              "dataset_version_id": trained_on.id if trained_on else None, "artifact_id": artifact.id,
              "flavor": model_files.FLAVOR, "target": target, "signature": signature, "env": env,
              "requirements": requirements, "params": params, "metrics": metrics, "code": _code(run),
              "features": features, "created_by": user, "created_at": time.time()}
    version_id = conn.execute(_INSERT_VERSION, values).inserted_primary_key[0]
    row = SimpleNamespace(id=version_id, **values)
    audit.record(session=session, actor=user, action="model.register", entity="model_version",
                 entity_id=f"{name}:{number}",
                 after={"run_id": run.id, "sha256": artifact.sha256, "stage": "none",
                        "dataset_version_id": row.dataset_version_id})
    return public(session=session, row=row, model_name=name, artifact=artifact, dataset=trained_on)


# --- environment policy ----------------------------------------------------------------------------

def env_policy(*, session: Session, project_id: int, model_id: int) -> str:
    """'refuse' or 'warn': the `env_mismatch` rule of the model's effective policy (its own, else the
    project default, else the default rules: warn), as services.governance.policies reads it."""
    policy = get_effective_policy(session=session, project_id=project_id, model_id=model_id)
    return "refuse" if policy.rules["env_mismatch"] == "refuse" else "warn"


# --- loading ---------------------------------------------------------------------------------------

@dataclass
class LoadPlan:
    """What loading a version needs from the store, read in one short transaction."""

    version: ModelVersionPublic
    artifact: Artifact
    trusted: list[str]
    env_policy: str


def plan_load(*, session: Session, project_id: int, name: str, version: int | None = None,
              stage: str | None = None) -> LoadPlan:
    """What loading a version (by number or stage, else the newest) needs, under the model's env policy."""
    model = get_model(session=session, project_id=project_id, name=name)
    row = find_version_row(session=session, model=model, version=version, stage=stage)
    return plan_for_row(session=session, row=row, model_name=model.name,
                        env_policy=env_policy(session=session, project_id=project_id, model_id=model.id))


def plan_for_row(*, session: Session, row: ModelVersion, model_name: str | None = None,
                 env_policy: str = "warn") -> LoadPlan:
    """A LoadPlan for a version row already in hand (gates load the candidate this way)."""
    return LoadPlan(version=public(session=session, row=row, model_name=model_name),
                    artifact=session.get(Artifact, row.artifact_id),
                    trusted=list((row.env or {}).get("trusted_types") or []), env_policy=env_policy)


def load(plan: LoadPlan, *, store: ArtifactStore) -> ScoringModel:
    """The version's estimator, ready to score: sha256 checked first, then the environment, then skops.

    A file that does not hash to the recorded sha256 raises IntegrityFailure before deserialising.
    An environment mismatch warns (EnvironmentMismatchWarning) or, under `env_mismatch: refuse`,
    raises Conflict.
    """
    info = plan.version
    data = read_verified(store=store, artifact=plan.artifact)
    mismatches = environment.env_mismatches(info.env)
    if mismatches:
        listed = "; ".join(mismatches)
        if plan.env_policy == "refuse":
            raise Conflict(f"model {info.name!r} v{info.version} was trained in another environment ({listed}) "
                           "and its policy refuses to load it; install its requirements "
                           "(get_model_version(...).requirements) and try again")
        warnings.warn(f"model {info.name!r} v{info.version} was trained in another environment: {listed}; "
                      "predictions may differ (install its requirements to match)",
                      EnvironmentMismatchWarning, stacklevel=3)
    estimator = model_files.load(data, trusted=plan.trusted)
    return ScoringModel(info, estimator, mismatches)
