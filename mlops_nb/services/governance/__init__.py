"""Governance: promotion requests with four eyes, stages and rollback, policies, gates, the audit chain.

Each module below is one job; this package names what the domain offers, so callers write
`from mlops_nb.services import governance` and `governance.<function>(session=..., ...)`:

- audit: the hash-chained audit trail (record, verify, read);
- policies: the promotion policy documents and their validation; policy_scope: a policy by model name;
- gates: the checks a version must pass before a promotion is approved;
- stages: stage changes and rollback, one production version per model;
- promotion: requests, approvals, rejections and cancellations, with four eyes.
"""
from __future__ import annotations

from mlops_nb.services.governance.audit import (
    VERIFY_PAGE,
    VerifyResult,
    event_hash,
    events,
    head_hash,
    record,
    trail,
    verify,
)
from mlops_nb.services.governance.gates import (
    GATE_FUNCTIONS,
    OPS,
    GateContext,
    GateResult,
    Loader,
    applies,
    data_validated,
    evaluate,
    failing,
    lineage_complete,
    metric_thresholds,
    no_regression,
    prediction_distribution,
    registry_loader,
    staging_before_production,
)
from mlops_nb.services.governance.policies import (
    DATA_VALIDATED_DEFAULTS,
    DEFAULT_RULES,
    ENV_MISMATCH,
    GATES,
    NO_REGRESSION_DEFAULTS,
    PREDICTION_DISTRIBUTION_DEFAULTS,
    TARGET_STAGES,
    EffectivePolicy,
    get_effective_policy,
    merge,
    parse_threshold,
    set_policy,
    validate,
)
from mlops_nb.services.governance.policy_scope import (
    change_policy,
    read_policy,
)
from mlops_nb.services.governance.promotion import (
    MAX_REASON,
    approve,
    cancel,
    list_requests,
    preview_gates,
    public,
    reject,
    request_promotion,
)
from mlops_nb.services.governance.results import (
    REQUEST_COLUMNS,
    AuditTable,
    PolicyPublic,
    PromotionRequestPublic,
    RequestTable,
    audit_table,
)
from mlops_nb.services.governance.stages import (
    lock_model,
    production_stack,
    rollback,
    set_stage,
)

__all__ = [
    "AuditTable",
    "DATA_VALIDATED_DEFAULTS",
    "DEFAULT_RULES",
    "ENV_MISMATCH",
    "EffectivePolicy",
    "GATES",
    "GATE_FUNCTIONS",
    "GateContext",
    "GateResult",
    "Loader",
    "MAX_REASON",
    "NO_REGRESSION_DEFAULTS",
    "OPS",
    "PREDICTION_DISTRIBUTION_DEFAULTS",
    "PolicyPublic",
    "PromotionRequestPublic",
    "REQUEST_COLUMNS",
    "RequestTable",
    "TARGET_STAGES",
    "VERIFY_PAGE",
    "VerifyResult",
    "applies",
    "approve",
    "audit_table",
    "cancel",
    "change_policy",
    "data_validated",
    "evaluate",
    "event_hash",
    "events",
    "failing",
    "get_effective_policy",
    "head_hash",
    "lineage_complete",
    "list_requests",
    "lock_model",
    "merge",
    "metric_thresholds",
    "no_regression",
    "parse_threshold",
    "prediction_distribution",
    "preview_gates",
    "production_stack",
    "public",
    "read_policy",
    "record",
    "registry_loader",
    "reject",
    "request_promotion",
    "rollback",
    "set_policy",
    "set_stage",
    "staging_before_production",
    "trail",
    "validate",
    "verify",
]
