"""The demo store holds what `mlops demo` says it does, read back through the services: runs of every
experiment (a sweep, a baseline, a failed run), three models with their versions, requests of every
status, a rollback, and decisions recorded as the demo users, not the operator.

The demo is built once for the session by `mlops demo` (it trains for real: a few seconds of CPU) and
copied for this module (tests/demo_store.py)."""
from __future__ import annotations

from collections import Counter

import pytest

from mlops_nb.demo import USERS, build
from tests.demo_store import copy_demo

pytestmark = [
    pytest.mark.timeout(900),  # the first test may also build the demo (half a minute of CPU)
    pytest.mark.xdist_group("demo"),  # on the worker that builds the demo for test_browser.py too
]


@pytest.fixture(scope="module")
def demo(demo_store, tmp_path_factory):
    """(store URL, Summary) of the demo `mlops demo` built (once per session: tests/demo_store.py), in
    a copy of this module's own; `summary.lines` are the progress lines it reported."""
    copy = copy_demo(demo_store, tmp_path_factory.mktemp("demo") / "store")
    yield copy.url, copy.summary
    from mlops_nb.store.db import dispose_engines

    dispose_engines()


@pytest.fixture()
def session(demo):
    from mlops_nb.store.db import get_engine, session_scope

    with session_scope(get_engine(demo[0])) as s:
        yield s


@pytest.fixture()
def project_id(session):
    from mlops_nb.services import tracking

    return dict((name, pid) for pid, name in tracking.list_projects(session=session))["credit"]


def test_demo_reports_one_line_per_step_and_a_login_per_user(demo):
    _, summary = demo
    assert len(summary.lines) >= 10 and all("\n" not in line for line in summary.lines)
    assert [(login.name, login.role) for login in summary.logins] == list(USERS)
    assert {role for _, role in USERS} == {"data_scientist", "ml_engineer", "platform_engineer", "reviewer",
                                           "manager", "admin"}
    passwords = [login.password for login in summary.logins]
    assert len(set(passwords)) == len(passwords) and all(len(p) >= 12 for p in passwords)
    assert "password" not in repr(summary.logins[0]) and passwords[0] not in repr(summary)


def test_the_printed_passwords_log_the_users_in(demo, session):
    from mlops_nb.services import identity

    _, summary = demo
    rita = next(login for login in summary.logins if login.role == "reviewer")
    who = identity.identify(session=session, declared=rita.name, fallback=rita.name, password=rita.password)
    assert who.proven and who.role == "reviewer"


def test_runs_hold_a_baseline_a_sweep_and_a_failed_run(demo, session, project_id):
    from mlops_nb.services import tracking
    from mlops_nb.store.db import get_engine
    from mlops_nb.store.run_store import run_store

    runs = tracking.read_runs(session=session, store=run_store(get_engine(demo[0])), project_id=project_id,
                              stale_s=3600).rows
    by_experiment = Counter(r["experiment"] for r in runs)
    assert set(by_experiment) == {"baseline", "lr-sweep", "gbm", "random-forest", "data-refresh", "retraining"}
    assert by_experiment["retraining"] == 1  # the drift alert's headless run
    assert by_experiment["baseline"] == 2
    sweep = [r for r in runs if r.get("tags.sweep") == "lr-grid-C-weight"]
    assert len(sweep) == 15  # the parent and 14 grid points
    assert Counter(r["status"] for r in runs) == {"finished": len(runs) - 1, "failed": 1}
    assert all("metrics.roc_auc" in r for r in runs if r["status"] == "finished" and r["name"] != "lr-grid-C-weight")
    assert demo[1].runs == dict(Counter(r["status"] for r in runs))


def test_three_models_with_their_versions_and_complete_lineage(demo, session, project_id):
    from mlops_nb.services import registry

    models = {row["name"]: row for row in registry.list_models(session=session, project_id=project_id).rows}
    assert {name: row["versions"] for name, row in models.items()} == {
        "credit-risk": 6, "credit-risk-gbm": 3, "credit-risk-rf": 2}
    assert models["credit-risk"]["production"] == 6  # v3 was rolled back; v5 retrained; v6 adds monthly_burden
    assert models["credit-risk-gbm"]["production"] is None
    versions = registry.list_models(session=session, project_id=project_id, name="credit-risk").rows
    assert {v["dataset"] for v in versions} == {"german-credit v1", "german-credit v2", "credit-training v1",
                                                "credit-shifted v1"}


def test_requests_of_every_status_with_one_waiting_for_a_reviewer(demo, session, project_id):
    from mlops_nb.services import governance

    requests = governance.list_requests(session=session, project_id=project_id).requests
    statuses = Counter(r.status for r in requests)
    assert statuses == {"approved": 13, "rejected": 2, "pending": 3, "superseded": 2, "cancelled": 1}
    assert demo[1].requests == dict(statuses)
    pending = [r for r in requests if r.status == "pending"]
    for_reviewer = [r for r in pending if r.target_stage == "production"
                    and [a["role"] for a in r.approvals] == ["ml_engineer"] and all(g["passed"] for g in r.gates)]
    assert sorted((r.model, r.version) for r in for_reviewer) == [("credit-risk-gbm", 3)]  # v4's: superseded by v5's
    assert [(r.model, r.version) for r in pending if r.target_stage == "staging"] == [("credit-risk-rf", 2)]
    blocked = [r for r in pending if not all(g["passed"] for g in r.gates)]
    assert [(r.model, [g["name"] for g in r.gates if not g["passed"]]) for r in blocked] == [
        ("credit-risk-rf", ["staging_before_production"])]
    rejected = [r for r in requests if r.status == "rejected"]
    assert all(a["comment"] for r in rejected for a in r.approvals if a["decision"] == "reject")


def test_a_rollback_and_every_action_audited_as_the_demo_user(demo, session):
    from mlops_nb.services import governance
    from mlops_nb.services.identity.permissions import OPERATOR_NAME

    rollbacks = governance.events(session=session, action="model.rollback")
    assert [e.actor for e in rollbacks] == ["eli"]
    events = governance.events(session=session, limit=10_000)
    by_operator = {e.action for e in events if e.actor == OPERATOR_NAME}
    assert by_operator == {"user.add"}
    deciders = {e.actor for e in events if e.action in ("promotion.approve", "promotion.reject")}
    assert deciders == {"eli", "rita", "ravi"}
    assert governance.verify(session=session).ok


def test_a_store_that_holds_the_demo_is_refused_and_unchanged(demo):
    from mlops_nb.services import governance
    from mlops_nb.services.errors import Conflict
    from mlops_nb.store.db import get_engine, session_scope

    def newest_event() -> int:
        with session_scope(get_engine(demo[0])) as s:  # not held open: SQLite gives a session the write lock
            return governance.latest_event_id(session=s)

    before = newest_event()
    with pytest.raises(Conflict, match=r"already holds 3 project\(s\): credit, deposits, loan-routing; 9 user\(s\).*changed nothing"):
        build(demo[0])
    assert newest_event() == before


def test_the_production_model_is_scored_month_by_month_with_findings_and_outcomes(demo, session, project_id):
    """What the console's Data page shows: the full extract validated, monthly_burden in two
    versions, credit-risk's production version scored over four months (April refused: `housing`
    arrives as integer codes) and the outcomes of the two oldest months with their default rate."""
    from sqlmodel import select

    from mlops_nb.services import monitoring
    from mlops_nb.store.models.data import FeatureDefinition, ValidationRecord

    definitions = session.exec(select(FeatureDefinition).order_by(FeatureDefinition.version)).all()
    assert [(f.name, f.version, f.created_by) for f in definitions] == [
        ("monthly_burden", 1, "dana"), ("monthly_burden", 2, "pat")]
    validations = session.exec(select(ValidationRecord).where(ValidationRecord.model_version_id.is_(None))).all()
    assert [(v.subject, v.ok, v.created_by) for v in validations] == [("frame", True, "dana")]

    table = monitoring.recent_batches(session=session, project_id=project_id, model="credit-risk")
    batches = table.rows
    assert [(b["version"], b["stage"], b["status"], b["rows"]) for b in reversed(batches)] == [
        (2, "production", "accepted", 50), (2, "production", "warned", 50), (2, "production", "accepted", 50),
        (2, "production", "refused", 50)] + [(2, "production", "warned", 200)] * 3 + [
        (2, "production", "refused", 200), (2, "production", "warned", 200),  # the shifted months: larger loans
        (6, "production", "accepted", 200)]  # this week's, by v6 (trained on the shifted months)
    refused = [b for b in batches if b["status"] == "refused"][-1]  # April's (the newest first)
    details = table.details[refused["id"]]
    assert [(f["column"], f["rule"]) for f in details] == [("housing", "dtype_changed")]
    assert details[0]["details"]["mapping"] == {"0": "for free", "1": "own", "2": "rent"}

    outcomes = monitoring.list_outcomes(session=session, project_id=project_id, model="credit-risk").rows
    oldest = [b["id"] for b in reversed(batches)][:2]
    outcomes = [o for o in outcomes if o["batch"] in oldest]  # the shifted months' are the drift story's
    assert sorted(o["batch"] for o in outcomes) == sorted(oldest)
    assert all(0 < o["business"]["default_rate"] < 1 and o["rows"] == 50 for o in outcomes)
    # 0/1 outcomes joined to a model fitted on booleans: the realised rate is the business one
    assert all(o["metrics"]["positive_rate"] == o["business"]["default_rate"] for o in outcomes)
    assert all(0.6 < o["metrics"]["roc_auc"] <= 1 and 0.5 < o["metrics"]["accuracy"] <= 1 for o in outcomes)


def test_the_economy_shift_is_caught_once_and_the_retrained_version_approved_by_two(demo, session, project_id):
    """Issue 11's story in the demo store: drift of the shifted months names the moved columns, each
    alert fires once (the drift alert acknowledged once the fix serves), the re-encoded August is
    named, the drift alert's retrain action ran the training notebook headless as retrain-bot, and
    the retrained version went to production with eli's and rita's approvals."""
    from mlops_nb.services import governance
    from mlops_nb.services.monitoring import alerts, retraining
    from mlops_nb.services.monitoring.drift_store import drift_history

    fired = sorted((a.rule, a.column, a.status) for a in alerts.list_alerts(session=session, project_id=project_id))
    assert fired == [("default rate", None, "open"), ("economy drift", None, "acknowledged"),
                     ("scoring contract", "housing", "open")]
    history = drift_history(session=session, project_id=project_id, model="credit-risk")
    assert len(history) == 5  # January to May in the first run, then June, July, September and this week's
    assert {"credit_amount", "duration_in_month"} <= set(history[1].drifted_columns)  # September's, by v2
    assert history[0].version == 6 and history[0].share < 0.2  # this week's, against v6's shifted training data
    (run,) = retraining.retraining_runs(session=session, project_id=project_id, model="credit-risk")
    assert (run.status, run.trigger, run.model_version, run.started_by) == ("succeeded", "economy drift", 5, "eli")
    requests = governance.list_requests(session=session, project_id=project_id).requests
    staging = next(r for r in requests if r.id == run.request_id)
    assert (staging.requester, staging.status, staging.target_stage) == ("retrain-bot", "approved", "staging")
    production = next(r for r in requests if r.model == "credit-risk" and r.version == 5 and r.target_stage == "production")
    assert production.status == "approved" and sorted(a["user"] for a in production.approvals) == ["eli", "rita"]
