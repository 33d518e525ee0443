"""Governance: promotion requests with four eyes, stages and rollback, policies, gates, the audit chain.

Each module below is one job; this package names what the domain offers, so callers write
`from mlops_nb.services import governance` and `governance.<function>(session=..., ...)`:

- audit: the hash-chained audit trail (record, verify, read);
- policies: the promotion policy documents and their validation; policy_scope: a policy by model name;
- gates: the checks a version must pass before a promotion is approved;
- stages: stage changes and rollback, one production version per model, and their history;
- decisions: the checks of every decision, and why a user may not decide a request (read-only);
- promotion: requests, approvals, rejections and cancellations, with four eyes;
- reviews: what a reviewer reads before deciding (lineage, gates now, blockers), what holds production.

The names load on first use (PEP 562): importing one module of the domain, as the registry does
with `governance.policies` and `governance.audit`, does not load the rest. Promotion and the gates
use the registry, and the registry uses policies and the audit trail; an eager `__init__` would make
the two packages import each other.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ loads the same names on first use
    from mlops_nb.services.governance.audit import (
        VERIFY_PAGE,
        VerifyResult,
        count_events,
        event_facets,
        event_hash,
        events,
        head_hash,
        latest_event_id,
        record,
        store_key,
        trail,
        verify,
    )
    from mlops_nb.services.governance.decisions import (
        decision_blockers,
        waiting_for,
    )
    from mlops_nb.services.governance.gates import (
        GATE_FUNCTIONS,
        OPS,
        GateContext,
        GateResult,
        Loader,
        applies,
        canary,
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
        CANARY_DEFAULTS,
        DATA_VALIDATED_DEFAULTS,
        DEFAULT_RULES,
        ENV_MISMATCH,
        GATES,
        NO_REGRESSION_DEFAULTS,
        PREDICTION_DISTRIBUTION_DEFAULTS,
        SCORING_DEFAULTS,
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
        ProductionPeriod,
        PromotionRequestPublic,
        RequestTable,
        StageChangePublic,
        audit_table,
    )
    from mlops_nb.services.governance.reviews import (
        Review,
        lineage_summary,
        production_models,
        review,
    )
    from mlops_nb.services.governance.stages import (
        last_stage_changes,
        lock_model,
        production_periods,
        production_stack,
        rollback,
        rollback_target,
        stage_history,
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
    "ProductionPeriod",
    "PromotionRequestPublic",
    "REQUEST_COLUMNS",
    "RequestTable",
    "StageChangePublic",
    "Review",
    "TARGET_STAGES",
    "VERIFY_PAGE",
    "VerifyResult",
    "applies",
    "approve",
    "audit_table",
    "cancel",
    "change_policy",
    "count_events",
    "data_validated",
    "decision_blockers",
    "evaluate",
    "event_facets",
    "event_hash",
    "events",
    "failing",
    "get_effective_policy",
    "head_hash",
    "last_stage_changes",
    "latest_event_id",
    "lineage_complete",
    "lineage_summary",
    "list_requests",
    "lock_model",
    "merge",
    "metric_thresholds",
    "no_regression",
    "parse_threshold",
    "prediction_distribution",
    "CANARY_DEFAULTS",
    "SCORING_DEFAULTS",
    "canary",
    "preview_gates",
    "production_periods",
    "production_models",
    "production_stack",
    "public",
    "read_policy",
    "record",
    "registry_loader",
    "reject",
    "request_promotion",
    "review",
    "rollback",
    "rollback_target",
    "set_policy",
    "stage_history",
    "staging_before_production",
    "store_key",
    "trail",
    "validate",
    "verify",
    "waiting_for",
]

# the modules, leaves first: a name is looked up in the first that lists it
_MODULES = ('results', 'audit', 'policies', 'stages', 'policy_scope', 'gates', 'decisions', 'promotion', 'reviews')


def __getattr__(name: str) -> Any:
    """Load `name` from the module of this package that defines it, on first use."""
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in __all__:
        for module in _MODULES:
            loaded = importlib.import_module(f"{__name__}.{module}")
            if name in vars(loaded):
                value = vars(loaded)[name]
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
