"""The demo's portfolio (mlops_nb/demo/portfolio.py) as a manager reads it on the Scorecards page:
three projects at three phases, each verdict's evidence a row of the store, and the gap the demo
leaves (loan-routing has no latency rule) closed by the step its next_step names.

Reads the demo `mlops demo` built once for the session (tests/demo_store.py), in this module's copy;
the test that adds the missing piece does it in a copy of its own."""
from __future__ import annotations

import time

import pytest

from mlops_nb.demo.portfolio import DEPOSITS, ROUTING
from mlops_nb.demo.story import PROJECT
from tests.demo_store import copy_demo

pytestmark = [
    pytest.mark.timeout(900),  # the first test may also build the demo (tests/demo_store.py)
    pytest.mark.xdist_group("demo"),  # on the worker that builds the demo
]


@pytest.fixture(scope="module")
def demo(demo_store, tmp_path_factory):
    """This module's copy of the demo store (tests/demo_store.DemoStore)."""
    copy = copy_demo(demo_store, tmp_path_factory.mktemp("portfolio") / "store")
    yield copy
    from mlops_nb.store.db import dispose_engines

    dispose_engines()


def _cards(url: str) -> dict[str, object]:
    from mlops_nb.services.monitoring import scorecards
    from mlops_nb.store.db import get_engine, session_scope

    with session_scope(get_engine(url)) as s:
        return {card.project: card for card in scorecards.portfolio(session=s)}


@pytest.fixture(scope="module")
def cards(demo):
    """{project name: its Scorecard} of the demo store, now."""
    return _cards(demo.url)


def test_three_projects_stand_at_three_phases_and_the_demo_says_so(demo, cards):
    assert {name: card.phase for name, card in cards.items()} == {PROJECT: 3, ROUTING: 2, DEPOSITS: 1}
    assert demo.summary.phases == {PROJECT: "3 Advanced", ROUTING: "2 Automated", DEPOSITS: "1 Foundational"}
    assert "credit 3 Advanced, loan-routing 2 Automated, deposits 1 Foundational" in demo.stdout
    deposits = cards[DEPOSITS]
    # Foundational and no further: nothing promoted, and the step to take is named
    assert [c.name for c in deposits.criteria if c.status != "pass" and c.phase == 2][0] == "promotion_policy"
    assert "to='staging'" in deposits.criterion("promotion_policy").next_step  # nothing promoted yet
    credit = cards[PROJECT]
    assert all(c.status == "pass" for c in credit.criteria)
    assert {m.model for m in credit.models} >= {"credit-risk", "credit-risk-gbm", "credit-risk-rf"}


EVIDENCE_TABLES = {  # Evidence.kind -> the store's table that holds it
    "run": "Run", "model_version": "ModelVersion", "dataset_version": "DatasetVersion", "request": "PromotionRequest",
    "stage_change": "StageChange", "policy": "Policy", "validation": "ValidationRecord", "batch": "ScoringBatch",
    "outcome": "Outcome", "drift_report": "DriftRecord", "alert_rule": "AlertRule", "alert": "Alert",
    "retraining_run": "RetrainingRun", "attestation": "Attestation", "retraining_config": "RetrainingConfig",
    "feature": "FeatureDefinition",
}


def test_every_evidence_record_is_a_row_of_the_store(demo, cards):
    """The links a manager follows from a tick open real records: each Evidence id is a row of the
    table its kind names, and a model version's evidence names the version that row is."""
    from mlops_nb.store import models
    from mlops_nb.store.db import get_engine, session_scope

    evidence = [(card.project, e) for card in cards.values() for scope in (card, *card.models)
                for c in scope.criteria for e in c.evidence]
    evidence += [(card.project, e) for card in cards.values() for t in card.ml_test_score.tests for e in t.evidence]
    assert len(evidence) > 30
    kinds = {e.kind for _, e in evidence}
    assert kinds >= {"run", "model_version", "policy", "request", "batch", "drift_report", "alert_rule",
                     "retraining_run"}
    with session_scope(get_engine(demo.url)) as s:
        for project, e in evidence:
            row = s.get(getattr(models, EVIDENCE_TABLES[e.kind]), e.id)
            assert row is not None, f"{project}: {e.kind} {e.id} ({e.label}) is not in the store"
            if e.kind == "model_version":
                assert row.version == e.version


def test_attestations_by_a_reviewer_and_a_manager_score_half_points(cards):
    attested = {t.key: t for t in cards[PROJECT].ml_test_score.tests if t.how == "attested"}
    assert attested and all(t.score == 0.5 for t in attested.values())
    assert {t.attestation["by"] for t in attested.values()} == {"rita", "max"}
    assert all(t.attestation["note"] for t in attested.values())


def test_the_trend_holds_a_snapshot_a_week_per_chapter_ending_now(demo):
    from mlops_nb.services import tracking
    from mlops_nb.services.monitoring import scorecard_history
    from mlops_nb.store.db import get_engine, session_scope

    with session_scope(get_engine(demo.url)) as s:
        ids = dict((name, pid) for pid, name in tracking.list_projects(session=s))
        history = scorecard_history.scorecard_history(session=s, project_id=ids[PROJECT])
    project_rows = [h for h in history if h["model"] is None and h["trigger"] == "demo"]
    assert {h["trigger"] for h in history} == {"demo", "monitor"}  # the monitor snapshots when it runs, too
    weeks = [round((time.time() - h["taken_at"]) / (7 * 86_400)) for h in project_rows]
    assert weeks == sorted(weeks, reverse=True) and weeks[-1] == 0 and len(set(weeks)) == len(weeks) >= 3
    assert project_rows[-1]["phase"] == 3 and project_rows[0]["phase"] < 3  # the credit team climbed


def test_a_latency_rule_lifts_loan_routing_sla_criterion_to_pass(demo, tmp_path):
    """The gap the demo leaves: car-desk has no latency rule. eli adds one, as its next_step says,
    and "SLAs defined and met" flips from fail to pass (the week's batches are within 500 ms)."""
    import mlops_nb as mlops
    from mlops_nb.api.context import set_current

    copy = copy_demo(demo, tmp_path / "store")
    before = _cards(copy.url)[ROUTING]
    sla = before.criterion("sla_met")
    assert sla.status == "fail" and "latency_p95" in sla.next_step
    eli = next(login for login in demo.summary.logins if login.name == "eli")
    try:
        mlops.init(project=ROUTING, db_url=copy.url, user="eli", password=eli.password,
                   artifact_root=str(copy.home / "artifacts"))
        mlops.add_alert_rule("routing latency", kind="latency_p95", model="car-desk", sla_ms=500)
    finally:
        set_current(None)
    after = _cards(copy.url)[ROUTING]
    assert after.criterion("sla_met").status == "pass"
    assert [e.kind for e in after.criterion("sla_met").evidence if e.kind == "alert_rule"]
    assert after.phase == 2  # drift reports and retraining are still to come
