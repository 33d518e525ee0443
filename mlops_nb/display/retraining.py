"""How retraining shows: a model's retraining notebook, one retraining run, a table of runs."""
from __future__ import annotations

from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.format import ShortId, format_time
from mlops_nb.services.monitoring.retraining import (
    RUN_COLUMNS,
    RetrainingConfigPublic,
    RetrainingRunPublic,
    RetrainingRunTable,
)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _request(run: RetrainingRunPublic) -> str:
    return "-" if run.request_id is None else f"{run.request_id} ({run.request_status})"


@displays(RetrainingConfigPublic)
class RetrainingConfigView(Displayable, RetrainingConfigPublic):
    """A model's approved training notebook: where it came from, its hash, the parameters it gets."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Retraining notebook of {self.model}"

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [("notebook", self.notebook), ("sha256", self.sha256[:12])]
        pairs += [(f"parameter {name}", value) for name, value in self.parameters.items()]
        return pairs + [("set by", self.set_by), ("set", format_time(self.set_at))]


@displays(RetrainingRunPublic)
class RetrainingRunView(Displayable, RetrainingRunPublic):
    """One retraining run: status, what it produced (run, version, request) or its error."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Retraining run {self.id} of {self.model} · {self.status}"

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [("trigger", self.trigger if self.alert_id is None
                                         else f"{self.trigger} (alert {self.alert_id})")]
        window = (self.parameters.get("window_start"), self.parameters.get("window_end"))
        if window[0] is not None:
            pairs.append(("window", f"{window[0]} to {window[1]}"))
        if self.error:
            pairs.append(("error", self.error))
        pairs += [("run", self.run_id or "-"),
                  ("version", "-" if self.model_version is None else f"v{self.model_version}"),
                  ("promotion request", _request(self)), ("started by", self.started_by),
                  ("started", format_time(self.started_at)), ("took", _seconds(self.seconds))]
        return pairs


@displays(RetrainingRunTable)
class RetrainingRunTableView(DisplayTable, RetrainingRunTable):
    """Retraining runs, newest first; `.to_frame()` a DataFrame (started_at as UTC timestamps)."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per run, newest first."""
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=RUN_COLUMNS)
        frame["started_at"] = pd.to_datetime(frame["started_at"], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        def cell(row: dict[str, Any], column: str) -> Any:
            value = row[column]
            if column == "started_at":
                return format_time(value)
            if column == "run_id":
                return ShortId(str(value), 8) if value else "-"
            if column == "seconds":
                return _seconds(value)
            return "-" if value is None else value
        rows = [[cell(r, c) for c in RUN_COLUMNS] for r in self.rows[:limit]]
        whose = f" of {self.model}" if self.model else ""
        return RUN_COLUMNS, rows, f"Retraining runs{whose} ({len(self.runs)})"


__all__ = ["RetrainingConfigView", "RetrainingRunTableView", "RetrainingRunView"]
