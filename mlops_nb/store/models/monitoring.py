"""Monitoring: each scoring batch recorded against the model version that scored it, and the true
outcomes and business metrics logged for it later."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

BATCH_STATUSES = ("accepted", "warned", "refused", "failed")


class ScoringBatch(SQLModel, table=True):
    """One call of a loaded model's predict/predict_proba: when, how many rows, how long, what the
    validation and skew checks found, profiles of the input and the predictions, and (by artifact)
    a bounded sample of the rows with their predictions. `id` is a uuid4 hex made by the scorer, so
    the caller knows it before the row is written."""

    __tablename__ = "scoring_batch"
    __table_args__ = (Index("ix_scoring_batch_version_time", "model_version_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    model_version_id: int = Field(foreign_key="model_version.id")
    stage: str = Field(max_length=16)  # the version's stage when it was loaded
    method: str = Field(max_length=16)  # predict | predict_proba
    status: str = Field(max_length=16)  # BATCH_STATUSES
    rows: int
    latency_ms: float | None = None
    findings: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    features: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    input_profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prediction_profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sample_artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    created_by: str = Field(max_length=250)
    created_at: float


class Outcome(SQLModel, table=True):
    """True outcomes logged for a scoring batch (or for the version as a whole) and the metrics:
    `metrics` computed from outcomes joined to predictions (realised AUC, accuracy, rates),
    `business` the user's own (e.g. default_rate)."""

    __tablename__ = "outcome"
    __table_args__ = (Index("ix_outcome_version_time", "model_version_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    model_version_id: int = Field(foreign_key="model_version.id")
    scoring_batch_id: str | None = Field(default=None, foreign_key="scoring_batch.id", max_length=32, index=True)
    rows: int
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    business: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outcomes_artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    created_by: str = Field(max_length=250)
    created_at: float
