"""services.governance.policy_scope: a policy read and changed by model name, or the project default."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from mlops_nb.services import governance
from mlops_nb.services.errors import NotFound, PermissionDenied
from mlops_nb.store.models import AuditEvent
from tests import factories as g


def test_read_policy_names_the_scope_and_where_the_rules_come_from(session):
    pid = g.project(session, "credit")
    g.model(session, pid, "credit-risk")
    own = governance.read_policy(session=session, project_id=pid, model="credit-risk")
    assert (own.scope, own.source) == ("model 'credit-risk'", "default")
    assert own.rules["approvals"]["production"] == {"ml_engineer": 1, "reviewer": 1}
    default = governance.read_policy(session=session, project_id=pid)
    assert (default.scope, default.source) == ("project 'credit' (default)", "default")


def test_change_policy_of_a_model_by_name_is_audited_under_that_name(session):
    people = g.add_users(session)
    pid = g.project(session, "credit")
    g.model(session, pid, "credit-risk")
    changed = governance.change_policy(session=session, actor=people["ml_engineer"], project_id=pid,
                                       model="credit-risk", rules={"metric_thresholds": {"auc": ">= 0.7"}})
    assert (changed.scope, changed.source) == ("model 'credit-risk'", "model")
    assert governance.read_policy(session=session, project_id=pid, model="credit-risk").rules == changed.rules
    event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalars().one()
    assert (event.action, event.entity_id, event.actor) == ("policy.set", "credit-risk", "ml-engineer")


def test_change_policy_of_the_project_default_is_audited_as_the_project(session):
    people = g.add_users(session)
    pid = g.project(session, "credit")
    changed = governance.change_policy(session=session, actor=people["admin"], project_id=pid, model=None,
                                       rules={"approvals": {"production": {"reviewer": 2}}})
    assert (changed.scope, changed.source) == ("project 'credit' (default)", "project")
    event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalars().one()
    assert event.entity_id == "project:credit"


def test_an_unknown_model_is_not_found_and_nothing_changes(session):
    people = g.add_users(session)
    pid = g.project(session, "credit")
    with pytest.raises(NotFound, match="model 'nope' is not registered in this project"):
        governance.read_policy(session=session, project_id=pid, model="nope")
    with pytest.raises(NotFound, match="model 'nope' is not registered in this project"):
        governance.change_policy(session=session, actor=people["admin"], project_id=pid, model="nope",
                                 rules={"lineage_complete": False})
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "policy.set")).first() is None


def test_change_policy_checks_the_actor_like_set_policy(session):
    people = g.add_users(session)
    pid = g.project(session, "credit")
    with pytest.raises(PermissionDenied, match="may not set a promotion policy"):
        governance.change_policy(session=session, actor=people["reviewer"], project_id=pid, model=None,
                                 rules={"lineage_complete": False})
