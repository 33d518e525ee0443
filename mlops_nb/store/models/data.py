"""Data contracts in use: feature definitions (versioned source), the runs that applied them, and
the validation reports recorded against a dataset version's schema."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class FeatureDefinition(SQLModel, table=True):
    """A version of a named feature transformation: its source text and the sha256 of that text.
    An edited function is a new version (a new source_hash); the same source is the same version."""

    __tablename__ = "feature_definition"
    __table_args__ = (UniqueConstraint("project_id", "name", "version", name="uq_feature_name_version"),
                      UniqueConstraint("project_id", "name", "source_hash", name="uq_feature_name_source"))

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=250)
    version: int
    source: str = Field(sa_column=Column(Text, nullable=False))
    source_hash: str = Field(max_length=64)
    function: str = Field(default="", max_length=500)  # module:qualname where it was defined
    outputs: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # columns it produced
    created_by: str = Field(max_length=250)
    created_at: float


class RunFeature(SQLModel, table=True):
    """A feature definition version a run applied (what register_model links a version to by default)."""

    __tablename__ = "run_feature"

    run_id: str = Field(foreign_key="run.id", primary_key=True, max_length=32)
    feature_definition_id: int = Field(foreign_key="feature_definition.id", primary_key=True)
    created_at: float


class ValidationRecord(SQLModel, table=True):
    """One validation of a frame against a dataset version's schema (the contract): its findings
    (column, rule, severity, message, examples) and counts. `subject` says what was validated."""

    __tablename__ = "validation_report"
    __table_args__ = (Index("ix_validation_report_contract", "dataset_version_id", "created_at"),
                      Index("ix_validation_report_subject", "subject_dataset_version_id"))

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    dataset_version_id: int = Field(foreign_key="dataset_version.id")  # the contract
    subject: str = Field(max_length=250)  # e.g. "frame", "dataset german-q3 v1"
    subject_dataset_version_id: int | None = Field(default=None, foreign_key="dataset_version.id")
    model_version_id: int | None = Field(default=None, foreign_key="model_version.id")
    rows: int
    ok: bool
    errors: int
    warnings: int
    findings: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=250)
    created_at: float
