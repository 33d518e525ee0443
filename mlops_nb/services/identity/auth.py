"""Users, roles and proof of identity: argon2-hashed passwords and API tokens.

SPEC §4 (Identity): a declared name may track and register. Requesting promotion and deciding
(approve, reject, rollback, policies, users) need a proven identity: `identify` (identity.login)
checks the password or token, and services re-read the proven user's role by id on every call
(identity.permissions). Only a successful check creates proof: an Identity with `proven=True` and
the user's id is made in identity.login and nowhere else, besides OPERATOR, the CLI's identity
(SPEC §4: the operator holds the database anyway). Users are matched by their name's key (services.values.user_key: NFKC,
case-folded), so "Rita", "rita" and "ＲＩＴＡ" are one user; a stored name keeps its case.
Passwords and tokens are stored only as argon2 hashes; a token is shown once, when issued, and
expires (TOKEN_DAYS by default). Adding users, setting passwords and issuing tokens need
`manage_users` (a proven admin, or OPERATOR) and are audited (user.add, user.password, token.issue).

    token = issue_token(session=s, actor=OPERATOR, name="rita")     # "mlops_<prefix>_<secret>"
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.governance import audit
from mlops_nb.services.identity import permissions
from mlops_nb.services.values import user_key, user_name
from mlops_nb.store.models import ApiToken, User
from mlops_nb.store.models.identity import ROLES as ROLES  # re-exported: identity.ROLES

TOKEN_PREFIX = "mlops"  # tokens read "mlops_<8 hex>_<secret>"
MIN_PASSWORD = 8  # characters
TOKEN_DAYS = 90  # a new token's lifetime unless the issuer says otherwise
MAX_TOKEN_DAYS = 3650  # ten years: the longest lifetime a token may be given
DAY = 86_400.0  # seconds


@dataclass(frozen=True)
class Identity:
    """Who acts: `role` and `user_id` (the user's row id, what four eyes compares) are set only when
    `proven` (a claimed role grants nothing; permissions.current re-reads both by id)."""

    name: str
    role: str | None = None
    proven: bool = False
    user_id: int | None = None


# The CLI's identity: the store's operator, a proven admin with no user row (SPEC §4 Identity).
# permissions.current takes it as it is; audit events name it OPERATOR_NAME.
OPERATOR = Identity(name=permissions.OPERATOR_NAME, role="admin", proven=True)


def _hasher() -> Any:
    """argon2's PasswordHasher with its default parameters (imported on first use)."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_secret(secret: str) -> str:
    """The argon2 hash of a password or token secret (a "$argon2id$..." string): what the store keeps."""
    hashed: str = _hasher().hash(secret)
    return hashed


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when `secret` matches the argon2 hash `stored_hash`; False for no hash or a malformed one."""
    if not stored_hash:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_hasher().verify(stored_hash, secret))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_role(role: str) -> str:
    """`role`, when it is one of ROLES (store.models.identity); InvalidInput otherwise."""
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def _find_user(session: Session, name: str) -> User | None:
    """The user whose name has the key of `name` ("RITA" finds "Rita"), or None.

    Raises:
        InvalidInput: `name` is not a valid user name (values.user_name).
    """
    user: User | None = session.execute(select(User).where(col(User.name_key) == user_key(name))).scalars().first()
    return user


def _check_password(name: str, password: str) -> None:
    """Nothing when `password` is long enough; InvalidInput otherwise."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password for {name!r} is too short; use at least {MIN_PASSWORD} characters")


def get_user(*, session: Session, name: str) -> User:
    """The user named `name`, matched ignoring case and width ("RITA" finds "Rita").

    Raises:
        InvalidInput: `name` is not a valid user name.
        NotFound: no such user (the message says how to add one).
    """
    user = _find_user(session, name)
    if user is None:
        raise NotFound(f"user {name!r} does not exist; add it with `mlops user add {name} --role ROLE`")
    return user


def _check_not_reserved(name: str) -> None:
    """Nothing, unless `name` spells the operator's audit name (in any case or Unicode form)."""
    if user_key(name.strip()) == permissions.OPERATOR_NAME:
        raise InvalidInput(f"user name {name!r} is reserved: audit events name the CLI's operator so")


def token_days(expires_days: object) -> int:
    """`expires_days` when it is a whole number of days from 1 to MAX_TOKEN_DAYS; InvalidInput otherwise."""
    if isinstance(expires_days, bool) or not isinstance(expires_days, int) or not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"a token's lifetime must be a whole number of days from 1 to {MAX_TOKEN_DAYS}, "
                           f"got {expires_days!r}")
    return expires_days


def add_user(*, session: Session, actor: Identity, name: str, role: str, password: str | None = None) -> User:
    """Create a user with `role`; the password (if any) is stored only as an argon2 hash. Audited as
    `user.add` by `actor` (name and role; never the password).

    >>> add_user(session=s, actor=OPERATOR, name="rita", role="reviewer", password="rita-secret-1")

    The name is stored in NFKC form with its case; its key (case-folded) must be new, so "rita"
    after "Rita" is a Conflict.

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
        InvalidInput: a bad name (values.user_name: surrounding spaces, control characters, ...), a
            reserved name or a bad role, or a password shorter than MIN_PASSWORD characters.
        Conflict: a user of that name exists, in any case or width.
    """
    actor = permissions.authorize(session=session, actor=actor, action="manage_users")
    _check_not_reserved(name)
    name = user_name(name)
    check_role(role)
    if password is not None:
        _check_password(name, password)
    existing = _find_user(session, name)
    if existing is not None:
        same = "" if existing.name == name else f" as {existing.name!r} (names are matched ignoring case and width)"
        raise Conflict(f"user {name!r} already exists{same}")
    user = User(name=name, name_key=user_key(name), role=role,
                password_hash=hash_secret(password) if password else None, created_at=time.time())
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor.name, action="user.add", entity="user", entity_id=user.name,
                 after={"name": user.name, "role": user.role, "password": password is not None})
    return user


def set_password(*, session: Session, actor: Identity, name: str, password: str) -> User:
    """Replace user `name`'s password (stored as an argon2 hash); audited as `user.password`.

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
        InvalidInput: the password is shorter than MIN_PASSWORD characters.
        NotFound: no such user.
    """
    actor = permissions.authorize(session=session, actor=actor, action="manage_users")
    _check_password(name, password)
    user = get_user(session=session, name=name)
    had = user.password_hash is not None
    user.password_hash = hash_secret(password)
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor.name, action="user.password", entity="user", entity_id=user.name,
                 before={"password": had}, after={"password": True})
    return user


def issue_token(*, session: Session, actor: Identity, name: str, expires_days: int = TOKEN_DAYS) -> str:
    """A new API token for user `name` ("mlops_<8 hex>_<secret>"), valid for `expires_days` days;
    only its hash is stored, so it is shown this once. Audited as `token.issue` (prefix and expiry).

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
        InvalidInput: `expires_days` is not a whole number from 1 to MAX_TOKEN_DAYS.
        NotFound: no such user.
    """
    actor = permissions.authorize(session=session, actor=actor, action="manage_users")
    days = token_days(expires_days)
    user = get_user(session=session, name=name)
    prefix = secrets.token_hex(4)
    while session.execute(select(col(ApiToken.id)).where(col(ApiToken.prefix) == prefix)).first() is not None:
        prefix = secrets.token_hex(4)  # a prefix names one token, so `mlops user revoke PREFIX` is unambiguous
    secret = secrets.token_urlsafe(32)
    now = time.time()
    expires_at = now + days * DAY
    assert user.id is not None  # a stored row has its id
    session.add(ApiToken(user_id=user.id, prefix=prefix, token_hash=hash_secret(secret), created_at=now,
                         expires_at=expires_at))
    session.flush()
    audit.record(session=session, actor=actor.name, action="token.issue", entity="user", entity_id=user.name,
                 after={"prefix": prefix, "expires_at": expires_at, "expires_days": days})
    return f"{TOKEN_PREFIX}_{prefix}_{secret}"


def _utc(ts: float) -> str:
    """Epoch seconds as "2026-11-29 21:43 UTC"."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def user_for_token(*, session: Session, token: str) -> User:
    """The active user an API token belongs to, while the token is neither revoked nor expired.

    A token that matches but can no longer be used says why (revoked, expired, user deactivated) and
    how to get a new one; a wrong token says only that it is not valid.

    Raises:
        PermissionDenied: the token is malformed, wrong, revoked, expired, or of a removed or
            deactivated user.
    """
    parts = token.split("_", 2) if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise PermissionDenied("the API token is malformed; get a new one with `mlops user token NAME`")
    rows = session.execute(select(ApiToken).where(col(ApiToken.prefix) == parts[1])).scalars().all()
    for row in rows:
        if not verify_secret(row.token_hash, parts[2]):
            continue
        owner = session.get(User, row.user_id)
        name = owner.name if owner is not None else "NAME"
        renew = f"ask an admin for a new one (`mlops user token {name}`)"
        if row.revoked:
            raise PermissionDenied(f"the API token {TOKEN_PREFIX}_{row.prefix}_… was revoked; {renew}")
        if row.expires_at is not None and row.expires_at <= time.time():
            raise PermissionDenied(f"the API token {TOKEN_PREFIX}_{row.prefix}_… expired on {_utc(row.expires_at)}; "
                                   f"{renew}")
        if owner is None or not owner.active:
            raise PermissionDenied(f"the API token {TOKEN_PREFIX}_{row.prefix}_… belongs to a user who is "
                                   f"deactivated or removed; an admin can reactivate them "
                                   f"(`mlops user activate {name}`)")
        return owner
    raise PermissionDenied("the API token is not valid (wrong, revoked or of a removed user)")
