"""What a project holds in data, for the console's Data page: its dataset versions with how often each
served as a validation contract, the validations recorded against one, and its feature definitions
with the model versions that name each version.

Plain data in and out (dicts and the data read models); the page renders it. Nothing here executes a
feature's stored source: it is read as text.

    rows = dataset_versions(session=s, project_id=1)                 # newest first
    reports = validations_of(session=s, project_id=1, dataset_version_id=rows[0]["id"])
    contract = validation_contract(session=s, project_id=1, validation_id=reports[0]["id"])  # its dataset version
    features = feature_catalog(session=s, project_id=1)              # by name
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from mlops_nb.services.data.datasets import public
from mlops_nb.services.data.features import public as feature_public
from mlops_nb.services.data.features import refs_of
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.errors import NotFound
from mlops_nb.services.values import READ_LIMIT, check_limit
from mlops_nb.store.models import (
    Artifact,
    DatasetVersion,
    FeatureDefinition,
    ModelVersion,
    RegisteredModel,
    ValidationRecord,
)

MAX_LIMIT = READ_LIMIT
MODEL_VERSIONS_READ = 5_000  # model versions scanned for the features they name (newest first)


def dataset_versions(*, session: Session, project_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The project's latest `limit` dataset versions, newest first: [{"id", "name", "version", "rows",
    "columns", "fingerprint" (sha256 hex), "created_by", "created_at" (epoch s), "validations" (reports
    recorded with this version as the contract)}].

    Raises:
        InvalidInput: `limit` is not a whole number from 1 to MAX_LIMIT.
    """
    check_limit(limit, MAX_LIMIT)
    counts = (select(col(ValidationRecord.dataset_version_id).label("dv"), func.count().label("n"))
              .where(col(ValidationRecord.project_id) == project_id)
              .group_by(col(ValidationRecord.dataset_version_id)).subquery())
    query = (select(col(DatasetVersion.id), col(DatasetVersion.name), col(DatasetVersion.version),
                    col(DatasetVersion.rows), col(DatasetVersion.columns), col(DatasetVersion.fingerprint),
                    col(DatasetVersion.created_by), col(DatasetVersion.created_at), counts.c.n)
             .outerjoin(counts, counts.c.dv == col(DatasetVersion.id))
             .where(col(DatasetVersion.project_id) == project_id)
             .order_by(col(DatasetVersion.created_at).desc(), col(DatasetVersion.id).desc()).limit(limit))
    keys = ("id", "name", "version", "rows", "columns", "fingerprint", "created_by", "created_at", "validations")
    return [{**dict(zip(keys, row)), "validations": int(row[-1] or 0)} for row in session.execute(query).all()]


def dataset_version(*, session: Session, project_id: int, dataset_version_id: int) -> DatasetVersionPublic:
    """Dataset version `dataset_version_id` of the project, with its schema and profile.

    Raises:
        NotFound: no dataset version of this project has that id.
    """
    found = session.get(DatasetVersion, dataset_version_id) if isinstance(dataset_version_id, int) else None
    if found is None or found.project_id != project_id:
        raise NotFound(f"dataset version {dataset_version_id!r} is not in this project; pick one of its dataset "
                       "versions")
    sample = session.get(Artifact, found.sample_artifact_id) if found.sample_artifact_id else None
    return public(found, sample)


def validations_of(*, session: Session, project_id: int, dataset_version_id: int,
                   limit: int = 50) -> list[dict[str, Any]]:
    """The latest `limit` validation reports recorded with dataset version `dataset_version_id` as the
    contract, newest first: [{"id", "subject", "ok", "rows", "errors", "warnings", "findings" (list of
    Finding.to_dict), "model_version_id", "created_by", "created_at" (epoch s)}].

    Raises:
        NotFound: no dataset version of this project has that id.
        InvalidInput: `limit` is not a whole number from 1 to MAX_LIMIT.
    """
    check_limit(limit, MAX_LIMIT)
    dataset_version(session=session, project_id=project_id, dataset_version_id=dataset_version_id)
    rows = session.execute(select(ValidationRecord)
                           .where(col(ValidationRecord.dataset_version_id) == dataset_version_id)
                           .order_by(col(ValidationRecord.created_at).desc(), col(ValidationRecord.id).desc())
                           .limit(limit)).scalars().all()
    return [{"id": r.id, "subject": r.subject, "ok": r.ok, "rows": r.rows, "errors": r.errors,
             "warnings": r.warnings, "findings": list(r.findings or []), "model_version_id": r.model_version_id,
             "created_by": r.created_by, "created_at": r.created_at} for r in rows]


def validation_contract(*, session: Session, project_id: int, validation_id: int) -> int:
    """The id of the dataset version validation report `validation_id` was checked against (its
    contract: the version the Data page lists it under).

    Raises:
        NotFound: no validation report of this project has that id.
    """
    found = session.get(ValidationRecord, validation_id) if isinstance(validation_id, int) else None
    if found is None or found.project_id != project_id:
        raise NotFound(f"validation report {validation_id!r} is not in this project; pick one of its dataset "
                       "versions' validations")
    return found.dataset_version_id


def _users_of(session: Session, project_id: int,
              versions: dict[str, list[int]]) -> dict[tuple[str, int], list[str]]:
    """{(feature, version): ["model vN", ...]} from the features the project's model versions name; a
    plain-name ref (a version registered before definitions were versioned) counts for a feature with
    one version only, as feature_refs_for_version reads it."""
    used: dict[tuple[str, int], list[str]] = {}
    rows = session.execute(select(col(RegisteredModel.name), col(ModelVersion.version), col(ModelVersion.features))
                           .join(RegisteredModel, col(RegisteredModel.id) == col(ModelVersion.model_id))
                           .where(col(RegisteredModel.project_id) == project_id)
                           .order_by(col(ModelVersion.created_at).desc()).limit(MODEL_VERSIONS_READ)).all()
    for model, number, features in reversed(rows):  # oldest first, so each list reads in registration order
        for ref in refs_of(features):
            known = versions.get(ref["name"], [])
            version = ref["version"] if ref["version"] is not None else (known[0] if len(known) == 1 else None)
            if version in known:
                used.setdefault((ref["name"], version), []).append(f"{model} v{number}")
    return used


def feature_catalog(*, session: Session, project_id: int, limit: int = 1_000) -> list[dict[str, Any]]:
    """The project's features by name: [{"name", "versions": [FeatureDefinitionPublic, oldest first],
    "newest": the highest version, "used_by": {version: ["model vN", ...]}}] over at most `limit`
    definition versions (model versions read: the newest MODEL_VERSIONS_READ).

    Raises:
        InvalidInput: `limit` is not a whole number from 1 to MAX_LIMIT.
    """
    check_limit(limit, MAX_LIMIT)
    rows = session.execute(select(FeatureDefinition).where(col(FeatureDefinition.project_id) == project_id)
                           .order_by(col(FeatureDefinition.name), col(FeatureDefinition.version))
                           .limit(limit)).scalars().all()
    by_name: dict[str, list[Any]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(feature_public(row))
    used = _users_of(session, project_id, {n: [d.version for d in ds] for n, ds in by_name.items()})
    return [{"name": name, "versions": ds, "newest": ds[-1],
             "used_by": {d.version: used.get((name, d.version), []) for d in ds}} for name, ds in by_name.items()]
