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

from mlops_nb.services import governance, identity, tracking
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


def without_styles(html: str) -> str:
    """`html` less its inline `style='...'` attributes, so a test can look for `<td>name</td>`."""
    import re

    return re.sub(r" style='[^']*'", "", html)


# --- governance builders: rows written straight into the store ---------------------------------

_counter = itertools.count(1)
PROFILE = {"x": {"count": 500, "nulls": 0, "null_rate": 0.0}, "y": {"count": 500, "nulls": 0, "null_rate": 0.0}}
SCHEMA = {"columns": [{"name": "x", "dtype": "float64", "kind": "numerical"},
                      {"name": "y", "dtype": "int64", "kind": "numerical"}]}


def add_users(session: Session) -> dict[str, Identity]:
    """One proven identity per role (named after it), plus 'dana', a declared name with no proof."""
    people = {}
    for role in ROLES:
        name = role.replace("_", "-")
        identity.add_user(session=session, name=name, role=role)
        people[role] = Identity(name=name, role=role, proven=True)
    people["declared"] = Identity(name="dana")
    return people


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
            lineage: bool = True, target: str | None = "y", dataset_row: DatasetVersion | None = None) -> ModelVersion:
    """A version row; `stage` other than none is reached through governance.set_stage (recorded, audited)."""
    number = len(session.exec(ModelVersion.__table__.select().where(
        ModelVersion.model_id == registered.id)).all()) + 1
    artifact = Artifact(name=f"models/{registered.name}/v{number}", uri=f"file:///nowhere/{registered.name}/{number}",
                        sha256="0" * 64, size=1, created_at=time.time())
    session.add(artifact)
    session.flush()
    run_id = run(session, registered.project_id) if lineage else None
    data = (dataset_row or dataset(session, registered.project_id)) if lineage else None
    row = ModelVersion(model_id=registered.id, version=number, stage="none", run_id=run_id,
                       dataset_version_id=data.id if data else None, artifact_id=artifact.id, target=target,
                       metrics=metrics if metrics is not None else {"auc": 0.8}, params={"C": "1.0"},
                       created_by="dana", created_at=time.time())
    session.add(row)
    session.flush()
    if stage in ("staging", "production"):
        governance.set_stage(session=session, actor="setup", version=row, to_stage="staging")
    if stage == "production":
        governance.set_stage(session=session, actor="setup", version=row, to_stage="production")
    return row
