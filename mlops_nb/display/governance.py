"""Promotion requests, request tables, policies and the audit trail as a notebook shows them."""
from __future__ import annotations

import json
from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.format import ShortId, format_time
from mlops_nb.services.governance.results import (
    REQUEST_COLUMNS,
    AuditTable,
    PolicyPublic,
    PromotionRequestPublic,
    RequestTable,
)


@displays(PromotionRequestPublic)
class PromotionRequestView(Displayable, PromotionRequestPublic):
    """A request: model, stage, requester, reason, who it waits for or who decided, gates, approvals."""

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [
            ("model", f"{self.model} v{self.version} -> {self.target_stage}"), ("status", self.status),
            ("requester", self.requester), ("reason", self.reason), ("requested", format_time(self.created_at))]
        if self.status == "pending":
            waiting = ", ".join(f"{n} {role}" for role, n in self.waiting_for.items())
            pairs.append(("waiting for", waiting or "-"))
        else:
            pairs.append(("decided", f"{self.decided_by or ''} {format_time(self.decided_at)}".strip()))
        pairs += [(f"gate {g['name']}", f"{'PASS' if g['passed'] else 'FAIL'}: {g['detail']}") for g in self.gates]
        pairs += [(f"{a['decision']} by {a['user']} ({a['role']})", a["comment"]) for a in self.approvals]
        return pairs

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Promotion request {self.id} · {self.status}"


@displays(RequestTable)
class RequestTableView(DisplayTable, RequestTable):
    """Promotion requests as rows, newest first; `.to_frame()` a DataFrame."""

    def _rows(self) -> list[list[Any]]:
        """One row per request in `REQUEST_COLUMNS` order: gates as "3/4 pass", approvals as "user:decision"."""
        return [[r.id, r.model, r.version, r.target_stage, r.status, r.requester, r.reason,
                 f"{sum(g['passed'] for g in r.gates)}/{len(r.gates)} pass",
                 ", ".join(f"{a['user']}:{a['decision']}" for a in r.approvals), r.created_at]
                for r in self.requests]

    def to_frame(self) -> Any:
        """A pandas DataFrame with `REQUEST_COLUMNS`, `created_at` as UTC timestamps."""
        import pandas as pd

        frame = pd.DataFrame(self._rows(), columns=REQUEST_COLUMNS)
        frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        rows = [row[:-1] + [format_time(row[-1])] for row in self._rows()[:limit]]
        return REQUEST_COLUMNS, rows, f"{self.title} ({len(self.requests)})"


@displays(PolicyPublic)
class PolicyView(Displayable, PolicyPublic):
    """A policy: where it comes from, approvals per stage, each gate's setting, env_mismatch, scoring."""

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [("source", self.source)]
        for stage, needed in self.rules["approvals"].items():
            pairs.append((f"approvals for {stage}", ", ".join(f"{n} {role}" for role, n in needed.items())))
        for gate, setting in self.rules["gates"].items():
            if setting in (None, False, {}):
                text = "off"
            elif setting is True:
                text = "on"
            else:
                text = ", ".join(f"{k} {v}" for k, v in setting.items())
            pairs.append((f"gate {gate}", text))
        pairs.append(("env_mismatch", self.rules.get("env_mismatch", "warn")))
        pairs.append(("scoring on_invalid", (self.rules.get("scoring") or {}).get("on_invalid", "warn")))
        return pairs

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Promotion policy of {self.scope}"


AUDIT_COLUMNS = ["id", "time", "actor", "action", "entity", "entity_id", "before", "after", "hash"]


def _compact(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@displays(AuditTable)
class AuditTableView(DisplayTable, AuditTable):
    """Audit events, newest first, the chain's verdict in the title; `.to_frame()` a DataFrame."""

    def to_frame(self) -> Any:
        """A pandas DataFrame with `AUDIT_COLUMNS`, `time` as UTC timestamps."""
        import pandas as pd

        frame = pd.DataFrame(self.events, columns=["id", "ts", "actor", "action", "entity", "entity_id",
                                                   "before", "after", "hash"])
        frame["ts"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
        return frame.rename(columns={"ts": "time"})

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        rows = [[e["id"], format_time(e["ts"]), e["actor"], e["action"], e["entity"], e["entity_id"],
                 _compact(e["before"]), _compact(e["after"]), ShortId(e["hash"], 12, whole_in_text=False)] for e in self.events[:limit]]
        title = f"{self.title} ({len(self.events)} shown)" + (f" · {self.verified}" if self.verified else "")
        return AUDIT_COLUMNS, rows, title
