"""What the monitoring services return: tables of recorded scoring batches and outcomes, as plain data.

`mlops_nb.display` renders them in the notebook (`.to_frame()`, HTML); the console with Streamlit.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

BATCH_COLUMNS = ["id", "version", "stage", "method", "status", "rows", "latency_ms", "findings", "errors",
                 "mean_prediction", "created_by", "created_at"]
OUTCOME_COLUMNS = ["id", "version", "batch", "rows", "metrics", "business", "created_by", "created_at"]


@dataclass
class BatchTable:
    """Recent scoring batches of model `model`, newest first: per row `id` (the batch's uuid hex),
    `version`, `stage` (the version's when loaded), `method`, `status` (accepted, warned, refused,
    failed), `rows`, `latency_ms` (validation + features + prediction, the caller's wait),
    `findings` and `errors` (counts), `mean_prediction` (mean positive-class probability, or None),
    `created_by`, `created_at` (epoch seconds); `details` the findings themselves, by batch id."""

    model: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)


@dataclass
class OutcomeTable:
    """Outcomes logged for model `model`, newest first: per row `id`, `version`, `batch` (the scoring
    batch joined, or None for business metrics of the version), `rows`, `metrics` (realised, from the
    join), `business` (the user's), `created_by`, `created_at`."""

    model: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)


@dataclass
class OutcomePublic:
    """One logged outcome: the realised `metrics` computed from outcomes joined to the batch's
    predictions (roc_auc, accuracy, brier, positive_rate, mean_predicted; only those that apply),
    the user's `business` metrics, the batch (`batch`, None for version-level business metrics),
    the model version (`model`, `version`) and `rows` joined."""

    id: int
    model: str
    version: int
    batch: str | None
    rows: int
    metrics: dict[str, Any]
    business: dict[str, Any]
    created_by: str
    created_at: float
