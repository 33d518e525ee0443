"""What the registry services return: a model version with its lineage, and tables of models or versions.

Plain data: `mlops_nb.display` renders these for the notebook, the console with Streamlit.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.data.results import DatasetVersionPublic


@dataclass
class TrustedTypePublic:
    """A type trusted for a model's files: `type` (module and name), who trusted it (`trusted_by`,
    proven with `role`), why (`reason`) and when (`trusted_at`, epoch seconds)."""

    type: str
    trusted_by: str
    role: str
    reason: str
    trusted_at: float


@dataclass
class TrustList:
    """The types trusted for model `model`'s files (beyond the loader's allow-list), by name."""

    model: str
    rows: list[TrustedTypePublic] = field(default_factory=list)

    @property
    def types(self) -> list[str]:
        """The trusted type names, sorted."""
        return sorted(r.type for r in self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[TrustedTypePublic]:
        return iter(self.rows)


@dataclass
class ModelVersionPublic:
    """One registered version with its lineage: run, training data, code, params, metrics, environment.

    `stage` is none, staging, production or archived; `artifact_uri` and `sha256` (64 hex
    characters) locate and check its skops file of `size` bytes; `signature` holds "inputs" (see
    registry.input_signature) and "outputs"; `env` the Python and package versions at training
    (and "trusted_types": the names in its file beyond skops' defaults, a record only, never an
    authority to load them), `requirements` the same as pip requirement lines; `code` the run's
    git_commit, git_dirty, code_hash, notebook_path, code_status and cells (registry.code_reference);
    `features` the feature definitions it was trained with, as refs {"name", "version",
    "source_hash"} (version and hash None for a version registered before definitions were
    versioned); `created_at` epoch seconds; `trust` the types a proven ml_engineer or admin trusted for the
    model's files (who, why, when).
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
    features: list[dict[str, Any]] = field(default_factory=list)
    created_by: str = ""
    created_at: float = 0.0
    trust: list[TrustedTypePublic] = field(default_factory=list)

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
