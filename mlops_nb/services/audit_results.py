"""The audit trail as a table: who did what to which entity, when, with the change and its hash."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.rendering import DisplayTable, format_time

AUDIT_COLUMNS = ["id", "time", "actor", "action", "entity", "entity_id", "before", "after", "hash"]


def _compact(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(repr=False)
class AuditTable(DisplayTable):
    """Audit events, newest first; `.verified` says whether the whole chain checked out."""

    events: list[dict[str, Any]] = field(default_factory=list)
    verified: str = ""
    title: str = "Audit trail"

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self):
        return iter(self.events)

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame(self.events, columns=["id", "ts", "actor", "action", "entity", "entity_id",
                                                   "before", "after", "hash"])
        frame["ts"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
        return frame.rename(columns={"ts": "time"})

    def _display(self, limit: int = 50):
        rows = [[e["id"], format_time(e["ts"]), e["actor"], e["action"], e["entity"], e["entity_id"],
                 _compact(e["before"]), _compact(e["after"]), e["hash"][:12]] for e in self.events[:limit]]
        title = f"{self.title} ({len(self.events)} shown)" + (f" · {self.verified}" if self.verified else "")
        return AUDIT_COLUMNS, rows, title


def audit_table(events, verified: str = "", title: str = "Audit trail") -> AuditTable:
    return AuditTable(events=[{"id": e.id, "ts": e.ts, "actor": e.actor, "action": e.action, "entity": e.entity,
                               "entity_id": e.entity_id, "before": e.before, "after": e.after, "hash": e.hash}
                              for e in events], verified=verified, title=title)
