"""Attestations: a person's signed statement that an ML Test Score test is done by hand (SPEC §3).

A test the store cannot see automated scores 0.5 while an attestation of it holds (Breck et al. 2017:
"done manually"); any of the 28 tests may be attested. Rules that never bend:

- only a proven ml_engineer, reviewer, manager or admin attests (permission "attest"), with a note
  saying what was done and where it is recorded (1 to NOTE_CHARS characters);
- an attestation expires: `days` after it is made (the project's `attestation_days` by default, at
  most its `attestation_max_days`); a test done by hand once is not done forever;
- attesting the same test again for the same scope (the project, or one model) keeps both rows: the
  history stays, and the newest one that holds counts;
- only the attester, or a steward (ml_engineer, admin), withdraws it; withdrawing is final
  (a second withdrawal is a Conflict), and the row stays, marked;
- every attestation and withdrawal writes an audit event in the same transaction.

An attestation holds at time t when it is not withdrawn and `attested_at <= t < expires_at` (the
rule the scorecard service reads the table by).

    a = attest(session=s, actor=rita, project_id=1, test="data.2", note="feature ablation, wiki/ML-12")
    withdraw_attestation(session=s, actor=rita, project_id=1, attestation_id=a.id)
    list_attestations(session=s, project_id=1, include_inactive=True)
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.governance import audit
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.monitoring.scorecard_results import ML_TESTS, SECTIONS
from mlops_nb.services.monitoring.scorecard_settings import get_settings
from mlops_nb.services.registry.lookups import get_model
from mlops_nb.services.values import READ_LIMIT, check_limit, check_name, check_note, is_row_id
from mlops_nb.store.models import Attestation, Project, RegisteredModel

DAY_S = 86_400.0
TITLES = {t.key: t.title for t in ML_TESTS}
NOTE_NEEDED = "say what was done by hand and where it is recorded, e.g. 'feature ablation in wiki/ML-12'"


@dataclass
class AttestationPublic:
    """One attestation: `test` ("data.2") and its `title` (the paper's words), the `project`, the
    `model` it is about (None: every model of the project), the `note`, who made it (`by`, their
    `role` then) and when (`at`, epoch s), when it expires (`expires_at`), who withdrew it and when
    (None while not withdrawn), and `active`: whether it holds at the time it was read."""

    id: int
    project: str
    model: str | None
    test: str
    title: str
    note: str
    by: str
    role: str
    at: float
    expires_at: float
    withdrawn_by: str | None
    withdrawn_at: float | None
    active: bool


def holds_at(row: Attestation, at: float) -> bool:
    """True when attestation `row` counts at time `at` (epoch s): not withdrawn, made at or before
    `at`, and expiring after it."""
    return row.withdrawn_at is None and row.attested_at <= at < row.expires_at


def check_test(test: Any) -> str:
    """`test` when it is the key of one of the ML Test Score's 28 tests ("data.1" ... "monitoring.7").

    Raises:
        InvalidInput: anything else; the message lists the keys.
    """
    if isinstance(test, str) and test.strip().lower() in TITLES:
        return test.strip().lower()
    keys = "; ".join(f"{s}.1-{s}.7" for s in SECTIONS)
    raise InvalidInput(f"{test!r} is not an ML Test Score test; tests are {keys} (e.g. 'data.2': "
                       f"{TITLES['data.2']})")


def check_days(days: Any, settings: dict[str, float]) -> float:
    """An attestation's life in days: `days`, or the project's `attestation_days` when None.

    Raises:
        InvalidInput: not a number, not finite, 0 or less, or over the project's `attestation_max_days`.
    """
    longest = settings["attestation_max_days"]
    if days is None:
        return min(settings["attestation_days"], longest)
    if isinstance(days, bool) or not isinstance(days, numbers.Real) or not math.isfinite(float(days)) \
            or not 0 < float(days) <= longest:
        raise InvalidInput(f"days must be a number of days above 0 and at most {longest:g} (the project's "
                           f"attestation_max_days), got {days!r}")
    return float(days)


def _project_name(session: Session, project_id: int) -> str:
    name = session.execute(select(col(Project.name)).where(col(Project.id) == project_id)).scalar()
    if name is None:
        raise NotFound(f"project {project_id} does not exist")
    return str(name)


def _public(row: Attestation, *, project: str, model: str | None, now: float) -> AttestationPublic:
    assert row.id is not None  # a row read from, or flushed to, the store
    return AttestationPublic(id=row.id, project=project, model=model, test=row.test, title=TITLES.get(row.test, ""),
                             note=row.note, by=row.attested_by, role=row.role, at=row.attested_at,
                             expires_at=row.expires_at, withdrawn_by=row.withdrawn_by, withdrawn_at=row.withdrawn_at,
                             active=holds_at(row, now))


def _model_name(session: Session, model_id: int | None) -> str | None:
    if model_id is None:
        return None
    return session.execute(select(col(RegisteredModel.name)).where(col(RegisteredModel.id) == model_id)).scalar()


def _audited(row: Attestation) -> dict[str, Any]:
    return {"project_id": row.project_id, "model_id": row.model_id, "test": row.test, "note": row.note,
            "attested_by": row.attested_by, "role": row.role, "attested_at": row.attested_at,
            "expires_at": row.expires_at, "withdrawn_by": row.withdrawn_by, "withdrawn_at": row.withdrawn_at}


def attest(*, session: Session, actor: Identity, project_id: int, test: str, note: str, model: str | None = None,
           days: float | None = None) -> AttestationPublic:
    """Record that `actor` did ML Test Score test `test` by hand, for model `model` (None: for every
    model of the project), with `note`; it holds for `days` days (the project's attestation_days by
    default). Audited as "attestation.add". An earlier attestation of the same test stays (history).

    >>> attest(session=s, actor=rita, project_id=1, test="model.7", note="inclusion review, doc ML-31",
    ...        model="credit-risk", days=90)

    Raises:
        PermissionDenied: `actor` is not a proven ml_engineer, reviewer, manager or admin.
        InvalidInput: an unknown test, a note that is blank, not text, holds NUL or is over 5,000
            characters, or days not above 0 and at most the project's attestation_max_days.
        NotFound: no such project, or no model `model` in it.
    """
    who = permissions.authorize(session=session, actor=actor, action="attest")
    key = check_test(test)
    text = check_note(note, required=NOTE_NEEDED)
    project = _project_name(session, project_id)
    life = check_days(days, get_settings(session=session, project_id=project_id))
    model_id = get_model(session=session, project_id=project_id, name=check_name(model, "model name")).id \
        if model is not None else None
    now = time.time()
    row = Attestation(project_id=project_id, model_id=model_id, test=key, note=text, attested_by=who.name,
                      attested_by_id=who.user_id, role=who.role or "", attested_at=now, expires_at=now + life * DAY_S)
    session.add(row)
    session.flush()
    audit.record(session=session, actor=who.name, action="attestation.add", entity="attestation", entity_id=row.id,
                 after=_audited(row))
    return _public(row, project=project, model=model, now=now)


def withdraw_attestation(*, session: Session, actor: Identity, project_id: int, attestation_id: int) -> AttestationPublic:
    """Withdraw attestation `attestation_id` (it stops counting now; the row stays, marked), as its
    attester or a steward (ml_engineer, admin). Audited as "attestation.withdraw" with before and after.

    >>> withdraw_attestation(session=s, actor=rita, project_id=1, attestation_id=4)

    Raises:
        PermissionDenied: `actor` may not attest, or is neither the attester nor an ml_engineer or admin.
        NotFound: no attestation `attestation_id` in the project.
        Conflict: it was withdrawn already (by whom and when).
    """
    who = permissions.authorize(session=session, actor=actor, action="attest")
    row = session.get(Attestation, attestation_id) if is_row_id(attestation_id) else None
    if row is None or row.project_id != project_id:
        raise NotFound(f"attestation {attestation_id!r} does not exist in this project "
                       "(list them with mlops.attestations(all=True))")
    own = who.user_id is not None and who.user_id == row.attested_by_id
    if not own and who.role not in permissions.STEWARDS:
        raise PermissionDenied(f"user {who.name!r} ({who.role}) may not withdraw attestation {row.id} made by "
                               f"{row.attested_by!r}: only its attester or an {' or '.join(permissions.STEWARDS)} may")
    before = _audited(row)
    now = time.time()
    # one conditional UPDATE: of two withdrawals at once, exactly one changes the row
    changed = session.execute(update(Attestation).where(col(Attestation.id) == row.id,
                                                        col(Attestation.withdrawn_at).is_(None))
                              .values(withdrawn_by=who.name, withdrawn_at=now)).rowcount  # type: ignore[attr-defined]
    session.refresh(row)
    if not changed:
        raise Conflict(f"attestation {row.id} was withdrawn already, by {row.withdrawn_by!r}; nothing was changed")
    audit.record(session=session, actor=who.name, action="attestation.withdraw", entity="attestation",
                 entity_id=row.id, before=before, after=_audited(row))
    return _public(row, project=_project_name(session, project_id), model=_model_name(session, row.model_id), now=now)


def list_attestations(*, session: Session, project_id: int, model: str | None = None, include_inactive: bool = False,
                      as_of: float | None = None, limit: int = READ_LIMIT) -> list[AttestationPublic]:
    """The project's attestations, newest first: with `model`, those that count for it (its own and
    the project-wide ones); only those that hold at `as_of` (default now) unless `include_inactive`
    (then withdrawn and expired ones too); at most `limit`.

    >>> [a.test for a in list_attestations(session=s, project_id=1, model="credit-risk")]
    ['model.7', 'data.2']

    Raises:
        NotFound: no such project, or no model `model` in it.
        InvalidInput: `as_of` not a finite time; a limit not from 1 to 1,000.
    """
    limit = check_limit(limit)
    at = time.time() if as_of is None else as_of
    if isinstance(at, bool) or not isinstance(at, numbers.Real) or not math.isfinite(at):
        raise InvalidInput(f"as_of must be a finite time in epoch seconds, got {as_of!r}")
    project = _project_name(session, project_id)
    query = select(Attestation).where(col(Attestation.project_id) == project_id)
    if model is not None:
        model_id = get_model(session=session, project_id=project_id, name=check_name(model, "model name")).id
        query = query.where(or_(col(Attestation.model_id) == model_id, col(Attestation.model_id).is_(None)))
    if not include_inactive:
        query = query.where(col(Attestation.withdrawn_at).is_(None), col(Attestation.attested_at) <= at,
                            col(Attestation.expires_at) > at)
    rows = list(session.execute(query.order_by(col(Attestation.attested_at).desc(), col(Attestation.id).desc())
                                .limit(limit)).scalars())
    ids = {r.model_id for r in rows if r.model_id is not None}
    names = dict(session.execute(select(col(RegisteredModel.id), col(RegisteredModel.name))
                                 .where(col(RegisteredModel.id).in_(ids))).all()) if ids else {}
    return [_public(r, project=project, model=names.get(r.model_id) if r.model_id is not None else None, now=at)
            for r in rows]
