"""How monitoring results show: the monitored model, tables of scoring batches and outcomes, an outcome."""
from __future__ import annotations

import html
from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.format import ShortId, format_time, html_cell, html_header
from mlops_nb.services.monitoring.results import (
    BATCH_COLUMNS,
    OUTCOME_COLUMNS,
    BatchTable,
    OutcomePublic,
    OutcomeTable,
)
from mlops_nb.services.monitoring.scoring import MonitoredModel


@displays(MonitoredModel)
class MonitoredModelView(Displayable, MonitoredModel):
    """A loaded model whose calls are validated and recorded: estimator, hash, run, policy, last batch."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Scoring model {self.name} v{self.version} · {self.stage}"

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [("estimator", type(self.estimator).__name__),
                                        ("sha256", self.info.sha256), ("run", self.info.run_id),
                                        ("monitored", "yes" if self.monitored else "no (monitor=False)")]
        if self.monitored:
            pairs += [("on invalid input", self.on_invalid), ("last batch", self.last_batch_id or "-")]
        pairs += [("environment differs", m) for m in self.env_mismatches]
        return pairs


def _number(value: Any, digits: int = 3) -> Any:
    return round(value, digits) if isinstance(value, float) else value


@displays(BatchTable)
class BatchTableView(DisplayTable, BatchTable):
    """Recent scoring batches; `.to_frame()` a DataFrame (created_at as UTC timestamps)."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per batch, newest first."""
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=BATCH_COLUMNS)
        frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        rows = [[ShortId(str(r["id"]), 8) if c == "id" else
                 format_time(r[c]) if c == "created_at" else _number(r[c]) for c in BATCH_COLUMNS]
                for r in self.rows[:limit]]
        return BATCH_COLUMNS, rows, f"Scoring batches of {self.model} ({len(self.rows)})"


@displays(OutcomeTable)
class OutcomeTableView(DisplayTable, OutcomeTable):
    """Logged outcomes; `.to_frame()` a DataFrame with one column per metric (`metrics.*`, `business.*`)."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per outcome, newest first; metrics spread into columns."""
        import pandas as pd

        flat = [{**{k: v for k, v in r.items() if k not in ("metrics", "business")},
                 **{f"metrics.{k}": v for k, v in r["metrics"].items()},
                 **{f"business.{k}": v for k, v in r["business"].items()}} for r in self.rows]
        frame = pd.DataFrame(flat, columns=[c for c in OUTCOME_COLUMNS if c not in ("metrics", "business")]
                             + sorted({k for r in flat for k in r if "." in k}))
        frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        def cell(row: dict[str, Any], column: str) -> Any:
            value = row[column]
            if column in ("metrics", "business"):
                return ", ".join(f"{k} {_number(v)}" for k, v in value.items()) or "-"
            if column == "created_at":
                return format_time(value)
            if column == "batch":
                return ShortId(str(value), 8) if value else "-"
            return value
        rows = [[cell(r, c) for c in OUTCOME_COLUMNS] for r in self.rows[:limit]]
        return OUTCOME_COLUMNS, rows, f"Outcomes of {self.model} ({len(self.rows)})"

    def _repr_html_(self) -> str:
        """The table, with the metrics and business metrics whole (wrapping, left-aligned), not cut
        at 80 characters as other cells are."""
        columns, rows, title = self._display()
        whole = {OUTCOME_COLUMNS.index("metrics"), OUTCOME_COLUMNS.index("business")}
        body = "".join("<tr>" + "".join(
            f"<td style='text-align:left;min-width:14em'>{html.escape(str(v))}</td>" if i in whole else html_cell(v)
            for i, v in enumerate(row)) + "</tr>" for row in rows)
        empty = f"<tr><td colspan='{len(columns)}'>(none)</td></tr>" if not rows else ""
        return (f"<table class='mlops-table'><caption>{html.escape(title)}</caption><thead><tr>"
                f"{html_header(columns)}</tr></thead><tbody>{body}{empty}</tbody></table>")


@displays(OutcomePublic)
class OutcomeView(Displayable, OutcomePublic):
    """One logged outcome: the batch it joined, realised and business metrics."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Outcomes of {self.model} v{self.version}"

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [("batch", self.batch or "- (business metrics of the version)"),
                                        ("rows joined", self.rows)]
        pairs += [(name, _number(value, 4)) for name, value in self.metrics.items()]
        pairs += [(f"business {name}", value) for name, value in self.business.items()]
        pairs += [("by", self.created_by), ("logged", format_time(self.created_at))]
        return pairs


__all__ = ["BatchTableView", "MonitoredModelView", "OutcomeTableView", "OutcomeView"]
