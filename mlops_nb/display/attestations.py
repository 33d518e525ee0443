"""How attestations and a scorecard's history show: compact tables and records, every user value
escaped (html_table, key_value_html), `.to_frame()` for the tables."""
from __future__ import annotations

from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.format import format_time
from mlops_nb.services.monitoring.attestations import AttestationPublic
from mlops_nb.services.monitoring.monitor import one_line
from mlops_nb.services.monitoring.scorecard_results import PHASES
from mlops_nb.services.monitoring.scorecard_tables import (
    ATTESTATION_COLUMNS,
    HISTORY_COLUMNS,
    AttestationTable,
    ScorecardHistory,
    attestation_status,
)

NOTE_CHARS_SHOWN = 80


def _short(text: str, limit: int = NOTE_CHARS_SHOWN) -> str:
    """`text` on one line (control characters, newlines included, as escapes: a note cannot move the
    terminal's cursor or break a table), cut to `limit` characters."""
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@displays(AttestationTable)
class AttestationTableView(DisplayTable, AttestationTable):
    """Attestations, newest first; `.to_frame()` a DataFrame (times as UTC timestamps)."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per attestation, with every field."""
        import pandas as pd

        frame = pd.DataFrame([vars(a) for a in self.rows], columns=list(AttestationPublic.__dataclass_fields__))
        for column in ("at", "expires_at", "withdrawn_at"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        def cell(a: AttestationPublic, column: str) -> Any:
            if column in ("at", "expires_at"):
                return format_time(getattr(a, column))
            if column == "status":
                return attestation_status(a)
            if column == "model":
                return a.model or "(every model)"
            return _short(a.note) if column == "note" else getattr(a, column)

        rows = [[cell(a, c) for c in ATTESTATION_COLUMNS] for a in self.rows[:limit]]
        return ATTESTATION_COLUMNS, rows, f"{self.title} ({len(self.rows)})"


@displays(AttestationPublic)
class AttestationView(Displayable, AttestationPublic):
    """One attestation: the test, its scope, who made it and when, when it expires, its note."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Attestation {self.id} · {self.test} · {attestation_status(self)}"

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [("test", f"{self.test}: {self.title}"), ("project", self.project),
                                        ("model", self.model or "(every model of the project)"),
                                        ("by", f"{self.by} ({self.role})"), ("at", format_time(self.at)),
                                        ("expires", format_time(self.expires_at)), ("note", one_line(self.note))]
        if self.withdrawn_at is not None:
            pairs += [("withdrawn by", self.withdrawn_by), ("withdrawn at", format_time(self.withdrawn_at))]
        return pairs


@displays(ScorecardHistory)
class ScorecardHistoryView(DisplayTable, ScorecardHistory):
    """A card's snapshots, oldest first; `.to_frame()` a DataFrame with every field (taken_at and
    as_of as UTC timestamps), for a trend plot."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per snapshot: taken_at, as_of, phase, passed, partial, failed,
        statuses, test_score, sections, trigger, model."""
        import pandas as pd

        columns = ["taken_at", "as_of", "phase", "passed", "partial", "failed", "statuses", "test_score", "sections",
                   "trigger", "model"]
        frame = pd.DataFrame([[row.get(c) for c in columns] for row in self.rows], columns=columns)
        for column in ("taken_at", "as_of"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        shown = self.rows[-limit:]  # the newest
        rows = [[format_time(r["taken_at"]) if c == "taken_at" else f"{r['phase']} {PHASES.get(r['phase'], '-')}"
                 if c == "phase" else f"{r['test_score']:g}" if c == "test_score" else r[c] for c in HISTORY_COLUMNS]
                for r in shown]
        whose = f"model {self.model}" if self.model else f"project {self.project}"
        return HISTORY_COLUMNS, rows, f"Scorecard history of {whose} ({len(self.rows)} snapshots)"
