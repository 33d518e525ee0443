"""Alerts and retraining: the rules a project watches its production models with, the alerts they
fire (each once, with evidence), the deliveries of each alert's actions, a model's retraining
notebook and every retraining run, and the lock that keeps two `mlops monitor run` apart."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

RULE_KINDS = ("drift_share", "feature_drift", "validation", "outcome_metric", "latency_p95", "model_age")
SEVERITIES = ("info", "warning", "critical")
ACTION_TYPES = ("notify", "webhook", "callable", "retrain")
ALERT_STATUSES = ("open", "acknowledged")
RETRAINING_STATUSES = ("running", "succeeded", "failed")


class AlertRule(SQLModel, table=True):
    """A rule over a model's monitoring evidence (`kind`, one of RULE_KINDS, with its `params`, e.g.
    {"threshold": 0.3} or {"metric": "default_rate", "expected": 0.05, "tolerance": 0.02}); `model_id`
    None watches every production model of the project. `actions` run when it fires: a list of
    {"type": one of ACTION_TYPES, ...} ({"type": "webhook", "url": ...}, {"type": "callable",
    "name": ...})."""

    __tablename__ = "alert_rule"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_alert_rule_name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    model_id: int | None = Field(default=None, foreign_key="registered_model.id")
    name: str = Field(max_length=250)
    kind: str = Field(max_length=32)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    severity: str = Field(default="warning", max_length=16)
    actions: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = True
    created_by: str = Field(max_length=250)
    created_at: float


class Alert(SQLModel, table=True):
    """One firing of a rule for a model version: severity, a message naming model, column and rule,
    the evidence (ids of the drift report, batches, outcome or retraining run that prove it).
    `fingerprint` (rule + model version + what it is about) is unique per project, so evaluating
    the same evidence again fires nothing new. Acknowledged by a user, with a note."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("project_id", "fingerprint", name="uq_alert_fingerprint"),
                      Index("ix_alert_project_time", "project_id", "created_at"),
                      Index("ix_alert_version_time", "model_version_id", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    rule_id: int | None = Field(default=None, foreign_key="alert_rule.id")  # None: a default rule (SPEC §4)
    rule: str = Field(max_length=250)  # the rule's name when it fired (default rules have names too)
    kind: str = Field(max_length=32)
    model_version_id: int | None = Field(default=None, foreign_key="model_version.id")
    column: str | None = Field(default=None, max_length=250)
    severity: str = Field(max_length=16)
    message: str = Field(sa_column=Column(Text, nullable=False))
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fingerprint: str = Field(max_length=64)
    status: str = Field(default="open", max_length=16)
    acknowledged_by: str | None = Field(default=None, max_length=250)
    acknowledged_at: float | None = None
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: float


class AlertAction(SQLModel, table=True):
    """One action run for an alert: a notification row (the record itself), a webhook POST (attempts,
    HTTP status), a registered callable, or a retraining run; `status` sent | failed."""

    __tablename__ = "alert_action"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    type: str = Field(max_length=16)  # ACTION_TYPES
    target: str = Field(default="", max_length=1000)  # url, callable name, model name
    status: str = Field(max_length=16)
    attempts: int = 0
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))  # the error, HTTP status, run id
    retraining_run_id: int | None = None  # the retraining run a retrain action started (no FK: retraining_run refers to alert)
    created_at: float
    finished_at: float | None = None


class RetrainingConfig(SQLModel, table=True):
    """A model's training notebook (a copy, by artifact, with the path it came from) and the
    parameters a retraining run injects into its cell tagged `parameters`."""

    __tablename__ = "retraining_config"

    model_id: int = Field(foreign_key="registered_model.id", primary_key=True)
    notebook_artifact_id: int = Field(foreign_key="artifact.id")
    notebook_path: str = Field(max_length=1000)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    set_by: str = Field(max_length=250)
    set_at: float


class RetrainingRun(SQLModel, table=True):
    """One headless run of a model's training notebook (papermill): why (manual, or the alert that
    triggered it), the parameters injected, the executed notebook (artifact: the run's evidence),
    and what it produced: the tracked run, the registered version and its promotion request."""

    __tablename__ = "retraining_run"
    __table_args__ = (Index("ix_retraining_run_model_time", "model_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="registered_model.id")
    alert_id: int | None = Field(default=None, foreign_key="alert.id")
    trigger: str = Field(max_length=250)  # "manual" or the rule's name
    status: str = Field(max_length=16)  # RETRAINING_STATUSES
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notebook_artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    run_id: str | None = Field(default=None, foreign_key="run.id", max_length=32)
    model_version: int | None = None
    request_id: int | None = Field(default=None, foreign_key="promotion_request.id")
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_by: str = Field(max_length=250)
    started_at: float
    finished_at: float | None = None


class MonitorCursor(SQLModel, table=True):
    """Per model version, how far `mlops monitor run` has looked: batches created up to
    `last_batch_at` are covered; `last_run_at` when it last evaluated this version."""

    __tablename__ = "monitor_cursor"

    model_version_id: int = Field(foreign_key="model_version.id", primary_key=True)
    last_batch_at: float
    last_run_at: float


class MonitorLock(SQLModel, table=True):
    """A named lock row (`mlops monitor run` takes "monitor"): who holds it and until when; a holder
    past `expires_at` is presumed dead and the lock may be taken over."""

    __tablename__ = "monitor_lock"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=250)
    acquired_at: float
    expires_at: float
