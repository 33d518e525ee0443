"""What the feature services return, as plain data: a definition version, a table of them, and the
result of a skew check. `mlops_nb.display.features` renders them for the notebook."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.data.results import Finding

FEATURE_COLUMNS = ["name", "version", "source_hash", "function", "outputs", "created_by", "created_at"]


@dataclass
class FeatureDefinitionPublic:
    """One version of a named feature transformation. `source` is the function's own text (dedented,
    from its `def` line: decorators are not part of it), `source_hash` the sha256 (64 hex characters)
    of that text, `function` where it was defined (`module:qualname`, `__main__:name` for a notebook
    cell), `outputs` the column names its first application produced ([] before any), `created_at`
    epoch seconds."""

    id: int
    name: str
    version: int
    source: str = field(repr=False)
    source_hash: str
    function: str = ""
    outputs: list[str] = field(default_factory=list)
    created_by: str = ""
    created_at: float = 0.0

    @property
    def ref(self) -> dict[str, Any]:
        """{"name", "version", "source_hash"}: what a model version stores to name this definition."""
        return {"name": self.name, "version": self.version, "source_hash": self.source_hash}

    @property
    def label(self) -> str:
        """'name v2', as messages name a version."""
        return f"{self.name!r} v{self.version}"


@dataclass
class FeatureTable:
    """Feature definition versions, one row each (name, then version)."""

    rows: list[FeatureDefinitionPublic]
    title: str = "Feature definitions"

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[FeatureDefinitionPublic]:
        return iter(self.rows)


@dataclass
class SkewResult:
    """A skew check of model `model` v`version` on `rows` records: for each feature the model was
    trained with (`features`, refs), the training way against the serving way (`serving`: "served
    frame" or "this process's definitions"). `ok` is False when any finding is an error; each
    finding (rule `feature_skew` or `feature_error`) names the feature, the rows that differ and
    up to five examples {row, training, serving}."""

    ok: bool
    findings: list[Finding]
    model: str
    version: int
    rows: int
    features: list[dict[str, Any]]
    serving: str

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)
