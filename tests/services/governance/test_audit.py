"""The audit chain over governance: every state change appends an event, and tampering is named."""
from __future__ import annotations

import pytest
from sqlalchemy import JSON, bindparam, select, text

from mlops_nb.services import governance
from mlops_nb.services.errors import InvalidInput
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import AuditEvent
from tests import factories as g


def _history(engine) -> int:
    """A promotion, a decision, stage changes, a rollback and a policy change; returns the event count."""
    with session_scope(engine) as session:
        people = g.add_users(session)
        pid = g.project(session)
        m = g.model(session, pid)
        g.version(session, m, stage="production")
        v = g.version(session, m)
        req = governance.request_promotion(session=session, actor=people["dana"], project_id=pid, model=m.name,
                                          version=v.version, to="staging", reason="r")
        governance.approve(session=session, actor=people["ml_engineer"], request_id=req.id, comment="ok")
        g.version(session, m, stage="production")
        governance.rollback(session=session, actor=people["admin"], model_id=m.id, reason="drill")
        governance.set_policy(session=session, actor=people["admin"], project_id=pid, model_id=None,
                            rules={"lineage_complete": True})
        return session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)).scalar()


def test_every_governance_change_appends_a_chained_event(engine):
    count = _history(engine)
    with session_scope(engine) as session:
        actions = set(session.execute(select(AuditEvent.action)).scalars())
        result = governance.verify(session=session)
        first, second = session.execute(select(AuditEvent).order_by(AuditEvent.id).limit(2)).scalars().all()
    assert {"user.add", "promotion.request", "promotion.gates", "promotion.approve", "promotion.decide",
            "model.stage", "model.rollback", "model.rollback.stage", "policy.set"} <= actions
    assert result.ok and result.events == count and str(result) == f"audit chain intact: {count} events"
    assert second.prev_hash == first.hash and first.ts > 0
    assert (first.actor, first.action) == ("operator (cli)", "user.add")  # g.add_users adds them as the operator


def _forge(engine, event_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET after = :after WHERE id = :id")
                     .bindparams(bindparam("after", type_=JSON)), {"after": {"stage": "forged"}, "id": event_id})


def test_edited_event_is_named(engine):
    _history(engine)
    _forge(engine, 5)
    with session_scope(engine) as session:
        result = governance.verify(session=session)
    assert not result.ok and result.broken_event_id == 5 and result.events == 4
    assert str(result).startswith("audit chain broken at event 5: its content was changed")


def test_deleted_last_event_is_detected(engine):
    count = _history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": count})
    with session_scope(engine) as session:
        result = governance.verify(session=session)
    assert not result.ok and result.broken_event_id == count
    assert "events were deleted from the end" in str(result)


def test_deleted_middle_event_is_detected(engine):
    _history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = 3"))
    with session_scope(engine) as session:
        result = governance.verify(session=session)
    assert not result.ok and result.broken_event_id == 3 and "event 3 is missing (next is 4)" in str(result)


def test_a_refused_decision_leaves_no_event(engine):
    _history(engine)
    with session_scope(engine) as session:
        before = governance.verify(session=session).events
        people = {"reviewer": g.proven(session, "reviewer", "reviewer")}
        pid = g.project(session)
        m = g.model(session, pid)
        v = g.version(session, m)
        req = governance.request_promotion(session=session, actor=g.proven(session, "dana"), project_id=pid,
                                          model=m.name, version=v.version, to="staging", reason="r")
        after_request = governance.verify(session=session).events
    with pytest.raises(Exception):
        with session_scope(engine) as session:
            governance.approve(session=session, actor=people["reviewer"], request_id=req.id)
    with session_scope(engine) as session:
        assert governance.verify(session=session).events == after_request > before


def test_trail_lists_the_newest_events_first_with_the_chains_verdict(engine):
    count = _history(engine)
    with session_scope(engine) as session:
        trail = governance.trail(session=session, limit=3)
        policy_changes = governance.trail(session=session, action="policy.set", verify_chain=False)
    assert [e["id"] for e in trail] == [count, count - 1, count - 2]
    assert trail.verified == f"audit chain intact: {count} events"
    assert [e["action"] for e in policy_changes] == ["policy.set"] and policy_changes.verified == ""


def test_trail_reports_a_broken_chain_instead_of_raising(engine):
    _history(engine)
    _forge(engine, 5)
    with session_scope(engine) as session:
        trail = governance.trail(session=session)
    assert trail.verified.startswith("audit chain broken at event 5") and len(trail) > 5


@pytest.mark.parametrize("limit", [0, -1, 2.5, True, "10"])
def test_trail_refuses_a_limit_that_is_not_a_positive_whole_number(session, limit):
    with pytest.raises(InvalidInput, match=f"limit must be a positive whole number, got {limit!r}"):
        governance.trail(session=session, limit=limit)
