"""What each rule kind finds in one evaluation of a model version: plain checks over the evidence
`mlops monitor run` gathered (the window's batches and findings, its drift report, outcomes logged
since the last evaluation, when the version entered production), each returning the firings due.

A firing's `fingerprint_parts` name the evidence it rests on (the rule, the version, the column and
the window's first and last batch, or the outcome), never a row made by this evaluation (a drift
report's id): the same evidence evaluated again, or by two evaluations at once, fires once
(services.monitoring.alerts.fire_alert).

    firings = validation_firings(rule, target, groups)   # one per (column, finding rule) of the window
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.monitoring.drift_results import DriftReport
from mlops_nb.store.models.monitoring import Outcome, ScoringBatch

EVIDENCE_BATCHES = 100  # batch ids kept in an alert's evidence (the window's bounds are kept too)


@dataclass
class Target:
    """One production model version under evaluation."""

    project_id: int
    project: str
    model_id: int
    model: str
    version_id: int
    version: int

    @property
    def label(self) -> str:
        """"credit-risk v3": how lines and messages name the version."""
        return f"{self.model} v{self.version}"


@dataclass
class RuleSpec:
    """A rule as the monitor evaluates it: a stored AlertRule's fields, or one of SPEC §4's defaults
    (`id` None)."""

    name: str
    kind: str
    params: dict[str, Any]
    severity: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    id: int | None = None
    model_id: int | None = None


# SPEC §4: with no rules in a project, error findings of new batches and dataset drift of the window
DEFAULT_RULES = (
    RuleSpec(name="validation (default)", kind="validation", params={"severity": "error"}, severity="critical",
             actions=[{"type": "notify"}]),
    RuleSpec(name="dataset drift (default)", kind="drift_share", params={}, severity="warning",
             actions=[{"type": "notify"}]),
)


@dataclass
class Firing:
    """An alert due: what fire_alert records, and the parts of its fingerprint."""

    rule: RuleSpec
    message: str
    evidence: dict[str, Any]
    fingerprint_parts: tuple[Any, ...]
    column: str | None = None


@dataclass
class FindingGroup:
    """The findings of one (column, rule, severity) over the window's batches."""

    column: str | None
    rule: str
    severity: str
    message: str
    batch_ids: list[str] = field(default_factory=list)
    refused: int = 0
    examples: list[Any] = field(default_factory=list)


def non_finite_finding(batch: ScoringBatch) -> dict[str, Any] | None:
    """An error finding "non_finite_predictions" for a batch whose prediction profile counts NaN or
    infinite predictions (services.monitoring.profiles), else None: the ML Test Score's numerical
    stability check (monitoring 5), alerted on by validation rules like the input findings."""
    profile = batch.prediction_profile or {}
    nan, inf = int(profile.get("nan") or 0), int(profile.get("inf") or 0)
    if not nan and not inf:
        return None
    return {"column": None, "rule": "non_finite_predictions", "severity": "error",
            "message": f"{nan} NaN and {inf} infinite predictions of {profile.get('rows', batch.rows)} rows",
            "examples": []}


def group_findings(batches: Sequence[ScoringBatch]) -> list[FindingGroup]:
    """The window's validation findings (with non_finite_predictions for batches that predicted NaN
    or inf), one group per (column, finding rule, severity), in the order first met: a column
    re-encoded in 30 batches is one group naming 30 batches."""
    groups: dict[tuple[Any, ...], FindingGroup] = {}
    for batch in batches:
        extra = non_finite_finding(batch)
        for finding in [*(batch.findings or []), *([extra] if extra else [])]:
            if not isinstance(finding, dict):
                continue
            key = (finding.get("column"), finding.get("rule"), finding.get("severity"))
            group = groups.get(key)
            if group is None:
                group = groups[key] = FindingGroup(column=finding.get("column"), rule=str(finding.get("rule")),
                                                   severity=str(finding.get("severity")),
                                                   message=str(finding.get("message", "")),
                                                   examples=list(finding.get("examples") or [])[:5])
            if batch.id not in group.batch_ids:
                group.batch_ids.append(batch.id)
                group.refused += batch.status == "refused"
    return list(groups.values())


def _window(batches: Sequence[Any]) -> tuple[Any, ...]:
    return (batches[0].id, batches[-1].id, len(batches)) if batches else ("", "", 0)


def batch_evidence(batches: Sequence[ScoringBatch]) -> dict[str, Any]:
    """An alert's evidence for a window: its first EVIDENCE_BATCHES batch ids, their count and bounds."""
    return {"batch_ids": [b.id for b in batches[:EVIDENCE_BATCHES]], "batches": len(batches),
            "window_start": batches[0].created_at if batches else None,
            "window_end": batches[-1].created_at if batches else None}


def validation_firings(rule: RuleSpec, target: Target, groups: Sequence[FindingGroup]) -> list[Firing]:
    """Rule kind validation: one firing per group of error findings (and of warnings when the rule's
    `severity` param is "warning")."""
    wanted = ("error", "warning") if rule.params.get("severity") == "warning" else ("error",)
    firings = []
    for group in groups:
        if group.severity not in wanted:
            continue
        count = len(group.batch_ids)
        refused = f", {group.refused} refused" if group.refused else ""
        firings.append(Firing(
            rule=rule, column=group.column,
            message=(f"{target.label}: {group.rule} ({group.severity}) in {count} batch{'es' if count != 1 else ''}"
                     f"{refused}: {group.message}"),
            evidence={"batch_ids": group.batch_ids[:EVIDENCE_BATCHES], "batches": count, "finding": group.rule,
                      "examples": group.examples},
            fingerprint_parts=(rule.name, target.version_id, "validation", group.column, group.rule,
                               group.batch_ids[0])))
    return firings


def drift_firings(rule: RuleSpec, target: Target, report: DriftReport,
                  usable: Sequence[ScoringBatch]) -> list[Firing]:
    """Rule kinds drift_share (the report's share at or above the rule's `threshold`; a default rule,
    without one, the report's own dataset verdict: evidently's share >= 0.5) and feature_drift (each
    drifted feature column, or only the rule's `column`)."""
    evidence = {"drift_report_id": report.id, **batch_evidence(usable)}
    window = _window(usable)
    if rule.kind == "drift_share":
        threshold = rule.params.get("threshold")
        fired = report.dataset_drift if threshold is None else report.share >= threshold
        if not fired:
            return []
        bound = report.drift_share if threshold is None else threshold
        columns = ", ".join(report.drifted_columns[:10]) + (" ..." if len(report.drifted_columns) > 10 else "")
        return [Firing(rule=rule, message=(f"{target.label}: {len(report.drifted_columns)} of {report.tested} columns "
                                           f"drifted ({report.share:.0%}, at or above {bound:.0%}): {columns}"),
                       evidence={**evidence, "share": report.share},
                       fingerprint_parts=(rule.name, target.version_id, "drift_share", *window))]
    wanted = rule.params.get("column")
    firings = []
    for row in report.rows:
        if row.get("role", "feature") != "feature" or not row.get("drift"):
            continue
        if wanted is not None and row["column"] != wanted:
            continue
        firings.append(Firing(
            rule=rule, column=row["column"],
            message=(f"{target.label}: column {row['column']!r} drifted ({row.get('test')} "
                     f"{row.get('statistic', float('nan')):.3g}, threshold {row.get('threshold')})"),
            evidence={**evidence, "test": row.get("test"), "statistic": row.get("statistic")},
            fingerprint_parts=(rule.name, target.version_id, "feature_drift", row["column"], *window)))
    return firings


def latency_firings(rule: RuleSpec, target: Target, batches: Sequence[ScoringBatch]) -> list[Firing]:
    """Rule kind latency_p95: the 95th percentile (numpy's linear interpolation) of the window's
    batch latencies above the rule's `sla_ms`."""
    import numpy as np

    timed = [b for b in batches if b.latency_ms is not None]
    if not timed:
        return []
    p95 = float(np.percentile([b.latency_ms for b in timed], 95))
    sla = float(rule.params["sla_ms"])
    if p95 <= sla:
        return []
    return [Firing(rule=rule, message=f"{target.label}: latency p95 {p95:.1f} ms over {len(timed)} batches "
                                      f"is above the SLA of {sla:g} ms",
                   evidence={**batch_evidence(timed), "p95_ms": p95, "sla_ms": sla},
                   fingerprint_parts=(rule.name, target.version_id, "latency_p95", *_window(timed)))]


def outcome_firings(rule: RuleSpec, target: Target, outcomes: Sequence[Outcome]) -> list[Firing]:
    """Rule kind outcome_metric: each outcome logged since the last evaluation whose `metric` (a
    business metric, else a realised one) is further than `tolerance` from `expected`, or below
    `min` / above `max`."""
    metric, params, firings = rule.params["metric"], rule.params, []
    for outcome in outcomes:
        value = (outcome.business or {}).get(metric, (outcome.metrics or {}).get(metric))
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if "expected" in params:
            bad = abs(value - params["expected"]) > params["tolerance"]
            bound = f"expected {params['expected']:g} +- {params['tolerance']:g}"
        else:
            bad = value < params.get("min", float("-inf")) or value > params.get("max", float("inf"))
            bound = " and ".join(f"{k} {params[k]:g}" for k in ("min", "max") if k in params)
        if bad:
            firings.append(Firing(
                rule=rule, message=f"{target.label}: {metric} {value:.4g} is outside {bound} ({outcome.rows} outcomes)",
                evidence={"outcome_id": outcome.id, "batch_ids": [outcome.scoring_batch_id] if outcome.scoring_batch_id
                          else [], metric: value},
                fingerprint_parts=(rule.name, target.version_id, "outcome", outcome.id)))
    return firings


def age_firings(rule: RuleSpec, target: Target, entered: float, now: float) -> list[Firing]:
    """Rule kind model_age: days since the version entered production (epoch seconds `entered`)
    above the rule's `max_days`; fires once per time it entered production."""
    days, limit = (now - entered) / 86400.0, float(rule.params["max_days"])
    if days <= limit:
        return []
    return [Firing(rule=rule, message=f"{target.label}: in production for {days:.0f} days, over the {limit:g}-day limit",
                   evidence={"entered_production_at": entered, "days": days},
                   fingerprint_parts=(rule.name, target.version_id, "model_age", entered))]
