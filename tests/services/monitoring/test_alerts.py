"""Alerts fire once per fingerprint, are audited, and are acknowledged by proven users only."""
from __future__ import annotations

import pytest

from mlops_nb.services.errors import InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.monitoring import alerts
from mlops_nb.store.models import AuditEvent, Project


def _project(session) -> int:
    project = Project(name="p", created_at=0.0)
    session.add(project)
    session.flush()
    return project.id


def _fire(session, project_id, evidence_id=1, column=None, **options):
    return alerts.fire_alert(session=session, project_id=project_id, rule="drift share", kind="drift_share",
                             model_version_id=None, severity="warning", message="40% of columns drifted",
                             evidence={"drift_report_id": evidence_id},
                             fingerprint=alerts.fingerprint_of("drift share", None, column, evidence_id), column=column, **options)


def test_the_same_evidence_fires_once_and_is_audited(session):
    project_id = _project(session)
    first = _fire(session, project_id)
    assert first is not None and first.status == "open" and first.evidence == {"drift_report_id": 1}
    assert _fire(session, project_id) is None
    assert _fire(session, project_id, evidence_id=2) is not None
    assert [a.evidence["drift_report_id"] for a in alerts.list_alerts(session=session, project_id=project_id)] == [2, 1]
    fired = session.query(AuditEvent).filter(AuditEvent.action == "alert.fired").count()
    assert fired == 2


def test_acknowledging_needs_proof_and_is_audited(session):
    project_id = _project(session)
    alert = _fire(session, project_id)
    with pytest.raises(PermissionDenied):
        alerts.acknowledge_alert(session=session, project_id=project_id, actor=Identity(name="dana"), alert_id=alert.id)
    operator = Identity(name="operator (cli)", role="admin", proven=True)
    done = alerts.acknowledge_alert(session=session, project_id=project_id, actor=operator, alert_id=alert.id,
                                    note="seen: retraining")
    assert done.status == "acknowledged" and done.acknowledged_by == "operator (cli)" and done.note == "seen: retraining"
    assert alerts.list_alerts(session=session, project_id=project_id, status="open") == []
    with pytest.raises(NotFound):
        alerts.acknowledge_alert(session=session, project_id=project_id, actor=operator, alert_id=alert.id + 99)


def test_a_rule_fires_once_while_its_alert_is_open_and_again_once_acknowledged(session):
    """Drift that persists month after month is one alert (and one retraining), not one per month."""
    project_id = _project(session)
    first = _fire(session, project_id, 1, once_while_open=True)
    assert first is not None
    assert _fire(session, project_id, 2, once_while_open=True) is None  # new evidence, same open problem
    assert _fire(session, project_id, 2, once_while_open=True, column="income") is not None  # another column
    operator = Identity(name="operator (cli)", role="admin", proven=True)
    alerts.acknowledge_alert(session=session, project_id=project_id, actor=operator, alert_id=first.id)
    again = _fire(session, project_id, 3, once_while_open=True)
    assert again is not None and again.evidence == {"drift_report_id": 3}


@pytest.mark.parametrize(("note", "words"), [
    (5, "a note must be text, got int"),
    ("seen\x00", "NUL"),  # PostgreSQL refuses NUL in text: a raw driver error, the acknowledgement lost
    ("x" * 5_001, "at most 5,000 characters"),
])
def test_a_note_that_is_not_storable_text_is_refused_and_the_alert_stays_open(session, note, words):
    project_id = _project(session)
    alert = _fire(session, project_id)
    operator = Identity(name="operator (cli)", role="admin", proven=True)
    with pytest.raises(InvalidInput, match=words):
        alerts.acknowledge_alert(session=session, project_id=project_id, actor=operator, alert_id=alert.id, note=note)
    assert [a.status for a in alerts.list_alerts(session=session, project_id=project_id)] == ["open"]
