"""What the retraining service returns, as plain data: a model's retraining notebook, one
retraining run, and a table of runs (services/monitoring/retraining.py makes them; mlops_nb.display
renders them in the notebook, the console with Streamlit)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class RetrainingConfigPublic:
    """A model's retraining notebook: `notebook` the path it was approved from, `sha256` of the copy
    that runs, `parameters` (JSON values) injected into its `parameters` cell, who set it and when
    (`set_at`, epoch seconds)."""

    model: str
    notebook: str
    sha256: str
    parameters: dict[str, Any]
    set_by: str
    set_at: float


@dataclass
class RetrainingRunPublic:
    """One retraining run of `model`: `status` (running, succeeded, failed), `trigger` ("manual" or
    the rule's name) and the alert that triggered it (`alert_id`), the `parameters` injected, what
    it produced (`run_id` of the tracked run, `model_version` registered, `request_id` of its
    promotion request and that request's `request_status`), the `error` of a failed run, the
    executed notebook's artifact (`notebook_artifact_id`), who started it, `started_at` and
    `finished_at` (epoch seconds)."""

    id: int
    model: str
    status: str
    trigger: str
    alert_id: int | None
    parameters: dict[str, Any]
    run_id: str | None
    model_version: int | None
    request_id: int | None
    request_status: str | None
    error: str | None
    notebook_artifact_id: int | None
    started_by: str
    started_at: float
    finished_at: float | None

    @property
    def seconds(self) -> float | None:
        """How long it ran (seconds), None while running."""
        return None if self.finished_at is None else self.finished_at - self.started_at


RUN_COLUMNS = ["id", "model", "status", "trigger", "version", "request", "run_id", "started_by", "started_at",
               "seconds", "error"]


@dataclass
class RetrainingRunTable:
    """Retraining runs, newest first (of `model`, or of every model when None): `runs` the records;
    `rows` one dict per run with RUN_COLUMNS (`version` the model version registered, `request`
    "<id> <status>" of its promotion request, `seconds` how long it ran)."""

    model: str | None
    runs: list[RetrainingRunPublic]

    @property
    def rows(self) -> list[dict[str, Any]]:
        """One dict per run, RUN_COLUMNS as keys."""
        return [{"id": r.id, "model": r.model, "status": r.status, "trigger": r.trigger, "version": r.model_version,
                 "request": f"{r.request_id} {r.request_status}" if r.request_id is not None else None,
                 "run_id": r.run_id, "started_by": r.started_by, "started_at": r.started_at, "seconds": r.seconds,
                 "error": r.error} for r in self.runs]

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[RetrainingRunPublic]:
        return iter(self.runs)
