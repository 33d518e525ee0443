"""Alerts: each firing of a rule recorded once, with its evidence, audited; acknowledged by a user.

SPEC §3 (Alerts and retraining triggers). Every part of monitoring that finds something worth a
person's attention (a rule evaluated by `mlops monitor run`, a retraining run that failed) calls
`fire_alert`. Its `fingerprint` names what the alert is about (rule, model version, column and the
evidence it rests on): the same fingerprint fires once per project, so evaluating the same evidence
again, or two evaluations at once, record one alert (a unique constraint, not a read-then-write).

    alert = fire_alert(session=s, project_id=1, rule="drift share", kind="drift_share",
                       model_version_id=7, severity="warning", message="credit-risk v3: 40% of columns drifted",
                       evidence={"drift_report_id": 12}, fingerprint=fingerprint_of("drift share", 7, None, 12))
    alert is None   # on the second call: it had fired already
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.governance import audit
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.values import NOTE_CHARS as NOTE_CHARS  # the console's note box reads it here
from mlops_nb.services.values import check_note
from mlops_nb.store.models import Alert, ModelVersion, RegisteredModel
from mlops_nb.store.models.alerts import ALERT_STATUSES, SEVERITIES


@dataclass
class AlertPublic:
    """One alert: `rule` (name) and `kind`, the model and version it is about (None for project-wide),
    `column` (None when not about one), `severity` (info, warning, critical), `message`, `evidence`
    (ids: drift_report_id, batch_ids, outcome_id, retraining_run_id, ...), `status` (open,
    acknowledged) with who and when acknowledged it and their `note`, `created_at` (epoch seconds)."""

    id: int
    rule: str
    kind: str
    model: str | None
    version: int | None
    column: str | None
    severity: str
    message: str
    evidence: dict[str, Any]
    status: str
    acknowledged_by: str | None
    acknowledged_at: float | None
    note: str | None
    created_at: float


def fingerprint_of(*parts: Any) -> str:
    """The sha256 hex of `parts` joined (None as empty): what makes two firings the same alert."""
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def _labels(session: Session, version_ids: set[int]) -> dict[int, tuple[str, int]]:
    """(model name, version number) of each model version id, in one query."""
    if not version_ids:
        return {}
    rows = session.execute(select(col(ModelVersion.id), col(RegisteredModel.name), col(ModelVersion.version))
                           .join(RegisteredModel, col(RegisteredModel.id) == col(ModelVersion.model_id))
                           .where(col(ModelVersion.id).in_(version_ids))).all()
    return {int(id_): (name, int(number)) for id_, name, number in rows}


def _public(session: Session, alert: Alert, labels: dict[int, tuple[str, int]] | None = None) -> AlertPublic:
    if labels is None:
        labels = _labels(session, {alert.model_version_id} if alert.model_version_id is not None else set())
    model, version = labels.get(alert.model_version_id, (None, None)) if alert.model_version_id is not None \
        else (None, None)
    assert alert.id is not None
    return AlertPublic(id=alert.id, rule=alert.rule, kind=alert.kind, model=model, version=version,
                       column=alert.column, severity=alert.severity, message=alert.message,
                       evidence=dict(alert.evidence), status=alert.status, acknowledged_by=alert.acknowledged_by,
                       acknowledged_at=alert.acknowledged_at, note=alert.note, created_at=alert.created_at)


def fire_alert(*, session: Session, project_id: int, rule: str, kind: str, model_version_id: int | None,
               severity: str, message: str, evidence: dict[str, Any], fingerprint: str,
               column: str | None = None, rule_id: int | None = None, actor: str = "monitor",
               once_while_open: bool = False) -> AlertPublic | None:
    """Record the alert and audit it ("alert.fired" by `actor`), in a savepoint of the caller's
    transaction; None when an alert with this `fingerprint` exists in the project (it fired already:
    nothing is written). The caller runs the rule's actions only for an alert returned.

    With `once_while_open` (what alert rules use), an open alert of the same rule, kind, model
    version and column also means None: the problem is already raised and its actions already ran
    (a drift that persists month after month is one alert and one retraining, not one per month);
    acknowledging the alert re-arms the rule.

    Raises:
        InvalidInput: `severity` is not one of info, warning, critical.
    """
    if severity not in SEVERITIES:
        raise InvalidInput(f"alert severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    exists = session.execute(select(col(Alert.id)).where(col(Alert.project_id) == project_id,
                                                         col(Alert.fingerprint) == fingerprint)).first()
    if exists is not None:
        return None
    if once_while_open:
        same = select(col(Alert.id)).where(col(Alert.project_id) == project_id, col(Alert.rule) == rule[:250],
                                           col(Alert.kind) == kind, col(Alert.status) == "open")
        same = same.where(col(Alert.model_version_id).is_(None) if model_version_id is None
                          else col(Alert.model_version_id) == model_version_id)
        same = same.where(col(Alert.column).is_(None) if not column else col(Alert.column) == column[:250])
        if session.execute(same.limit(1)).first() is not None:
            return None
    alert = Alert(project_id=project_id, rule_id=rule_id, rule=rule[:250], kind=kind, model_version_id=model_version_id,
                  column=column[:250] if column else None, severity=severity, message=message, evidence=evidence,
                  fingerprint=fingerprint, status="open", created_at=time.time())
    try:
        with session.begin_nested():  # another evaluation may insert the same fingerprint at this moment
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None
    audit.record(session=session, actor=actor, action="alert.fired", entity="alert", entity_id=alert.id,
                 after={"rule": alert.rule, "kind": kind, "severity": severity, "model_version_id": model_version_id,
                        "column": alert.column, "message": message, "evidence": evidence})
    return _public(session, alert)


def acknowledge_alert(*, session: Session, project_id: int, actor: Identity, alert_id: int,
                      note: str = "") -> AlertPublic:
    """Mark alert `alert_id` acknowledged by `actor` (any proven user) with `note`; audited.
    Acknowledging an acknowledged alert changes nothing and returns it.

    Raises:
        PermissionDenied: `actor` is not a proven user.
        NotFound: no such alert in the project.
        InvalidInput: `note` is not text, holds NUL (PostgreSQL refuses it) or is over NOTE_CHARS.
    """
    who = permissions.authorize(session=session, actor=actor, action="acknowledge")
    check_note(note)
    alert = session.get(Alert, alert_id)
    if alert is None or alert.project_id != project_id:
        raise NotFound(f"alert {alert_id} does not exist in this project")
    if alert.status == "acknowledged":
        return _public(session, alert)
    alert.status, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", who.name, time.time()
    alert.note = note or None
    session.add(alert)
    session.flush()
    audit.record(session=session, actor=who.name, action="alert.acknowledged", entity="alert", entity_id=alert.id,
                 before={"status": "open"}, after={"status": "acknowledged", "note": alert.note})
    return _public(session, alert)


def list_alerts(*, session: Session, project_id: int, model: str | None = None, status: str | None = None,
                limit: int = 100) -> list[AlertPublic]:
    """The project's alerts, newest first: of model `model` (any version) when given, of `status`
    (open, acknowledged) when given, at most `limit`.

    Raises:
        InvalidInput: an unknown status or a limit below 1.
        NotFound: no model named `model` in the project.
    """
    if status is not None and status not in ALERT_STATUSES:
        raise InvalidInput(f"alert status {status!r} is not one of {', '.join(ALERT_STATUSES)}")
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    query = select(Alert).where(col(Alert.project_id) == project_id)
    if model is not None:
        model_id = session.execute(select(col(RegisteredModel.id)).where(
            col(RegisteredModel.project_id) == project_id, col(RegisteredModel.name) == model)).scalar()
        if model_id is None:
            raise NotFound(f"model {model!r} does not exist in this project")
        query = query.join(ModelVersion, col(ModelVersion.id) == col(Alert.model_version_id)).where(
            col(ModelVersion.model_id) == model_id)
    if status is not None:
        query = query.where(col(Alert.status) == status)
    found = list(session.execute(query.order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
                                 .limit(limit)).scalars())
    labels = _labels(session, {a.model_version_id for a in found if a.model_version_id is not None})
    return [_public(session, a, labels) for a in found]
