"""Why a user may not decide a request: the same checks approve and reject make, listed without
writing anything (governance.decision_blockers)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mlops_nb.services import governance
from mlops_nb.services.errors import Conflict, GateFailed, InvalidInput, NotFound, PermissionDenied
from mlops_nb.store.models import AuditEvent, PromotionRequest
from tests import factories as g


def _setup(session, *, to="staging", stage="none"):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    v = g.version(session, m, stage=stage)
    req = governance.request_promotion(session=session, actor=people["dana"], project_id=pid, model=m.name,
                                       version=v.version, to=to, reason="better AUC")
    return people, pid, m, req


def _blockers(session, actor, req, action="approve"):
    return governance.decision_blockers(session=session, actor=actor, request_id=req.id, action=action)


def _refusal(session, actor, req, action="approve"):
    """The message approve (or reject) raises for `actor`, the decision rolled back."""
    decide = governance.approve if action == "approve" else governance.reject
    with pytest.raises((PermissionDenied, Conflict, GateFailed)) as err:
        with session.begin_nested():
            decide(session=session, actor=actor, request_id=req.id, comment="why not")
    return str(err.value)


def _events(session) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)).scalar()


def test_a_user_the_policy_names_may_decide(session):
    people, _, _, req = _setup(session)
    assert _blockers(session, people["ml_engineer"], req) == []
    assert _blockers(session, people["ml_engineer"], req, "reject") == []


def test_the_requester_is_told_four_eyes_as_approve_would_say(session):
    people, _, _, req = _setup(session)
    found = _blockers(session, people["dana"], req)
    assert found[0] == (f"user 'dana' requested promotion request {req.id} and may not approve it (four eyes); "
                        "ask another reviewer")
    assert found[0] == _refusal(session, people["dana"], req)
    assert "may not approve a promotion request: it needs the role ml_engineer" in found[1]  # both reasons listed


def test_a_role_the_policy_does_not_name_is_told_which_roles_it_needs(session):
    people, _, m, req = _setup(session)
    found = _blockers(session, people["reviewer"], req)
    assert found == [f"user 'reviewer' (reviewer) may not approve a promotion request: it needs the role ml_engineer "
                     f"(the policy of model {m.name!r} for staging)"]
    assert found == [_refusal(session, people["reviewer"], req)]
    assert _blockers(session, people["reviewer"], req, "reject") == [_refusal(session, people["reviewer"], req,
                                                                              "reject")]


def test_failing_gates_are_listed_with_their_detail_and_nothing_is_recorded(session):
    people, _, _, req = _setup(session, to="production")  # version 1 is in none: staging first
    gates_before, events = list(req.gates), _events(session)
    found = _blockers(session, people["ml_engineer"], req)
    assert found == ["gate staging_before_production fails: version 1 is in none, not staging: "
                     "promote it to staging first"]
    assert _events(session) == events
    session.refresh(req)
    assert req.gates == gates_before and req.status == "pending"
    assert _blockers(session, people["ml_engineer"], req, "reject") == []  # a failing request may be rejected
    assert _refusal(session, people["ml_engineer"], req).startswith(
        f"request {req.id} cannot be approved: 1 gate(s) failed: staging_before_production (")


def test_one_decision_per_user_and_a_met_quota(session):
    people, _, _, req = _setup(session, to="production", stage="staging")
    governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id, comment="tech ok")
    assert _blockers(session, people["ml_engineer"], req) == [
        f"user 'ml-engineer' has already decided promotion request {req.id}"]
    ed = g.proven(session, "ed", "ml_engineer")
    assert _blockers(session, ed, req) == [
        f"promotion request {req.id} already has its ml_engineer approvals; it waits for 1 reviewer"]
    assert _blockers(session, ed, req) == [_refusal(session, ed, req)]
    assert _blockers(session, ed, req, "reject") == []  # the quota bounds approvals, not rejections
    assert _blockers(session, people["reviewer"], req) == []


def test_a_decided_request_has_one_blocker_its_status(session):
    people, _, _, req = _setup(session)
    governance.reject(session=session, actor=people["ml_engineer"], request_id=req.id, comment="leaks target")
    for who in (people["admin"], people["dana"]):
        assert _blockers(session, who, req) == [
            f"promotion request {req.id} is already rejected by ml-engineer; nothing was changed"]


def test_a_declared_name_needs_proof(session):
    people, _, _, req = _setup(session)
    found = _blockers(session, people["declared"], req)
    assert any("with a declared name" in b for b in found)


def test_bad_ids_and_actions_are_named(session):
    people, _, _, req = _setup(session)
    with pytest.raises(NotFound, match="promotion request 999 does not exist"):
        governance.decision_blockers(session=session, actor=people["admin"], request_id=999)
    with pytest.raises(InvalidInput, match="request id must be an integer"):
        governance.decision_blockers(session=session, actor=people["admin"], request_id="1")
    with pytest.raises(InvalidInput, match="action 'cancel' is not one of approve, reject"):
        _blockers(session, people["admin"], req, "cancel")
    assert session.execute(select(PromotionRequest.status)).scalars().all() == ["pending"]


def _with_version(session, pid) -> str:
    m = g.model(session, pid)
    g.version(session, m)
    return m.name


def test_waiting_for_lists_what_decision_blockers_clears(session):
    people, pid, m, own = _setup(session, to="staging")  # dana's staging request
    failing = governance.request_promotion(session=session, actor=people["dana"], project_id=pid,
                                           model=_with_version(session, pid), version=1, to="production",
                                           reason="skip staging")  # a failing gate
    ready = g.model(session, pid)
    g.version(session, ready, stage="staging")
    both = governance.request_promotion(session=session, actor=people["dana"], project_id=pid, model=ready.name,
                                        version=1, to="production", reason="ready")
    governance.approve(session=session, actor=people["ml_engineer"], request_id=both.id, comment="tech ok")
    mine = governance.request_promotion(session=session, actor=people["ml_engineer"], project_id=pid,
                                        model=_with_version(session, pid), version=1, to="staging", reason="mine")
    assert failing.id and mine.id
    pending = [r.id for r in governance.list_requests(session=session, project_id=pid, status="pending")]
    for who in ("ml_engineer", "reviewer", "manager", "dana", "declared"):
        expected = [i for i in pending if not governance.decision_blockers(session=session, actor=people[who],
                                                                            request_id=i)]
        assert governance.waiting_for(session=session, actor=people[who], project_id=pid) == expected, who
    assert governance.waiting_for(session=session, actor=people["ml_engineer"], project_id=pid) == [own.id]
    assert governance.waiting_for(session=session, actor=people["reviewer"], project_id=pid) == [both.id]
