"""Maturity scorecards from evidence: each of SPEC §3's twelve criteria flips from fail to pass when
its evidence is added and back when it lapses; phases are cumulative; a project's card aggregates
its models; the ML Test Score's tests are automated by the store or attested, and attestations
expire. The stores are built from rows (tests/factories.py) on SQLite; one scenario goes through
the public API, and the statement-count test (test_scorecards_speed.py) has a PostgreSQL leg."""
from __future__ import annotations

import time
import uuid

import pytest

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.monitoring import scorecards
from mlops_nb.services.monitoring.scorecard_results import band_of
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.models import LatestMetric, Param, Policy, PromotionRequest, Run, StageChange
from mlops_nb.store.models.alerts import Alert, AlertRule, RetrainingConfig, RetrainingRun
from mlops_nb.store.models.data import ValidationRecord
from mlops_nb.store.models.monitoring import DriftRecord, Outcome, ScoringBatch
from mlops_nb.store.models.scorecards import Attestation
from tests import factories as f

DAY = 86400.0


@pytest.fixture()
def s(sqlite_url):
    """A session on a fresh SQLite store (the criteria's rules are the same on PostgreSQL, whose leg
    the statement-count test and the public-API scenario run)."""
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        yield session


def status(session, pid, name, *, model=None, as_of=None) -> str:
    card = scorecards.scorecard(session=session, project_id=pid, model=model, as_of=as_of)
    return card.criterion(name).status


def _production(session, pid, name="m", **kwargs):
    registered = f.model(session, pid, name)
    return registered, f.version(session, registered, stage="production", **kwargs)


def _batch(session, v, *, stage="production", at=None, latency=10.0, profile=None, monitored=False) -> str:
    at = at or time.time()
    bid = uuid.uuid4().hex
    session.add(ScoringBatch(id=bid, model_version_id=v.id, stage=stage, method="predict_proba", status="accepted",
                             rows=10, latency_ms=latency, prediction_profile={"rows": 10, "nan": 0, "inf": 0} if profile is None else profile,
                             created_by="dana", created_at=at, monitored_at=at if monitored else None))
    session.flush()
    return bid


def _rule(session, pid, kind, *, model_id=None, params=None, actions=None, name=None) -> AlertRule:
    row = AlertRule(project_id=pid, model_id=model_id, name=name or kind, kind=kind, params=params or {},
                    actions=actions or [{"type": "notify"}], created_by="dana", created_at=time.time())
    session.add(row)
    session.flush()
    return row


def _finished_run(session, pid, *, params=True, metrics=True) -> str:
    rid = f.run(session, pid)
    row = session.get(Run, rid)
    row.status = "finished"
    if params:
        session.add(Param(run_id=rid, key="C", value="1"))
    if metrics:
        session.add(LatestMetric(run_id=rid, key="auc", value=0.8, step=0, timestamp=time.time()))
    session.flush()
    return rid


# --- phase 1 ---------------------------------------------------------------------------------------

def test_a_fresh_project_is_phase_0_with_every_criterion_failing_and_a_next_step(s):
    pid = f.project(s, "fresh")
    card = scorecards.scorecard(session=s, project_id=pid)
    assert card.phase == 0 and card.phase_name == "Not yet foundational" and card.models == []
    assert [c.status for c in card.criteria] == ["fail"] * 12
    assert all(c.next_step for c in card.criteria)
    assert "mlops.request_promotion" in card.criterion("drift_on_schedule").next_step
    assert card.ml_test_score.final == 0 and card.ml_test_score.band == "0"
    frame = card.to_frame()
    assert list(frame["status"]) == ["fail"] * 12
    # a project with one model, never promoted: the promotion step names it, not a placeholder
    f.version(s, f.model(s, pid, "saver"))
    card = scorecards.scorecard(session=s, project_id=pid)
    assert "mlops.request_promotion('saver', version=..." in card.criterion("promotion_policy").next_step
    assert "mlops.request_promotion('saver', version=..." in card.criterion("drift_on_schedule").next_step


def test_runs_tracked_counts_finished_runs_with_params_and_metrics(s):
    pid = f.project(s)
    f.run(s, pid)  # running, nothing logged: not a finished run
    assert status(s, pid, "runs_tracked") == "fail"
    good = _finished_run(s, pid)
    card = scorecards.scorecard(session=s, project_id=pid)
    assert card.criterion("runs_tracked").status == "pass"
    assert [e.id for e in card.criterion("runs_tracked").evidence] == [good]
    bad = _finished_run(s, pid, metrics=False)
    criterion = scorecards.scorecard(session=s, project_id=pid).criterion("runs_tracked")
    assert criterion.status == "partial" and criterion.detail == "1 of 2 finished runs record params and metrics"
    assert [e.id for e in criterion.evidence] == [good, bad]  # the proof first, then what falls short
    s.add(LatestMetric(run_id=bad, key="auc", value=0.7, step=0, timestamp=time.time()))
    assert status(s, pid, "runs_tracked") == "pass"


def test_models_registered_lineage_and_standard_format(s):
    pid = f.project(s)
    registered = f.model(s, pid, "m")
    assert status(s, pid, "models_registered") == "fail"
    assert status(s, pid, "models_registered", model="m") == "fail"
    bare = f.version(s, registered, lineage=False)
    assert status(s, pid, "models_registered") == "pass"
    assert status(s, pid, "lineage_complete", model="m") == "fail"
    full = f.version(s, registered)
    card = scorecards.scorecard(session=s, project_id=pid, model="m")
    lineage = card.criterion("lineage_complete")
    assert lineage.status == "partial" and "(not: v1)" in lineage.detail
    assert [(e.kind, e.id) for e in lineage.evidence] == [("model_version", full.id), ("model_version", bare.id)]
    f.move_stage(s, bare, "archived")  # an archived version no longer counts
    assert status(s, pid, "lineage_complete", model="m") == "pass"
    # a run with no code recorded (an untracked notebook, no cells) breaks lineage
    f.version(s, registered, run_context={"code_status": "untracked", "notebook_path": "x.ipynb"})
    assert status(s, pid, "lineage_complete", model="m") == "partial"

    assert status(s, pid, "standard_format", model="m") == "fail"  # the factory's versions have no signature
    for v in (full,):
        v.signature = {"inputs": [{"name": "x", "dtype": "float64"}]}
    assert status(s, pid, "standard_format", model="m") == "partial"  # v3 still has none
    for row in registered_versions(s, registered):
        row.signature = {"inputs": [{"name": "x", "dtype": "float64"}]}
    assert status(s, pid, "standard_format", model="m") == "pass"
    full.flavor = "pickle"  # a format the loader does not know
    assert status(s, pid, "standard_format", model="m") == "partial"


def registered_versions(session, registered):
    from sqlmodel import select

    from mlops_nb.store.models import ModelVersion

    return session.exec(select(ModelVersion).where(ModelVersion.model_id == registered.id)).all()


# --- phase 2 ---------------------------------------------------------------------------------------

def test_promotion_policy_needs_a_stored_quality_gate(s):
    pid = f.project(s)
    f.version(s, f.model(s, pid, "m"))  # registered, not promoted: the criterion concerns no model
    card = scorecards.scorecard(session=s, project_id=pid)
    assert card.criterion("promotion_policy").status == "fail"
    assert "staging" in card.criterion("promotion_policy").next_step
    registered, _ = _production(s, pid, "prod")
    assert status(s, pid, "promotion_policy") == "fail"  # only the defaults
    policy = Policy(project_id=pid, model_id=None, rules={"gates": {"lineage_complete": True}}, updated_by="eve",
                    updated_at=time.time())
    s.add(policy)
    s.flush()
    criterion = scorecards.scorecard(session=s, project_id=pid).criterion("promotion_policy")
    assert criterion.status == "partial" and criterion.evidence[0].kind == "policy"
    policy.rules = {"gates": {"metric_thresholds": {"auc": ">= 0.7"}}}
    s.flush()
    assert status(s, pid, "promotion_policy") == "pass"
    # the model's own policy wins over the project's
    s.add(Policy(project_id=pid, model_id=registered.id, rules={"gates": {"metric_thresholds": {}}}, updated_by="eve",
                 updated_at=time.time()))
    s.flush()
    assert status(s, pid, "promotion_policy", model="prod") == "partial"
    assert status(s, pid, "promotion_policy") == "partial"


def test_data_validated_before_registration_or_by_a_passed_gate(s):
    pid = f.project(s)
    registered, v = _production(s, pid)
    assert status(s, pid, "data_validated") == "fail"
    late = ValidationRecord(project_id=pid, dataset_version_id=f.dataset(s, pid).id, subject="dataset", rows=10,
                            subject_dataset_version_id=v.dataset_version_id, ok=True, errors=0, warnings=0,
                            created_by="dana", created_at=v.created_at + 60)
    s.add(late)
    s.flush()
    assert status(s, pid, "data_validated") == "fail"  # validated after registration does not count
    late.created_at = v.created_at - 60
    s.flush()
    criterion = scorecards.scorecard(session=s, project_id=pid).criterion("data_validated")
    assert criterion.status == "pass" and criterion.evidence[0].kind == "validation"
    late.ok = False
    s.flush()
    assert status(s, pid, "data_validated") == "fail"
    request = PromotionRequest(model_id=registered.id, model_version_id=v.id, target_stage="staging", requester="dana",
                               reason="r", status="approved", created_at=time.time(), decided_at=time.time(),
                               gates=[{"name": "data_validated", "passed": True, "detail": "ok", "data": {}}])
    s.add(request)
    s.flush()
    assert status(s, pid, "data_validated") == "pass"


def test_staging_before_production(s):
    pid = f.project(s)
    registered = f.model(s, pid, "m")
    v = f.version(s, registered)
    f.move_stage(s, v, "production")  # straight to production
    criterion = scorecards.scorecard(session=s, project_id=pid).criterion("staging_before_production")
    assert criterion.status == "fail" and "staging" in criterion.next_step
    v2 = f.version(s, registered, stage="production")  # through staging; v1 archived
    card = scorecards.scorecard(session=s, project_id=pid)
    assert card.criterion("staging_before_production").status == "pass"
    assert card.criterion("staging_before_production").evidence[0].kind == "stage_change"
    assert card.models[0].version == v2.version


def test_prediction_monitoring_lapses_when_the_window_passes(s):
    pid = f.project(s)
    _, v = _production(s, pid)
    assert status(s, pid, "prediction_monitoring") == "fail"
    _batch(s, v, profile={})  # a batch without a prediction profile
    assert status(s, pid, "prediction_monitoring") == "fail"
    bid = _batch(s, v)
    criterion = scorecards.scorecard(session=s, project_id=pid).criterion("prediction_monitoring")
    assert criterion.status == "pass" and criterion.evidence[0].id == bid
    assert status(s, pid, "prediction_monitoring", as_of=time.time() + 31 * DAY) == "fail"


# --- phase 3 ---------------------------------------------------------------------------------------

def test_drift_on_schedule_is_partial_once_the_report_is_older_than_its_window(s):
    pid = f.project(s)
    _, v = _production(s, pid)
    assert status(s, pid, "drift_on_schedule") == "fail"
    manual = DriftRecord(project_id=pid, model_version_id=v.id, reference="r", current="c", reference_rows=1,
                         current_rows=1, tested=1, drifted=0, share=0.0, drift_share=0.5, dataset_drift=False,
                         trigger="manual", created_by="dana", created_at=time.time())
    s.add(manual)
    s.flush()
    assert status(s, pid, "drift_on_schedule") == "fail"  # made by hand, not on a schedule
    manual.trigger = "monitor"
    s.flush()
    criterion = scorecards.scorecard(session=s, project_id=pid).criterion("drift_on_schedule")
    assert criterion.status == "pass" and (criterion.evidence[0].kind, criterion.evidence[0].id) == \
        ("drift_report", manual.id)
    late = scorecards.scorecard(session=s, project_id=pid, as_of=time.time() + 8 * DAY).criterion("drift_on_schedule")
    assert late.status == "partial" and "1 only an older one" in late.detail


def test_retraining_triggers_configured_and_fired(s):
    pid = f.project(s)
    registered, v = _production(s, pid)
    assert status(s, pid, "retraining_triggers") == "fail"
    s.add(RetrainingConfig(model_id=registered.id, notebook_artifact_id=v.artifact_id, notebook_path="train.ipynb",
                           set_by="dana", set_at=time.time()))
    rule = _rule(s, pid, "drift_share", actions=[{"type": "retrain"}])
    assert status(s, pid, "retraining_triggers") == "partial"  # configured, never fired
    alert = Alert(project_id=pid, rule_id=rule.id, rule=rule.name, kind="drift_share", model_version_id=v.id,
                  severity="warning", message="drift", fingerprint="x", created_at=time.time())
    s.add(alert)
    s.flush()
    s.add(RetrainingRun(model_id=registered.id, alert_id=alert.id, trigger=rule.name, status="running",
                        started_by="monitor", started_at=time.time()))
    s.flush()
    criterion = scorecards.scorecard(session=s, project_id=pid).criterion("retraining_triggers")
    assert criterion.status == "pass"
    assert {e.kind for e in criterion.evidence} == {"model_version", "alert_rule", "retraining_run", "alert"}
    assert status(s, pid, "retraining_triggers", as_of=time.time() + 91 * DAY) == "partial"  # the window passed
    rule.enabled = False
    s.flush()
    assert status(s, pid, "retraining_triggers") == "partial"  # fired, but no longer configured


def test_versioned_features(s):
    pid = f.project(s)
    _, v = _production(s, pid)
    assert status(s, pid, "versioned_features") == "fail"
    v.features = [{"name": "ratio", "version": 1}]
    s.flush()
    assert status(s, pid, "versioned_features") == "pass"


def test_sla_met_needs_a_rule_and_a_p95_within_it(s):
    pid = f.project(s)
    registered, v = _production(s, pid)
    for latency in (10, 20, 30, 40, 200):
        _batch(s, v, latency=latency)
    assert status(s, pid, "sla_met") == "fail"
    rule = _rule(s, pid, "latency_p95", model_id=registered.id, params={"sla_ms": 300})
    criterion = scorecards.scorecard(session=s, project_id=pid, model="m").criterion("sla_met")
    assert criterion.status == "pass" and "p95 168.0 ms over 5 batches" in criterion.detail  # numpy's p95: 168
    assert status(s, pid, "sla_met") == "pass"
    rule.params = {"sla_ms": 100}
    s.flush()
    assert status(s, pid, "sla_met") == "partial"  # defined, breached
    assert status(s, pid, "sla_met", as_of=time.time() + 31 * DAY) == "partial"  # nothing in the window to check
    rule.enabled = False
    s.flush()
    assert status(s, pid, "sla_met") == "fail"
    one, w = _production(s, pid, "one")  # a single batch is "1 batch"
    _batch(s, w, latency=40)
    _rule(s, pid, "latency_p95", model_id=one.id, params={"sla_ms": 300}, name="one latency")
    assert scorecards.scorecard(session=s, project_id=pid, model="one").criterion("sla_met").detail.endswith(
        "p95 40.0 ms over 1 batch")


# --- phases, projects and models -------------------------------------------------------------------

def _everything(s, pid, registered, v) -> None:
    """Every criterion's evidence for production version `v` of `registered`."""
    _finished_run_for(s, v)
    v.signature = {"inputs": [{"name": "x"}]}
    v.features = [{"name": "ratio", "version": 1}]
    s.add(Policy(project_id=pid, model_id=None, rules={"gates": {"metric_thresholds": {"auc": ">= 0.7"}}},
                 updated_by="eve", updated_at=time.time()))
    s.add(ValidationRecord(project_id=pid, dataset_version_id=f.dataset(s, pid).id, subject="dataset", rows=10,
                           subject_dataset_version_id=v.dataset_version_id, ok=True, errors=0, warnings=0,
                           created_by="dana", created_at=v.created_at - 1))
    _batch(s, v, monitored=True)
    s.add(DriftRecord(project_id=pid, model_version_id=v.id, reference="r", current="c", reference_rows=1,
                      current_rows=1, tested=1, drifted=0, share=0.0, drift_share=0.5, dataset_drift=False,
                      trigger="monitor", created_by="monitor", created_at=time.time()))
    s.add(RetrainingConfig(model_id=registered.id, notebook_artifact_id=v.artifact_id, notebook_path="t.ipynb",
                           set_by="dana", set_at=time.time()))
    rule = _rule(s, pid, "drift_share", name=f"retrain-{registered.name}", model_id=registered.id,
                 actions=[{"type": "retrain"}])
    alert = Alert(project_id=pid, rule_id=rule.id, rule=rule.name, kind="drift_share", model_version_id=v.id,
                  severity="warning", message="drift", fingerprint=uuid.uuid4().hex, created_at=time.time())
    s.add(alert)
    s.flush()
    s.add(RetrainingRun(model_id=registered.id, alert_id=alert.id, trigger=rule.name, status="succeeded",
                        started_by="monitor", started_at=time.time()))
    _rule(s, pid, "latency_p95", name=f"sla-{registered.name}", model_id=registered.id, params={"sla_ms": 100})
    s.flush()


def _finished_run_for(s, v) -> None:
    row = s.get(Run, v.run_id)
    row.status = "finished"
    s.add(Param(run_id=row.id, key="C", value="1"))
    s.add(LatestMetric(run_id=row.id, key="auc", value=0.8, step=0, timestamp=time.time()))
    s.flush()


def test_phases_are_cumulative(s):
    pid = f.project(s)
    registered, v = _production(s, pid)
    _everything(s, pid, registered, v)
    card = scorecards.scorecard(session=s, project_id=pid)
    assert [c.status for c in card.criteria] == ["pass"] * 12, card.to_frame()[["name", "detail"]]
    assert card.phase == 3 and card.phase_name == "Advanced"
    assert all(c.next_step == "" for c in card.criteria)
    policy = s.exec(Policy.__table__.select()).first()
    s.get(Policy, policy.id).rules = {"gates": {}}  # phase 2 now falls short...
    s.flush()
    card = scorecards.scorecard(session=s, project_id=pid)
    assert card.criterion("promotion_policy").status == "partial"
    assert all(c.status == "pass" for c in card.criteria if c.phase == 3)  # ...while phase 3 still holds
    assert card.phase == 1
    assert scorecards.scorecard(session=s, project_id=pid, model="m").phase == 1


def test_a_project_card_aggregates_the_models_each_criterion_concerns(s):
    pid = f.project(s)
    good, gv = _production(s, pid, "good")
    _everything(s, pid, good, gv)
    lagging, _ = _production(s, pid, "lagging")
    f.version(s, f.model(s, pid, "draft"))  # never promoted: phase 2 and 3 criteria do not concern it
    card = scorecards.scorecard(session=s, project_id=pid)
    assert [m.model for m in card.models] == ["good", "lagging", "draft"]  # production models first
    assert card.models[0].phase == 3 and card.models[0].version == 1 and card.models[2].version is None
    drift = card.criterion("drift_on_schedule")
    assert drift.status == "partial" and drift.detail.startswith("1 of 2 production models pass; lagging: ")
    assert drift.evidence[0].model == "good" and drift.evidence[-1].model == "lagging"
    assert drift.next_step.startswith("lagging: run `mlops monitor run`")
    assert card.criterion("versioned_features").status == "partial"
    # ML Test Score: each test the minimum over the production models
    scores = {t.key: t.score for t in card.ml_test_score.tests}
    assert scores["monitoring.6"] == 0  # lagging has no latency rule
    assert {t.key: t.score for t in card.models[0].ml_test_score.tests}["monitoring.6"] == 1


def test_unknown_model_project_and_time_are_clear_errors(s):
    pid = f.project(s, "p")
    f.model(s, pid, "credit")
    with pytest.raises(NotFound, match=r"model 'nope' is not registered in project 'p' \(its models: credit\)"):
        scorecards.scorecard(session=s, project_id=pid, model="nope")
    with pytest.raises(NotFound, match="project 999 does not exist"):
        scorecards.scorecard(session=s, project_id=999)
    with pytest.raises(InvalidInput, match="as_of must be a time in epoch seconds"):
        scorecards.scorecard(session=s, project_id=pid, as_of=float("nan"))
    with pytest.raises(InvalidInput, match="project_ids must be a list of project ids"):
        scorecards.portfolio(session=s, project_ids="1")
    assert scorecards.portfolio(session=s, project_ids=[]) == []


def test_as_of_reads_each_versions_stage_at_that_time(s):
    pid = f.project(s)
    registered = f.model(s, pid, "m")
    v = f.version(s, registered, stage="production")
    changes = s.exec(StageChange.__table__.select().where(StageChange.model_version_id == v.id)).all()
    entered = max(c.created_at for c in changes)
    card = scorecards.scorecard(session=s, project_id=pid, as_of=entered - 0.0001)
    # before it entered production it was in staging: staging_before_production concerns no model yet
    assert card.models[0].version is None and card.criterion("staging_before_production").status == "fail"
    assert scorecards.scorecard(session=s, project_id=pid).criterion("staging_before_production").status == "pass"
    registered.created_at -= 20
    v.created_at -= 10  # registered ten seconds before its first stage change
    first = min(c.created_at for c in changes)
    before = scorecards.scorecard(session=s, project_id=pid, model="m", as_of=first - 5)
    assert before.version is None and before.criterion("models_registered").status == "pass"
    assert before.criterion("promotion_policy").detail == "m has no version in staging or production"


# --- ML Test Score ---------------------------------------------------------------------------------

def _attest(s, pid, test, *, model_id=None, days=30.0, at=None, withdrawn=False) -> Attestation:
    at = at or time.time() - 1
    row = Attestation(project_id=pid, model_id=model_id, test=test, note=f"{test} done by hand", attested_by="eve",
                      role="reviewer", attested_at=at, expires_at=at + days * DAY,
                      withdrawn_by="eve" if withdrawn else None, withdrawn_at=time.time() if withdrawn else None)
    s.add(row)
    s.flush()
    return row


def test_band_edges():
    assert [band_of(x)[0] for x in (0, 0.5, 1, 1.5, 2, 3, 5, 5.5)] == \
        ["0", "(0, 1]", "(0, 1]", "(1, 2]", "(1, 2]", "(2, 3]", "(3, 5]", "> 5"]


def test_ml_test_score_hand_worked_sections_minimum_and_expiry(s):
    pid = f.project(s)
    registered, v = _production(s, pid)
    other = f.model(s, pid, "other")
    f.version(s, other, stage="production")
    # monitoring: model_age (automated) and latency (automated, also attested: still 1), outcome attested
    _rule(s, pid, "model_age", model_id=registered.id, params={"max_days": 90})
    _rule(s, pid, "latency_p95", model_id=registered.id, params={"sla_ms": 100})
    _attest(s, pid, "monitoring.6", model_id=registered.id)
    _attest(s, pid, "monitoring.7", model_id=registered.id)
    # data: four attested for the whole project, one for another model only (does not count for m)
    for test in ("data.2", "data.3", "data.4", "data.5"):
        _attest(s, pid, test)
    _attest(s, pid, "data.6", model_id=other.id)
    _attest(s, pid, "data.7", withdrawn=True)  # withdrawn: nothing
    # model: three attested; infrastructure: a rollback recorded (automated) and one attested, expiring soon
    for test in ("model.4", "model.7", "model.1"):
        _attest(s, pid, test)
    f.move_stage(s, v, "staging")
    s.exec(StageChange.__table__.update().where(StageChange.model_version_id == v.id,
                                                StageChange.to_stage == "staging").values(rollback=True))
    f.move_stage(s, v, "production")
    _attest(s, pid, "infrastructure.5", model_id=registered.id, days=1)
    card = scorecards.scorecard(session=s, project_id=pid, model="m")
    score = card.ml_test_score
    by_key = {t.key: t for t in score.tests}
    assert (by_key["monitoring.6"].score, by_key["monitoring.6"].how) == (1.0, "automated")
    assert by_key["monitoring.6"].attestation is not None  # attested too, never above 1
    assert (by_key["monitoring.7"].score, by_key["monitoring.7"].how) == (0.5, "attested")
    assert by_key["monitoring.7"].evidence[0].kind == "attestation"
    assert by_key["data.6"].score == 0 and by_key["data.7"].score == 0
    assert "mlops.attest('data.7', note=..., model='m')" in by_key["data.7"].next_step
    assert by_key["infrastructure.7"].how == "automated"
    # sections: data 4 x 0.5 = 2; model 3 x 0.5 = 1.5; infrastructure 1 + 0.5 = 1.5; monitoring 2 + 0.5 = 2.5
    assert score.sections == {"data": 2.0, "model": 1.5, "infrastructure": 1.5, "monitoring": 2.5}
    assert score.final == 1.5 and score.band == "(1, 2]"
    # two days on, infrastructure.5's attestation has expired: 0.5 less, the minimum is now infrastructure's 1
    later = scorecards.scorecard(session=s, project_id=pid, model="m", as_of=time.time() + 2 * DAY).ml_test_score
    assert later.sections["infrastructure"] == 1.0 and later.final == 1.0 and later.band == "(0, 1]"
    # the project's card: each test the minimum over its production models ("other" has none of m's rules)
    project = scorecards.scorecard(session=s, project_id=pid).ml_test_score
    assert {t.key: t.score for t in project.tests}["monitoring.4"] == 0
    assert project.sections["data"] == 2.0  # project-wide attestations count for both models


def test_a_project_without_models_scores_only_project_attestations(s):
    pid = f.project(s)
    _attest(s, pid, "data.2")
    score = scorecards.scorecard(session=s, project_id=pid).ml_test_score
    assert {t.key: t.score for t in score.tests}["data.2"] == 0.5
    assert score.sections["data"] == 0.5 and score.final == 0


def test_automated_tests_read_the_stores_evidence(s):
    pid = f.project(s)
    registered, v = _production(s, pid)
    v.metrics = {"auc": 0.8, "auc/age<25": 0.7}
    v.env = {"python": "3.11"}
    s.add(Policy(project_id=pid, model_id=None, updated_by="eve", updated_at=time.time(),
                 rules={"env_mismatch": "refuse", "gates": {"metric_thresholds": {"auc/age<25": ">= 0.6"},
                                                            "no_regression": {"metric": "auc"}}}))
    _batch(s, v, monitored=True)
    _batch(s, v, stage="staging")
    s.add(Outcome(model_version_id=v.id, rows=10, metrics={"auc": 0.75}, created_by="dana", created_at=time.time()))
    experiment_run = s.get(Run, v.run_id)
    for i in range(3):
        rid = _finished_run(s, pid)
        if i == 0:
            from mlops_nb.store.models import Tag

            s.add(Tag(run_id=rid, key="baseline", value="True"))
    s.add(RetrainingRun(model_id=registered.id, trigger="manual", status="succeeded", started_by="dana",
                        started_at=time.time()))
    s.flush()
    assert experiment_run is not None
    tests = {t.key: t for t in scorecards.scorecard(session=s, project_id=pid, model="m").ml_test_score.tests}
    automated = {k for k, t in tests.items() if t.how == "automated"}
    assert automated == {"data.1", "model.2", "model.3", "model.5", "model.6", "infrastructure.1",
                         "infrastructure.3", "infrastructure.6", "monitoring.1", "monitoring.2", "monitoring.3",
                         "monitoring.5"}, {k: t.detail for k, t in tests.items()}
    assert tests["model.2"].evidence[0].kind == "outcome"
    # model.1 and infrastructure.4: reached production through an approved, commented request whose gates passed
    assert tests["model.1"].score == 0 and tests["infrastructure.4"].score == 0
    # a rule in the project replaces the defaults: without a validation rule, monitoring.2 and .5 are not automated
    _rule(s, pid, "model_age", params={"max_days": 30})
    tests = {t.key: t for t in scorecards.scorecard(session=s, project_id=pid, model="m").ml_test_score.tests}
    assert tests["monitoring.2"].score == 0 and tests["monitoring.5"].score == 0 and tests["monitoring.4"].score == 1
    assert "kind='validation'" in tests["monitoring.2"].next_step


def test_a_model_put_in_production_through_the_public_api_meets_the_rules_it_should(ctx, credit):
    """What real use records (register from a tracked run, staging, production, scoring through the
    monitored wrapper) meets the rules: phase 1 and monitored predictions, on SQLite and PostgreSQL."""
    import mlops_nb as mlops

    X = f.production_credit_model(credit)
    context = mlops.get_context()
    with session_scope(context.engine) as session:
        card = scorecards.scorecard(session=session, project_id=context.project_id, model="credit")
        # the factory's training run logs a dataset but no param or metric: phase 1 is one criterion short
        runs = card.criterion("runs_tracked")
        assert (runs.status, runs.detail) == ("fail", "0 of 1 runs behind credit's versions finished with params "
                                                      "and metrics")
        assert [c.name for c in card.criteria if c.phase == 1 and c.status != "pass"] == ["runs_tracked"]
        assert card.phase == 0
        assert card.criterion("staging_before_production").status == "pass"
        assert card.criterion("prediction_monitoring").status == "fail"
    run_evidence = card.criterion("runs_tracked").evidence[0]  # the link opens the run
    assert run_evidence.kind == "run" and mlops.get_run(run_evidence.id).status == "finished"
    live = mlops.load_model("credit")
    live.predict_proba(X)
    live.flush()  # the batch is written by a background writer
    [batch] = mlops.batches("credit").to_frame()["id"]
    with session_scope(context.engine) as session:
        card = scorecards.scorecard(session=session, project_id=context.project_id, model="credit")
        assert card.criterion("prediction_monitoring").status == "pass"
        assert card.criterion("prediction_monitoring").evidence[0].id == batch
        tests = {t.key: t for t in card.ml_test_score.tests}
        assert {"data.1", "infrastructure.1", "monitoring.2", "monitoring.5"} <= \
            {k for k, t in tests.items() if t.how == "automated"}
        [project] = scorecards.portfolio(session=session, project_ids=[context.project_id])
        assert project.phase == 0 and [m.model for m in project.models] == ["credit"]
        assert project.criterion("runs_tracked").detail == "0 of 1 finished runs record params and metrics"


def test_each_project_is_scored_with_its_own_windows_in_one_portfolio(s):
    from mlops_nb.store.models.scorecards import ScorecardSetting

    wide, narrow = f.project(s, "wide"), f.project(s, "narrow")
    for pid in (wide, narrow):
        _, v = _production(s, pid, f"m{pid}")
        _batch(s, v, at=time.time() - 45 * DAY)
    s.add(ScorecardSetting(project_id=wide, settings={"monitoring_window_days": 60}, updated_by="eve",
                           updated_at=time.time()))
    s.flush()
    cards = {c.project: c for c in scorecards.portfolio(session=s)}
    assert cards["wide"].settings["monitoring_window_days"] == 60
    assert cards["wide"].criterion("prediction_monitoring").status == "pass"
    assert cards["narrow"].criterion("prediction_monitoring").status == "fail"
    assert "within 30 days" in cards["narrow"].criterion("prediction_monitoring").detail
