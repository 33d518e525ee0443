"""Shared builders for tests, one module for the whole suite.

Runs, datasets and fitted models are made through the public API. The governance builders (users,
models and versions) write rows straight into the store, so the permission matrix and the concurrency
tests stay fast; tests that need a real model file use the public API instead.
"""
from __future__ import annotations

import itertools
import time
from typing import Any

import pandas as pd
from sqlmodel import Session

from mlops_nb.services import identity, tracking
from mlops_nb.services.governance import stages
from mlops_nb.services.identity.auth import Identity
from mlops_nb.store.models import Artifact, DatasetVersion, ModelVersion, RegisteredModel
from mlops_nb.store.models.identity import ROLES


def finished_run(experiment: str = "exp", name: str = "run", params: dict | None = None,
                 metrics: dict | None = None) -> Any:
    """A finished run with the given params and metrics, through the Python API."""
    import mlops_nb as mlops

    with mlops.start_run(experiment=experiment, name=name) as run:
        if params:
            mlops.log_params(params)
        if metrics:
            mlops.log_metrics(metrics)
    return mlops.get_run(run.id)


def fit_credit_model(credit: pd.DataFrame, C: float = 1.0):
    """A scikit-learn pipeline on German Credit; returns (model, X)."""
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = credit.drop(columns="creditability"), (credit.creditability == "bad").astype(int)
    pre = make_column_transformer(
        (StandardScaler(), make_column_selector(dtype_include="number")),
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")))
    return make_pipeline(pre, LogisticRegression(C=C, max_iter=1000)).fit(X, y), X


def register_credit_model(credit: pd.DataFrame, name: str = "credit"):
    """Model `name` v1, a German Credit pipeline trained on dataset 'german', registered from a run
    of the current context; returns the features it was trained on (X)."""
    import mlops_nb as mlops

    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german")
        pipe, X = fit_credit_model(credit)
        mlops.register_model(pipe, name=name, dataset="german", target="creditability")
    return X


def without_styles(html: str) -> str:
    """`html` less its inline `style='...'` attributes, so a test can look for `<td>name</td>`."""
    import re

    return re.sub(r" style='[^']*'", "", html)


# --- governance builders: rows written straight into the store ---------------------------------

_counter = itertools.count(1)
PROFILE = {"x": {"count": 500, "nulls": 0, "null_rate": 0.0}, "y": {"count": 500, "nulls": 0, "null_rate": 0.0}}
SCHEMA = {"columns": [{"name": "x", "dtype": "float64", "kind": "numerical"},
                      {"name": "y", "dtype": "int64", "kind": "numerical"}]}


def proven(session: Session, name: str, role: str = "data_scientist") -> Identity:
    """The proven identity of user `name` (added with `role` when new), as identity.identify makes it
    after a password check: the stored name, role and user id."""
    from mlops_nb.services.identity.auth import _find_user

    user = _find_user(session, name) or identity.add_user(session=session, actor=identity.OPERATOR, name=name, role=role)
    return Identity(name=user.name, role=user.role, proven=True, user_id=user.id)


def add_users(session: Session) -> dict[str, Identity]:
    """One proven identity per role (named after it), 'dana', a proven data scientist who requests,
    and 'declared': the name 'dana' declared without proof."""
    people = {role: proven(session, role.replace("_", "-"), role) for role in ROLES}
    people["dana"] = proven(session, "dana")
    people["declared"] = Identity(name="dana")
    return people


def move_stage(session: Session, row: ModelVersion, stage: str, *, actor: str = "setup", reason: str = "") -> None:
    """Set up a version's stage as a decided promotion would (a StageChange and an audit event by
    `actor`, with `reason`), without a request: the services' private mover, which no interface may call."""
    stages._set_stage(session=session, actor=actor, version=row, to_stage=stage, reason=reason)


def project(session: Session, name: str = "gov") -> int:
    return tracking.get_or_create_project(session=session, name=name).id


def dataset(session: Session, project_id: int, *, rows: int = 500, profile: dict | None = None,
            schema: dict | None = None) -> DatasetVersion:
    n = next(_counter)
    row = DatasetVersion(project_id=project_id, name=f"data-{n}", version=1, fingerprint=f"{n:064x}", rows=rows,
                         columns=2, schema_=schema or SCHEMA, profile=profile or PROFILE, created_by="dana",
                         created_at=time.time())
    session.add(row)
    session.flush()
    return row


def run(session: Session, project_id: int, **context: Any) -> str:
    experiment = tracking.get_or_create_experiment(session=session, project_id=project_id, name="gov")
    return tracking.create_run(session=session, experiment_id=experiment.id, name=None, user="dana",
                               context=context or {"git_commit": "abc123"}).id


def model(session: Session, project_id: int, name: str | None = None) -> RegisteredModel:
    row = RegisteredModel(project_id=project_id, name=name or f"model-{next(_counter)}", created_by="dana",
                          created_at=time.time())
    session.add(row)
    session.flush()
    return row


def version(session: Session, registered: RegisteredModel, *, metrics: dict | None = None, stage: str = "none",
            lineage: bool = True, target: str | None = "y", dataset_row: DatasetVersion | None = None,
            run_context: dict | None = None) -> ModelVersion:
    """A version row; `stage` other than none is reached through `move_stage` (recorded, audited).
    `run_context` is its run's captured context (default: a git commit, as runs recorded before
    code status was kept)."""
    number = len(session.exec(ModelVersion.__table__.select().where(
        ModelVersion.model_id == registered.id)).all()) + 1
    artifact = Artifact(name=f"models/{registered.name}/v{number}", uri=f"file:///nowhere/{registered.name}/{number}",
                        sha256="0" * 64, size=1, created_at=time.time())
    session.add(artifact)
    session.flush()
    run_id = run(session, registered.project_id, **(run_context or {})) if lineage else None
    data = (dataset_row or dataset(session, registered.project_id)) if lineage else None
    row = ModelVersion(model_id=registered.id, version=number, stage="none", run_id=run_id,
                       dataset_version_id=data.id if data else None, artifact_id=artifact.id, target=target,
                       metrics=metrics if metrics is not None else {"auc": 0.8}, params={"C": "1.0"},
                       created_by="dana", created_at=time.time())
    session.add(row)
    session.flush()
    if stage in ("staging", "production"):
        move_stage(session, row, "staging")
    if stage == "production":
        move_stage(session, row, "production")
    return row


def production_credit_model(credit: pd.DataFrame, name: str = "credit"):
    """`register_credit_model`, then its version 1 moved through staging into production as a decided
    promotion would (move_stage); returns the features it was trained on (X)."""
    from sqlalchemy import select

    import mlops_nb as mlops
    from mlops_nb.store.db import session_scope

    X = register_credit_model(credit, name=name)
    with session_scope(mlops.get_context().engine) as session:
        row = session.execute(select(ModelVersion).join(RegisteredModel, RegisteredModel.id == ModelVersion.model_id)
                              .where(RegisteredModel.name == name, ModelVersion.version == 1)).scalars().one()
        move_stage(session, row, "staging")
        move_stage(session, row, "production")
    return X


def swap_model_file(engine: Any, version: Any, data: bytes, *, env_types: list[str] | None = None) -> None:
    """Replace a registered version's file with `data` and record its sha256, as someone with write
    access to the artifact store and the database could (the sha256 check alone cannot catch it);
    with `env_types`, record them as `env["trusted_types"]`, as versions registered before model
    trust was recorded did."""
    import hashlib
    from pathlib import Path

    from mlops_nb.store.db import session_scope

    Path(version.artifact_uri.removeprefix("file://")).write_bytes(data)
    with session_scope(engine) as session:
        row = session.get(ModelVersion, version.id)
        artifact = session.get(Artifact, row.artifact_id)
        artifact.sha256, artifact.size = hashlib.sha256(data).hexdigest(), len(data)
        if env_types is not None:
            row.env = {**row.env, "trusted_types": env_types}
        session.add_all([artifact, row])


# --- runs through the tracking services (no API context: fast, any store) ---------------------------

def tracked_runs(engine: Any, *, project: str, runs: list[dict[str, Any]], user: str = "dana") -> list[str]:
    """Make `runs` in `project` through the tracking services, oldest first, and return their ids.
    Each dict may give `experiment` (default "exp"), `name`, `params`, `metrics` (a value, or a list
    of values logged at steps 0, 1, ...) and `status` (default finished; "running" leaves it open)."""
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.run_store import run_store

    with session_scope(engine) as session:
        project_id = tracking.get_or_create_project(session=session, name=project).id
    store = run_store(engine)
    ids = []
    for spec in runs:
        started = tracking.start_run(store=store, project_id=project_id, experiment=spec.get("experiment", "exp"),
                                     name=spec.get("name"), user=user)
        if spec.get("params"):
            tracking.log_params(store=store, run_id=started.id, params=spec["params"])
        for key, value in (spec.get("metrics") or {}).items():
            values = value if isinstance(value, list) else [value]
            for step, v in enumerate(values):
                points = tracking.metric_points(started.id, {key: v}, {key: step})
                tracking.write_metric_points(store=store, points=points)
        if spec.get("status", "finished") != "running":
            tracking.end_run(store=store, run_id=started.id, status=spec.get("status", "finished"))
        ids.append(started.id)
    return ids
