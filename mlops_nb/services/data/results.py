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
