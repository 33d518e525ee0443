"""Finding registered models and their versions, and reading a version as the API returns it.

Every other part of the registry and of governance (stages, promotion, gates) finds a model or a
version through these functions, so a name or number that does not exist is refused one way, with
a message that names what there is:

    model 'credit' has no version 7; versions are 1-6

    model = get_model(session=s, project_id=1, name="credit-risk")
    row = find_version_row(session=s, model=model, stage="production")   # the ORM row, to change it
    info = get_version(session=s, project_id=1, name="credit-risk", version=3)   # the read model
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from mlops_nb.services.data import datasets
from mlops_nb.services.data.features import refs_of
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.registry.results import ModelTable, ModelVersionPublic, TrustedTypePublic
from mlops_nb.store.models import Artifact, DatasetVersion, ModelVersion, RegisteredModel, TrustedType
from mlops_nb.store.models.registry import STAGES


def get_model(*, session: Session, project_id: int, name: str) -> RegisteredModel:
    """The registered model `name` of project `project_id` (the ORM row).

    Raises:
        NotFound: no such model in the project; the message lists up to 20 models there are.
    """
    model: RegisteredModel | None = session.execute(select(RegisteredModel).where(
        col(RegisteredModel.project_id) == project_id, col(RegisteredModel.name) == name)).scalars().first()
    if model is None:
        known = session.execute(select(col(RegisteredModel.name)).where(col(RegisteredModel.project_id) == project_id)
                                .order_by(col(RegisteredModel.name)).limit(20)).scalars().all()
        raise NotFound(f"model {name!r} is not registered in this project; models: {', '.join(known) or 'none yet'}"
                       " (register one with mlops.register_model(model, name=...))")
    return model


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> '1-3, 5'."""
    parts: list[str] = []
    start: int | None = None
    prev = 0
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
    """Version number `version` of the model with id `model_id` (the ORM row).

    Raises:
        InvalidInput: `version` is not an integer.
        NotFound: the model has no such version: "model 'credit' has no version 7; versions are 1-6".
    """
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput(f"model version must be an integer, got {type(version).__name__} {version!r}")
    row: ModelVersion | None = session.execute(select(ModelVersion).where(
        col(ModelVersion.model_id) == model_id, col(ModelVersion.version) == version)).scalars().first()
    if row is None:
        numbers = session.execute(select(col(ModelVersion.version)).where(col(ModelVersion.model_id) == model_id)
                                  ).scalars().all()
        known = f"versions are {_ranges(list(numbers))}" if numbers else "it has no versions yet"
        raise NotFound(f"model {_model_name(session, model_id)!r} has no version {version}; {known}")
    return row


def production_version_row(*, session: Session, model_id: int) -> ModelVersion | None:
    """The version of model `model_id` in production, or None (there is at most one)."""
    row: ModelVersion | None = session.execute(
        select(ModelVersion).where(col(ModelVersion.model_id) == model_id, col(ModelVersion.stage) == "production")
        .order_by(col(ModelVersion.version).desc()).limit(1)).scalars().first()
    return row


def find_version_row(*, session: Session, model: RegisteredModel, version: int | None = None,
                     stage: str | None = None) -> ModelVersion:
    """A version of `model` by number, by stage (the newest version in it), or the newest version.

    Raises:
        InvalidInput: both `version` and `stage` are given, `version` is not an integer, or `stage`
            is not one of the stages (store.models.registry.STAGES).
        NotFound: no such version, or none in `stage` (the message lists the last ten and their stages).
    """
    assert model.id is not None  # a row read from the store
    if version is not None and stage is not None:
        raise InvalidInput(f"give version or stage for model {model.name!r}, not both")
    if version is not None:
        return get_version_row(session=session, model_id=model.id, version=version)
    query = select(ModelVersion).where(col(ModelVersion.model_id) == model.id)
    if stage is not None:
        if stage not in STAGES:
            raise InvalidInput(f"stage {stage!r} is not one of {', '.join(STAGES)}")
        query = query.where(col(ModelVersion.stage) == stage)
    newest = query.order_by(col(ModelVersion.version).desc()).limit(1)
    row: ModelVersion | None = session.execute(newest).scalars().first()
    if row is None:
        if stage is None:
            raise NotFound(f"model {model.name!r} has no versions yet")
        held = session.execute(select(col(ModelVersion.version), col(ModelVersion.stage)).where(
            col(ModelVersion.model_id) == model.id).order_by(col(ModelVersion.version))).all()
        listed = ", ".join(f"v{v} {s}" for v, s in held[-10:]) or "none"
        raise NotFound(f"model {model.name!r} has no version in {stage}; versions: {listed}"
                       + (" (promote one with mlops.request_promotion(...))" if stage != "none" else ""))
    return row


def _metric_value(value: Any) -> Any:
    """A stored metric as a float: NaN and +-inf are stored as text ('nan', 'inf', '-inf')."""
    return float(value) if isinstance(value, str) else value


def trust_records(*, session: Session, model_id: int) -> list[TrustedTypePublic]:
    """Who trusted which type for model `model_id`'s files, why and when, by type name."""
    rows = session.execute(select(TrustedType).where(col(TrustedType.model_id) == model_id)
                           .order_by(col(TrustedType.type_name))).scalars()
    return [TrustedTypePublic(type=r.type_name, trusted_by=r.trusted_by, role=r.role, reason=r.reason,
                              trusted_at=r.trusted_at) for r in rows]


def public(*, session: Session, row: Any, model_name: str | None = None,
           artifact: Artifact | None = None, dataset: DatasetVersionPublic | None = None,
           trust: list[TrustedTypePublic] | None = None) -> ModelVersionPublic:
    """The read model of version `row` (a ModelVersion, or any object with its fields).

    Pass the model's name, the version's artifact, its training dataset and its model's trust
    records when already in hand; whatever is not passed is read from the store.
    """
    artifact = artifact or session.get(Artifact, row.artifact_id)
    assert artifact is not None  # model_version.artifact_id is a foreign key
    if dataset is None and row.dataset_version_id is not None:
        found = session.get(DatasetVersion, row.dataset_version_id)
        assert found is not None  # model_version.dataset_version_id is a foreign key
        sample = session.get(Artifact, found.sample_artifact_id) if found.sample_artifact_id else None
        dataset = datasets.public(found, sample)
    return ModelVersionPublic(
        id=row.id, model_id=row.model_id, name=model_name or _model_name(session, row.model_id),
        version=row.version, stage=row.stage, run_id=row.run_id, dataset=dataset, artifact_uri=artifact.uri,
        sha256=artifact.sha256, size=artifact.size, flavor=row.flavor, target=row.target,
        signature=dict(row.signature or {}), env=dict(row.env or {}), requirements=row.requirements,
        params=dict(row.params or {}), metrics={k: _metric_value(v) for k, v in (row.metrics or {}).items()},
        code=dict(row.code or {}), features=refs_of(row.features), created_by=row.created_by,
        created_at=row.created_at,
        trust=trust if trust is not None else trust_records(session=session, model_id=row.model_id))


def get_version(*, session: Session, project_id: int, name: str, version: int | None = None,
                stage: str | None = None) -> ModelVersionPublic:
    """Model `name`'s version by number or stage (`stage="production"`), else its newest, with lineage.

    Raises:
        InvalidInput, NotFound: as `find_version_row`; NotFound also for an unknown model.
    """
    model = get_model(session=session, project_id=project_id, name=name)
    row = find_version_row(session=session, model=model, version=version, stage=stage)
    return public(session=session, row=row, model_name=model.name)


def list_models(*, session: Session, project_id: int, name: str | None = None, limit: int = 1000) -> ModelTable:
    """The project's models (one row each, by name) or, with `name`, that model's versions, newest first.

    A model row holds `name`, `versions` (count), `latest`, `production` and `staging` (version
    numbers or None), `created_by` and `updated_at` (epoch seconds of the newest version). A version
    row holds `name`, `version`, `stage`, `run_id`, `dataset` ("german v2"), `sha256`, `created_by`,
    `created_at` (epoch seconds) and one `metrics.<key>` column per metric. At most `limit` rows.

    Raises:
        NotFound: `name` is not a registered model of the project.
    """
    if name is not None:
        model = get_model(session=session, project_id=project_id, name=name)
        rows = []
        for mv, sha, dname, dversion in session.execute(
                select(ModelVersion, col(Artifact.sha256), col(DatasetVersion.name), col(DatasetVersion.version))
                .join(Artifact, col(Artifact.id) == ModelVersion.artifact_id)
                .outerjoin(DatasetVersion, col(DatasetVersion.id) == ModelVersion.dataset_version_id)
                .where(col(ModelVersion.model_id) == model.id).order_by(col(ModelVersion.version).desc())
                .limit(limit)).all():
            row = {"name": model.name, "version": mv.version, "stage": mv.stage, "run_id": mv.run_id,
                   "dataset": f"{dname} v{dversion}" if dname else None, "sha256": sha,
                   "created_by": mv.created_by, "created_at": mv.created_at}
            row.update({f"metrics.{k}": _metric_value(v) for k, v in (mv.metrics or {}).items()})
            rows.append(row)
        return ModelTable(rows=rows, title=f"Versions of {model.name}", kind="versions")
    stats = (select(col(ModelVersion.model_id), func.count().label("n"),
                    func.max(col(ModelVersion.version)).label("latest"),
                    func.max(col(ModelVersion.created_at)).label("updated"))
             .group_by(col(ModelVersion.model_id)).subquery())
    query = (select(RegisteredModel, stats.c.n, stats.c.latest, stats.c.updated)
             .outerjoin(stats, stats.c.model_id == RegisteredModel.id)
             .where(col(RegisteredModel.project_id) == project_id).order_by(col(RegisteredModel.name)).limit(limit))
    found = session.execute(query).all()
    staged: dict[tuple[int, str], int] = {}
    for model_id, stage, version in session.execute(
            select(col(ModelVersion.model_id), col(ModelVersion.stage), func.max(col(ModelVersion.version)))
            .where(col(ModelVersion.model_id).in_([m.id for m, *_ in found]),
                   col(ModelVersion.stage).in_(("production", "staging")))
            .group_by(col(ModelVersion.model_id), col(ModelVersion.stage))).all():
        staged[(model_id, stage)] = version
    table = [{"name": m.name, "versions": n or 0, "latest": latest, "production": staged.get((m.id, "production")),
              "staging": staged.get((m.id, "staging")), "created_by": m.created_by,
              "updated_at": updated or m.created_at}
             for m, n, latest, updated in found]
    return ModelTable(rows=table, title="Models")
