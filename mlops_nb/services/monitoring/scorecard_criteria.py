"""SPEC §3's twelve phase criteria, each a rule over the evidence gathered by scorecard_evidence, for
one model and for a project (its models aggregated).

A status over a set of records: pass when the set is non-empty and all hold; partial when some hold;
fail when none hold or the set is empty. A project's criterion: pass when every model it concerns
passes, partial when some pass (or any is partial), fail when none pass or none is concerned.
Which models a criterion concerns: phase 1, all models (runs_tracked: the project's finished runs);
promotion_policy and data_validated, models with a version in staging or production; the rest,
models with a production version.

    criteria = model_criteria(project_facts, model_facts, facts)       # 12 Criterion, CRITERIA order
    criteria = project_criteria(project_facts, {model_id: criteria}, facts)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.monitoring.scorecard_evidence import (
    DAY_S,
    Facts,
    ModelFacts,
    ProjectFacts,
    RuleFacts,
    VersionFacts,
)
from mlops_nb.services.monitoring.scorecard_results import CRITERIA, Criterion, CriterionSpec, Evidence
from mlops_nb.services.registry.lineage import code_verdict, version_code
from mlops_nb.services.registry.model_files import FLAVOR

MAX_EVIDENCE = 10  # Evidence records per criterion: the proof first, then what falls short
KNOWN_FLAVORS = (FLAVOR,)  # the flavors services.registry loads
QUALITY_GATES = ("metric_thresholds", "no_regression")
# a criterion concerns models with a version in one of these stages (phase 1: every model)
CONCERNS: dict[str, tuple[str, ...] | None] = {
    "runs_tracked": None, "models_registered": None, "lineage_complete": None, "standard_format": None,
    "promotion_policy": ("staging", "production"), "data_validated": ("staging", "production"),
}
# {model}: the model's name where one model is meant ("name" on a project's card)
TO_PRODUCTION = ("put a model version in production through staging (mlops.request_promotion({model}, version=..., "
                 "to='staging', reason=...), then to='production')")
TO_STAGING = "put a model version in staging (mlops.request_promotion({model}, version=..., to='staging', reason=...))"


@dataclass
class Verdict:
    """A criterion over one scope: status, detail, the records that hold (`good`) and those that
    fall short (`bad`), and the next step."""

    status: str
    detail: str
    good: list[Evidence] = field(default_factory=list)
    bad: list[Evidence] = field(default_factory=list)
    next_step: str = ""

    def criterion(self, spec: CriterionSpec) -> Criterion:
        """This verdict as the criterion `spec`'s result (evidence: good first, at most MAX_EVIDENCE)."""
        return Criterion(phase=spec.phase, name=spec.name, title=spec.title, status=self.status, detail=self.detail,
                         evidence=(self.good + self.bad)[:MAX_EVIDENCE],
                         next_step="" if self.status == "pass" else self.next_step)


def status_of(held: int, total: int) -> str:
    """pass when `total` > 0 and all `held`; partial when some; fail when none or nothing to hold."""
    if total and held == total:
        return "pass"
    return "partial" if held else "fail"


def version_evidence(model: ModelFacts, v: VersionFacts) -> Evidence:
    """A model version as evidence ("credit-risk v3 (production)")."""
    return Evidence("model_version", v.id, f"{model.name} v{v.version} ({v.stage})", model.name, v.version, v.created_at)


def _over(model: ModelFacts, versions: list[VersionFacts], holds: Callable[[VersionFacts], Evidence | None],
          noun: str, what: str, step: str) -> Verdict:
    """A verdict over `versions`: `holds(v)` returns the proving record, or None when it falls short."""
    good, bad = [], []
    for v in versions:
        proof = holds(v)
        if proof is not None:
            good.append(proof)
        else:
            bad.append(version_evidence(model, v))
    status = status_of(len(good), len(versions))
    detail = f"{len(good)} of {len(versions)} {noun} {what}"
    short = ", ".join(f"v{e.version}" for e in bad[:5])
    return Verdict(status, detail + (f" (not: {short})" if short else ""), good, bad,
                   step.replace("{model}", repr(model.name)))


def _no_versions(model: ModelFacts, stages: tuple[str, ...]) -> Verdict:
    where = " or ".join(stages)
    step = TO_PRODUCTION if stages == ("production",) else TO_STAGING
    return Verdict("fail", f"{model.name} has no version in {where}", next_step=step.replace("{model}", repr(model.name)))


def covering(rules: list[RuleFacts], model: ModelFacts, kind: str) -> list[RuleFacts]:
    """The enabled rules of `kind` that watch `model` (its own, or the project's for every model)."""
    return [r for r in rules if r.enabled and r.kind == kind and r.model_id in (None, model.id)]


def effective_policy(project: ProjectFacts, model: ModelFacts) -> tuple[int, str, dict[str, Any]] | None:
    """The stored policy in force for `model`: (row id, "model" or "project", rules), or None when
    only the defaults apply (services.governance.policies.get_effective_policy's order, read in bulk)."""
    if model.id in project.policies:
        pid, rules = project.policies[model.id]
        return pid, "model", rules
    if None in project.policies:
        pid, rules = project.policies[None]
        return pid, "project", rules
    return None


def gates_of(project: ProjectFacts, model: ModelFacts) -> dict[str, Any]:
    """The gates of the model's effective policy (the defaults' when none is stored)."""
    from mlops_nb.services.governance.policies import DEFAULT_RULES

    found = effective_policy(project, model)
    return dict((found[2] if found else DEFAULT_RULES).get("gates") or {})


def production_change(model: ModelFacts, v: VersionFacts) -> Any:
    """The newest stage change that put `v` in production, or None."""
    changes = [c for c in model.stage_changes if c.model_version_id == v.id and c.to_stage == "production"]
    return changes[-1] if changes else None


# --- the criteria over one model ---------------------------------------------------------------

def _runs_tracked(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    runs = {v.run.id: (v, v.run) for v in model.live() if v.run is not None}
    if not runs:
        return Verdict("fail", f"no version of {model.name} names a run",
                       next_step="register versions from a tracked run: mlops.start_run(), mlops.log_params(...), "
                                 "mlops.log_metrics(...), then mlops.register_model(...)")
    good: list[Evidence] = []
    bad: list[Evidence] = []
    for run_id, (v, run) in runs.items():
        e = Evidence("run", run_id, f"run {run_id[:8]} ({run.name})", model.name, v.version, run.start_time)
        (good if run.status == "finished" and run.has_params and run.has_metrics else bad).append(e)
    return Verdict(status_of(len(good), len(runs)),
                   f"{len(good)} of {len(runs)} runs behind {model.name}'s versions finished with params and metrics",
                   good, bad, "log params and metrics in the training run (mlops.log_params, mlops.log_metrics) "
                              "and let it finish (mlops.end_run)")


def _models_registered(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    if not model.versions:
        return Verdict("fail", f"{model.name} has no version",
                       next_step=f"register a version: mlops.register_model(model, name={model.name!r}, dataset=...)")
    newest = model.versions[-1]
    return Verdict("pass", f"{model.name} has {len(model.versions)} version{'s' if len(model.versions) != 1 else ''}",
                   [version_evidence(model, newest)])


def code_of(v: VersionFacts) -> tuple[bool, str]:
    """(recorded, in words): the version's code reference as registry.lineage judges it, computed once."""
    if v.code_verdict is None:
        v.code_verdict = code_verdict(version_code(v.run, v.code))
    return v.code_verdict


def _lineage(v: VersionFacts) -> bool:
    code_ok, _ = code_of(v)
    return v.dataset is not None and code_ok and (v.has_params or (v.run is not None and v.run.has_params))


def _lineage_complete(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    live = model.live()
    if not live:
        return Verdict("fail", f"{model.name} has no version that is not archived",
                       next_step=f"register a version: mlops.register_model(model, name={model.name!r}, dataset=...)")
    return _over(model, live, lambda v: version_evidence(model, v) if _lineage(v) else None, "versions",
                 "name a training dataset, a code reference and params",
                 "register from a run that logged its training data (mlops.log_dataset(df, name=..., role='train')) "
                 "and params, with its code in a notebook cell or a committed file")


def _standard_format(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    live = model.live()
    if not live:
        return Verdict("fail", f"{model.name} has no version that is not archived",
                       next_step=f"register a version: mlops.register_model(model, name={model.name!r}, dataset=...)")
    return _over(model, live,
                 lambda v: version_evidence(model, v) if v.flavor in KNOWN_FLAVORS and v.has_signature else None,
                 "versions", f"are stored as {'/'.join(KNOWN_FLAVORS)} with an input signature",
                 "register the model with mlops.register_model(..., dataset=...) or input_example=... so its "
                 "signature is recorded")


def _promotion_policy(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    if not model.in_stage("staging", "production"):
        return _no_versions(model, ("staging", "production"))
    step = f"add a quality gate: mlops.set_policy({model.name!r}, metric_thresholds={{'roc_auc': '>= 0.70'}})"
    found = effective_policy(project, model)
    if found is None:
        return Verdict("fail", f"no policy is stored for {model.name} or its project: only the defaults apply",
                       next_step=step)
    pid, source, rules = found
    gates = rules.get("gates") or {}
    quality = [g for g in QUALITY_GATES if gates.get(g) not in (None, False, {}, [])]
    e = Evidence("policy", pid, f"{source} policy" + (f" for {model.name}" if source == "model" else ""), model.name)
    if quality:
        return Verdict("pass", f"the {source} policy in force gates on {' and '.join(quality)}", [e])
    return Verdict("partial", f"the {source} policy in force adds no quality gate (metric thresholds or no regression)",
                   bad=[e], next_step=step)


def _data_validated(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    versions = model.in_stage("staging", "production")
    if not versions:
        return _no_versions(model, ("staging", "production"))

    def holds(v: VersionFacts) -> Evidence | None:
        if v.validation is not None and v.validation[1] <= v.created_at:
            return Evidence("validation", v.validation[0], f"validation of {model.name} v{v.version}'s training data",
                            model.name, v.version, v.validation[1])
        for request in facts.requests_of(v.id):
            if any(
                    isinstance(g, dict) and g.get("name") == "data_validated" and g.get("passed") for g in request.gates):
                return Evidence("request", request.id, f"request {request.id}: data_validated passed", model.name,
                                v.version, request.decided_at)
        return None

    return _over(model, versions, holds, "staging and production versions",
                 "had their training data validated before registration or passed a data_validated gate",
                 "turn the gate on, so every request validates the training data: mlops.set_policy({model}, "
                 "data_validated=True)")


def _staging_before_production(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    versions = model.in_stage("production")
    if not versions:
        return _no_versions(model, ("production",))

    def holds(v: VersionFacts) -> Evidence | None:
        to_production = production_change(model, v)
        staged = [c for c in model.stage_changes if c.model_version_id == v.id and c.to_stage == "staging"
                  and (to_production is None or c.id < to_production.id)]
        if to_production is None or not staged:
            return None
        return Evidence("stage_change", staged[-1].id, f"{model.name} v{v.version} entered staging", model.name,
                        v.version, staged[-1].created_at)

    return _over(model, versions, holds, "production versions", "were in staging before production",
                 "promote to staging before production: mlops.request_promotion({model}, version=..., to='staging', "
                 "reason=...), and "
                 "keep the staging_before_production gate on")


def batch_evidence(model: ModelFacts, v: VersionFacts, stage: str = "production") -> Evidence | None:
    """The version's newest scoring batch in `stage` as evidence, or None when it scored none there."""
    stats = v.batches.get(stage)
    if stats is None or stats.newest_id is None:
        return None
    return Evidence("batch", stats.newest_id, f"{model.name} v{v.version}: batch {stats.newest_id[:8]} ({stage})",
                    model.name, v.version, stats.newest_at)


def _prediction_monitoring(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    versions = model.in_stage("production")
    if not versions:
        return _no_versions(model, ("production",))
    days = project.settings["monitoring_window_days"]

    def holds(v: VersionFacts) -> Evidence | None:
        stats = v.batches.get("production")
        return batch_evidence(model, v) if stats is not None and stats.profiled else None

    return _over(model, versions, holds, "production versions",
                 f"have scoring batches with a prediction profile within {days:g} days",
                 "score through the monitored wrapper: mlops.load_model({model}).predict_proba(X)")


def _drift_on_schedule(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    versions = model.in_stage("production")
    if not versions:
        return _no_versions(model, ("production",))
    days = project.settings["drift_max_age_days"]
    good, bad, stale = [], [], 0
    for v in versions:
        if v.drift_id is None or v.drift_at is None:
            bad.append(version_evidence(model, v))
            continue
        e = Evidence("drift_report", v.drift_id, f"{model.name} v{v.version}: drift report {v.drift_id} (monitor)",
                     model.name, v.version, v.drift_at)
        if facts.as_of - v.drift_at <= days * DAY_S:
            good.append(e)
        else:
            stale += 1
            bad.append(e)
    status = status_of(len(good), len(versions))
    if status == "fail" and stale:
        status = "partial"
    detail = (f"{len(good)} of {len(versions)} production versions have a drift report made by the monitor within "
              f"{days:g} days" + (f"; {stale} only an older one" if stale else ""))
    return Verdict(status, detail, good, bad, "run `mlops monitor run` on a schedule (cron or a scheduler) so "
                                              "drift reports stay fresh")


def _retraining_triggers(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    if model.production is None:
        return _no_versions(model, ("production",))
    days = project.settings["retraining_window_days"]
    rules = [r for r in project.rules if r.enabled and r.model_id in (None, model.id)
             and any(isinstance(a, dict) and a.get("type") == "retrain" for a in r.actions)]
    good: list[Evidence] = []
    bad: list[Evidence] = []
    configured = model.retraining_set_at is not None and bool(rules)
    if model.retraining_set_at is not None:
        good.append(Evidence("model_version", model.production.id, f"{model.name}: retraining notebook set",
                             model.name, model.production.version, model.retraining_set_at))
    for r in rules[:3]:
        good.append(Evidence("alert_rule", r.id, f"rule {r.name} ({r.kind}) retrains", model.name))
    fired = model.alert_retraining
    fired_recently = fired is not None and facts.as_of - fired[1] <= days * DAY_S
    if fired is not None:
        e = Evidence("retraining_run", fired[0], f"{model.name}: retraining run {fired[0]} started by an alert "
                     f"({fired[2]})", model.name, None, fired[1])
        alert = Evidence("alert", fired[3], f"alert {fired[3]} that started it", model.name, None, fired[1])
        (good if fired_recently else bad).extend([e, alert])
    missing = []
    if model.retraining_set_at is None:
        missing.append("no retraining notebook")
    if not rules:
        missing.append("no enabled rule with a retrain action")
    if not fired_recently:
        missing.append(f"no retraining started by an alert within {days:g} days")
    if configured and fired_recently:
        return Verdict("pass", f"{model.name} retrains on alerts; the last started within {days:g} days", good)
    status = "partial" if configured or fired_recently else "fail"
    step = (f"set a notebook (mlops.set_retraining({model.name!r}, notebook=...)) and a rule that retrains "
            f"(mlops.add_alert_rule(..., model={model.name!r}, actions=[{{'type': 'retrain'}}]))"
            if not configured else "let the rule fire, or check why it has not: mlops.alerts(), `mlops monitor run`")
    return Verdict(status, "; ".join(missing), good, bad, step)


def _versioned_features(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    versions = model.in_stage("production")
    if not versions:
        return _no_versions(model, ("production",))
    return _over(model, versions, lambda v: version_evidence(model, v) if v.has_features else None,
                 "production versions", "name the feature definitions they were trained with",
                 "define features with @mlops.feature, apply them in the training run and register from it "
                 "(mlops.register_model(..., features=[...]))")


def p95(values: list[float]) -> float:
    """The 95th percentile by linear interpolation between the closest ranks: numpy.percentile's
    default, which the monitor's latency_p95 rule uses (numpy's call overhead is most of the time
    for a few values, and a portfolio computes hundreds). Raises ValueError for no values."""
    if not values:
        raise ValueError("a p95 needs at least one value")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * 0.95
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _sla_met(project: ProjectFacts, model: ModelFacts, facts: Facts) -> Verdict:
    versions = model.in_stage("production")
    if not versions:
        return _no_versions(model, ("production",))
    rules = [r for r in covering(project.rules, model, "latency_p95") if "sla_ms" in r.params]
    if not rules:
        return Verdict("fail", f"no enabled latency_p95 rule covers {model.name}",
                       next_step=f"define an SLA: mlops.add_alert_rule('latency', kind='latency_p95', "
                                 f"model={model.name!r}, sla_ms=200)")
    rule = min(rules, key=lambda r: float(r.params["sla_ms"]))
    sla = float(rule.params["sla_ms"])
    days = project.settings["monitoring_window_days"]
    rule_e = Evidence("alert_rule", rule.id, f"rule {rule.name}: p95 <= {sla:g} ms", model.name)
    good, bad, words = [rule_e], [], []
    for v in versions:
        e = batch_evidence(model, v) or version_evidence(model, v)
        if not v.latencies:
            bad.append(e)
            words.append(f"v{v.version} has no timed batches within {days:g} days")
            continue
        value = p95(v.latencies)
        if value <= sla:
            good.append(e)
            count = len(v.latencies)
            words.append(f"v{v.version} p95 {value:.1f} ms over {count} batch{'' if count == 1 else 'es'}")
        else:
            bad.append(e)
            words.append(f"v{v.version} p95 {value:.1f} ms breaches {sla:g} ms")
    held = len(good) - 1
    status = "pass" if held == len(versions) else "partial"
    return Verdict(status, f"SLA {sla:g} ms: " + "; ".join(words), good, bad,
                   "score through mlops.load_model(...) so latencies are recorded, and bring the p95 under the SLA")


RULES: dict[str, Callable[[ProjectFacts, ModelFacts, Facts], Verdict]] = {
    "runs_tracked": _runs_tracked, "models_registered": _models_registered, "lineage_complete": _lineage_complete,
    "standard_format": _standard_format, "promotion_policy": _promotion_policy, "data_validated": _data_validated,
    "staging_before_production": _staging_before_production, "prediction_monitoring": _prediction_monitoring,
    "drift_on_schedule": _drift_on_schedule, "retraining_triggers": _retraining_triggers,
    "versioned_features": _versioned_features, "sla_met": _sla_met,
}


def model_criteria(project: ProjectFacts, model: ModelFacts, facts: Facts) -> list[Criterion]:
    """The 12 criteria over one model, in CRITERIA order."""
    return [RULES[spec.name](project, model, facts).criterion(spec) for spec in CRITERIA]


def concerns(spec: CriterionSpec, model: ModelFacts) -> bool:
    """Whether criterion `spec` concerns `model` on its project's card."""
    stages = CONCERNS.get(spec.name, ("production",))
    return stages is None or bool(model.in_stage(*stages))


def _project_runs(project: ProjectFacts) -> Verdict:
    good = [Evidence("run", rid, f"run {rid[:8]} ({name})", None, None, at)
            for rid, name, tracked, at in project.run_examples if tracked]
    bad = [Evidence("run", rid, f"run {rid[:8]} ({name}): no params or no metrics", None, None, at)
           for rid, name, tracked, at in project.run_examples if not tracked]
    n, held = project.finished_runs, project.tracked_runs
    if not n:
        return Verdict("fail", f"project {project.name} has no finished run",
                       next_step="track a training run: mlops.start_run(), mlops.log_params(...), mlops.log_metrics(...)")
    return Verdict(status_of(held, n), f"{held} of {n} finished runs record params and metrics", good, bad,
                   "log at least one param and one metric in every run (mlops.log_params, mlops.log_metrics)")


def project_criteria(project: ProjectFacts, per_model: dict[int, list[Criterion]]) -> list[Criterion]:
    """The 12 criteria of a project's card from its models' criteria (`per_model`: model id -> criteria)."""
    out = []
    for i, spec in enumerate(CRITERIA):
        if spec.name == "runs_tracked":
            out.append(_project_runs(project).criterion(spec))
            continue
        concerned = [(m, per_model[m.id][i]) for m in project.models if concerns(spec, m)]
        out.append(_aggregate(spec, concerned, project).criterion(spec))
    return out


def _aggregate(spec: CriterionSpec, concerned: list[tuple[ModelFacts, Criterion]], project: ProjectFacts) -> Verdict:
    stages = CONCERNS.get(spec.name, ("production",))
    scope = "models" if stages is None else ("staging or production models" if stages != ("production",)
                                             else "production models")
    if not concerned:
        if stages is None:
            return Verdict("fail", f"project {project.name} has no registered model",
                           next_step="register a model: mlops.register_model(model, name=..., dataset=...)")
        step = TO_PRODUCTION if stages == ("production",) else TO_STAGING
        # the model's name where the project has one (the demo's deposits); a placeholder only for several
        name = repr(project.models[0].name) if len(project.models) == 1 else "name"
        return Verdict("fail", f"project {project.name} has no {scope.replace(' models', '')} model version",
                       next_step=step.replace("{model}", name))
    passed = [c for _, c in concerned if c.status == "pass"]
    partial = [c for _, c in concerned if c.status == "partial"]
    status = "pass" if len(passed) == len(concerned) else ("partial" if passed or partial else "fail")
    short = [(m, c) for m, c in concerned if c.status != "pass"]
    detail = f"{len(passed)} of {len(concerned)} {scope} pass"
    if short:
        detail += "; " + "; ".join(f"{m.name}: {c.detail}" for m, c in short[:3])
    good = [e for _, c in concerned if c.status == "pass" for e in c.evidence]
    bad = [e for _, c in short for e in c.evidence]
    step = next((f"{m.name}: {c.next_step}" for m, c in short if c.next_step), "")
    return Verdict(status, detail, good, bad, step)
