"""What the data services return: a dataset version with its schema and profile, as plain data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DatasetVersionPublic:
    """One logged version of a dataset. `fingerprint` is the sha256 of its content; `schema` holds
    `columns` (each `name`, `dtype`, categories or range); `profile` per-column statistics;
    `created_at` epoch seconds; the sample (a bounded Parquet file) at `sample_uri` when one was kept."""

    id: int
    name: str
    version: int
    fingerprint: str
    rows: int
    columns: int
    schema: dict[str, Any]
    profile: dict[str, Any] = field(repr=False, default_factory=dict)
    created_by: str = ""
    created_at: float = 0.0
    sample_uri: str | None = None
    sample_sha256: str | None = None


SEVERITIES = ("error", "warning")
RULES = ("missing_column", "extra_column", "dtype_changed", "new_categories", "vanished_categories",
         "out_of_range", "null_rate")  # SPEC §4's validation rules


@dataclass
class Finding:
    """One broken expectation: `column` (None for the frame as a whole), `rule` (one of RULES, or a
    named extra rule such as `feature_skew` or `feature_error`), `severity` (error or warning), a
    `message` a person can act on, up to a handful of offending `examples`, and `details` (for a
    re-encoded categorical the inferred `mapping` of codes to training levels; counts, shares)."""

    column: str | None
    rule: str
    severity: str
    message: str
    examples: list[Any] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain data (what the store keeps)."""
        return {"column": self.column, "rule": self.rule, "severity": self.severity, "message": self.message,
                "examples": list(self.examples), "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """The finding `to_dict` wrote."""
        return cls(column=data.get("column"), rule=data["rule"], severity=data["severity"],
                   message=data.get("message", ""), examples=list(data.get("examples") or []),
                   details=dict(data.get("details") or {}))


@dataclass
class ValidationResult:
    """A frame checked against a contract (a dataset version's schema and profile): `ok` is False
    when any finding is an error; `contract` names the dataset version ("german v3"); `rows` the
    frame's row count; `id` the stored validation_report row when it was recorded."""

    ok: bool
    findings: list[Finding]
    contract: str
    rows: int
    id: int | None = None

    @property
    def errors(self) -> list[Finding]:
        """The error findings."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The warning findings."""
        return [f for f in self.findings if f.severity == "warning"]
