"""Tables of the maturity scorecards (SPEC §3): attestations of ML Test Score tests done by hand,
snapshots of computed scorecards for the trend, and each project's scorecard settings.

A scorecard itself is never stored as truth: it is computed from the store's evidence on every read
(services.monitoring.scorecards). Snapshots only keep what it said at a time, for the trend.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import JSON, Field, SQLModel


class Attestation(SQLModel, table=True):
    """A person's statement that an ML Test Score test is done by hand (worth 0.5 while it holds).

    `test` is the test's key ("data.2", SPEC §3's table); `model_id` NULL attests it for every model
    of the project. It counts from `attested_at` until `expires_at`, or until withdrawn."""

    __tablename__ = "attestation"
    __table_args__ = (Index("ix_attestation_project_test", "project_id", "test"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    model_id: int | None = Field(default=None, foreign_key="registered_model.id")
    test: str = Field(max_length=32)
    note: str = Field(sa_column=Column(Text, nullable=False))
    attested_by: str = Field(max_length=250)
    attested_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    role: str = Field(max_length=32)  # the attester's role when they attested
    attested_at: float
    expires_at: float
    withdrawn_by: str | None = Field(default=None, max_length=250)
    withdrawn_at: float | None = None


class ScorecardSnapshot(SQLModel, table=True):
    """What one scorecard said at one time: a project's (model_id NULL) or one model's."""

    __tablename__ = "scorecard_snapshot"
    __table_args__ = (Index("ix_scorecard_snapshot_project_taken", "project_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    model_id: int | None = Field(default=None, foreign_key="registered_model.id")
    taken_at: float
    as_of: float  # the time the scorecard was computed for
    phase: int  # 0-3
    passed: int
    partial: int
    failed: int
    statuses: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # {criterion: status}
    test_score: float  # the ML Test Score: the minimum over its four sections
    sections: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # {section: sum}
    trigger: str = Field(default="manual", max_length=16)  # manual | monitor | demo
    taken_by: str = Field(max_length=250)


class ScorecardSetting(SQLModel, table=True):
    """A project's scorecard thresholds and windows (services.monitoring.scorecard_results.DEFAULT_SETTINGS
    for what is not set)."""

    __tablename__ = "scorecard_setting"

    project_id: int = Field(foreign_key="project.id", primary_key=True)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=250)
    updated_at: float
