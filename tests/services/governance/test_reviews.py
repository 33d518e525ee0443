"""What a reviewer reads before deciding (governance.review) and what holds production
(governance.production_models): read models, nothing written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mlops_nb.services import governance
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.store.models import AuditEvent
from tests import factories as g


def _events(session) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)).scalar()


def test_a_review_holds_lineage_gates_now_and_the_readers_blockers(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    v = g.version(session, m)
    req = governance.request_promotion(session=session, actor=people["dana"], project_id=pid, model=m.name,
                                       version=v.version, to="production", reason="beats v2")
    g.move_stage(session, v, "staging")  # the stored gates failed; evaluated now they pass
    events = _events(session)
    item = governance.review(session=session, request_id=req.id, actor=people["ml_engineer"])
    assert _events(session) == events
    assert (item.request.model, item.request.version, item.from_stage) == (m.name, 1, "staging")
    assert [(x["name"], x["passed"]) for x in item.gates] == [("staging_before_production", True),
                                                              ("lineage_complete", True)]
    assert not req.gates[0]["passed"]  # what was stored at the request is untouched
    assert item.approve_blockers == [] and item.reject_blockers == []
    lineage = item.lineage
    assert lineage["run_id"] == v.run_id and lineage["run_name"]
    assert lineage["dataset"]["name"].startswith("data-") and len(lineage["dataset"]["fingerprint"]) == 64
    assert lineage["params"] == {"C": "1.0"} and lineage["metrics"] == {"auc": 0.8}
    assert lineage["code_recorded"] is True and lineage["code"].startswith("git commit abc123")
    assert lineage["registered_by"] == "dana"
    mine = governance.review(session=session, request_id=req.id, actor=people["dana"])
    assert "(four eyes)" in mine.approve_blockers[0] and "(four eyes)" in mine.reject_blockers[0]


def test_a_review_of_an_unknown_request(session):
    people = g.add_users(session)
    with pytest.raises(NotFound, match="promotion request 41 does not exist"):
        governance.review(session=session, request_id=41, actor=people["reviewer"])
    with pytest.raises(InvalidInput, match="request id must be an integer"):
        governance.review(session=session, request_id="41", actor=people["reviewer"])


def test_production_models_say_since_when_and_who_approved(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid, "credit-risk")
    g.version(session, m, stage="production")  # moved without a request
    v2 = g.version(session, m, stage="staging")
    req = governance.request_promotion(session=session, actor=people["dana"], project_id=pid, model=m.name,
                                       version=v2.version, to="production", reason="fresher data")
    for who in ("ml_engineer", "reviewer"):
        governance.approve(session=session, actor=people[who], request_id=req.id, comment="ok")
    g.version(session, g.model(session, pid, "churn"))  # no production version
    [held] = governance.production_models(session=session, project_id=pid)
    assert held["model"] == "credit-risk" and held["version"] == 2 and held["request_id"] == req.id
    assert held["approved_by"] == ["ml-engineer (ml_engineer)", "reviewer (reviewer)"]
    assert held["moved_by"] == "reviewer" and held["rollback"] is False and held["since"] > 0
    governance.rollback(session=session, actor=people["ml_engineer"], model_id=m.id, reason="AUC dropped")
    [back] = governance.production_models(session=session, project_id=pid)
    assert (back["version"], back["rollback"], back["approved_by"], back["moved_by"]) == (1, True, [], "ml-engineer")
    assert governance.production_models(session=session, project_id=g.project(session, "empty")) == []
