"""Tables of attestations and of scorecard snapshots, as plain records: what `mlops.attestations()`,
`mlops.scorecard_history()` and the CLI's `mlops attestations` / `mlops scorecard-history` return
and `mlops_nb.display` shows.

    table = AttestationTable(rows=list_attestations(session=s, project_id=1))
    len(table), table.rows[0].test
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.monitoring.attestations import AttestationPublic

ATTESTATION_COLUMNS = ["id", "test", "model", "by", "role", "at", "expires_at", "status", "note"]
HISTORY_COLUMNS = ["taken_at", "phase", "passed", "partial", "failed", "test_score", "trigger"]


def attestation_status(row: AttestationPublic) -> str:
    """"active", "withdrawn" or "expired" (not holding for another reason: expired, or not yet made
    at the time it was read for)."""
    if row.active:
        return "active"
    return "withdrawn" if row.withdrawn_at is not None else "expired"


@dataclass
class AttestationTable:
    """Attestations, newest first (`rows`: AttestationPublic); `title` says whose."""

    rows: list[AttestationPublic] = field(default_factory=list)
    title: str = "Attestations"

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class ScorecardHistory:
    """A card's snapshots, oldest first (`rows`: the dicts of scorecard_history.scorecard_history);
    `project` and `model` (None: the project's card) say whose."""

    project: str
    model: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)
