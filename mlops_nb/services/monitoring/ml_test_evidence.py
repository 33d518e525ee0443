"""The ML Test Score's 28 tests for one model and for a project: which the store shows automated
(score 1, with the evidence), which an attestation that holds covers (0.5), and the rest (0).

For a model, the tests read V: its production version, else its newest. A project's test scores the
minimum over its production models (over all its models when none is in production); a project
with no model scores only what a project-wide attestation covers. An attestation holds at `as_of`
when it is not withdrawn and attested_at <= as_of < expires_at; one for the model or for the whole
project (model NULL) applies to a model. An attestation never raises an automated test above 1.

    tests = model_tests(project_facts, model_facts, facts)    # 28 TestResult, ML_TESTS order
    score = ml_test_score(tests)                               # scorecard_results' arithmetic
"""
from __future__ import annotations

from collections.abc import Callable

from mlops_nb.services.monitoring.scorecard_criteria import (
    batch_evidence,
    code_of,
    covering,
    effective_policy,
    gates_of,
    production_change,
    version_evidence,
)
from mlops_nb.services.monitoring.scorecard_evidence import (
    DAY_S,
    AttestationFacts,
    Facts,
    ModelFacts,
    ProjectFacts,
    VersionFacts,
)
from mlops_nb.services.monitoring.scorecard_results import ML_TESTS, Evidence, TestResult, TestSpec

# A test's check: (evidence that makes it automated, or None; what was found, in words)
Found = tuple[list[Evidence] | None, str]
Check = Callable[[ProjectFacts, ModelFacts, VersionFacts | None, Facts], Found]

# how to automate each test with evidence (the real calls and commands)
HOW_TO_AUTOMATE: dict[str, str] = {
    "data.1": "log the training data with mlops.log_dataset(df, name=..., role='train') and score through "
              "mlops.load_model({model}) so every batch is validated against its schema",
    "model.1": "promote through mlops.request_promotion(...) and approve with a comment: mlops.approve(request_id, "
               "comment=...)",
    "model.2": "log realised outcomes for the production version: mlops.log_outcomes({model}, predictions_id=..., "
               "outcomes=...) with a metric the version also logged offline",
    "model.3": "run a hyperparameter sweep in the version's experiment (at least {sweep} finished runs with params)",
    "model.5": "track a simpler baseline run in the same experiment, logging the gate's metric "
               "(mlops.set_tag('baseline', 'true')), gate on that metric (mlops.set_policy({model}, "
               "no_regression={'metric': 'roc_auc'})) and register a version that beats the baseline",
    "model.6": "log slice metrics ('roc_auc/age<25') and gate on one: mlops.set_policy({model}, "
               "metric_thresholds={'roc_auc/age<25': '>= 0.65'})",
    "infrastructure.1": "register from a tracked run with its training data, code, params and environment "
                        "(mlops.register_model(..., dataset=...))",
    "infrastructure.3": "set a retraining notebook (mlops.set_retraining({model}, notebook=...)) and run it: "
                        "mlops.retrain({model}) or `mlops retrain`",
    "infrastructure.4": "gate on quality: mlops.set_policy({model}, metric_thresholds={'roc_auc': '>= 0.70'}), then "
                        "promote to production through a request",
    "infrastructure.6": "promote to staging first and score there (mlops.load_model({model}, stage='staging')) before "
                        "production",
    "infrastructure.7": "rehearse a rollback: mlops.rollback({model}, reason='drill')",
    "monitoring.1": "refuse loading in another environment: mlops.set_policy({model}, env_mismatch='refuse')",
    "monitoring.2": "score through mlops.load_model({model}) and keep a validation rule "
                    "(mlops.add_alert_rule(..., kind='validation')) or the default rules in force",
    "monitoring.3": "score production data through mlops.load_model({model}) and run `mlops monitor run` on a schedule",
    "monitoring.4": "add a max-age rule: mlops.add_alert_rule('stale', kind='model_age', model={model}, max_days=90)",
    "monitoring.5": "score through mlops.load_model({model}) (prediction profiles count NaN/inf) and keep a validation "
                    "rule or the defaults in force, with `mlops monitor run` scheduled",
    "monitoring.6": "add a latency SLA: mlops.add_alert_rule('latency', kind='latency_p95', model={model}, sla_ms=200)",
    "monitoring.7": "add an outcome rule: mlops.add_alert_rule('quality', kind='outcome_metric', model={model}, "
                    "metric='roc_auc', min=0.7)",
}


def _within(facts: Facts, at: float | None, days: float) -> bool:
    return at is not None and facts.as_of - at <= days * DAY_S


def _data_1(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None:
        return None, "no version"
    if v.dataset is None or not v.dataset.has_schema:
        return None, f"{m.name} v{v.version} has no training dataset with a schema"
    scored = sum(s.in_window for s in v.batches.values())
    if not scored:
        return None, f"{m.name} v{v.version} has no validated scoring batches within the monitoring window"
    batch = batch_evidence(m, v) or batch_evidence(m, v, "staging")
    data = Evidence("dataset_version", v.dataset.id, f"dataset {v.dataset.name} v{v.dataset.version} (schema)",
                    m.name, v.version)
    return [data] + ([batch] if batch else []), f"schema of {v.dataset.name} v{v.dataset.version}; {scored} batches " \
                                                "validated within the window"


def _production_request(m: ModelFacts, v: VersionFacts, f: Facts) -> object | None:
    change = production_change(m, v)
    return f.requests.get(change.request_id) if change is not None and change.request_id is not None else None


def _model_1(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None or v.stage != "production":
        return None, f"{m.name} has no production version"
    request = _production_request(m, v, f)
    if request is None:
        return None, f"{m.name} v{v.version} reached production without an approved request"
    if not request.commented_approvals:  # type: ignore[attr-defined]
        return None, f"request {request.id} was approved without a comment"  # type: ignore[attr-defined]
    rid = request.id  # type: ignore[attr-defined]
    return [Evidence("request", rid, f"request {rid}: approved with a comment", m.name, v.version)], \
        f"{m.name} v{v.version} reached production through request {rid}, reviewed with a comment"


def _model_2(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None:
        return None, "no version"
    offline = set(v.metrics)
    for oid, at, keys in v.outcome_keys:
        shared = sorted(offline & set(keys))
        if shared:
            return [Evidence("outcome", oid, f"outcome {oid}: realised {', '.join(shared)}", m.name, v.version, at)], \
                f"realised {', '.join(shared)} logged beside the offline metric"
    return None, f"no outcome of {m.name} v{v.version} realises a metric it logged offline"


def _model_3(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None or v.run is None:
        return None, "the version names no run"
    swept, _ = f.experiments.get(v.run.experiment_id, (0, False))
    need = int(p.settings["sweep_min_runs"])
    if swept < need:
        return None, f"its experiment holds {swept} finished runs with params (a sweep needs {need})"
    return [Evidence("run", v.run.id, f"run {v.run.id[:8]} ({v.run.name}), one of {swept} in a sweep", m.name,
                     v.version, v.run.start_time)], f"its experiment holds {swept} finished runs with params"


def _model_5(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    """A baseline run in the version's experiment other than its own run, a no_regression gate in
    force, and the version no worse than the newest such baseline on the gate's metric (within its
    tolerance): anyone may tag a run baseline=true, and the gate compares with the production
    version, so the tag and the gate alone prove nothing about a simpler model."""
    if v is None or v.run is None:
        return None, "the version names no run"
    run_id = v.run.id
    baselines = [b for b in f.baselines.get(v.run.experiment_id, []) if b.id != run_id]
    gate = gates_of(p, m).get("no_regression")
    if not baselines:
        return None, "no finished run in its experiment, other than the version's own, is tagged baseline=true"
    if gate in (None, False):
        return None, "a baseline run exists but no no_regression gate is in force"
    options = gate if isinstance(gate, dict) else {}
    metric = options.get("metric")
    base = baselines[0]
    label = f"baseline run {base.id[:8]} ({base.name})"
    value, reference = v.metrics.get(metric) if metric else None, base.metrics.get(metric) if metric else None
    if not isinstance(value, (int, float)) or not isinstance(reference, (int, float)):
        return None, f"{label} and {m.name} v{v.version} do not both record the gate's metric {metric!r}"
    higher = options.get("higher_is_better", True) is not False
    tolerance = float(options.get("tolerance") or 0.0)
    drop = (reference - value) if higher else (value - reference)
    if drop > tolerance + 1e-12:
        return None, f"{label} scores {metric} {reference:.4g}, better than {m.name} v{v.version}'s {value:.4g}"
    found = effective_policy(p, m)
    return [Evidence("run", base.id, f"{label}: {metric} {reference:.4g}", m.name, None, base.start_time),
            Evidence("policy", found[0] if found else 0, "no_regression gate in force", m.name)], \
        f"{m.name} v{v.version} {metric} {value:.4g} is no worse than {label}'s {reference:.4g}; no_regression gate in force"


def _model_6(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None:
        return None, "no version"
    slices = sorted(k for k in v.metrics if "/" in k)
    gated = sorted(k for k in (gates_of(p, m).get("metric_thresholds") or {}) if "/" in k)
    if not slices:
        return None, f"{m.name} v{v.version} logged no slice metric (metric/slice)"
    if not gated:
        return None, f"slice metrics logged ({', '.join(slices[:3])}) but no threshold gate names one"
    found = effective_policy(p, m)
    return [version_evidence(m, v), Evidence("policy", found[0] if found else 0, f"threshold on {gated[0]}", m.name)], \
        f"slice metrics {', '.join(slices[:3])}; gate on {', '.join(gated)}"


def _infrastructure_1(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None:
        return None, "no version"
    code_ok, words = code_of(v)
    missing = [what for what, ok in (("training dataset", v.dataset is not None and bool(v.dataset.fingerprint)),
                                     ("code reference", code_ok),
                                     ("params", v.has_params or bool(v.run and v.run.has_params)),
                                     ("environment", v.has_env)) if not ok]
    if missing:
        return None, f"{m.name} v{v.version} has no {', no '.join(missing)}"
    return [version_evidence(m, v)], f"dataset fingerprint, {words}, params and environment recorded"


def _infrastructure_3(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    days = p.settings["retraining_window_days"]
    run = m.succeeded_retraining
    if run is None or not _within(f, run[1], days):
        return None, f"no retraining run of {m.name} succeeded within {days:g} days"
    return [Evidence("retraining_run", run[0], f"retraining run {run[0]} succeeded", m.name, None, run[1])], \
        f"retraining run {run[0]} succeeded"


def _infrastructure_4(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if not gates_of(p, m).get("metric_thresholds"):
        return None, "no metric thresholds in the policy in force"
    if v is None or v.stage != "production":
        return None, f"{m.name} has no production version"
    request = _production_request(m, v, f)
    gates = getattr(request, "gates", []) if request is not None else []
    if not any(isinstance(g, dict) and g.get("name") == "metric_thresholds" and g.get("passed") for g in gates):
        return None, f"{m.name} v{v.version}'s production request records no passed metric_thresholds gate"
    rid = getattr(request, "id", 0)
    return [Evidence("request", rid, f"request {rid}: metric_thresholds passed", m.name, v.version)], \
        f"request {rid} passed the metric_thresholds gate"


def _infrastructure_6(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None or v.stage != "production":
        return None, f"{m.name} has no production version"
    to_production = production_change(m, v)
    staged = [c for c in m.stage_changes if c.model_version_id == v.id and c.to_stage == "staging"
              and to_production is not None and c.id < to_production.id]
    if not staged:
        return None, f"{m.name} v{v.version} was not in staging before production"
    batch = batch_evidence(m, v, "staging")
    if batch is None:
        return None, f"{m.name} v{v.version} scored no batches in staging"
    return [Evidence("stage_change", staged[-1].id, f"{m.name} v{v.version} entered staging", m.name, v.version,
                     staged[-1].created_at), batch], "staged, and scored batches in staging"


def _infrastructure_7(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    rollbacks = [c for c in m.stage_changes if c.rollback]
    if not rollbacks:
        return None, f"no rollback recorded for {m.name}"
    c = rollbacks[-1]
    return [Evidence("stage_change", c.id, f"{m.name}: rollback", m.name, None, c.created_at)], \
        f"{len(rollbacks)} rollback{'s' if len(rollbacks) != 1 else ''} recorded"


def _monitoring_1(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    found = effective_policy(p, m)
    if found is None or found[2].get("env_mismatch") != "refuse":
        return None, "the policy in force warns on an environment mismatch rather than refusing"
    return [Evidence("policy", found[0], "env_mismatch: refuse", m.name)], "env_mismatch: refuse"


def _validation_in_force(p: ProjectFacts, m: ModelFacts) -> tuple[list[Evidence], str] | None:
    """The validation rule covering `m` (or SPEC §4's defaults, with no rules in the project)."""
    if not p.rules:
        return [], "the default rules (validation included) are in force"
    rules = covering(p.rules, m, "validation")
    if not rules:
        return None
    return [Evidence("alert_rule", rules[0].id, f"rule {rules[0].name} (validation)", m.name)], \
        f"rule {rules[0].name} alerts on validation findings"


def _monitoring_2(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None:
        return None, "no version"
    scored = sum(s.in_window for s in v.batches.values())
    if not scored:
        return None, f"{m.name} v{v.version} has no scoring batches within the monitoring window"
    rule = _validation_in_force(p, m)
    if rule is None:
        return None, f"no enabled validation rule covers {m.name}"
    batch = batch_evidence(m, v) or batch_evidence(m, v, "staging")
    return ([batch] if batch else []) + rule[0], f"{scored} batches validated; {rule[1]}"


def _monitoring_3(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None or v.stage != "production":
        return None, f"{m.name} has no production version"
    stats = v.batches.get("production")
    if stats is None or not stats.monitored:
        return None, f"no production batch of {m.name} v{v.version} within the window was evaluated by the monitor"
    batch = batch_evidence(m, v)
    return [batch] if batch else [], f"{stats.monitored} of {stats.in_window} production batches evaluated by the monitor"


def _monitoring_5(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
    if v is None:
        return None, "no version"
    counted = sum(s.counts_nonfinite for s in v.batches.values())
    if not counted:
        return None, f"no batch of {m.name} v{v.version} within the window counts NaN/inf predictions"
    rule = _validation_in_force(p, m)
    if rule is None:
        return None, f"NaN/inf predictions are counted but no validation rule covers {m.name} to alert on them"
    batch = batch_evidence(m, v) or batch_evidence(m, v, "staging")
    return ([batch] if batch else []) + rule[0], f"{counted} batches count NaN/inf predictions; {rule[1]}"


def _rule_check(kind: str) -> Check:
    def check(p: ProjectFacts, m: ModelFacts, v: VersionFacts | None, f: Facts) -> Found:
        rules = covering(p.rules, m, kind)
        if not rules:
            return None, f"no enabled {kind} rule covers {m.name}"
        return [Evidence("alert_rule", r.id, f"rule {r.name} ({kind})", m.name) for r in rules[:3]], \
            f"rule {rules[0].name} ({kind}) in force"
    return check


CHECKS: dict[str, Check] = {
    "data.1": _data_1, "model.1": _model_1, "model.2": _model_2, "model.3": _model_3, "model.5": _model_5,
    "model.6": _model_6, "infrastructure.1": _infrastructure_1, "infrastructure.3": _infrastructure_3,
    "infrastructure.4": _infrastructure_4, "infrastructure.6": _infrastructure_6,
    "infrastructure.7": _infrastructure_7, "monitoring.1": _monitoring_1, "monitoring.2": _monitoring_2,
    "monitoring.3": _monitoring_3, "monitoring.4": _rule_check("model_age"), "monitoring.5": _monitoring_5,
    "monitoring.6": _rule_check("latency_p95"), "monitoring.7": _rule_check("outcome_metric"),
}


def holding(attestations: list[AttestationFacts], test: str, model_id: int | None, as_of: float) -> AttestationFacts | None:
    """The attestation of `test` that holds at `as_of` for model `model_id` (its own or the project's;
    `model_id` None: the project's only), the one lasting longest."""
    found = [a for a in attestations if a.test == test and a.model_id in (None, model_id) and a.holds(as_of)]
    return max(found, key=lambda a: a.expires_at) if found else None


def _attestation_dict(a: AttestationFacts) -> dict[str, object]:
    return {"id": a.id, "by": a.attested_by, "at": a.attested_at, "expires_at": a.expires_at, "note": a.note}


def _attest_step(spec: TestSpec, model: str | None) -> str:
    where = f", model={model!r}" if model else ""
    return f"attest it once done by hand: mlops.attest({spec.key!r}, note=...{where})"


def _automate_step(spec: TestSpec, model: str | None, settings: dict[str, float]) -> str:
    """How to automate `spec` (HOW_TO_AUTOMATE with the model's name and the sweep size filled in)."""
    return (HOW_TO_AUTOMATE.get(spec.key, "").replace("{model}", repr(model) if model else "'MODEL'")
            .replace("{sweep}", f"{settings['sweep_min_runs']:g}"))


def _result(spec: TestSpec, found: Found | None, attestation: AttestationFacts | None, model: str | None,
            settings: dict[str, float]) -> TestResult:
    evidence, words = found if found is not None else (None, "attestation only: the store cannot show it")
    held = attestation
    att = _attestation_dict(held) if held is not None else None
    if evidence is not None:
        return TestResult(spec.key, spec.section, spec.number, spec.title, 1.0, "automated", words, evidence, att, "")
    if held is not None:
        e = Evidence("attestation", held.id, f"attested by {held.attested_by}: {held.note[:60]}", model, None,
                     held.attested_at)
        step = _automate_step(spec, model, settings)
        return TestResult(spec.key, spec.section, spec.number, spec.title, 0.5, "attested",
                          f"attested by {held.attested_by}" + (f"; not automated: {words}" if spec.evidence else ""),
                          [e], att, f"automate it: {step}" if step else "")
    step = _automate_step(spec, model, settings) if spec.evidence else _attest_step(spec, model)
    return TestResult(spec.key, spec.section, spec.number, spec.title, 0.0, "none", words, [], None, step)


def model_tests(project: ProjectFacts, model: ModelFacts, facts: Facts) -> list[TestResult]:
    """The 28 tests for one model (V: its production version, else its newest), ML_TESTS order."""
    v = model.reference
    out = []
    for spec in ML_TESTS:
        check = CHECKS.get(spec.key)
        found = check(project, model, v, facts) if check is not None else None
        out.append(_result(spec, found, holding(project.attestations, spec.key, model.id, facts.as_of), model.name,
                           project.settings))
    return out


def project_tests(project: ProjectFacts, per_model: dict[int, list[TestResult]], facts: Facts) -> list[TestResult]:
    """The 28 tests of a project's card: each the lowest-scoring of its production models' results
    (all its models' when none is in production); with no model, a project-wide attestation or 0."""
    scope = [m for m in project.models if m.production is not None] or project.models
    out = []
    for i, spec in enumerate(ML_TESTS):
        if scope:
            out.append(min((per_model[m.id][i] for m in scope), key=lambda t: t.score))
            continue
        out.append(_result(spec, None if spec.evidence is None else (None, f"project {project.name} has no model"),
                           holding(project.attestations, spec.key, None, facts.as_of), None, project.settings))
    return out
