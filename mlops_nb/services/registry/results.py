"""What the registry services return: a model version with its lineage, and tables of models or versions.

Plain data: `mlops_nb.display` renders these for the notebook, the console with Streamlit.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.data.results import DatasetVersionPublic


@dataclass
class ModelVersionPublic:
    """One registered version with its lineage: run, training data, code, params, metrics, environment.

    `stage` is none, staging, production or archived; `artifact_uri` and `sha256` (64 hex
    characters) locate and check its skops file of `size` bytes; `signature` holds "inputs" (see
    registry.input_signature) and "outputs"; `env` the Python and package versions at training
    (and "trusted_types"), `requirements` the same as pip requirement lines; `code` the run's
    git_commit, git_dirty, code_hash, notebook_path, code_status and cells (registry.code_reference);
    `created_at` epoch seconds.
    """

    id: int
    model_id: int
    name: str
    version: int
    stage: str
    run_id: str | None
    dataset: DatasetVersionPublic | None
    artifact_uri: str
    sha256: str
    size: int
    flavor: str
    target: str | None
    signature: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    requirements: str = ""
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    code: dict[str, Any] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    created_by: str = ""
    created_at: float = 0.0

    @property
    def input_columns(self) -> list[str] | None:
        """The named input columns of the signature, in order, or None when the input is unnamed."""
        inputs = (self.signature or {}).get("inputs") or {}
        columns = inputs.get("columns")
        return [c["name"] for c in columns] if columns else None


VERSION_COLUMNS = ["name", "version", "stage", "run_id", "dataset", "sha256", "created_by", "created_at"]
MODEL_COLUMNS = ["name", "versions", "latest", "production", "staging", "created_by", "updated_at"]


@dataclass
class ModelTable:
    """Registered models (one row each), or the versions of one model (`kind="versions"`)."""

    rows: list[dict[str, Any]]
    title: str = "Models"
    kind: str = "models"

    def columns(self) -> list[str]:
        """The table's column names: the fixed ones of its kind, then any others (metrics.*), sorted."""
        fixed = MODEL_COLUMNS if self.kind == "models" else VERSION_COLUMNS
        extra = sorted({k for row in self.rows for k in row if k not in fixed})
        return fixed + extra

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)
