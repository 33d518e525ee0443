"""What promotion calls return: a request with its gates and approvals, a table of requests, a policy."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.rendering import DisplayTable, format_time
from mlops_nb.services.results import Displayable


@dataclass(repr=False)
class PromotionRequestPublic(Displayable):
    """A promotion request: version, target stage, requester, reason, gate results, approvals, status."""

    id: int
    model: str
    version: int
    target_stage: str
    requester: str
    reason: str
    status: str
    gates: list[dict] = field(default_factory=list)
    approvals: list[dict] = field(default_factory=list)
    required: dict[str, int] = field(default_factory=dict)
    created_at: float = 0.0
    decided_at: float | None = None
    decided_by: str | None = None

    @property
    def gates_passed(self) -> bool:
        return all(g["passed"] for g in self.gates)

    @property
    def waiting_for(self) -> dict[str, int]:
        """Approvals still needed per role (empty once the quotas are met)."""
        given: dict[str, int] = {}
        for a in self.approvals:
            if a["decision"] == "approve":
                given[a["role"]] = given.get(a["role"], 0) + 1
        return {role: n - given.get(role, 0) for role, n in self.required.items() if given.get(role, 0) < n}

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
    def _title(self) -> str:
        return f"Promotion request {self.id} · {self.status}"


REQUEST_COLUMNS = ["id", "model", "version", "target_stage", "status", "requester", "reason", "gates", "approvals",
                   "created_at"]


@dataclass(repr=False)
class RequestTable(DisplayTable):
    """Promotion requests as rows, newest first."""

    requests: list[PromotionRequestPublic]
    title: str = "Promotion requests"

    def _rows(self) -> list[list[Any]]:
        return [[r.id, r.model, r.version, r.target_stage, r.status, r.requester, r.reason,
                 f"{sum(g['passed'] for g in r.gates)}/{len(r.gates)} pass",
                 ", ".join(f"{a['user']}:{a['decision']}" for a in r.approvals), r.created_at]
                for r in self.requests]

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame(self._rows(), columns=REQUEST_COLUMNS)
        frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
        return frame

    def __len__(self) -> int:
        return len(self.requests)

    def __iter__(self):
        return iter(self.requests)

    def __getitem__(self, index: int) -> PromotionRequestPublic:
        return self.requests[index]

    def _display(self, limit: int = 50):
        rows = [row[:-1] + [format_time(row[-1])] for row in self._rows()[:limit]]
        return REQUEST_COLUMNS, rows, f"{self.title} ({len(self.requests)})"



@dataclass(repr=False)
class PolicyPublic(Displayable):
    """The promotion policy in force for a model (or a project's default), and where it comes from."""

    scope: str
    source: str  # model, project or default
    rules: dict

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
        return pairs

    @property
    def _title(self) -> str:
        return f"Promotion policy of {self.scope}"
