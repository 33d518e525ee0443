"""Who may do what: the permission matrix every service checks on every call.

SPEC §2, §4: permissions are enforced in the services, not in the UI. A declared name
(init(user=...), MLOPS_USER, the login name) may track and register. Requesting promotion needs a
proven identity (any role): four eyes compares the requester's user id with each decider's, so a
request must name a real, proven user. Deciding (approve, reject, rollback, policies, users) needs a
proven identity (the password or an API token, checked by identity.login.identify) *and* a role
allowed for the action; `current` re-reads that role by user id on every call. For approve and reject the promotion
policy narrows the roles further: only the roles it names for the target stage count
(governance.promotion passes them as `allowed_roles`).

    actor = auth.Identity(name="rita", role="reviewer", proven=True, user_id=7)
    permissions.require(actor, "rollback")   # PermissionDenied: needs ml_engineer or admin

The console and the notebook may hide a button; this module is the guard.

The operator (SPEC §4 Identity): the CLI acts as whoever can open the store's database, who could
change it anyway (as with psql). It acts as `identity.OPERATOR`, a proven admin with no user row,
named OPERATOR_NAME in the audit trail; no user may take that name (identity.add_user refuses it).
There is no flag that switches a check off: the operator passes the same checks as an admin.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput, PermissionDenied
from mlops_nb.store.models import User
from mlops_nb.store.models.identity import ROLES

if TYPE_CHECKING:  # auth imports this module to guard user management; the class is only named here
    from mlops_nb.services.identity.auth import Identity

OPERATOR_NAME = "operator (cli)"  # the audit actor of the CLI; a name no user may take

PROOF_HINT = "log in with a password or token (mlops.init(user=..., password=...) or MLOPS_TOKEN)"


@dataclass(frozen=True)
class Rule:
    """Who may do one action: any name at all, or only a proven identity with one of `roles`."""

    roles: tuple[str, ...]  # roles allowed when proven; a declared name has no role
    proof: bool  # True: only a proven identity with one of `roles`; False: any name at all
    what: str  # the action in words, for messages and the docs


DECIDERS = ("ml_engineer", "reviewer", "manager", "admin")  # may decide a request, when a policy names them
STEWARDS = ("ml_engineer", "admin")  # run production: roll back, set policies, cancel others' requests

MATRIX: dict[str, Rule] = {
    "track": Rule(ROLES, False, "track runs and log datasets"),
    "register": Rule(ROLES, False, "register a model version"),
    "request": Rule(ROLES, True, "request a promotion"),
    "view": Rule(ROLES, False, "read runs, models, requests, policies and the audit trail"),
    "cancel_own": Rule(ROLES, True, "cancel one's own pending request"),
    "cancel": Rule(STEWARDS, True, "cancel or supersede another user's request"),
    "approve": Rule(DECIDERS, True, "approve a promotion request"),
    "reject": Rule(DECIDERS, True, "reject a promotion request"),
    "rollback": Rule(STEWARDS, True, "roll back production"),
    "set_policy": Rule(STEWARDS, True, "set a promotion policy"),
    "trust_types": Rule(STEWARDS, True, "trust types for a model's files (code that runs where it is loaded)"),
    "set_monitoring": Rule(STEWARDS, True, "set alert rules and a model's retraining notebook (code that runs headless)"),
    "retrain": Rule(STEWARDS, True, "run a model's retraining notebook"),
    "acknowledge": Rule(ROLES, True, "acknowledge an alert"),
    "attest": Rule(DECIDERS, True, "attest an ML Test Score test done by hand, or withdraw an attestation"),
    "set_scorecard": Rule(STEWARDS, True, "set a project's scorecard thresholds and windows"),
    "manage_users": Rule(("admin",), True, "manage users (add, list, change roles, deactivate, set passwords, "
                                           "issue and revoke tokens)"),
}
ACTIONS = tuple(MATRIX)


def allowed(actor: Identity, action: str, *, allowed_roles: Iterable[str] | None = None) -> bool:
    """True when `actor` may do `action` (with `allowed_roles` narrowing the matrix's roles); for
    interfaces that hide what the services would refuse. Unknown actions raise InvalidInput."""
    try:
        require(actor, action, allowed_roles=allowed_roles)
    except PermissionDenied:
        return False
    return True


def require(actor: Identity, action: str, *, allowed_roles: Iterable[str] | None = None) -> None:
    """Raise PermissionDenied unless `actor` may do `action`.

    `allowed_roles` (e.g. the roles a policy names for production) replaces the matrix's roles for
    this call; it can never lift the need for proof.

    Raises:
        InvalidInput: `action` is not one of ACTIONS.
        PermissionDenied: the action needs proof and the actor is only declared, or its role is not allowed.
    """
    rule = MATRIX.get(action)
    if rule is None:
        raise InvalidInput(f"unknown action {action!r}; actions are {', '.join(ACTIONS)}")
    roles = tuple(allowed_roles) if allowed_roles is not None else rule.roles
    if not rule.proof:
        return
    needed = " or ".join(roles) if roles else "a role the policy names (it names none)"
    if not actor.proven or actor.role is None:
        raise PermissionDenied(
            f"user {actor.name!r} may not {rule.what} with a declared name: it needs the role {needed}; "
            f"{PROOF_HINT}")
    if actor.role not in roles:
        raise PermissionDenied(
            f"user {actor.name!r} ({actor.role}) may not {rule.what}: it needs the role {needed}")


def is_operator(actor: Identity) -> bool:
    """True for the CLI's operator identity (identity.OPERATOR): proven admin named OPERATOR_NAME."""
    return actor.proven and actor.role == "admin" and actor.name == OPERATOR_NAME


def current(*, session: Session, actor: Identity) -> Identity:
    """The actor as the store sees them now, read by user id: a role changed, a user renamed or
    deactivated since `init` counts. A deactivated or removed user, or a "proven" identity without
    a user id (no check made it), is only a declared name: no role, no proof.

    A declared (unproven) identity is returned unchanged: it has no role to lose; so is the operator,
    who has no user row.
    """
    if not actor.proven or is_operator(actor):
        return actor
    if actor.user_id is None:
        return dataclasses.replace(actor, role=None, proven=False)
    row = session.execute(select(col(User.name), col(User.role), col(User.active))
                          .where(col(User.id) == actor.user_id)).first()
    if row is None or not row.active:
        return dataclasses.replace(actor, role=None, proven=False, user_id=None)
    return dataclasses.replace(actor, name=row.name, role=row.role, proven=True)


def authorize(*, session: Session, actor: Identity, action: str) -> Identity:
    """The actor as the store sees them now (see `current`), once `require` let them do `action`.

    Services call this first: `actor = permissions.authorize(session=s, actor=actor, action="manage_users")`.

    Raises:
        InvalidInput: `action` is not one of ACTIONS.
        PermissionDenied: the action needs proof and the actor is only declared (or no longer active),
            or their current role is not allowed.
    """
    actor = current(session=session, actor=actor)
    require(actor, action)
    return actor
