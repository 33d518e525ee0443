"""Governance commands of the `mlops` command line: the audit chain and promotion policies.

    mlops audit verify                  "audit chain intact: N events", or exit 1 naming the first broken event
    mlops audit log [--entity E] [--id ID] [--action A] [--limit N]   the newest events
    mlops policy show [--model M]       the policy in force for a model, or the project default
    mlops policy set --model M --json '{"metric_thresholds": {"roc_auc": ">= 0.7"}}'

Like every CLI command, these run as the store's operator (whoever can open its database), so
`policy set` needs no password; its audit event names the actor `cli`.
"""
from __future__ import annotations

import argparse
import json

from mlops_nb.cli import _engine, command
from mlops_nb.services.errors import IntegrityFailure, InvalidInput

CLI_ACTOR = "cli"


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Recompute the audit chain; exit 1 naming the first broken event.

    Example: mlops audit verify --db postgresql://mlops@db/mlops
    """
    from mlops_nb.services import audit
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models import AuditHead

    with session_scope(_engine(args)) as session:
        result = audit.verify(session=session)
        head = session.get(AuditHead, 1).last_hash if args.head and session.get(AuditHead, 1) else None
    if not result.ok:
        raise IntegrityFailure(str(result))
    print(str(result))
    if head is not None:
        print(f"head hash: {head}")
    return 0


def _audit_verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--head", action="store_true",
                   help="also print the newest event's hash (keep it outside the store to detect a rewritten chain)")


def cmd_audit_log(args: argparse.Namespace) -> int:
    """Print the newest audit events (optionally one entity's or one action's), chain verified.

    Example: mlops audit log --entity model_version --id credit-risk:3 --limit 20
    """
    from mlops_nb.services import audit
    from mlops_nb.services.audit_results import audit_table
    from mlops_nb.store.db import session_scope

    if args.limit < 1:
        raise InvalidInput(f"--limit must be at least 1, got {args.limit}")
    with session_scope(_engine(args)) as session:
        events = audit.events(session=session, entity=args.entity, entity_id=args.entity_id,
                              action=args.action, limit=args.limit)
        table = audit_table(events, verified=str(audit.verify(session=session)))
    print(repr(table))
    return 0


def _audit_log_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--entity", help="model_version, promotion_request, policy, user, ...")
    p.add_argument("--id", dest="entity_id", help="one entity, e.g. credit-risk:3")
    p.add_argument("--action", help="e.g. promotion.decide")
    p.add_argument("--limit", type=int, default=50, help="how many events (default 50)")


def _scope(session, args: argparse.Namespace) -> tuple[int, int | None, str]:
    from mlops_nb.services import registry, tracking

    project = tracking.get_project(session=session, name=args.project)
    if args.model is None:
        return project.id, None, f"project {args.project!r} (default)"
    return project.id, registry.get_model(session=session, project_id=project.id, name=args.model).id, \
        f"model {args.model!r}"


def cmd_policy_show(args: argparse.Namespace) -> int:
    """Show the promotion policy in force for a model, or the project default.

    Example: mlops policy show --project credit --model credit-risk
    """
    from mlops_nb.services import policies
    from mlops_nb.services.promotion_results import PolicyPublic
    from mlops_nb.store.db import session_scope

    with session_scope(_engine(args)) as session:
        project_id, model_id, scope = _scope(session, args)
        policy = policies.get_effective_policy(session=session, project_id=project_id, model_id=model_id)
    print(repr(PolicyPublic(scope=scope, source=policy.source, rules=policy.rules)))
    return 0


def cmd_policy_set(args: argparse.Namespace) -> int:
    """Change settings of a model's policy (or the project default) from a JSON object.

    Example: mlops policy set --model credit-risk --json '{"approvals": {"production": {"reviewer": 2}}}'
    """
    from mlops_nb.services import policies
    from mlops_nb.services.auth import Identity
    from mlops_nb.services.promotion_results import PolicyPublic
    from mlops_nb.store.db import session_scope

    try:
        rules = json.loads(args.json)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"--json is not valid JSON: {err}") from err
    operator = Identity(name=CLI_ACTOR, role="admin", proven=True)  # the store's operator, as with psql
    with session_scope(_engine(args)) as session:
        project_id, model_id, scope = _scope(session, args)
        policy = policies.set_policy(session=session, actor=operator, project_id=project_id, model_id=model_id,
                                     rules=rules, entity_name=args.model or f"project:{args.project}",
                                     operator=True)
    print(repr(PolicyPublic(scope=scope, source=policy.source, rules=policy.rules)))
    return 0


def _policy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default="default")
    p.add_argument("--model", help="the model (default: the project's default policy)")


def _policy_set_args(p: argparse.ArgumentParser) -> None:
    _policy_args(p)
    p.add_argument("--json", required=True, help="settings to change, e.g. '{\"metric_thresholds\": {\"auc\": \">= 0.7\"}}'")


command("audit", "verify")(_audit_verify_args)(cmd_audit_verify)
command("audit", "log")(_audit_log_args)(cmd_audit_log)
command("policy", "show")(_policy_args)(cmd_policy_show)
command("policy", "set")(_policy_set_args)(cmd_policy_set)
