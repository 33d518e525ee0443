"""Scorecards built by hand from scorecard_results' dataclasses, for testing how they display and
export without a store: every status, evidence, an attested test, and names chosen to break markup."""
from __future__ import annotations

from mlops_nb.services.monitoring.scorecard_results import (
    CRITERIA,
    DEFAULT_SETTINGS,
    ML_TESTS,
    Criterion,
    Evidence,
    Scorecard,
    TestResult,
    ml_test_score,
    phase_of,
)

AS_OF = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC


def criteria(statuses: dict[str, str] | None = None, default: str = "pass", model: str = "credit-risk",
             label: str = "credit-risk v5") -> list[Criterion]:
    """The 12 criteria, each `default` unless `statuses` names it; a failing or partial one has a
    next step, every one an evidence record labelled `label` and a detail."""
    statuses = statuses or {}
    found = []
    for spec in CRITERIA:
        status = statuses.get(spec.name, default)
        found.append(Criterion(
            phase=spec.phase, name=spec.name, title=spec.title, status=status,
            detail=f"{spec.name}: {status} detail",
            evidence=[Evidence(kind="model_version", id=5, label=label, model=model, version=5, at=AS_OF)],
            next_step="" if status == "pass" else f"do {spec.name} next"))
    return found


def tests(scores: dict[str, float] | None = None) -> list[TestResult]:
    """The 28 tests, 0 unless `scores` names them (0.5 counts as attested, 1 as automated)."""
    scores = scores or {}
    found = []
    for spec in ML_TESTS:
        score = scores.get(spec.key, 0.0)
        how = "automated" if score == 1 else "attested" if score == 0.5 else "none"
        found.append(TestResult(key=spec.key, section=spec.section, number=spec.number, title=spec.title,
                                score=score, how=how, detail=f"{spec.key} {how}",
                                attestation={"id": 1, "by": "dana", "at": AS_OF, "expires_at": AS_OF + 86400,
                                             "note": "checked by hand"} if how == "attested" else None,
                                next_step="" if score == 1 else f"earn {spec.key}"))
    return found


def card(project: str = "credit", model: str | None = "credit-risk", version: int | None = 5,
         statuses: dict[str, str] | None = None, default: str = "pass", scores: dict[str, float] | None = None,
         label: str = "credit-risk v5", models: list[Scorecard] | None = None) -> Scorecard:
    """A Scorecard whose phase and ML Test Score follow from the statuses and scores given."""
    found = criteria(statuses, default, model or "", label)
    return Scorecard(project=project, model=model, version=version, as_of=AS_OF, phase=phase_of(found),
                     criteria=found, ml_test_score=ml_test_score(tests(scores)), settings=dict(DEFAULT_SETTINGS),
                     models=models or [])


def every_status() -> Scorecard:
    """A model card at phase 1: Phase 1 passes, Phase 2 has a partial and a fail, Phase 3 fails; the ML
    Test Score's lowest section is 2.5 (band (2, 3]: data, infrastructure and monitoring)."""
    statuses = {"promotion_policy": "partial", "data_validated": "fail", "drift_on_schedule": "fail",
                "retraining_triggers": "fail", "versioned_features": "fail", "sla_met": "fail"}
    scores = {f"{s}.{n}": 1.0 for s in ("data", "model", "infrastructure", "monitoring") for n in (1, 2)}
    scores.update({"data.3": 0.5, "model.3": 0.5, "infrastructure.3": 0.5, "monitoring.3": 0.5, "model.4": 1.0})
    return card(statuses=statuses, scores=scores)
