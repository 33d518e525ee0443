"""What the registry returns: a model version, a table of models or versions, and a model for scoring."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.rendering import DisplayTable, format_time
from mlops_nb.services.results import DatasetVersionPublic, Displayable


@dataclass(repr=False)
class ModelVersionPublic(Displayable):
    """One registered version with its lineage: run, training data, code, params, metrics, environment."""

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
    signature: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    requirements: str = ""
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    code: dict = field(default_factory=dict)
    features: list = field(default_factory=list)
    created_by: str = ""
    created_at: float = 0.0

    @property
    def _title(self) -> str:
        return f"Model {self.name} v{self.version} · {self.stage}"

    @property
    def input_columns(self) -> list[str] | None:
        """The named input columns of the signature, in order, or None when the input is unnamed."""
        inputs = (self.signature or {}).get("inputs") or {}
        columns = inputs.get("columns")
        return [c["name"] for c in columns] if columns else None

    def _pairs(self):
        dataset = f"{self.dataset.name} v{self.dataset.version}" if self.dataset else None
        inputs = self.input_columns
        packages = (self.env or {}).get("packages", {})
        code = self.code or {}
        pairs: list[tuple[str, Any]] = [
            ("run", self.run_id), ("dataset", dataset), ("target", self.target),
            ("inputs", f"{len(inputs)} columns: {', '.join(inputs)}" if inputs else None),
            ("outputs", ", ".join(k for k in (self.signature or {}).get("outputs", {}) if k != "classes")),
            ("artifact", self.artifact_uri), ("sha256", self.sha256),
            ("code", code.get("git_commit") or code.get("code_hash")),
            ("python", (self.env or {}).get("python")),
            ("packages", ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))),
            ("by", self.created_by), ("created", format_time(self.created_at))]
        pairs += [(f"metric {k}", v) for k, v in sorted(self.metrics.items())]
        return pairs


VERSION_COLUMNS = ["name", "version", "stage", "run_id", "dataset", "sha256", "created_by", "created_at"]
MODEL_COLUMNS = ["name", "versions", "latest", "production", "staging", "created_by", "updated_at"]


@dataclass(repr=False)
class ModelTable(DisplayTable):
    """Registered models (one row each), or the versions of one model (`kind="versions"`)."""

    rows: list[dict[str, Any]]
    title: str = "Models"
    kind: str = "models"

    def columns(self) -> list[str]:
        fixed = MODEL_COLUMNS if self.kind == "models" else VERSION_COLUMNS
        extra = sorted({k for row in self.rows for k in row if k not in fixed})
        return fixed + extra

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=self.columns())
        for col in ("created_at", "updated_at"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
        return frame

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def _display(self, limit: int = 50):
        cols = self.columns()
        rows = [[format_time(row.get(c)) if c in ("created_at", "updated_at")
                 else (row.get(c) or "")[:12] if c == "sha256" else row.get(c) for c in cols]
                for row in self.rows[:limit]]
        return cols, rows, f"{self.title} ({len(self.rows)})"



class ScoringModel(Displayable):
    """A loaded model version: `predict` and `predict_proba` check the input against the signature."""

    def __init__(self, version: ModelVersionPublic, estimator: Any, env_mismatches: list[str] | None = None):
        self.info = version
        self.estimator = estimator
        self.env_mismatches = list(env_mismatches or [])

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def version(self) -> int:
        return self.info.version

    @property
    def stage(self) -> str:
        return self.info.stage

    @property
    def _title(self) -> str:
        return f"Scoring model {self.name} v{self.version} · {self.stage}"

    def _pairs(self):
        pairs = [("estimator", type(self.estimator).__name__), ("sha256", self.info.sha256),
                 ("run", self.info.run_id)]
        pairs += [("environment differs", m) for m in self.env_mismatches]
        return pairs

    def _checked(self, X: Any) -> Any:
        """X with the signature's columns in order; missing columns are named."""
        columns = self.info.input_columns
        if columns is None:
            return X
        if hasattr(X, "columns"):
            present = {str(c) for c in X.columns}
            missing = [c for c in columns if c not in present]
            if missing:
                raise InvalidInput(f"the input lacks {len(missing)} column(s) model {self.name!r} "
                                   f"v{self.version} was trained on: {', '.join(missing)}")
            return X[columns] if list(X.columns) != columns else X
        width = X.shape[1] if getattr(X, "ndim", 0) == 2 else None
        if width is not None and width != len(columns):
            raise InvalidInput(f"the input has {width} columns; model {self.name!r} v{self.version} expects "
                               f"{len(columns)}: {', '.join(columns)}")
        return X

    def predict(self, X: Any):
        """The estimator's predictions for the rows of X (a DataFrame with the training columns)."""
        return self.estimator.predict(self._checked(X))

    def predict_proba(self, X: Any):
        """Class probabilities, one column per class in `signature["outputs"]["classes"]` order."""
        if not hasattr(self.estimator, "predict_proba"):
            raise InvalidInput(f"model {self.name!r} v{self.version} ({type(self.estimator).__name__}) has no "
                               "predict_proba; use predict")
        return self.estimator.predict_proba(self._checked(X))
