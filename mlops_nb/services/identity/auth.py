"""Users, roles and proof of identity: argon2-hashed passwords and API tokens.

A declared name may track, register and request promotion. Deciding (approve, reject, rollback,
policies, users) needs a proven identity: `identify` checks the password or token once, at init,
and services check the proven role on every call (see services.permissions).
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.values import check_name
from mlops_nb.store.models import ApiToken, User
from mlops_nb.store.models.identity import ROLES

TOKEN_PREFIX = "mlops"
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Identity:
    """Who acts: `role` is set only when `proven` (a claimed role grants nothing)."""

    name: str
    role: str | None = None
    proven: bool = False


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher().hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    if not stored_hash:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return _hasher().verify(stored_hash, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def _find_user(session: Session, name: str) -> User | None:
    """The user row named exactly `name`, or None."""
    user: User | None = session.execute(select(User).where(col(User.name) == name)).scalars().first()
    return user


def _check_password(name: str, password: str) -> None:
    """Nothing when `password` is long enough; InvalidInput otherwise."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password for {name!r} is too short; use at least {MIN_PASSWORD} characters")


def get_user(*, session: Session, name: str) -> User:
    user = _find_user(session, name)
    if user is None:
        raise NotFound(f"user {name!r} does not exist; add it with `mlops user add {name} --role ROLE`")
    return user


def add_user(*, session: Session, name: str, role: str, password: str | None = None) -> User:
    """Create a user; the password (if any) is stored only as an argon2 hash."""
    check_name(name, "user name")
    check_role(role)
    if password is not None:
        _check_password(name, password)
    if _find_user(session, name) is not None:
        raise Conflict(f"user {name!r} already exists")
    user = User(name=name, role=role, password_hash=hash_secret(password) if password else None,
                created_at=time.time())
    session.add(user)
    session.flush()
    return user


def set_password(*, session: Session, name: str, password: str) -> User:
    _check_password(name, password)
    user = get_user(session=session, name=name)
    user.password_hash = hash_secret(password)
    session.add(user)
    session.flush()
    return user


def issue_token(*, session: Session, name: str) -> str:
    """A new API token for `name`; only its hash is stored, so it is shown this once."""
    user = get_user(session=session, name=name)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, prefix=prefix, token_hash=hash_secret(secret), created_at=time.time()))
    session.flush()
    return f"{TOKEN_PREFIX}_{prefix}_{secret}"


def user_for_token(*, session: Session, token: str) -> User:
    parts = token.split("_", 2) if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise PermissionDenied("the API token is malformed; get a new one with `mlops user token NAME`")
    rows = session.execute(select(ApiToken).where(ApiToken.prefix == parts[1], ApiToken.revoked.is_(False))).scalars().all()
    for row in rows:
        if verify_secret(row.token_hash, parts[2]):
            user = session.get(User, row.user_id)
            if user is not None and user.active:
                return user
    raise PermissionDenied("the API token is not valid (wrong, revoked or of a removed user)")


def identify(*, session: Session, declared: str | None, fallback: str, password: str | None = None,
             token: str | None = None) -> Identity:
    """Who acts: a token names its user, a password proves the declared one, else a declared name."""
    if token:
        user = user_for_token(session=session, token=token)
        if declared and declared != user.name:
            raise PermissionDenied(f"the API token belongs to {user.name!r}, not {declared!r}")
        return Identity(name=user.name, role=user.role, proven=True)
    name = check_name(declared or fallback, "user name")
    if password is not None:
        user = _find_user(session, name)
        if user is None or not user.active or not verify_secret(user.password_hash, password):
            raise PermissionDenied(f"wrong user name or password for {name!r}")
        return Identity(name=user.name, role=user.role, proven=True)
    return Identity(name=name)
