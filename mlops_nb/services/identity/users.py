"""User administration: list users, change a role, deactivate and reactivate, list and revoke tokens.

SPEC §4 (Identity): user management needs `manage_users`, a proven admin (re-read from the store on
every call: a role changed or a user deactivated since `init` counts), or the CLI's OPERATOR. Every
change is audited with its actor (user.role, user.deactivate, user.activate, token.revoke); adding
users, setting passwords and issuing tokens live beside proof in identity.auth and are audited too.

Rules that never bend here:
- nothing is deleted: a deactivated user keeps their history and can be reactivated; while
  deactivated, their password and tokens prove nothing (identity.auth refuses them);
- a revoked token stays revoked; a new one is issued instead;
- an admin acting from the notebook or the console cannot demote or deactivate the last active
  admin (nobody could manage users there afterwards); the operator can, and can repair it.

    deactivate_user(session=s, actor=admin, name="rita")
    revoke_token(session=s, actor=OPERATOR, prefix="mlops_1a2b3c4d")
"""
from __future__ import annotations

import time

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session, col

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.services.governance import audit
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import TOKEN_PREFIX, Identity, check_role, get_user
from mlops_nb.services.identity.results import TokenPublic, TokenTable, UserPublic, UserTable
from mlops_nb.store.models import ApiToken, User


def _usable(now: float) -> ColumnElement[bool]:
    """The SQL condition of a token usable at `now`: not revoked, and no expiry or a later one."""
    return col(ApiToken.revoked).is_(False) & (col(ApiToken.expires_at).is_(None) | (col(ApiToken.expires_at) > now))


def user_public(*, session: Session, user: User) -> UserPublic:
    """The read model of one user row (with the count of their usable tokens)."""
    count = session.execute(select(func.count()).select_from(ApiToken).where(
        col(ApiToken.user_id) == user.id, _usable(time.time()))).scalar_one()
    return UserPublic(name=user.name, role=user.role, active=user.active, password=user.password_hash is not None,
                      tokens=int(count), created_at=user.created_at,
                      locked_until=_locked_until(user, time.time()))


def list_users(*, session: Session, actor: Identity) -> UserTable:
    """Every user by name: role, active, whether a password is set, usable tokens, when added, and
    until when their login is locked.

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
    """
    permissions.authorize(session=session, actor=actor, action="manage_users")
    counts: dict[int, int] = dict(session.execute(select(col(ApiToken.user_id), func.count()).where(_usable(time.time()))
                                  .group_by(col(ApiToken.user_id))).all())
    rows = session.execute(select(User).order_by(col(User.name))).scalars().all()
    now = time.time()
    return UserTable(users=[UserPublic(name=u.name, role=u.role, active=u.active, password=u.password_hash is not None,
                                       tokens=int(counts.get(u.id, 0)), created_at=u.created_at,
                                       locked_until=_locked_until(u, now)) for u in rows])


def _locked_until(user: User, now: float) -> float | None:
    """When `user`'s login lock ends, or None when they are not locked now (services.identity.login)."""
    return user.locked_until if user.locked_until is not None and user.locked_until > now else None


def _check_not_last_admin(session: Session, actor: Identity, user: User, change: str) -> None:
    """Conflict when an admin other than the operator would leave no active admin behind."""
    if permissions.is_operator(actor) or user.role != "admin" or not user.active:
        return
    admins = session.execute(select(func.count()).select_from(User).where(
        col(User.role) == "admin", col(User.active).is_(True))).scalar_one()
    if admins <= 1:
        raise Conflict(f"user {user.name!r} is the last active admin; {change} would leave nobody to manage users "
                       "here. Add another admin first, or do it as the operator with the `mlops user` CLI")


def set_role(*, session: Session, actor: Identity, name: str, role: str) -> UserPublic:
    """Give user `name` the role `role`; audited as `user.role` with the role before and after. A
    session already open as that user acts with the new role from its next call.

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
        InvalidInput: `role` is not one of ROLES.
        NotFound: no such user.
        Conflict: the user has that role already, or is the last active admin (see the module).
    """
    actor = permissions.authorize(session=session, actor=actor, action="manage_users")
    check_role(role)
    user = get_user(session=session, name=name)
    if user.role == role:
        raise Conflict(f"user {name!r} has the role {role} already; nothing was changed")
    if role != "admin":
        _check_not_last_admin(session, actor, user, f"making them {role}")
    before = user.role
    user.role = role
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor.name, action="user.role", entity="user", entity_id=user.name,
                 before={"role": before}, after={"role": role})
    return user_public(session=session, user=user)


def _set_active(session: Session, actor: Identity, name: str, active: bool) -> UserPublic:
    """Deactivate or reactivate user `name`, audited as user.deactivate or user.activate."""
    actor = permissions.authorize(session=session, actor=actor, action="manage_users")
    user = get_user(session=session, name=name)
    if user.active == active:
        state = "active" if active else "deactivated"
        raise Conflict(f"user {name!r} is {state} already; nothing was changed")
    if not active:
        _check_not_last_admin(session, actor, user, "deactivating them")
    user.active = active
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor.name, action="user.activate" if active else "user.deactivate",
                 entity="user", entity_id=user.name, before={"active": not active}, after={"active": active})
    return user_public(session=session, user=user)


def deactivate_user(*, session: Session, actor: Identity, name: str) -> UserPublic:
    """Stop user `name` from proving who they are: their password and tokens are refused (also in
    sessions already open, from their next call) until reactivated; nothing of theirs is deleted.

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
        NotFound: no such user.
        Conflict: the user is deactivated already, or is the last active admin (see the module).
    """
    return _set_active(session, actor, name, False)


def activate_user(*, session: Session, actor: Identity, name: str) -> UserPublic:
    """Let a deactivated user `name` prove who they are again (password and unexpired, unrevoked tokens).

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
        NotFound: no such user.
        Conflict: the user is active already.
    """
    return _set_active(session, actor, name, True)


def _token_public(row: ApiToken, user: str, now: float) -> TokenPublic:
    status = "revoked" if row.revoked else (
        "expired" if row.expires_at is not None and row.expires_at <= now else "active")
    return TokenPublic(user=user, prefix=row.prefix, status=status, created_at=row.created_at,
                       expires_at=row.expires_at)


def list_tokens(*, session: Session, actor: Identity, name: str) -> TokenTable:
    """User `name`'s API tokens, newest first: prefix, status (active, expired, revoked), issued, expires.

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
        NotFound: no such user.
    """
    permissions.authorize(session=session, actor=actor, action="manage_users")
    user = get_user(session=session, name=name)
    rows = session.execute(select(ApiToken).where(col(ApiToken.user_id) == user.id)
                           .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())).scalars().all()
    now = time.time()
    return TokenTable(tokens=[_token_public(r, user.name, now) for r in rows], title=f"API tokens of {user.name}")


def token_prefix(value: str) -> str:
    """The prefix of a token given as "1a2b3c4d", "mlops_1a2b3c4d" or the whole token.

    Raises:
        InvalidInput: `value` is none of these.
    """
    parts = value.strip().split("_", 2) if isinstance(value, str) else []
    prefix = parts[1] if len(parts) >= 2 and parts[0] == TOKEN_PREFIX else (parts[0] if len(parts) == 1 else "")
    if len(prefix) != 8 or any(c not in "0123456789abcdef" for c in prefix):
        raise InvalidInput(f"{value!r} is not a token prefix; give the 8 hex characters after 'mlops_', as "
                           "`mlops user tokens NAME` lists them")
    return prefix


def revoke_token(*, session: Session, actor: Identity, prefix: str) -> TokenPublic:
    """Revoke the API token whose prefix is `prefix` ("1a2b3c4d" or "mlops_1a2b3c4d"); audited as
    `token.revoke`. Every `init` with it is refused from then on; a session that logged in with it
    before keeps its proof until it calls `init` again (proof is made at `init`): deactivate the
    user to stop such a session at once (the services re-read the user on every call).

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
        InvalidInput: `prefix` is not a token prefix.
        NotFound: no token has that prefix.
        Conflict: the token is revoked already, or the prefix names tokens of several users.
    """
    actor = permissions.authorize(session=session, actor=actor, action="manage_users")
    wanted = token_prefix(prefix)
    rows = session.execute(select(ApiToken, col(User.name)).join(User, col(User.id) == col(ApiToken.user_id))
                           .where(col(ApiToken.prefix) == wanted)).all()
    if not rows:
        raise NotFound(f"no API token has the prefix {wanted!r}; `mlops user tokens NAME` lists a user's tokens")
    live = [(row, owner) for row, owner in rows if not row.revoked]
    if not live:
        raise Conflict(f"the API token {TOKEN_PREFIX}_{wanted} is revoked already; nothing was changed")
    if len(live) > 1:  # 8 random hex characters: two tokens share them only by rare chance
        raise Conflict(f"the prefix {wanted!r} names {len(live)} tokens (of {', '.join(sorted({o for _, o in live}))}), "
                       "which only a store written by hand can hold; nothing was changed")
    row, owner = live[0]
    row.revoked = True
    session.add(row)
    session.flush()
    audit.record(session=session, actor=actor.name, action="token.revoke", entity="user", entity_id=owner,
                 before={"prefix": wanted, "revoked": False}, after={"prefix": wanted, "revoked": True})
    return _token_public(row, owner, time.time())
