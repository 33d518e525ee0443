"""The alerting API: rules need a proven ml_engineer or admin, `mlops.monitor()` runs callables
registered with `mlops.on_alert` in this kernel, alerts list and are acknowledged by a proven user;
results display compact and escaped."""
from __future__ import annotations

import time
import uuid

import pytest

import mlops_nb as mlops
from mlops_nb.services import identity
from mlops_nb.services.monitoring import actions
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import ScoringBatch
from tests import factories

REENCODED = {"column": "<purpose>", "rule": "new_categories", "severity": "error",
             "message": "new categories not seen in training: '<A40>'", "examples": ["<A40>"]}


@pytest.fixture()
def eve(db_url, tmp_path):
    """The API as eve, a proven ml_engineer, in project 'credit' whose 'credit-risk' v1 is in
    production with a refused batch."""
    ctx = mlops.init(project="credit", db_url=db_url, user="dana", artifact_root=str(tmp_path / "a"))
    with session_scope(ctx.engine) as session:
        identity.add_user(session=session, actor=identity.OPERATOR, name="eve", role="ml_engineer",
                          password="eve-secret-1")
        row = factories.version(session, factories.model(session, ctx.project_id, "credit-risk"), stage="production")
        session.add(ScoringBatch(id=uuid.uuid4().hex, model_version_id=row.id, stage="production", method="predict",
                                 status="refused", rows=10, findings=[REENCODED], created_by="dana",
                                 created_at=time.time()))
    return mlops.init(project="credit", db_url=db_url, user="eve", password="eve-secret-1",
                      artifact_root=str(tmp_path / "a"))


def test_a_declared_user_may_not_add_rules(eve, db_url, tmp_path):
    mlops.init(project="credit", db_url=db_url, user="dana", artifact_root=str(tmp_path / "a"))
    with pytest.raises(mlops.PermissionDenied, match="set alert rules"):
        mlops.add_alert_rule("drift", kind="drift_share", threshold=0.3)
    assert len(mlops.alert_rules()) == 0


def test_rules_monitor_callables_and_acknowledgement(eve):
    mlops.add_alert_rule("re-encoded", kind="validation", model="credit-risk", severity="critical",
                         actions=[{"type": "callable", "name": "collect"}, {"type": "notify"}])
    with pytest.raises(mlops.InvalidInput, match="unknown param 'treshold'"):
        mlops.add_alert_rule("x", kind="drift_share", treshold=0.3)
    assert [r.name for r in mlops.alert_rules().rules] == ["re-encoded"]
    seen = []
    mlops.on_alert("collect")(seen.append)
    try:
        result = mlops.monitor()
    finally:
        actions.unregister_action("collect")
    [alert] = result.alerts
    assert [a.id for a in seen] == [alert.id] and alert.column == "<purpose>"
    assert "1 alert(s) fired" in repr(result)
    html = result._repr_html_()
    assert "&lt;purpose&gt;" in html and "<purpose>" not in html
    table = mlops.alerts("credit-risk", status="open")
    assert [a.id for a in table.rows] == [alert.id] and "<td>&lt;purpose&gt;</td>" in factories.without_styles(table._repr_html_())
    assert list(table.to_frame()["rule"]) == ["re-encoded"]
    done = mlops.acknowledge_alert(alert.id, note="fixed upstream")
    assert (done.status, done.acknowledged_by, done.note) == ("acknowledged", "eve", "fixed upstream")
    assert len(mlops.alerts(status="open")) == 0
    with pytest.raises(mlops.InvalidInput, match="needs the action's name"):
        mlops.on_alert("")
