"""What the governance services return: promotion requests with gates and approvals, policies, audit events.

Plain data: `mlops_nb.display` renders these for the notebook, the console with Streamlit.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_nb.store.models import AuditEvent


@dataclass
class PromotionRequestPublic:
    """A promotion request: version, target stage, requester, reason, gate results, approvals, status.

    `status` is pending, approved, rejected, cancelled or superseded; `gates` the results of the last
    evaluation ({name, passed, detail, data}); `approvals` each decision ({user, role, decision,
    comment, created_at}); `required` the approvals per role the policy asks for the target stage;
    times are epoch seconds.
    """

    id: int
    model: str
    version: int
    target_stage: str
    requester: str
    reason: str
    status: str
    gates: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    required: dict[str, int] = field(default_factory=dict)
    created_at: float = 0.0
    decided_at: float | None = None
    decided_by: str | None = None

    @property
    def gates_passed(self) -> bool:
        """True when every gate of the last evaluation passed (also when no gate applied)."""
        return all(g["passed"] for g in self.gates)

    @property
    def waiting_for(self) -> dict[str, int]:
        """Approvals still needed per role (empty once the quotas are met)."""
        given: dict[str, int] = {}
        for a in self.approvals:
            if a["decision"] == "approve":
                given[a["role"]] = given.get(a["role"], 0) + 1
        return {role: n - given.get(role, 0) for role, n in self.required.items() if given.get(role, 0) < n}


REQUEST_COLUMNS = ["id", "model", "version", "target_stage", "status", "requester", "reason", "gates", "approvals",
                   "created_at"]


@dataclass
class RequestTable:
    """Promotion requests as rows, newest first."""

    requests: list[PromotionRequestPublic]
    title: str = "Promotion requests"

    def __len__(self) -> int:
        return len(self.requests)

    def __iter__(self) -> Iterator[PromotionRequestPublic]:
        return iter(self.requests)

    def __getitem__(self, index: int) -> PromotionRequestPublic:
        return self.requests[index]


@dataclass
class PolicyPublic:
    """The promotion policy in force for a model (or a project's default), and where it comes from."""

    scope: str
    source: str  # model, project or default
    rules: dict[str, Any]


@dataclass
class AuditTable:
    """Audit events, newest first; `.verified` says whether the whole chain checked out."""

    events: list[dict[str, Any]] = field(default_factory=list)
    verified: str = ""
    title: str = "Audit trail"

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.events)


def audit_table(events: Iterable[AuditEvent], verified: str = "", title: str = "Audit trail") -> AuditTable:
    """An AuditTable of `events` (rows of id, ts in epoch seconds, actor, action, entity, entity_id,
    before, after, hash), with `verified` the chain's verdict."""
    return AuditTable(events=[{"id": e.id, "ts": e.ts, "actor": e.actor, "action": e.action, "entity": e.entity,
                               "entity_id": e.entity_id, "before": e.before, "after": e.after, "hash": e.hash}
                              for e in events], verified=verified, title=title)


@dataclass
class StageChangePublic:
    """One move of a model's version between stages: `version` went `from_stage` -> `to_stage`, moved
    by `actor` at `created_at` (epoch seconds), with `reason`; `request_id` names the promotion
    request that decided it (None for a rollback or a set-up move), `rollback` marks a rollback's moves."""

    id: int
    version: int
    from_stage: str
    to_stage: str
    actor: str
    reason: str
    request_id: int | None
    rollback: bool
    created_at: float


@dataclass
class ProductionPeriod:
    """A time one version held production (was the champion): from `since` to `until` (epoch seconds;
    None while it still holds it), put there by `entered_by` with `reason` (`by_rollback` when a
    rollback restored it) and, once it ended, moved out by `ended_by` with `ended_reason`."""

    version: int
    since: float
    until: float | None
    entered_by: str
    reason: str
    request_id: int | None
    by_rollback: bool
    ended_by: str | None = None
    ended_reason: str | None = None
