"""Trusting types for a model's files: who may, what is recorded, and what the loader reads back.

SPEC §4: a model file loads only types on the loader's allow-list (services.registry.allow_list)
and types a proven ml_engineer or admin trusted explicitly for that model. Trust is per model (every
version of it), one row per type with who, their role, why and when, in the same transaction as an
audit event `model.trust_types`. The rules that never bend: proof and a steward's role
(permissions MATRIX "trust_types"), a reason, and never a type of NEVER_TRUSTED (`os`, `builtins`,
`subprocess`, ...) nor one defined in a notebook. Trusting a type already trusted changes nothing;
two stewards trusting one type at the same moment: the first record stands, and the other call
records nothing for it (a savepoint per row, never a raw IntegrityError).

    trust_types(session=s, actor=ed, project_id=1, model="credit-risk", types=["mypkg.MyScaler"],
                reason="our scaler, reviewed in PR 42")
    trusted_names(session=s, model_id=3)          # what the loader adds to its allow-list for model 3
"""
from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.governance import audit
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.registry.allow_list import check_trustable
from mlops_nb.services.registry.lookups import get_model, trust_records
from mlops_nb.services.registry.results import TrustedTypePublic, TrustList
from mlops_nb.store.models import TrustedType

MAX_REASON = 2000  # characters of a trust reason


def trusted_names(*, session: Session, model_id: int) -> list[str]:
    """The type names trusted for model `model_id`'s files, sorted."""
    rows = session.execute(select(col(TrustedType.type_name)).where(col(TrustedType.model_id) == model_id))
    return sorted(rows.scalars())


def check_reason(reason: str | None) -> str:
    """`reason` stripped, once it says something.

    Raises:
        InvalidInput: no reason, or one over MAX_REASON characters.
    """
    text = (reason or "").strip() if isinstance(reason, str) or reason is None else None
    if text is None:
        raise InvalidInput(f"the trust reason must be text; got {type(reason).__name__}")
    if not text:
        raise InvalidInput("trusting types needs a reason (why this code may run wherever the model is loaded), "
                           "e.g. reason='our scaler, reviewed in PR 42'")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"the trust reason is {len(text)} characters; at most {MAX_REASON}")
    return text


def authorise(*, session: Session, actor: Identity) -> Identity:
    """The actor as the store sees them now, once they may trust types.

    Raises:
        PermissionDenied: the actor is only declared, or not an ml_engineer or admin (now).
    """
    now = permissions.current(session=session, actor=actor)
    permissions.require(now, "trust_types")
    return now


def record_trust(*, session: Session, actor: Identity, model_id: int, model_name: str, types: Iterable[str],
                 reason: str | None) -> list[TrustedTypePublic]:
    """Trust `types` for model `model_id` as `actor` (checked), audited; the model's trust records after.

    Types already trusted keep their first record; the audit event `model.trust_types` lists only
    the new ones (none new: no event).

    Raises:
        PermissionDenied: `actor` is not a proven ml_engineer or admin.
        InvalidInput: no reason, or a type name that is not valid or may never be trusted.
    """
    who = authorise(session=session, actor=actor)
    names = check_trustable(types)
    why = check_reason(reason)
    already = set(trusted_names(session=session, model_id=model_id))
    assert who.role is not None  # permissions.require passed: a proven role
    now, new = time.time(), []
    for name in (n for n in names if n not in already):
        try:
            with session.begin_nested():  # a savepoint: a steward trusting it at the same moment wins
                session.add(TrustedType(model_id=model_id, type_name=name, trusted_by=who.name, role=who.role,
                                        reason=why, trusted_at=now))
        except IntegrityError:
            continue  # trusted meanwhile by someone else: their record stands
        new.append(name)
    if new:
        audit.record(session=session, actor=who.name, action="model.trust_types", entity="registered_model",
                     entity_id=model_name, after={"model_id": model_id, "types": new, "reason": why,
                                                  "role": who.role})
    return trust_records(session=session, model_id=model_id)


def trust_types(*, session: Session, actor: Identity, project_id: int, model: str, types: Iterable[str],
                reason: str | None) -> TrustList:
    """Trust `types` for every version of model `model` (the names a load or registration refusal
    listed), as a proven ml_engineer or admin; audited as `model.trust_types`.

    Raises:
        PermissionDenied: `actor` is not a proven ml_engineer or admin.
        InvalidInput: no reason, or a type name that is not valid or may never be trusted.
        NotFound: `model` is not a registered model of the project.
    """
    authorise(session=session, actor=actor)  # before anything else is read or named
    row = get_model(session=session, project_id=project_id, name=model)
    assert row.id is not None  # a row read from the store
    return TrustList(model=row.name, rows=record_trust(session=session, actor=actor, model_id=row.id,
                                                       model_name=row.name, types=types, reason=reason))


def trusted_for(*, session: Session, project_id: int, model: str) -> TrustList:
    """The types trusted for model `model`'s files, with who, why and when.

    Raises:
        NotFound: `model` is not a registered model of the project.
    """
    row = get_model(session=session, project_id=project_id, name=model)
    assert row.id is not None  # a row read from the store
    return TrustList(model=row.name, rows=trust_records(session=session, model_id=row.id))
