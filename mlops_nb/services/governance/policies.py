"""Promotion policies: which gates apply, their thresholds, and who must approve each target stage.

A policy is one JSON document per model, or the project default (model_id NULL). The effective
policy of a model is its own, else the project's, else DEFAULT_RULES:

    {"approvals": {"staging": {"ml_engineer": 1},
                   "production": {"ml_engineer": 1, "reviewer": 1}},
     "gates": {"staging_before_production": True, "lineage_complete": True,
               "metric_thresholds": {}, "no_regression": None, "data_validated": None,
               "prediction_distribution": None, "canary": None},
     "env_mismatch": "warn",
     "scoring": {"on_invalid": "warn"}}

`env_mismatch` ("warn" or "refuse") is read by services.registry when a version is loaded in an
environment other than its training one. `scoring.on_invalid` ("warn" or "refuse") is read when a
version is loaded for monitored scoring (services.monitoring.scoring): a batch with an error
finding is scored with a warning, or refused and recorded as refused. DEFAULT_RULES is SPEC §4's default policy: staging needs
one ml_engineer, production one ml_engineer and one reviewer; production only from staging and
complete lineage are on; the other gates are set per policy.

`set_policy` takes the parts to change (every other part is kept), validates all of it, and writes
an audit event with the policy before and after.

    set_policy(session=s, actor=eve, project_id=1, model_id=None,
               rules={"metric_thresholds": {"roc_auc": ">= 0.70"},
                      "approvals": {"production": {"reviewer": 2}}})
"""
from __future__ import annotations

import copy
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from mlops_nb.services.errors import Conflict, InvalidInput
from mlops_nb.services.governance import audit
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.store.models import Policy
from mlops_nb.store.models.identity import ROLES

TARGET_STAGES = ("staging", "production")  # the stages a promotion request may ask for
GATES = ("staging_before_production", "lineage_complete", "metric_thresholds", "no_regression",
         "data_validated", "prediction_distribution", "canary")

DEFAULT_RULES: dict[str, Any] = {
    "approvals": {"staging": {"ml_engineer": 1}, "production": {"ml_engineer": 1, "reviewer": 1}},
    "gates": {"staging_before_production": True, "lineage_complete": True, "metric_thresholds": {},
              "no_regression": None, "data_validated": None, "prediction_distribution": None, "canary": None},
    "env_mismatch": "warn",
    "scoring": {"on_invalid": "warn"},
}
ENV_MISMATCH = ("warn", "refuse")
SCORING_DEFAULTS = {"on_invalid": "warn"}
ON_INVALID = ("warn", "refuse")
CANARY_DEFAULTS = {"min_batches": 1, "min_rows": 0}
NO_REGRESSION_DEFAULTS = {"tolerance": 0.0, "higher_is_better": True}
DATA_VALIDATED_DEFAULTS = {"min_rows": 100, "max_null_rate": 0.1, "target_required": True}
PREDICTION_DISTRIBUTION_DEFAULTS = {"max_shift": 0.1}
_THRESHOLD = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class EffectivePolicy:
    """The rules in force for one model, and where they come from (model, project or default)."""

    rules: dict[str, Any]
    source: str

    def approvals(self, stage: str) -> dict[str, int]:
        """The approvals `stage` needs, {role: count} (empty for a stage that takes none)."""
        return dict(self.rules["approvals"].get(stage, {}))

    def gate(self, name: str) -> Any:
        """Gate `name`'s setting: True/False, a dict of options or of thresholds, or None when off."""
        return self.rules["gates"].get(name)


def parse_threshold(metric: str, expression: Any) -> tuple[str, float]:
    """`">= 0.70"` -> (">=", 0.7); a bare number means `>=` that number.

    Raises:
        InvalidInput: not a finite number nor a rule with one of >= > <= < == (the message names `metric`).
    """
    if isinstance(expression, (int, float)) and not isinstance(expression, bool):
        if not math.isfinite(expression):
            raise InvalidInput(f"threshold for metric {metric!r} must be a finite number, got {expression!r}")
        return ">=", float(expression)
    match = _THRESHOLD.match(expression) if isinstance(expression, str) else None
    if match is None:
        raise InvalidInput(f"threshold for metric {metric!r} must look like \">= 0.70\" (operators >= > <= < ==), "
                           f"got {expression!r}")
    return match.group(1), float(match.group(2))


def _number(value: Any, what: str, *, minimum: float = 0.0, integer: bool = False) -> float:
    """`value` as a float (an int when `integer`), when it is a finite number >= `minimum`; else InvalidInput."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < minimum or (integer and int(value) != value):
        kind = "a whole number" if integer else "a number"
        raise InvalidInput(f"{what} must be {kind} >= {minimum:g}, got {value!r}")
    return int(value) if integer else float(value)


def _options(value: Any, gate: str, defaults: dict[str, Any],
             required: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A gate's options over its defaults (None when off); InvalidInput for unknown or missing options."""
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise InvalidInput(f"gate {gate!r} takes True, False/None or a dict of options "
                           f"({', '.join(list(defaults) + list(required))}), got {value!r}")
    unknown = sorted(set(value) - set(defaults) - set(required))
    if unknown:
        raise InvalidInput(f"gate {gate!r} has no option {', '.join(map(repr, unknown))}; options are "
                           f"{', '.join(list(required) + list(defaults))}")
    missing = [k for k in required if k not in value]
    if missing:
        raise InvalidInput(f"gate {gate!r} needs {', '.join(map(repr, missing))}, e.g. "
                           f"{gate}={{'metric': 'roc_auc', 'tolerance': 0.01}}")
    return {**defaults, **value}


def _validate_gates(gates: dict[str, Any]) -> dict[str, Any]:
    """Every gate's setting checked and normalised (options filled from their defaults)."""
    unknown = sorted(set(gates) - set(GATES))
    if unknown:
        raise InvalidInput(f"unknown gate {', '.join(map(repr, unknown))}; gates are {', '.join(GATES)}")
    out = dict(gates)
    for flag in ("staging_before_production", "lineage_complete"):
        if not isinstance(out.get(flag), bool):
            raise InvalidInput(f"gate {flag!r} takes True or False, got {out.get(flag)!r}")
    thresholds = out.get("metric_thresholds") or {}
    if not isinstance(thresholds, dict):
        raise InvalidInput(f"metric_thresholds must map metric names to \">= 0.70\"-style rules, got {thresholds!r}")
    for metric, expression in thresholds.items():
        if not isinstance(metric, str) or not metric.strip():
            raise InvalidInput(f"metric_thresholds needs a metric name before each rule, e.g. "
                               f"{{'roc_auc': '>= 0.70'}}; got {metric!r} for {expression!r}")
        parse_threshold(metric, expression)
    out["metric_thresholds"] = dict(thresholds)
    regression = _options(out.get("no_regression"), "no_regression", NO_REGRESSION_DEFAULTS, ("metric",))
    if regression is not None:
        if not isinstance(regression["metric"], str) or not regression["metric"]:
            raise InvalidInput(f"no_regression's metric must be a metric name, got {regression['metric']!r}")
        regression["tolerance"] = _number(regression["tolerance"], "no_regression's tolerance")
        if not isinstance(regression["higher_is_better"], bool):
            raise InvalidInput("no_regression's higher_is_better must be True or False")
    out["no_regression"] = regression
    data = _options(out.get("data_validated"), "data_validated", DATA_VALIDATED_DEFAULTS)
    if data is not None:
        data["min_rows"] = _number(data["min_rows"], "data_validated's min_rows", integer=True)
        data["max_null_rate"] = _number(data["max_null_rate"], "data_validated's max_null_rate")
        if data["max_null_rate"] > 1:
            raise InvalidInput(f"data_validated's max_null_rate is a share between 0 and 1, got {data['max_null_rate']}")
        if not isinstance(data["target_required"], bool):
            raise InvalidInput("data_validated's target_required must be True or False")
    out["data_validated"] = data
    distribution = _options(out.get("prediction_distribution"), "prediction_distribution",
                            PREDICTION_DISTRIBUTION_DEFAULTS)
    if distribution is not None:
        distribution["max_shift"] = _number(distribution["max_shift"], "prediction_distribution's max_shift")
    out["prediction_distribution"] = distribution
    canary = _options(out.get("canary"), "canary", CANARY_DEFAULTS)
    if canary is not None:
        canary["min_batches"] = _number(canary["min_batches"], "canary's min_batches", minimum=1, integer=True)
        canary["min_rows"] = _number(canary["min_rows"], "canary's min_rows", integer=True)
    out["canary"] = canary
    return out


def _validate_scoring(scoring: Any) -> dict[str, Any]:
    """The `scoring` section over SCORING_DEFAULTS: {"on_invalid": "warn" | "refuse"}."""
    if not isinstance(scoring, dict):
        raise InvalidInput(f"scoring must be a dict such as {{'on_invalid': 'refuse'}}, got {scoring!r}")
    unknown = sorted(set(scoring) - set(SCORING_DEFAULTS))
    if unknown:
        raise InvalidInput(f"scoring has no setting {', '.join(map(repr, unknown))}; settings are "
                           f"{', '.join(SCORING_DEFAULTS)}")
    out = {**SCORING_DEFAULTS, **scoring}
    if out["on_invalid"] not in ON_INVALID:
        raise InvalidInput(f"scoring.on_invalid must be 'warn' or 'refuse', got {out['on_invalid']!r}")
    return out


def _validate_approvals(approvals: Any) -> dict[str, dict[str, int]]:
    """{stage: {role: count}} for both target stages, each naming known roles with whole counts >= 1."""
    if not isinstance(approvals, dict):
        raise InvalidInput(f"approvals must map a stage to {{role: count}}, got {approvals!r}")
    out: dict[str, dict[str, int]] = {}
    for stage in TARGET_STAGES:
        needed = approvals.get(stage)
        if not isinstance(needed, dict) or not needed:
            raise InvalidInput(f"approvals for {stage} must name at least one role and a count, "
                               f"e.g. {{'ml_engineer': 1}}; got {needed!r}")
        for role, count in needed.items():
            if role not in ROLES:
                raise InvalidInput(f"approvals for {stage}: role {role!r} is not one of {', '.join(ROLES)}")
            _number(count, f"approvals for {stage}: the count of {role}", minimum=1, integer=True)
        out[stage] = {role: int(count) for role, count in needed.items()}
    unknown = sorted(set(approvals) - set(TARGET_STAGES))
    if unknown:
        raise InvalidInput(f"approvals name unknown stage {', '.join(map(repr, unknown))}; "
                           f"stages that take approvals: {', '.join(TARGET_STAGES)}")
    return out


def validate(rules: Any) -> dict[str, Any]:
    """A complete, normalised policy document from `rules` (missing parts from DEFAULT_RULES).

    Raises:
        InvalidInput: naming the first bad part (an unknown key, gate, option, role or stage; a bad
            threshold, count, share or env_mismatch value).
    """
    if not isinstance(rules, dict):
        raise InvalidInput(f"a policy is a dict with 'approvals' and 'gates', got {type(rules).__name__}")
    unknown = sorted(set(rules) - {"approvals", "gates", "env_mismatch", "scoring"})
    if unknown:
        raise InvalidInput(f"a policy has only 'approvals', 'gates', 'env_mismatch' and 'scoring', not "
                           f"{', '.join(map(repr, unknown))}")
    env = rules.get("env_mismatch", "warn")
    if env not in ENV_MISMATCH:
        raise InvalidInput(f"env_mismatch must be 'warn' or 'refuse', got {env!r}")
    gates = {**DEFAULT_RULES["gates"], **(rules.get("gates") or {})}
    return {"approvals": _validate_approvals(rules.get("approvals", DEFAULT_RULES["approvals"])),
            "gates": _validate_gates(gates), "env_mismatch": env,
            "scoring": _validate_scoring(rules.get("scoring", SCORING_DEFAULTS))}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` over `base`, validated: `approvals` per stage, gates by name (`gates=` or the gate
    names directly), `env_mismatch`; `base` is not modified.

    Raises:
        InvalidInput: an unknown setting, or a merged document `validate` refuses.
    """
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if key == "approvals":
            if not isinstance(value, dict):
                raise InvalidInput(f"approvals must map a stage to {{role: count}}, got {value!r}")
            merged["approvals"].update(copy.deepcopy(value))
        elif key == "gates":
            if not isinstance(value, dict):
                raise InvalidInput(f"gates must map gate names to their settings, got {value!r}")
            merged["gates"].update(copy.deepcopy(value))
        elif key in GATES:
            merged["gates"][key] = copy.deepcopy(value)
        elif key == "env_mismatch":
            merged["env_mismatch"] = value
        elif key == "scoring":
            if not isinstance(value, dict):
                raise InvalidInput(f"scoring must be a dict such as {{'on_invalid': 'refuse'}}, got {value!r}")
            merged["scoring"] = {**merged.get("scoring", SCORING_DEFAULTS), **copy.deepcopy(value)}
        else:
            raise InvalidInput(f"unknown policy setting {key!r}; settings are approvals, gates, env_mismatch, scoring, "
                               f"{', '.join(GATES)}")
    return validate(merged)


def _row(session: Session, project_id: int, model_id: int | None, *, lock: bool = False) -> Policy | None:
    """The stored policy row of the model (or the project default), locked FOR UPDATE when `lock`."""
    scope = col(Policy.model_id).is_(None) if model_id is None else col(Policy.model_id) == model_id
    query = select(Policy).where(col(Policy.project_id) == project_id, scope)
    if lock:
        query = query.with_for_update()
    row: Policy | None = session.execute(query).scalars().first()
    return row


def get_effective_policy(*, session: Session, project_id: int, model_id: int | None = None) -> EffectivePolicy:
    """The rules in force for model `model_id`: its own policy, else the project default, else
    DEFAULT_RULES (with `model_id` None: the project default, else DEFAULT_RULES), validated.

    Raises:
        InvalidInput: a stored policy is not a valid policy document.
    """
    query = select(Policy).where(col(Policy.project_id) == project_id)
    if model_id is None:
        query = query.where(col(Policy.model_id).is_(None))
    else:
        query = query.where((col(Policy.model_id) == model_id) | col(Policy.model_id).is_(None))
    rows = session.execute(query).scalars().all()
    own = next((r for r in rows if model_id is not None and r.model_id == model_id), None)
    project = next((r for r in rows if r.model_id is None), None)
    if own is not None:
        return EffectivePolicy(validate(own.rules), "model")
    if project is not None:
        return EffectivePolicy(validate(project.rules), "project")
    return EffectivePolicy(copy.deepcopy(DEFAULT_RULES), "default")


def set_policy(*, session: Session, actor: Identity, project_id: int, model_id: int | None,
               rules: dict[str, Any], entity_name: str = "") -> EffectivePolicy:
    """Change the model's policy (or the project default when model_id is None), audited as
    `policy.set` on entity `entity_name` (default "model:ID" or "project:ID") with before and after.

    Only the parts named in `rules` change; the rest is taken from the policy in force. The CLI
    acts as identity.OPERATOR (a proven admin with no user row; SPEC §4): no flag lifts the check.

    Raises:
        PermissionDenied: the actor is not a proven ml_engineer or admin now.
        InvalidInput: `rules` is empty, or names a setting that is not valid.
        Conflict: another writer created the same policy row at the same moment; nothing changed.
    """
    actor = permissions.authorize(session=session, actor=actor, action="set_policy")
    if not isinstance(rules, dict) or not rules:
        raise InvalidInput("set_policy needs at least one setting, e.g. metric_thresholds={'roc_auc': '>= 0.7'}")
    before = get_effective_policy(session=session, project_id=project_id, model_id=model_id)
    new_rules = merge(before.rules, rules)
    row = _row(session, project_id, model_id, lock=True)
    now = time.time()
    if row is None:
        row = Policy(project_id=project_id, model_id=model_id, rules=new_rules, updated_by=actor.name, updated_at=now)
    else:
        row.rules, row.updated_by, row.updated_at = new_rules, actor.name, now
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as err:  # another writer created the same policy row a moment ago
        raise Conflict("the policy was changed by someone else at the same moment; nothing was changed - "
                       "read it again and retry") from err
    audit.record(session=session, actor=actor.name, action="policy.set", entity="policy",
                 entity_id=entity_name or (f"model:{model_id}" if model_id is not None else f"project:{project_id}"),
                 before={"source": before.source, "rules": before.rules}, after={"source": "model" if model_id else "project",
                                                                               "rules": new_rules})
    return EffectivePolicy(new_rules, "model" if model_id is not None else "project")
