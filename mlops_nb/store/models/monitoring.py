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


class DriftReference(SQLModel, table=True):
    """What a drift test needs of a dataset version, computed once when it is logged (or, for a
    version logged before drift existed, from its stored sample: `source` says which): per numeric
    column the sorted distinct values and their counts, per other column the value counts; in an
    artifact (npz), with a small per-column summary here."""

    __tablename__ = "drift_reference"

    dataset_version_id: int = Field(foreign_key="dataset_version.id", primary_key=True)
    artifact_id: int = Field(foreign_key="artifact.id")
    source: str = Field(max_length=16)  # "dataset" (every row) | "sample" (the stored sample)
    rows: int
    columns: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: float


class DriftRecord(SQLModel, table=True):
    """One drift report: a current frame, a scoring batch or a window of batches against a
    reference (a dataset version, or a frame for ad hoc reports), evidently's default-preset
    verdicts per column (rows in drift_column), the share of drifted columns, prediction drift,
    findings for columns that could not be tested, and evidently's own HTML report when built."""

    __tablename__ = "drift_report"
    __table_args__ = (Index("ix_drift_report_version_time", "model_version_id", "created_at"),
                      Index("ix_drift_report_project_time", "project_id", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    model_version_id: int | None = Field(default=None, foreign_key="model_version.id")
    reference_dataset_version_id: int | None = Field(default=None, foreign_key="dataset_version.id")
    reference: str = Field(max_length=250)  # what the reference was, in words ("dataset german v2", "frame")
    current: str = Field(max_length=250)  # what the current data was ("frame", "batch 3f2a...", "12 batches")
    window_start: float | None = None  # the batches' time window (epoch seconds), when current is batches
    window_end: float | None = None
    batches: int = 0  # scoring batches in the current data
    reference_rows: int
    current_rows: int
    tested: int  # columns with a verdict
    drifted: int
    share: float  # drifted / tested (0 when none tested)
    drift_share: float  # the dataset-level threshold (evidently's preset: 0.5)
    dataset_drift: bool  # share >= drift_share
    prediction_drift: bool | None = None  # the prediction column's verdict, when there was one
    findings: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    html_artifact_id: int | None = Field(default=None, foreign_key="artifact.id")  # evidently's report, once built
    current_sample_artifact_id: int | None = Field(default=None, foreign_key="artifact.id")  # bounded, for that report
    trigger: str = Field(default="manual", max_length=32)  # manual | monitor
    created_by: str = Field(max_length=250)
    created_at: float


class DriftColumn(SQLModel, table=True):
    """One column's verdict in a drift report: its type (as evidently infers it from the current
    data), the test and its statistic (p-value or distance), the threshold, the verdict, the rows
    each side tested, and a small reference-vs-current distribution (bins or top categories) for
    the console's drill-down."""

    __tablename__ = "drift_column"

    report_id: int = Field(foreign_key="drift_report.id", primary_key=True)
    column: str = Field(primary_key=True, max_length=250)
    role: str = Field(default="feature", max_length=16)  # feature | prediction
    type: str = Field(max_length=16)  # numerical | categorical | text
    test: str = Field(max_length=64)
    statistic: float
    threshold: float
    drift: bool
    reference_rows: int
    current_rows: int
    position: int = 0  # the column's place in the report: the data's order, the prediction last
    distribution: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
