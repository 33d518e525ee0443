"""What a drift report is, as plain data: SPEC §4's `DriftReport` (the per-column verdicts, the share
of drifted columns, prediction drift and the columns that could not be tested), as the services
return it. `mlops_nb.display` shows it in the notebook; the console renders the same record.

    report = drift_report(session=s, store=store, project_id=1, user="dana", reference=train, current=batch)
    report.drifted_columns, report.share, report.dataset_drift, report.to_frame()
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.data.results import Finding

# the per-column table's columns (`rows` holds these keys, and `distribution`, for each column)
COLUMNS = ["column", "role", "type", "test", "statistic", "threshold", "drift", "reference_rows", "current_rows"]


@dataclass
class DriftReport:
    """Current data against a reference, column by column, at evidently's default-preset verdicts
    (../shared/anchors/drift/RULES.md): which test per column type and reference size, the statistic
    (a p-value for K-S, chi-square and Z; a distance for Wasserstein and Jensen-Shannon), its threshold,
    the verdict, and the dataset verdict `share >= drift_share` (evidently's preset: 0.5).

    `id` is the stored drift_report row (None for a report not stored: no model given); `model` and
    `version` the model version it is stored against; `reference` and `current` say in words what
    was compared ("dataset german v2", "frame", "12 batches"); `window_start`/`window_end` the batches'
    time window (epoch seconds) and `batches` their count, for a window of scoring batches;
    `reference_rows`/`current_rows` the rows each side; `tested` the feature columns with a verdict,
    `drifted_columns` the names of those that drifted, `share` = drifted / tested (0 when none);
    `prediction_drift` the prediction column's verdict (None when there was no prediction column);
    `findings` the columns that could not be tested and why (services.data.results.Finding);
    `rows` one dict per tested column (COLUMNS, and `distribution`: the small reference-vs-current
    bins or top categories of the drill-down chart), feature columns in the data's order, then
    the prediction; `trigger` manual or monitor; `html_artifact_id` evidently's own report, once built.
    """

    id: int | None
    model: str | None
    version: int | None
    reference: str
    current: str
    reference_rows: int
    current_rows: int
    tested: int
    drifted_columns: list[str]
    share: float
    drift_share: float
    dataset_drift: bool
    prediction_drift: bool | None
    findings: list[Finding] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)
    window_start: float | None = None
    window_end: float | None = None
    batches: int = 0
    trigger: str = "manual"
    created_by: str = ""
    created_at: float = 0.0
    html_artifact_id: int | None = None

    @property
    def drifted(self) -> int:
        """How many feature columns drifted (len(drifted_columns))."""
        return len(self.drifted_columns)

    @property
    def prediction(self) -> dict[str, Any] | None:
        """The prediction column's row (role "prediction"), or None."""
        return next((r for r in self.rows if r.get("role") == "prediction"), None)

    def to_frame(self) -> Any:
        """A pandas DataFrame with COLUMNS, one row per tested column (the prediction, if any, last)."""
        import pandas as pd

        return pd.DataFrame([[r.get(c) for c in COLUMNS] for r in self.rows], columns=COLUMNS)
