"""Stage changes and rollback: one production version per model, history as a stack, audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from mlops_nb.services import governance
from mlops_nb.services.errors import InvalidInput, NotFound, PermissionDenied
from mlops_nb.store.models import AuditEvent, ModelVersion, StageChange
from tests import factories as g


def _stage_of(session, model_id):
    return dict(session.execute(select(ModelVersion.version, ModelVersion.stage)
                                .where(ModelVersion.model_id == model_id)).all())


def test_entering_production_archives_the_previous_version(session):
    pid = g.project(session)
    m = g.model(session, pid)
    g.version(session, m, stage="production")
    g.version(session, m, stage="production")
    assert _stage_of(session, m.id) == {1: "archived", 2: "production"}
    moves = session.execute(select(StageChange.model_version_id, StageChange.from_stage, StageChange.to_stage)
                            .where(StageChange.model_id == m.id).order_by(StageChange.id)).all()
    assert [(f, t) for _, f, t in moves] == [("none", "staging"), ("staging", "production"), ("none", "staging"),
                                             ("production", "archived"), ("staging", "production")]


def test_every_stage_change_is_audited(session):
    pid = g.project(session)
    m = g.model(session, pid)
    g.version(session, m, stage="production")
    events = session.execute(select(AuditEvent).where(AuditEvent.action == "model.stage")
                             .order_by(AuditEvent.id)).scalars().all()
    assert [(e.entity_id, e.before["stage"], e.after["stage"]) for e in events] == [
        (f"{m.name}:1", "none", "staging"), (f"{m.name}:1", "staging", "production")]
    assert governance.verify(session=session).ok


def test_unknown_stage_is_refused(session):
    pid = g.project(session)
    v = g.version(session, g.model(session, pid))
    with pytest.raises(InvalidInput, match="stage 'live' is not one of none, staging, production, archived"):
        governance.stages._set_stage(session=session, actor="x", version=v, to_stage="live")


def test_rollback_twice_then_not_found(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    for _ in range(3):
        g.version(session, m, stage="production")
    engineer = people["ml_engineer"]
    back = governance.rollback(session=session, actor=engineer, model_id=m.id, reason="v3 misbehaves")
    assert back.version == 2 and _stage_of(session, m.id) == {1: "archived", 2: "production", 3: "archived"}
    back = governance.rollback(session=session, actor=people["admin"], model_id=m.id, reason="v2 too")
    assert back.version == 1 and _stage_of(session, m.id) == {1: "production", 2: "archived", 3: "archived"}
    with pytest.raises(NotFound) as err:
        governance.rollback(session=session, actor=engineer, model_id=m.id, reason="again")
    assert str(err.value) == (f"model {m.name!r} has no earlier production version to roll back to "
                              "(only one version has been in production)")
    assert _stage_of(session, m.id)[1] == "production"  # the refusal changed nothing


def test_rollback_after_a_new_promotion_returns_to_the_version_it_replaced(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    g.version(session, m, stage="production")
    g.version(session, m, stage="production")
    governance.rollback(session=session, actor=people["admin"], model_id=m.id, reason="r")  # back to v1
    g.version(session, m, stage="production")  # v3 replaces v1
    assert governance.rollback(session=session, actor=people["admin"], model_id=m.id, reason="r").version == 1
    with pytest.raises(NotFound):
        governance.rollback(session=session, actor=people["admin"], model_id=m.id, reason="r")


def test_rollback_with_no_production_history_is_not_found(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    g.version(session, m, stage="staging")
    with pytest.raises(NotFound, match="no version has been in production"):
        governance.rollback(session=session, actor=people["ml_engineer"], model_id=m.id, reason="r")


def test_rollback_needs_a_reason_and_a_proven_role(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    g.version(session, m, stage="production")
    g.version(session, m, stage="production")
    with pytest.raises(InvalidInput, match="rollback needs a reason"):
        governance.rollback(session=session, actor=people["ml_engineer"], model_id=m.id, reason="  ")
    with pytest.raises(PermissionDenied, match="log in with a password or token"):
        governance.rollback(session=session, actor=people["declared"], model_id=m.id, reason="r")
    with pytest.raises(PermissionDenied, match=r"'reviewer' \(reviewer\) may not roll back production"):
        governance.rollback(session=session, actor=people["reviewer"], model_id=m.id, reason="r")


def test_rollback_is_audited_with_reason(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    g.version(session, m, stage="production")
    g.version(session, m, stage="production")
    governance.rollback(session=session, actor=people["ml_engineer"], model_id=m.id, reason="AUC dropped")
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "model.rollback")).scalars().one()
    assert event.actor == "ml-engineer" and event.entity_id == m.name
    assert event.before == {"production": [2]} and event.after == {"production": 1, "reason": "AUC dropped"}
    changes = session.execute(select(StageChange).where(StageChange.rollback.is_(True))).scalars().all()
    assert {(c.to_stage, c.reason) for c in changes} == {("archived", "rolled back: AUC dropped"),
                                                          ("production", "AUC dropped")}
    assert governance.verify(session=session).ok
