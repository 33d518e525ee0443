"""Alert rules: what a project watches its production models for, and what happens when it fires.

SPEC §3 (Alerts and retraining triggers), issue 11 item 4. A rule has a `kind` with its `params`,
checked here so a typo is refused when the rule is added, not when the monitor meets it at 3 a.m.:

    drift_share     {"threshold": 0.5}   the window's share of drifted columns at or above it
                                         (evidently's preset decides dataset drift at 0.5)
    feature_drift   {"column": "income"} that column drifted (no column: any, one alert per column)
    validation      {"severity": "error"} error findings of new scoring batches ("warning": those too)
    outcome_metric  {"metric": "default_rate", "expected": 0.05, "tolerance": 0.02}, or
                    {"metric": "roc_auc", "min": 0.7} (and/or "max"): each outcome logged since the
                    last evaluation, business metrics or realised ones
    latency_p95     {"sla_ms": 50}       the 95th percentile of the window's batch latencies above it
    model_age       {"max_days": 90}     days since the version entered production above it

`model` None watches every production model of the project. `actions` (services.monitoring.actions)
run when it fires: {"type": "notify"}, {"type": "webhook", "url": ..., "secret_env": "VAR"},
{"type": "callable", "name": ...}, {"type": "retrain"}. Changing rules needs "set_monitoring"
(ml_engineer, admin, the CLI's operator): a rule can start a retraining notebook. Every change is
audited.

    add_rule(session=s, project_id=1, actor=OPERATOR, name="income drift", kind="feature_drift",
             model="credit-risk", params={"column": "income"}, actions=[{"type": "notify"}])
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlmodel import Session, col

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.services.governance import audit
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.registry.lookups import get_model
from mlops_nb.store.models import Alert, RegisteredModel
from mlops_nb.store.models.alerts import ACTION_TYPES, RULE_KINDS, SEVERITIES, AlertRule

DRIFT_SHARE = 0.5  # evidently's DataDriftPreset drift_share (anchors/drift/RULES.md)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class AlertRulePublic:
    """One rule: `name`, `kind`, the `model` it watches (None: every production model of the project),
    `severity` of its alerts, `params` (checked, numbers as floats), `actions` (list of dicts),
    `enabled`, who added it and when (epoch seconds)."""

    id: int
    name: str
    kind: str
    model: str | None
    severity: str
    params: dict[str, Any]
    actions: list[dict[str, Any]] = field(default_factory=list)
    enabled: bool = True
    created_by: str = ""
    created_at: float = 0.0


def _number(kind: str, key: str, value: Any, *, low: float | None = None, high: float | None = None,
            positive: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"rule kind {kind}: param {key!r} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise InvalidInput(f"rule kind {kind}: param {key!r} must be a finite number, got {value!r}")
    if positive and number <= 0:
        raise InvalidInput(f"rule kind {kind}: param {key!r} must be above 0, got {value!r}")
    if (low is not None and number < low) or (high is not None and number > high):
        raise InvalidInput(f"rule kind {kind}: param {key!r} must be from {low:g} to {high:g}, got {value!r}")
    return number


_KEYS: dict[str, tuple[set[str], set[str]]] = {  # kind: (required keys, optional keys)
    "drift_share": (set(), {"threshold"}),
    "feature_drift": (set(), {"column"}),
    "validation": (set(), {"severity"}),
    "outcome_metric": ({"metric"}, {"expected", "tolerance", "min", "max"}),
    "latency_p95": ({"sla_ms"}, set()),
    "model_age": ({"max_days"}, set()),
}


def check_params(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """`params` of a rule of `kind` checked and normalised (numbers as floats, defaults filled in):
    see the module docstring for each kind's keys.

    Raises:
        InvalidInput: an unknown kind, an unknown or missing key (named), a value out of range.
    """
    if kind not in RULE_KINDS:
        raise InvalidInput(f"rule kind {kind!r} is not one of {', '.join(RULE_KINDS)}")
    given = dict(params or {})
    required, optional = _KEYS[kind]
    unknown = sorted(set(given) - required - optional)
    if unknown:
        allowed = ", ".join(sorted(required | optional)) or "none"
        raise InvalidInput(f"rule kind {kind}: unknown param {unknown[0]!r} (its params: {allowed})")
    missing = sorted(required - set(given))
    if missing:
        raise InvalidInput(f"rule kind {kind}: param {missing[0]!r} is required")
    if kind == "drift_share":
        return {"threshold": _number(kind, "threshold", given.get("threshold", DRIFT_SHARE), low=0.0, high=1.0)}
    if kind == "feature_drift":
        column = given.get("column")
        if column is not None and (not isinstance(column, str) or not column.strip()):
            raise InvalidInput(f"rule kind {kind}: param 'column' must be a column name, got {column!r}")
        return {"column": column} if column is not None else {}
    if kind == "validation":
        severity = given.get("severity", "error")
        if severity not in ("error", "warning"):
            raise InvalidInput(f"rule kind {kind}: param 'severity' must be error or warning, got {severity!r}")
        return {"severity": severity}
    if kind == "outcome_metric":
        return _outcome_params(given)
    if kind == "latency_p95":
        return {"sla_ms": _number(kind, "sla_ms", given["sla_ms"], positive=True)}
    return {"max_days": _number(kind, "max_days", given["max_days"], positive=True)}


def _outcome_params(given: dict[str, Any]) -> dict[str, Any]:
    kind = "outcome_metric"
    metric = given["metric"]
    if not isinstance(metric, str) or not metric.strip():
        raise InvalidInput(f"rule kind {kind}: param 'metric' must be a metric name, got {metric!r}")
    out: dict[str, Any] = {"metric": metric.strip()}
    if "expected" in given:
        if "min" in given or "max" in given:
            raise InvalidInput(f"rule kind {kind}: give 'expected' with 'tolerance', or 'min'/'max', not both")
        if "tolerance" not in given:
            raise InvalidInput(f"rule kind {kind}: param 'tolerance' is required with 'expected'")
        out["expected"] = _number(kind, "expected", given["expected"])
        out["tolerance"] = _number(kind, "tolerance", given["tolerance"], low=0.0)
        return out
    if "tolerance" in given:
        raise InvalidInput(f"rule kind {kind}: param 'tolerance' needs 'expected'")
    if "min" not in given and "max" not in given:
        raise InvalidInput(f"rule kind {kind}: give 'expected' and 'tolerance', or 'min' and/or 'max'")
    for key in ("min", "max"):
        if key in given:
            out[key] = _number(kind, key, given[key])
    if "min" in out and "max" in out and out["min"] > out["max"]:
        raise InvalidInput(f"rule kind {kind}: 'min' {out['min']:g} is above 'max' {out['max']:g}")
    return out


_ACTION_KEYS = {"notify": set(), "webhook": {"url", "secret_env"}, "callable": {"name"}, "retrain": set()}


def check_actions(actions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """`actions` checked: each a dict with "type" (notify, webhook, callable, retrain) and its keys.
    A webhook's "url" is http or https; its "secret_env" names the environment variable holding the
    signing secret (the secret itself is never stored).

    Raises:
        InvalidInput: not a list of dicts, an unknown type or key, a bad url or variable name.
    """
    checked: list[dict[str, Any]] = []
    for number, action in enumerate(actions or [], start=1):
        if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
            got = action.get("type") if isinstance(action, dict) else action
            raise InvalidInput(f"action {number}: type {got!r} is not one of {', '.join(ACTION_TYPES)}")
        kind = action["type"]
        unknown = sorted(set(action) - {"type"} - _ACTION_KEYS[kind])
        if unknown:
            raise InvalidInput(f"action {number} ({kind}): unknown key {unknown[0]!r}")
        if kind == "webhook":
            url = action.get("url")
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidInput(f"action {number} (webhook): url must be an http or https URL, got {url!r}")
            if "@" in parts.netloc:  # user:password@host: a secret stored in the rule, shown to every reader
                raise InvalidInput(f"action {number} (webhook): url must not carry a user name or password "
                                   f"(https://{parts.hostname or ''}/... without 'user:password@'): the rule is stored "
                                   "and shown as typed; sign the webhook with secret_env instead")
            secret_env = action.get("secret_env")
            if secret_env is not None and (not isinstance(secret_env, str) or not _ENV_NAME.match(secret_env)):
                raise InvalidInput(f"action {number} (webhook): secret_env must name an environment variable, "
                                   f"got {secret_env!r} (the secret itself is never stored)")
        if kind == "callable" and (not isinstance(action.get("name"), str) or not action["name"].strip()):
            raise InvalidInput(f"action {number} (callable): name must name a callable registered with "
                               "register_action / mlops.on_alert")
        checked.append(dict(action))
    return checked


def _public(rule: AlertRule, model: str | None) -> AlertRulePublic:
    assert rule.id is not None
    return AlertRulePublic(id=rule.id, name=rule.name, kind=rule.kind, model=model, severity=rule.severity,
                           params=dict(rule.params), actions=[dict(a) for a in rule.actions], enabled=rule.enabled,
                           created_by=rule.created_by, created_at=rule.created_at)


def _model_name(session: Session, model_id: int | None) -> str | None:
    if model_id is None:
        return None
    return session.execute(select(col(RegisteredModel.name)).where(col(RegisteredModel.id) == model_id)).scalar()


def add_rule(*, session: Session, project_id: int, actor: Identity, name: str, kind: str, model: str | None = None,
             severity: str = "warning", params: dict[str, Any] | None = None,
             actions: list[dict[str, Any]] | None = None) -> AlertRulePublic:
    """Add rule `name` (unique in the project) of `kind` with `params`, watching `model` (None: every
    production model of the project), firing alerts of `severity` (info, warning, critical) and
    running `actions`; audited "alert_rule.add".

    Raises:
        PermissionDenied: `actor` may not set_monitoring (ml_engineer, admin).
        InvalidInput: an empty or over-long name, an unknown kind or severity, bad params or actions.
        NotFound: no model named `model` in the project.
        Conflict: the project has a rule named `name` already.
    """
    who = permissions.authorize(session=session, actor=actor, action="set_monitoring")
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"a rule's name must be text, got {type(name).__name__}")
    name = (name or "").strip()
    if not name or len(name) > 250:
        raise InvalidInput("a rule's name must be 1 to 250 characters")
    if _CONTROL.search(name):  # NUL fails on PostgreSQL; escapes rewrite the terminal `monitor run` prints to
        raise InvalidInput(f"a rule's name must not hold control characters (newlines, tabs, NUL, escapes), got {name!r}")
    if severity not in SEVERITIES:
        raise InvalidInput(f"rule severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    checked, steps = check_params(kind, params), check_actions(actions)
    model_id = get_model(session=session, project_id=project_id, name=model).id if model is not None else None
    if _find(session, project_id, name) is not None:
        raise Conflict(f"the project has a rule named {name!r} already; delete it first or pick another name")
    rule = AlertRule(project_id=project_id, model_id=model_id, name=name, kind=kind, params=checked, severity=severity,
                     actions=steps, enabled=True, created_by=who.name, created_at=time.time())
    session.add(rule)
    session.flush()
    audit.record(session=session, actor=who.name, action="alert_rule.add", entity="alert_rule", entity_id=rule.id,
                 after={"name": name, "kind": kind, "model": model, "severity": severity, "params": checked,
                        "actions": steps})
    return _public(rule, model)


def _find(session: Session, project_id: int, name: str) -> AlertRule | None:
    return session.execute(select(AlertRule).where(col(AlertRule.project_id) == project_id,
                                                   col(AlertRule.name) == name)).scalar()


def _get(session: Session, project_id: int, name: str) -> AlertRule:
    rule = _find(session, project_id, name)
    if rule is None:
        names = session.execute(select(col(AlertRule.name)).where(col(AlertRule.project_id) == project_id)
                                .order_by(col(AlertRule.name))).scalars().all()
        known = f"its rules: {', '.join(names)}" if names else "it has none (SPEC §4's defaults apply)"
        raise NotFound(f"the project has no rule named {name!r}; {known}")
    return rule


def list_rules(*, session: Session, project_id: int) -> list[AlertRulePublic]:
    """The project's rules, by name (enabled and disabled)."""
    rows = session.execute(select(AlertRule, col(RegisteredModel.name))
                           .outerjoin(RegisteredModel, col(RegisteredModel.id) == col(AlertRule.model_id))
                           .where(col(AlertRule.project_id) == project_id).order_by(col(AlertRule.name))).all()
    return [_public(rule, model) for rule, model in rows]


def project_rules(*, session: Session, project_id: int) -> list[AlertRule]:
    """The project's rule rows, by name, for the monitor (enabled and disabled: a project whose rules
    are all disabled has rules, so the defaults do not apply)."""
    return list(session.execute(select(AlertRule).where(col(AlertRule.project_id) == project_id)
                                .order_by(col(AlertRule.name))).scalars())


def set_rule_enabled(*, session: Session, project_id: int, actor: Identity, name: str,
                     enabled: bool) -> AlertRulePublic:
    """Enable or disable rule `name` (a disabled rule is kept but not evaluated); audited
    "alert_rule.enable" / "alert_rule.disable".

    Raises:
        PermissionDenied: `actor` may not set_monitoring.
        NotFound: no such rule in the project (the message lists its rules).
    """
    who = permissions.authorize(session=session, actor=actor, action="set_monitoring")
    rule = _get(session, project_id, name)
    before, rule.enabled = rule.enabled, bool(enabled)
    session.add(rule)
    session.flush()
    audit.record(session=session, actor=who.name, action="alert_rule.enable" if enabled else "alert_rule.disable",
                 entity="alert_rule", entity_id=rule.id, before={"enabled": before}, after={"enabled": rule.enabled})
    return _public(rule, _model_name(session, rule.model_id))


def delete_rule(*, session: Session, project_id: int, actor: Identity, name: str) -> AlertRulePublic:
    """Delete rule `name`; the alerts it fired stay (they keep its name); audited "alert_rule.delete".
    Returns the rule as it was.

    Raises:
        PermissionDenied: `actor` may not set_monitoring.
        NotFound: no such rule in the project.
    """
    who = permissions.authorize(session=session, actor=actor, action="set_monitoring")
    rule = _get(session, project_id, name)
    gone = _public(rule, _model_name(session, rule.model_id))
    session.execute(update(Alert).where(col(Alert.rule_id) == rule.id).values(rule_id=None))
    session.delete(rule)
    session.flush()
    audit.record(session=session, actor=who.name, action="alert_rule.delete", entity="alert_rule", entity_id=gone.id,
                 before={"name": gone.name, "kind": gone.kind, "model": gone.model, "params": gone.params,
                         "actions": gone.actions})
    return gone
