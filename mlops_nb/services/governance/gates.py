"""Promotion gates: checks a model version must pass before a request for a stage can be approved.

Each gate is a function returning a GateResult(name, passed, detail, data). `evaluate` runs the
gates the policy turns on, at the request and again at every decision; governance.promotion stores
the results with the request (as JSON) and refuses approval while any gate fails.

| gate                      | passes when                                                              |
|---------------------------|--------------------------------------------------------------------------|
| staging_before_production | (production only) the version is in staging now                          |
| lineage_complete          | the version names a run, its code and a training dataset version         |
| metric_thresholds         | each named metric of the version meets its rule (e.g. roc_auc >= 0.70)   |
| no_regression             | the metric is no worse than the production version's, within tolerance   |
| data_validated            | the training dataset's profile: enough rows, target present, nulls bound;|
|                           | and no error finding validating it against the production version's     |
|                           | training dataset (the contract), when that is another dataset version   |
| prediction_distribution   | mean positive-class probability on the training sample is within bounds |
| canary                    | (production only) staging batches scored with no error finding          |

Gates read what is stored: a gate that cannot find its evidence fails and says what is missing.
The gates and their defaults are SPEC §3 and §4's; which gates run, with which options, is the
model's effective policy (services.governance.policies).

    results = evaluate(session=s, version=row, target_stage="production", policy=policy, store=store)
    failing(results)            # [] when the request may be approved
"""
from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.governance.policies import EffectivePolicy, parse_threshold
from mlops_nb.store.models import DatasetVersion, LatestMetric, ModelVersion, Param, Run
from mlops_nb.store.models.monitoring import ScoringBatch

OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, ">": operator.gt, "<=": operator.le,
                                                  "<": operator.lt, "==": operator.eq}
Loader = Callable[[ModelVersion], Any]  # a model version row -> a fitted model with predict_proba


@dataclass
class GateResult:
    """One gate's verdict: `detail` says why in words (what to do when it failed), `data` the evidence."""

    name: str
    passed: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (NaN and inf become None, as JSON has neither)."""
        safe: dict[str, Any] = _json_safe(asdict(self))
        return safe


def _json_safe(value: Any) -> Any:
    """`value` with NaN and +-inf replaced by None, in nested dicts, lists and tuples too."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


@dataclass
class GateContext:
    """What gates share during one evaluation: the session, and lazily the production version."""

    session: Session
    version: ModelVersion
    target_stage: str
    store: Any = None
    load: Loader | None = None
    record: bool = False  # gates may record what they computed (a validation report): at a request or decision
    actor: str = "gates"
    _production: Any = field(default=False, repr=False)

    @property
    def production(self) -> ModelVersion | None:
        """The model's version in production now (None if none), read once per evaluation."""
        if self._production is False:
            from mlops_nb.services import registry

            self._production = registry.production_version_row(session=self.session, model_id=self.version.model_id)
        production: ModelVersion | None = self._production
        return production

    def metrics(self, version: ModelVersion) -> dict[str, float]:
        """A version's evaluation metrics, else its run's latest metric values (NaN for a missing value)."""
        if version.metrics:
            return {k: _float(v) for k, v in version.metrics.items()}
        if not version.run_id:
            return {}
        rows = self.session.execute(select(col(LatestMetric.key), col(LatestMetric.value))
                                    .where(col(LatestMetric.run_id) == version.run_id)).all()
        return {k: (math.nan if v is None else float(v)) for k, v in rows}


def _float(value: Any) -> float:
    """`value` as a float; NaN when it is not a number (a stored metric may be text such as 'nan')."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _label(version: ModelVersion) -> str:
    """'version N', as gate details name a version."""
    return f"version {version.version}"


# --- the gates ------------------------------------------------------------------------------------

def staging_before_production(ctx: GateContext, enabled: bool) -> GateResult:
    """Passes when the version is in staging now (applies to production requests only)."""
    stage = ctx.version.stage
    passed = stage == "staging"
    detail = (f"{_label(ctx.version)} is in staging" if passed else
              f"{_label(ctx.version)} is in {stage}, not staging: promote it to staging first")
    return GateResult("staging_before_production", passed, detail, {"stage": stage})


def lineage_complete(ctx: GateContext, enabled: bool) -> GateResult:
    """Passes when the version names a run and a training dataset version that exist, and the run
    recorded its code (registry.code_verdict: the notebook's cells or the script's text, else a
    commit holding the code file unchanged); the code reference and the number of params are in
    `data`. An untracked or modified notebook whose cells were recorded passes, named as a warning."""
    from mlops_nb.services.registry.lineage import code_verdict, version_code

    v = ctx.version
    missing: list[str] = []
    data: dict[str, Any] = {}
    code_words = ""
    run = ctx.session.get(Run, v.run_id) if v.run_id else None
    if run is None:
        missing.append("run" if not v.run_id else f"run {v.run_id} in the store")
    else:
        data["run"] = run.id
        # the version's own record (registration kept it) over the run's, for what it has
        code = version_code(run, v.code)
        data["code"] = {k: val for k, val in code.items() if val is not None}
        recorded, code_words = code_verdict(code)
        data["code_recorded"] = recorded
        if not recorded:
            missing.append(f"code ({code_words}; run the training in a notebook cell or script with mlops, "
                           "or commit the file)")
        data["params"] = len(v.params) if v.params else len(ctx.session.execute(
            select(col(Param.key)).where(col(Param.run_id) == run.id)).all())
    dataset = ctx.session.get(DatasetVersion, v.dataset_version_id) if v.dataset_version_id else None
    if dataset is None:
        missing.append("training dataset version")
    else:
        data["dataset"] = f"{dataset.name} v{dataset.version}"
    if missing:
        advice = ("" if missing[-1].startswith("code") else "; register it from a run that logged its training data "
                  "(mlops.log_dataset(df, name=..., role='train'))")
        return GateResult("lineage_complete", False, f"{_label(v)} has no {' and no '.join(missing)}{advice}", data)
    return GateResult("lineage_complete", True,
                      f"run {data['run']}, dataset {data['dataset']}, {code_words}, {data['params']} params", data)


def metric_thresholds(ctx: GateContext, thresholds: dict[str, Any]) -> GateResult:
    """Passes when each metric named in `thresholds` ({metric: ">= 0.70"}) was logged and meets its rule."""
    metrics = ctx.metrics(ctx.version)
    failures: list[str] = []
    checks: list[dict[str, Any]] = []
    for metric, expression in sorted(thresholds.items()):
        op, bound = parse_threshold(metric, expression)
        value = metrics.get(metric)
        if value is None:
            failures.append(f"{metric} was not logged")
            continue
        ok = not math.isnan(value) and OPS[op](value, bound)
        checks.append({"metric": metric, "value": value, "rule": f"{op} {bound:g}", "passed": ok})
        if not ok:
            failures.append(f"{metric} = {value:.4g}, needs {op} {bound:g}")
    data = {"checks": checks}
    if failures:
        return GateResult("metric_thresholds", False, "; ".join(failures), data)
    return GateResult("metric_thresholds", True,
                      ", ".join(f"{c['metric']} = {c['value']:.4g} {c['rule']}" for c in checks) or "no thresholds set",
                      data)


def no_regression(ctx: GateContext, options: dict[str, Any]) -> GateResult:
    """Passes when `options["metric"]` is no worse than the production version's by more than
    `tolerance` (in the metric's units; `higher_is_better` says which way is worse). Passes when no
    other version is in production, or it has no value to compare with."""
    metric, tolerance, higher = options["metric"], options["tolerance"], options["higher_is_better"]
    production = ctx.production
    if production is None or production.id == ctx.version.id:
        return GateResult("no_regression", True, "no other version is in production to compare with",
                          {"metric": metric})
    value = ctx.metrics(ctx.version).get(metric, math.nan)
    baseline = ctx.metrics(production).get(metric, math.nan)
    data = {"metric": metric, "value": value, "production_version": production.version, "production_value": baseline,
            "tolerance": tolerance}
    if math.isnan(value):
        return GateResult("no_regression", False, f"{metric} of {_label(ctx.version)} was not logged", data)
    if math.isnan(baseline):
        return GateResult("no_regression", True, f"production {_label(production)} has no {metric} to compare with",
                          data)
    drop = (baseline - value) if higher else (value - baseline)
    passed = drop <= tolerance + 1e-12
    word = "below" if higher else "above"
    detail = (f"{metric} {value:.4g} vs production {_label(production)} {baseline:.4g} "
              f"({'within' if passed else 'beyond'} tolerance {tolerance:g}"
              f"{'' if passed else f': {drop:.4g} {word}'})")
    return GateResult("no_regression", passed, detail, data)


def data_validated(ctx: GateContext, options: dict[str, Any]) -> GateResult:
    """Checks the training dataset version's stored profile: at least `min_rows` rows; the version's
    target column present with no missing labels (when `target_required`); every column's null rate
    at most `max_null_rate`. And the contract it must meet: when the model's production version was
    trained on another dataset version, the candidate's training data must validate against that
    one with no error finding (services.data.validation). The newest recorded validation of the
    pair is used; without one, its stored sample is validated now (and recorded when the gates
    run for a request or a decision: `ctx.record`)."""
    v = ctx.version
    dataset = ctx.session.get(DatasetVersion, v.dataset_version_id) if v.dataset_version_id else None
    if dataset is None:
        return GateResult("data_validated", False, f"{_label(v)} names no training dataset version to validate")
    problems = []
    if dataset.rows < options["min_rows"]:
        problems.append(f"{dataset.rows} rows, needs at least {options['min_rows']}")
    columns = [c["name"] for c in dataset.schema_.get("columns", [])]
    if options["target_required"]:
        if not v.target:
            problems.append("the version names no target column")
        elif v.target not in columns:
            problems.append(f"target column {v.target!r} is not in the dataset")
        elif (dataset.profile.get(v.target) or {}).get("nulls", 0):
            problems.append(f"target column {v.target!r} has {dataset.profile[v.target]['nulls']} missing labels")
    bound = options["max_null_rate"]
    noisy = {c: s.get("null_rate", 0.0) for c, s in dataset.profile.items() if s.get("null_rate", 0.0) > bound}
    for column, rate in sorted(noisy.items()):
        problems.append(f"column {column!r} is {rate:.0%} null (bound {bound:.0%})")
    data: dict[str, Any] = {"dataset": f"{dataset.name} v{dataset.version}", "rows": dataset.rows,
                            "null_rates_over_bound": noisy}
    contract_words = _contract_check(ctx, dataset, problems, data)
    if problems:
        return GateResult("data_validated", False, f"dataset {data['dataset']}: " + "; ".join(problems), data)
    return GateResult("data_validated", True, f"dataset {data['dataset']}: {dataset.rows} rows, target "
                      f"{v.target or '-'} complete, every null rate <= {bound:g}; {contract_words}", data)


def _contract_check(ctx: GateContext, dataset: DatasetVersion, problems: list[str], data: dict[str, Any]) -> str:
    """data_validated's contract: validate `dataset` against the production version's training
    dataset when that is another version; error findings go to `problems`, the report to
    `data["validation"]`. Returns the words a passing gate says about it."""
    from mlops_nb.services.data import validation
    from mlops_nb.services.errors import MlopsError

    production = ctx.production
    if (production is None or production.id == ctx.version.id or not production.dataset_version_id
            or production.dataset_version_id == dataset.id):
        return "no production version trained on other data to validate against"
    contract = ctx.session.get(DatasetVersion, production.dataset_version_id)
    if contract is None:
        return "no production version trained on other data to validate against"
    label = validation.contract_label(contract)
    whose = f"{label}, the training data of production {_label(production)}"
    assert contract.id is not None and dataset.id is not None  # rows read from the store
    row = validation.latest_validation(session=ctx.session, subject_version_id=dataset.id,
                                       contract_version_id=contract.id)
    if row is not None:
        result = validation.result_of(row, label)
    elif ctx.store is None:
        problems.append(f"not validated against {whose}, and no artifact store to read its sample from; "
                        f"run mlops.validate(df, against={contract.name!r}:{contract.version})")
        return ""
    else:
        try:
            result = validation.validate_version(session=ctx.session, store=ctx.store, project_id=dataset.project_id,
                                                 subject_version_id=dataset.id, contract_version_id=contract.id,
                                                 user=ctx.actor, record=ctx.record, model_version_id=ctx.version.id)
        except MlopsError as err:
            problems.append(f"could not validate it against {whose}: {err}")
            return ""
    report = f"validation report {result.id}" if result.id is not None else "validated now, not recorded"
    data["validation"] = {"contract": label, "report": result.id, "errors": len(result.errors),
                          "warnings": len(result.warnings),
                          "failing": [{"column": f.column, "rule": f.rule} for f in result.errors]}
    if result.errors:
        named = ", ".join(f"{f.column} {f.rule}" for f in result.errors[:10])
        more = f" and {len(result.errors) - 10} more" if len(result.errors) > 10 else ""
        problems.append(f"{len(result.errors)} error finding(s) against {whose} ({report}): {named}{more}")
        return ""
    return f"valid against {whose} ({report}, {len(result.warnings)} warning(s))"


def _positive_probability(model: Any, frame: Any) -> tuple[float, Any, Any]:
    """(mean probability of the last class on `frame`, that class or None, the probabilities per row)."""
    proba = model.predict_proba(frame)
    classes = getattr(model, "classes_", None)
    if classes is None and hasattr(model, "estimator"):  # a registry ScoringModel
        classes = getattr(model.estimator, "classes_", None)
    column = proba[:, -1] if getattr(proba, "ndim", 1) == 2 else proba
    return float(column.mean()), (list(classes)[-1] if classes is not None and len(classes) else None), column


def _label_rate(target: Any, positive: Any, scores: Any) -> tuple[float, str]:
    """The share of the positive class in the training labels. When the labels are not the model's
    class values (e.g. 'bad'/'good' encoded as 1/0 before fitting), the positive label is the one
    whose rows the candidate scores higher."""
    values = target.dropna()
    if positive is not None and (values == positive).any():
        return float((values == positive).mean()), f"label {positive!r}"
    labels = list(values.unique())
    if len(labels) != 2:
        raise ValueError(f"cannot tell the positive class among {len(labels)} target values")
    means = {label: float(scores[(target == label).to_numpy()].mean()) for label in labels}
    inferred = max(means, key=lambda label: means[label])
    return float((values == inferred).mean()), f"label {inferred!r} (inferred)"


def _reference_sample(ctx: GateContext, version: ModelVersion) -> Any:
    """The frame the gate scores: the model-input sample registration stored (the training sample
    with the feature columns its definitions computed, `signature["reference_inputs"]`), else the
    training dataset's stored sample. Feature code never runs here (a reviewer's process).

    Raises:
        NotFound, IntegrityFailure: the file is missing, changed, or not the one recorded.
    """
    import io

    import pandas as pd

    from mlops_nb.services.data import datasets
    from mlops_nb.services.errors import IntegrityFailure
    from mlops_nb.services.tracking.artifacts import read_verified
    from mlops_nb.store.models import Artifact

    reference = (version.signature or {}).get("reference_inputs")
    assert version.dataset_version_id is not None  # prediction_distribution checked it first
    if not reference:
        return datasets.load_sample(session=ctx.session, store=ctx.store, dataset_version_id=version.dataset_version_id)
    artifact = ctx.session.get(Artifact, reference.get("artifact_id"))
    if artifact is None or artifact.sha256 != reference.get("sha256"):
        raise IntegrityFailure(f"{_label(version)}'s reference inputs are not the file recorded at registration")
    return pd.read_parquet(io.BytesIO(read_verified(store=ctx.store, artifact=artifact)))


def prediction_distribution(ctx: GateContext, options: dict[str, Any]) -> GateResult:
    """Predict on the training dataset's stored sample (with its feature columns, when the version
    was trained with feature definitions: the reference inputs registration computed); the mean
    positive-class probability must be within `max_shift` of the production version's on the same
    sample (else of the label rate)."""
    v, bound = ctx.version, options["max_shift"]
    if ctx.store is None or ctx.load is None:
        return GateResult("prediction_distribution", False, "no artifact store to read the reference sample from")
    if not v.dataset_version_id:
        return GateResult("prediction_distribution", False, f"{_label(v)} names no training dataset to predict on")
    try:
        sample = _reference_sample(ctx, v)
        features = sample.drop(columns=[v.target]) if v.target in sample.columns else sample
        mean, positive, scores = _positive_probability(ctx.load(v), features)
        production = ctx.production
        if production is not None and production.id != v.id:
            reference, _, _ = _positive_probability(ctx.load(production), features)
            against = f"production {_label(production)}"
        elif v.target in sample.columns:
            reference, label = _label_rate(sample[v.target], positive, scores)
            against = f"the training rate of {label}"
        else:
            return GateResult("prediction_distribution", False,
                              "no production version and no target column in the sample to compare with")
    except Exception as err:  # noqa: BLE001 - any failure to score is this gate failing, with the reason
        return GateResult("prediction_distribution", False, f"could not score the reference sample: {err}")
    shift = abs(mean - reference)
    passed = shift <= bound + 1e-12
    data = {"mean_probability": mean, "reference": reference, "against": against, "shift": shift,
            "max_shift": bound, "rows": len(features)}
    return GateResult("prediction_distribution", passed,
                      f"mean positive-class probability {mean:.3f} vs {against} {reference:.3f}: shift {shift:.3f} "
                      f"{'<=' if passed else '>'} {bound:g} on {len(features)} reference rows", data)


def canary(ctx: GateContext, options: dict[str, Any]) -> GateResult:
    """(production only) Passes when the version scored at least `min_batches` accepted or warned
    batches while it was in staging, holding at least `min_rows` rows in all (ML Test Score,
    infrastructure 6: canaried). Refused and failed batches do not count, nor a warned batch with an
    error finding (scored under a `warn` policy although it broke the contract); nor does loading
    by a gate (gates load without recording)."""
    v = ctx.version
    scored = ctx.session.execute(
        select(col(ScoringBatch.rows), col(ScoringBatch.status), col(ScoringBatch.findings))
        .where(col(ScoringBatch.model_version_id) == v.id, col(ScoringBatch.stage) == "staging",
               col(ScoringBatch.status).in_(("accepted", "warned")))).all()
    clean = [n for n, status, findings in scored
             if status == "accepted" or not any((f or {}).get("severity") == "error" for f in findings or [])]
    count, rows = len(clean), int(sum(clean))
    need_batches, need_rows = options["min_batches"], options["min_rows"]
    data = {"batches": count, "rows": rows, "min_batches": need_batches, "min_rows": need_rows}
    passed = count >= need_batches and rows >= need_rows
    words = f"{count} accepted or warned (warnings only) scoring batch(es), {rows} rows, scored in staging"
    if passed:
        return GateResult("canary", True, f"{_label(v)}: {words}", data)
    needs = f"at least {need_batches} batch(es)" + (f" and {need_rows} rows" if need_rows else "")
    return GateResult("canary", False, f"{_label(v)}: {words}; needs {needs}: score live traffic with "
                      "mlops.load_model(name, stage='staging') first", data)


GATE_FUNCTIONS: dict[str, Callable[[GateContext, Any], GateResult]] = {
    "staging_before_production": staging_before_production,
    "lineage_complete": lineage_complete,
    "metric_thresholds": metric_thresholds,
    "no_regression": no_regression,
    "data_validated": data_validated,
    "prediction_distribution": prediction_distribution,
    "canary": canary,
}


def applies(name: str, setting: Any, target_stage: str) -> bool:
    """Whether gate `name`, set to `setting` in the policy, runs for a request to `target_stage`."""
    if name in ("staging_before_production", "canary"):
        return setting not in (None, False) and target_stage == "production"
    if name == "metric_thresholds":
        return bool(setting)
    return setting not in (None, False)


def registry_loader(*, session: Session, store: Any) -> Loader:
    """Load versions through the registry: sha256 checked, skops types as recorded, signature applied.
    The registry's bare ScoringModel records no scoring batch: a gate scoring the reference sample
    is not traffic (the canary gate counts traffic only)."""
    from mlops_nb.services import registry

    def load(row: ModelVersion) -> Any:
        return registry.load(registry.plan_for_row(session=session, row=row), store=store)

    return load


def evaluate(*, session: Session, version: ModelVersion, target_stage: str, policy: EffectivePolicy,
             store: Any = None, load: Loader | None = None, record: bool = False,
             actor: str = "gates") -> list[GateResult]:
    """Run every gate the policy turns on for `target_stage`, in GATE_FUNCTIONS order.

    `store` (an ArtifactStore) and `load` are what prediction_distribution scores with, and what
    data_validated reads a training sample from; without a `load`, versions are loaded through the
    registry (registry_loader). A gate that cannot find its evidence fails with the reason; nothing
    is raised for a failing gate. Nothing is recorded unless `record` (a request or a decision,
    by `actor`): then a validation data_validated had to run is stored as a validation report.
    """
    if load is None and store is not None:
        load = registry_loader(session=session, store=store)
    ctx = GateContext(session=session, version=version, target_stage=target_stage, store=store, load=load,
                      record=record, actor=actor)
    results = []
    for name, function in GATE_FUNCTIONS.items():
        setting = policy.gate(name)
        if applies(name, setting, target_stage):
            results.append(function(ctx, setting))
    return results


def failing(results: Sequence[GateResult | dict[str, Any]]) -> list[dict[str, Any]]:
    """The failing results, as dicts (GateResult.to_dict), in their order."""
    rows = [r.to_dict() if isinstance(r, GateResult) else r for r in results]
    return [r for r in rows if not r["passed"]]
