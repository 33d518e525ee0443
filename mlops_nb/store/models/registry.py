"""Registered models, their versions, stage history, policies and promotion requests."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

STAGES = ("none", "staging", "production", "archived")
REQUEST_STATUSES = ("pending", "approved", "rejected", "cancelled", "superseded")


class RegisteredModel(SQLModel, table=True):
    """A model name in a project; its versions hold the files and the lineage."""

    __tablename__ = "registered_model"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_registered_model_project_name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=250)
    description: str | None = Field(default=None, sa_column=Column(Text))
    created_by: str = Field(max_length=250)
    created_at: float


class ModelVersion(SQLModel, table=True):
    """One registered version: its stage, run, training dataset, artifact (the model file), input
    signature, training environment, params, metrics, code and feature definitions (JSON)."""

    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_version_number"),
                      Index("ix_model_version_model_stage", "model_id", "stage"))

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="registered_model.id")
    version: int
    stage: str = Field(default="none", max_length=16)
    run_id: str | None = Field(default=None, foreign_key="run.id", max_length=32, index=True)
    dataset_version_id: int | None = Field(default=None, foreign_key="dataset_version.id")
    artifact_id: int = Field(foreign_key="artifact.id")
    flavor: str = Field(default="sklearn-skops", max_length=32)
    target: str | None = Field(default=None, max_length=250)
    signature: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    env: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requirements: str = Field(default="", sa_column=Column(Text, nullable=False))
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    code: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    features: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=250)
    created_at: float


class TrustedType(SQLModel, table=True):
    """A type (or function) that a proven ml_engineer or admin trusted for one model's files: who, why
    and when. The loader trusts a model file's types only from its allow-list and from these rows."""

    __tablename__ = "trusted_type"
    __table_args__ = (UniqueConstraint("model_id", "type_name", name="uq_trusted_type_model_type"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="registered_model.id", index=True)
    type_name: str = Field(max_length=250)
    trusted_by: str = Field(max_length=250)
    role: str = Field(max_length=32)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    trusted_at: float


class StageChange(SQLModel, table=True):
    """Every stage a version entered, in order: rollback reads production's past from here."""

    __tablename__ = "stage_change"
    __table_args__ = (Index("ix_stage_change_model_stage", "model_id", "to_stage", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="registered_model.id")
    model_version_id: int = Field(foreign_key="model_version.id")
    from_stage: str = Field(max_length=16)
    to_stage: str = Field(max_length=16)
    actor: str = Field(max_length=250)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    request_id: int | None = Field(default=None, foreign_key="promotion_request.id")
    rollback: bool = False
    created_at: float


class Policy(SQLModel, table=True):
    """A promotion policy for one model, or the project default (model_id NULL)."""

    __table_args__ = (UniqueConstraint("project_id", "model_id", name="uq_policy_project_model"),
                      # the constraint above treats NULLs as distinct: one project default, enforced here
                      Index("uq_policy_project_default", "project_id", unique=True,
                            sqlite_where=text("model_id IS NULL"), postgresql_where=text("model_id IS NULL")))

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    model_id: int | None = Field(default=None, foreign_key="registered_model.id")
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=250)
    updated_at: float


class PromotionRequest(SQLModel, table=True):
    """A request to move a version to a stage: who asked and why, its gate results, the policy in
    force when it was made (JSON), and how and when it was decided. `requester_id` and
    `decided_by_id` are the users' ids (four eyes compares them); the names are kept for display."""

    __tablename__ = "promotion_request"
    __table_args__ = (Index("ix_promotion_request_model_status", "model_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="registered_model.id")
    model_version_id: int = Field(foreign_key="model_version.id")
    target_stage: str = Field(max_length=16)
    requester: str = Field(max_length=250)
    requester_id: int | None = Field(default=None, foreign_key="user_account.id")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)
    gates: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: float
    decided_at: float | None = None
    decided_by: str | None = Field(default=None, max_length=250)
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")


class Approval(SQLModel, table=True):
    """One reviewer's decision on a request; a user (by id) decides a request at most once."""

    __table_args__ = (UniqueConstraint("request_id", "user", name="uq_approval_request_user"),
                      UniqueConstraint("request_id", "user_id", name="uq_approval_request_user_id"))

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="promotion_request.id", index=True)
    user: str = Field(max_length=250)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    role: str = Field(max_length=32)
    decision: str = Field(max_length=16)  # approve | reject
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: float
