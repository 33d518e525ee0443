"""Promotion requests: four eyes, policy quotas, gates at the decision, supersede, reject, cancel,
audit events, and two reviewers approving the same request at the same moment."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from mlops_nb.display import present
from mlops_nb.services import governance
from mlops_nb.services.errors import Conflict, GateFailed, InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.identity.auth import Identity
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import Approval, AuditEvent, ModelVersion, PromotionRequest
from tests import factories as g


def _setup(session, **version):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    return people, pid, m, g.version(session, m, **version)


def _request(session, pid, m, v, to="staging", actor=None, reason="better AUC"):
    """A request by `actor`, by default dana: a proven data scientist."""
    return governance.request_promotion(session=session, actor=actor or g.proven(session, "dana"), project_id=pid,
                                       model=m.name, version=v.version, to=to, reason=reason)


def _stage(session, v) -> str:
    return session.execute(select(ModelVersion.stage).where(ModelVersion.id == v.id)).scalar()


def test_requester_cannot_approve_own_request(session):
    people, pid, m, v = _setup(session)
    eve = people["ml_engineer"]
    req = _request(session, pid, m, v, actor=eve)
    with pytest.raises(PermissionDenied) as err:
        governance.approve(session=session, actor=eve, request_id=req.id, comment="mine")
    assert str(err.value) == (f"user 'ml-engineer' requested promotion request {req.id} and may not approve it "
                              "(four eyes); ask another reviewer")
    with pytest.raises(PermissionDenied, match="four eyes"):
        governance.reject(session=session, actor=eve, request_id=req.id, comment="mine")
    assert req.status == "pending" and _stage(session, v) == "none"


@pytest.mark.parametrize("typed", ["ML-Engineer", "ml-engineer ", "ｍｌ-ｅｎｇｉｎｅｅｒ", "made-up-colleague"])
def test_a_declared_requester_name_cannot_file_a_request(session, typed):
    """The bypass of issue 8 item 2: an engineer files as another spelling (or an invented name) of
    herself, then approves as herself. A request needs proof now, so the first step is refused."""
    people, pid, m, v = _setup(session)
    with pytest.raises((PermissionDenied, InvalidInput)) as err:
        _request(session, pid, m, v, actor=Identity(name=typed))
    assert "may not request a promotion with a declared name" in str(err.value) or "spaces" in str(err.value)
    assert session.execute(select(PromotionRequest)).first() is None


def test_four_eyes_compares_user_ids_not_typed_names(session):
    people, pid, m, v = _setup(session)
    eve = people["ml_engineer"]
    req = _request(session, pid, m, v, actor=eve)
    assert (req.requester, req.requester_id) == ("ml-engineer", eve.user_id)
    same_person = Identity(name="ML-ENGINEER", role="ml_engineer", proven=True, user_id=eve.user_id)
    with pytest.raises(PermissionDenied, match=r"user .ml-engineer. requested promotion request \d+ and may not approve it \(four eyes\)"):
        governance.approve(session=session, actor=same_person, request_id=req.id)
    assert req.status == "pending" and _stage(session, v) == "none"
    with pytest.raises(PermissionDenied, match="with a declared name"):  # a "proven" identity no check issued
        governance.approve(session=session, actor=Identity(name="eve2", role="ml_engineer", proven=True),
                           request_id=req.id)
    assert session.execute(select(Approval)).first() is None


def test_one_decision_per_user_id_whatever_the_spelling(session):
    people, pid, m, live = _setup(session, stage="production")
    v = g.version(session, m, stage="staging")
    req = _request(session, pid, m, v, to="production")
    governance.approve(session=session, actor=people["reviewer"], request_id=req.id)
    again = Identity(name="REVIEWER", role="reviewer", proven=True, user_id=people["reviewer"].user_id)
    with pytest.raises(Conflict, match="'reviewer' has already decided"):
        governance.approve(session=session, actor=again, request_id=req.id)
    row = session.execute(select(Approval).where(Approval.request_id == req.id)).scalars().one()
    assert (row.user, row.user_id) == ("reviewer", people["reviewer"].user_id)


def test_a_pending_request_of_another_user_is_not_superseded(session):
    people, pid, m, v = _setup(session)
    v2 = g.version(session, m)
    dana = _request(session, pid, m, v)
    sam = g.proven(session, "sam")  # adding sam is audited too
    events = session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    for who in (sam, people["reviewer"], people["manager"]):
        with pytest.raises(PermissionDenied) as err:
            with session.begin_nested():
                _request(session, pid, m, v2, actor=who)
        assert str(err.value) == (
            f"user {who.name!r} ({who.role}) may not supersede promotion request {dana.id} of 'dana', pending for "
            "the same model and stage: only its requester or a proven ml_engineer or admin may; ask 'dana' to "
            "cancel it, or wait for its decision")
    session.refresh(dana)
    assert dana.status == "pending"
    assert session.execute(select(func.count()).select_from(PromotionRequest)).scalar() == 1
    assert session.execute(select(func.count()).select_from(AuditEvent)).scalar() == events
    mine = _request(session, pid, m, v2)  # dana supersedes her own
    session.refresh(dana)
    assert dana.status == "superseded" and dana.decided_by_id == people["dana"].user_id
    steward = _request(session, pid, m, v, actor=people["admin"])  # a proven admin may supersede anyone's
    session.refresh(mine)
    assert mine.status == "superseded" and mine.decided_by == "admin" and steward.status == "pending"


def test_staging_needs_one_engineer_and_a_reviewer_does_not_count(session):
    people, pid, m, v = _setup(session)
    req = _request(session, pid, m, v)
    with pytest.raises(PermissionDenied) as err:
        governance.approve(session=session, actor=people["reviewer"], request_id=req.id)
    assert "'reviewer' (reviewer) may not approve a promotion request: it needs the role ml_engineer" in str(err.value)
    assert f"the policy of model {m.name!r} for staging" in str(err.value)
    done = governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id, comment="ok")
    assert done.status == "approved" and done.decided_by == "ml-engineer" and _stage(session, v) == "staging"


def test_production_needs_engineer_and_reviewer_quotas(session):
    people, pid, m, live = _setup(session, stage="production")
    v = g.version(session, m, stage="staging")
    req = _request(session, pid, m, v, to="production")
    first = governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id, comment="tech ok")
    assert first.status == "pending" and _stage(session, v) == "staging"
    with pytest.raises(Conflict) as err:
        governance.approve(session=session, actor=g.proven(session, "ed", "ml_engineer"),
                          request_id=req.id)
    assert str(err.value) == f"promotion request {req.id} already has its ml_engineer approvals; it waits for 1 reviewer"
    with pytest.raises(Conflict, match="has already decided"):
        governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id)
    done = governance.approve(session=session, actor=people["reviewer"], request_id=req.id, comment="risk ok")
    assert done.status == "approved"
    assert _stage(session, v) == "production" and _stage(session, live) == "archived"
    assert session.execute(select(func.count()).select_from(ModelVersion).where(
        ModelVersion.model_id == m.id, ModelVersion.stage == "production")).scalar() == 1


def test_policy_naming_a_manager_and_two_reviewers(session):
    people, pid, m, v = _setup(session, stage="staging")
    governance.set_policy(session=session, actor=people["admin"], project_id=pid, model_id=m.id,
                        rules={"approvals": {"production": {"manager": 1, "reviewer": 2}}})
    rita2 = g.proven(session, "rita2", "reviewer")
    req = _request(session, pid, m, v, to="production")
    with pytest.raises(PermissionDenied, match="needs the role manager or reviewer"):
        governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id)
    for actor in (people["manager"], people["reviewer"]):
        assert governance.approve(session=session, actor=actor, request_id=req.id).status == "pending"
    done = governance.approve(session=session, actor=rita2, request_id=req.id)
    assert done.status == "approved" and _stage(session, v) == "production"


def test_failed_gate_blocks_approval_and_changes_nothing(session):
    people, pid, m, v = _setup(session)
    governance.set_policy(session=session, actor=people["admin"], project_id=pid, model_id=m.id,
                        rules={"metric_thresholds": {"auc": ">= 0.9"}})
    req = _request(session, pid, m, v, to="production")  # recorded, with its failing gates
    assert [(x["name"], x["passed"]) for x in req.gates] == [
        ("staging_before_production", False), ("lineage_complete", True), ("metric_thresholds", False)]
    with pytest.raises(GateFailed) as err:
        with session.begin_nested():
            governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id)
    message = str(err.value)
    assert message.startswith(f"request {req.id} cannot be approved: 2 gate(s) failed: staging_before_production (")
    assert "metric_thresholds (auc = 0.8, needs >= 0.9)" in message
    session.refresh(req)
    assert req.status == "pending" and _stage(session, v) == "none"
    assert session.execute(select(Approval).where(Approval.request_id == req.id)).first() is None


def test_gates_are_evaluated_again_at_the_decision(session):
    people, pid, m, v = _setup(session)
    req = _request(session, pid, m, v, to="production")
    assert not req.gates[0]["passed"]
    g.move_stage(session, v, "staging")
    approved = governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id)
    assert all(x["passed"] for x in approved.gates)
    whens = [e.after["when"] for e in session.execute(select(AuditEvent).where(
        AuditEvent.action == "promotion.gates", AuditEvent.entity_id == str(req.id))).scalars()]
    assert whens == ["request", "decision"]


def test_new_request_supersedes_older_pending_one(session):
    people, pid, m, v = _setup(session)
    v2 = g.version(session, m)
    old = _request(session, pid, m, v)
    other_stage = _request(session, pid, m, g.version(session, m, stage="staging"), to="production")
    new = _request(session, pid, m, v2)
    session.refresh(old)
    session.refresh(other_stage)
    assert old.status == "superseded" and new.status == "pending" and other_stage.status == "pending"
    with pytest.raises(Conflict) as err:
        governance.approve(session=session, actor=people["ml_engineer"], request_id=old.id)
    assert str(err.value) == f"promotion request {old.id} is already superseded by dana; nothing was changed"


def test_reject_needs_a_comment_and_ends_the_request(session):
    people, pid, m, v = _setup(session)
    req = _request(session, pid, m, v)
    with pytest.raises(InvalidInput, match="comment is required"):
        governance.reject(session=session, actor=people["ml_engineer"], request_id=req.id, comment=" ")
    done = governance.reject(session=session, actor=people["ml_engineer"], request_id=req.id, comment="leaks target")
    assert done.status == "rejected" and _stage(session, v) == "none"
    with pytest.raises(Conflict, match="already rejected by ml-engineer"):
        governance.approve(session=session, actor=people["admin"], request_id=req.id)


def test_cancel_own_or_as_engineer(session):
    people, pid, m, v = _setup(session)
    mine = _request(session, pid, m, v)
    dana = people["dana"]
    assert governance.cancel(session=session, actor=dana, request_id=mine.id, reason="retraining").status == "cancelled"
    sam = g.proven(session, "sam")
    other = _request(session, pid, m, v, actor=sam)
    with pytest.raises(PermissionDenied, match="may not cancel or supersede another user's request"):
        governance.cancel(session=session, actor=dana, request_id=other.id)
    assert governance.cancel(session=session, actor=people["admin"], request_id=other.id).status == "cancelled"
    with pytest.raises(Conflict, match="already cancelled"):
        governance.cancel(session=session, actor=sam, request_id=other.id)


@pytest.mark.parametrize("change, error, words", [
    (dict(to="archived"), InvalidInput, "promotion target 'archived' is not one of staging, production"),
    (dict(reason=""), InvalidInput, "reason is required"),
    (dict(version=9), NotFound, "has no version 9; versions are 1"),
    (dict(model="nope"), NotFound, "model 'nope' is not registered in this project"),
])
def test_bad_request_is_named(session, change, error, words):
    _, pid, m, v = _setup(session)
    args = dict(model=m.name, version=v.version, to="staging", reason="r") | change
    with pytest.raises(error, match=words):
        governance.request_promotion(session=session, actor=g.proven(session, "dana"), project_id=pid, **args)


def test_request_for_the_stage_it_holds_is_a_conflict(session):
    _, pid, m, v = _setup(session, stage="staging")
    with pytest.raises(Conflict, match=f"model {m.name!r} version 1 is already in staging"):
        _request(session, pid, m, v)


def test_unknown_request_is_not_found(session):
    people = g.add_users(session)
    with pytest.raises(NotFound, match="promotion request 999 does not exist"):
        governance.approve(session=session, actor=people["ml_engineer"], request_id=999)


def test_every_step_is_audited_and_the_chain_holds(session):
    people, pid, m, live = _setup(session, stage="production")
    v = g.version(session, m, stage="staging")
    start = session.execute(select(func.max(AuditEvent.id))).scalar()
    req = _request(session, pid, m, v, to="production")
    governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id, comment="a")
    governance.approve(session=session, actor=people["reviewer"], request_id=req.id, comment="b")
    rows = session.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.entity_id)
                           .where(AuditEvent.id > start).order_by(AuditEvent.id)).all()
    assert [(a, who) for a, who, _ in rows] == [
        ("promotion.request", "dana"), ("promotion.gates", "dana"),
        ("promotion.gates", "ml-engineer"), ("promotion.approve", "ml-engineer"),
        ("promotion.gates", "reviewer"), ("promotion.approve", "reviewer"), ("promotion.decide", "reviewer"),
        ("model.stage", "reviewer"), ("model.stage", "reviewer")]
    assert rows[-2][2] == f"{m.name}:1" and rows[-1][2] == f"{m.name}:2"  # v1 archived, then v2 in production
    assert governance.verify(session=session).ok


def test_listing_and_display(session):
    people, pid, m, v = _setup(session)
    req = _request(session, pid, m, v, reason="<script>alert(1)</script>")
    governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id, comment="fine & dandy")
    _request(session, pid, m, g.version(session, m), reason="second")
    table = governance.list_requests(session=session, project_id=pid)
    assert [r.status for r in table] == ["pending", "approved"]
    assert [r.id for r in governance.list_requests(session=session, project_id=pid, status="approved")] == [req.id]
    assert len(governance.list_requests(session=session, project_id=pid, model=m.name)) == 2
    with pytest.raises(InvalidInput, match="request status 'done' is not one of"):
        governance.list_requests(session=session, project_id=pid, status="done")
    shown = present(governance.public(session=session, request_id=req.id))
    table = present(table)
    assert shown.approvals[0]["user"] == "ml-engineer" and shown.required == {"ml_engineer": 1}
    assert "gate lineage_complete" in repr(shown) and "PASS" in repr(shown)
    html = shown._repr_mimebundle_()["text/html"]
    assert "&lt;script&gt;" in html and "<script>" not in html and "fine &amp; dandy" in html
    assert "<table" in table._repr_mimebundle_()["text/html"]
    assert list(table.to_frame().columns)[:5] == ["id", "model", "version", "target_stage", "status"]
    assert "waiting for" in repr(table[0]) and "1 ml_engineer" in repr(table[0])


# --- concurrency ----------------------------------------------------------------------------------

def test_preview_gates_runs_the_policy_now_and_records_nothing(session):
    people, pid, m, v = _setup(session)
    governance.set_policy(session=session, actor=people["admin"], project_id=pid, model_id=m.id,
                          rules={"metric_thresholds": {"auc": ">= 0.9"}})
    events = session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    gates = governance.preview_gates(session=session, project_id=pid, model=m.name, version=v.version,
                                     to="production")
    assert [(r["name"], r["passed"]) for r in gates] == [
        ("staging_before_production", False), ("lineage_complete", True), ("metric_thresholds", False)]
    assert gates[2]["detail"] == "auc = 0.8, needs >= 0.9"
    assert [r["name"] for r in governance.preview_gates(session=session, project_id=pid, model=m.name,
                                                         version=v.version, to="staging")] == [
        "lineage_complete", "metric_thresholds"]
    assert session.execute(select(func.count()).select_from(AuditEvent)).scalar() == events
    assert session.execute(select(PromotionRequest)).first() is None
    with pytest.raises(NotFound, match=f"model {m.name!r} has no version 9; versions are 1"):
        governance.preview_gates(session=session, project_id=pid, model=m.name, version=9, to="staging")


def _race(engine, request_id: int, actors: list[Identity]) -> list[str]:
    barrier = threading.Barrier(len(actors))
    outcomes: list[str] = []
    lock = threading.Lock()

    def decide(actor: Identity) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                governance.approve(session=session, actor=actor, request_id=request_id, comment="race")
            result = "approved"
        except Conflict as err:
            result = f"conflict: {err}"
        except Exception as err:  # noqa: BLE001 - any other outcome fails the test below, with its text
            result = f"error: {type(err).__name__}: {err}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=decide, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_reviewers_approving_at_the_same_moment_record_one_decision(engine):
    with session_scope(engine) as session:
        people = g.add_users(session)
        reviewers = [g.proven(session, f"rev{i}", "reviewer") for i in range(4)]
        pid = g.project(session)
        m = g.model(session, pid)
        governance.set_policy(session=session, actor=people["admin"], project_id=pid,
                            model_id=m.id, rules={"approvals": {"production": {"reviewer": 1}}})
        live = g.version(session, m, stage="production")
    for _ in range(3):  # three rounds: each a new candidate, raced by four reviewers
        with session_scope(engine) as session:
            v = g.version(session, session.merge(m), stage="staging")
            version_id, request_id = v.id, _request(session, pid, m, v, to="production").id
        outcomes = _race(engine, request_id, reviewers)
        assert sorted(o.split(":")[0] for o in outcomes) == ["approved", "conflict", "conflict", "conflict"], outcomes
        assert all(f"promotion request {request_id} is already approved by rev" in o
                   for o in outcomes if o.startswith("conflict"))
        with session_scope(engine) as session:
            assert session.execute(select(func.count()).select_from(Approval)
                                   .where(Approval.request_id == request_id)).scalar() == 1
            assert session.execute(select(ModelVersion.id).where(ModelVersion.model_id == m.id,
                                                                 ModelVersion.stage == "production")).scalars().all() \
                == [version_id]
            assert session.get(PromotionRequest, request_id).status == "approved"
    with session_scope(engine) as session:
        assert session.get(ModelVersion, live.id).stage == "archived"
        assert governance.verify(session=session).ok


# --- the Python API -------------------------------------------------------------------------------

def test_api_request_approve_rollback_and_policy(ctx, credit):
    import mlops_nb as mlops
    from mlops_nb.services import identity
    from tests.factories import fit_credit_model

    with session_scope(ctx.engine) as session:
        identity.add_user(session=session, actor=identity.OPERATOR, name="dana", role="data_scientist", password="dana-secret-1")
        identity.add_user(session=session, actor=identity.OPERATOR, name="eve", role="ml_engineer", password="eve-secret-1")
        identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="reviewer", password="rita-secret-1")
    url = ctx.db_url
    versions = []
    for C in (0.5, 2.0):
        mlops.init(project="test", db_url=url, user="dana")
        with mlops.start_run(experiment="api"):
            mlops.log_dataset(credit, name="german", role="train")
            versions.append(mlops.register_model(fit_credit_model(credit, C)[0], name="credit", dataset="german",
                                                 target="creditability").version)
        for to, approvers in (("staging", ["eve"]), ("production", ["eve", "rita"])):
            mlops.init(project="test", db_url=url, user="dana", password="dana-secret-1")
            req = mlops.request_promotion("credit", version=versions[-1], to=to, reason=f"C={C}")
            assert req.status == "pending" and all(gate["passed"] for gate in req.gates)
            for who in approvers:
                mlops.init(project="test", db_url=url, user=who, password=f"{who}-secret-1")
                req = mlops.approve(req.id, comment="ok")
            assert req.status == "approved" and len(req.approvals) == len(approvers)
    assert len(mlops.requests("credit", status="approved")) == 4
    mlops.init(project="test", db_url=url, user="eve", password="eve-secret-1")
    back = mlops.rollback("credit", reason="drill")
    assert back.version == versions[0] and back.stage == "production"
    with pytest.raises(NotFound):
        mlops.rollback("credit", reason="again")
    shown = mlops.set_policy("credit", metric_thresholds={"auc": ">= 0.5"})
    assert shown.source == "model" and mlops.get_policy("credit").rules["gates"]["metric_thresholds"] == {"auc": ">= 0.5"}
    assert mlops.get_policy().source == "default"
    mlops.init(project="test", db_url=url, user="dana")
    with pytest.raises(PermissionDenied, match="log in with a password or token"):
        mlops.set_policy(None, lineage_complete=False)
    with pytest.raises(PermissionDenied, match="may not request a promotion with a declared name"):
        mlops.request_promotion("credit", version=versions[1], to="staging", reason="again")
    mlops.init(project="test", db_url=url, user="dana", password="dana-secret-1")
    with pytest.raises(PermissionDenied, match="needs the role ml_engineer or admin"):
        mlops.set_policy(None, lineage_complete=False)
    req = mlops.request_promotion("credit", version=versions[1], to="staging", reason="again")
    assert mlops.cancel(req.id, reason="changed my mind").status == "cancelled"
    mlops.init(project="test", db_url=url, user="rita", password="rita-secret-1")
    req = mlops.request_promotion("credit", version=versions[1], to="production", reason="from archive")
    assert not req.gates[0]["passed"]
    mlops.init(project="test", db_url=url, user="eve", password="eve-secret-1")
    assert mlops.reject(req.id, comment="archived versions go through staging").status == "rejected"
