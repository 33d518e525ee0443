"""Project > Experiment > Run, with params, metric history, tags, artifacts and dataset versions."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

RUN_STATUSES = ("running", "finished", "failed", "killed")


class Project(SQLModel, table=True):
    """The top folder: a unique name; experiments, datasets and models belong to one."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=250, unique=True, index=True)
    created_at: float


class Experiment(SQLModel, table=True):
    """A named group of runs in a project."""

    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_experiment_project_name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=250)
    created_at: float


class Run(SQLModel, table=True):
    """One execution: status (running, finished, failed, killed), times and heartbeat (epoch
    seconds), and where and with what code and packages it ran."""

    __table_args__ = (Index("ix_run_experiment_start", "experiment_id", "start_time"),
                      Index("ix_run_status_heartbeat", "status", "heartbeat_at"))

    id: str = Field(primary_key=True, max_length=32)
    experiment_id: int = Field(foreign_key="experiment.id")
    name: str = Field(max_length=250)
    status: str = Field(default="running", max_length=16)
    user: str = Field(max_length=250)
    start_time: float
    end_time: float | None = None
    heartbeat_at: float
    # 'stale': a reader marked the run killed after its heartbeat went stale (its owner revives it
    # when the heartbeat returns); None: running, or ended explicitly (never revived)
    end_reason: str | None = Field(default=None, max_length=16)
    # captured context: who, where, which code and environment made this run
    host: str | None = Field(default=None, max_length=250)
    pid: int | None = None
    git_commit: str | None = Field(default=None, max_length=64)
    git_dirty: bool | None = None
    notebook_path: str | None = Field(default=None, sa_column=Column(Text))  # or, outside a notebook, the script
    # the code file in git: committed, modified, untracked, no_git or unknown (NULL: recorded before 0007)
    code_status: str | None = Field(default=None, max_length=16)
    code_hash: str | None = Field(default=None, max_length=64)
    cell_hashes: list[str] | None = Field(default=None, sa_column=Column(JSON))
    cell_source: str | None = Field(default=None, sa_column=Column(Text))
    python_version: str | None = Field(default=None, max_length=64)
    packages: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))


class Param(SQLModel, table=True):
    """A run's param as text; one value per key (params are immutable)."""

    run_id: str = Field(foreign_key="run.id", primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=250)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Metric(SQLModel, table=True):
    """One point of a metric's history. value NULL means NaN (SQLite cannot store NaN)."""

    __table_args__ = (Index("ix_metric_run_key_step", "run_id", "key", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="run.id", max_length=32)
    key: str = Field(max_length=250)
    value: float | None = None
    step: int = Field(default=0, sa_type=BigInteger)  # 64-bit: steps may be millisecond timestamps
    timestamp: float


class LatestMetric(SQLModel, table=True):
    """Each key's value at its highest step, kept in the same transaction as the history: search and
    run tables read one row per key instead of scanning history."""

    __tablename__ = "latest_metric"
    __table_args__ = (Index("ix_latest_metric_key_value", "key", "value"),)

    run_id: str = Field(foreign_key="run.id", primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=250)
    value: float | None = None
    step: int = Field(default=0, sa_type=BigInteger)  # 64-bit: steps may be millisecond timestamps
    timestamp: float


class Tag(SQLModel, table=True):
    """A run's tag as text; setting it again replaces the value."""

    run_id: str = Field(foreign_key="run.id", primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=250)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Artifact(SQLModel, table=True):
    """A stored file: its URI, sha256 (hex) and size (bytes); of a run, or of the registry (run_id NULL)."""

    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_artifact_run_name"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str | None = Field(default=None, foreign_key="run.id", index=True, max_length=32)
    name: str = Field(max_length=1000)
    uri: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str = Field(max_length=64)
    size: int
    created_at: float


class DatasetVersion(SQLModel, table=True):
    """A version of a dataset: content fingerprint (sha256), shape, schema and profile (JSON), and a
    stored sample for drift reference."""

    __tablename__ = "dataset_version"
    __table_args__ = (UniqueConstraint("project_id", "name", "version", name="uq_dataset_name_version"),
                      UniqueConstraint("project_id", "name", "fingerprint", name="uq_dataset_name_fingerprint"))

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=250)
    version: int
    fingerprint: str = Field(max_length=64)
    rows: int
    columns: int
    schema_: dict[str, Any] = Field(sa_column=Column("schema", JSON, nullable=False))
    profile: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sample_artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    created_by: str = Field(max_length=250)
    created_at: float


class RunInput(SQLModel, table=True):
    """A dataset version used by a run, with its role (train, validation, test, serving)."""

    __tablename__ = "run_input"

    run_id: str = Field(foreign_key="run.id", primary_key=True, max_length=32)
    dataset_version_id: int = Field(foreign_key="dataset_version.id", primary_key=True)
    role: str = Field(primary_key=True, max_length=32)
    created_at: float
