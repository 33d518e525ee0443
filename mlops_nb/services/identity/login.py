"""Logins: `identify` (who acts), the one password check with its lockout, logins proven by an OIDC
provider, logout.

Rules that never bend:
- Every password proof goes through `prove_password`: `identify` (so `mlops.init(user=, password=)`)
  and the console's `log_in`. After `config.login_max_failures()` wrong passwords in a row
  (MLOPS_LOGIN_MAX_FAILURES, default 5) the user is locked for `config.login_lock_minutes()`
  (MLOPS_LOGIN_LOCK_MIN, default 15); a locked user is refused even with the right password, with a
  message naming until when (UTC). A success resets the count; a lock that has run out starts it
  again from zero.
- A refusal never says whether the name exists (an unknown name, a deactivated user, a user without
  a password and a wrong password read alike), except that a locked user is told so.
- Failures outlive the refusal. Callers open their session with `session_scope`, which rolls back
  when the refusal propagates, so when the caller's session has not begun a transaction (init and
  the console call this first) the check runs in a transaction of its own on the same engine,
  committed before the refusal is raised. A caller whose session is already in a transaction gets
  the check inside it (a second writer would wait on the first: SQLite serialises writers, and
  PostgreSQL would wait on rows the caller holds); the failure is then stored when that caller
  commits.
- Audited: `user.login` (console logins, `via` password or oidc), `user.login_failed` (with the count
  of failures in a row), `user.locked` (until when), `user.logout`, `user.unlock`. No event, message or
  log line carries a password. A name that matches no user is recorded only as a fingerprint
  (`name_fingerprint`) with actor "anonymous": people type their password into the name box.

Concurrency: the user's row is read FOR UPDATE (PostgreSQL; SQLite transactions are serialised by
BEGIN IMMEDIATE), so two wrong passwords at once count as two.

    who = log_in(session=s, name="rita", password="...")                     # console: audited user.login
    who = log_in_external(session=s, provider="google", claims={"email": "rita@bank.example"})
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb import config
from mlops_nb.services.errors import Conflict, InvalidInput, PermissionDenied
from mlops_nb.services.governance import audit
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity, get_user, hash_secret, user_for_token, verify_secret
from mlops_nb.services.identity.results import UserPublic
from mlops_nb.services.identity.users import user_public
from mlops_nb.services.values import user_key, user_name
from mlops_nb.store.models import User

ANONYMOUS = "anonymous"  # the audit actor of a failed login under a name that matches no user
WRONG = "wrong user name or password for {name!r}"


class AccountLocked(PermissionDenied):
    """A login refused because the user is locked after too many wrong passwords; `until` is when
    the lock ends (epoch seconds)."""

    def __init__(self, message: str, until: float) -> None:
        super().__init__(message)
        self.until = until


@dataclass(frozen=True)
class _Refusal:
    """Why a login was refused: the message, and the lock's end when the user is locked."""

    message: str
    until: float | None = None

    def error(self) -> PermissionDenied:
        if self.until is not None:
            return AccountLocked(self.message, self.until)
        return PermissionDenied(self.message)


def _utc(ts: float) -> str:
    """Epoch seconds as "2026-11-29 21:43 UTC"."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """An argon2 hash of nothing anyone knows, verified when there is no real hash to check, so an
    unknown name costs the same time as a known one (timing tells nothing either)."""
    return hash_secret("decoy: no user has this password")


def name_fingerprint(name: str) -> str:
    """The first 12 hex digits of the sha256 of a name's key: how a login under a name that matches no
    user is audited (the same name always gives the same fingerprint, and the text is not kept)."""
    return hashlib.sha256(user_key(name).encode()).hexdigest()[:12]


def _locked_message(user: User, until: float) -> str:
    return (f"user {user.name!r} is locked until {_utc(until)} after {user.failed_logins} wrong passwords in a "
            f"row; try again then, or ask an admin to unlock it")


def _attempt(session: Session, name: str, password: str, audit_success: bool) -> Identity | _Refusal:
    """Check `password` for `name` in `session`'s transaction and record the outcome there."""
    user: User | None = session.execute(
        select(User).where(col(User.name_key) == user_key(name)).with_for_update()
        .execution_options(populate_existing=True)).scalars().first()
    now = time.time()
    if user is None:
        verify_secret(_decoy_hash(), password)
        audit.record(session=session, actor=ANONYMOUS, action="user.login_failed", entity="user",
                     entity_id=name_fingerprint(name), after={"known": False, "name_fingerprint": name_fingerprint(name)})
        return _Refusal(WRONG.format(name=name))
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session=session, actor=user.name, action="user.login_failed", entity="user",
                     entity_id=user.name, after={"failures": user.failed_logins, "locked_until": user.locked_until})
        return _Refusal(_locked_message(user, user.locked_until), until=user.locked_until)
    if user.locked_until is not None:  # the lock ran out: the count starts again
        user.failed_logins, user.locked_until = 0, None
    ok = verify_secret(user.password_hash or _decoy_hash(), password) and user.password_hash is not None
    if ok and user.active:
        if user.failed_logins:
            user.failed_logins = 0
        session.add(user)
        session.flush()
        if audit_success:
            audit.record(session=session, actor=user.name, action="user.login", entity="user", entity_id=user.name,
                         after={"via": "password"})
        return Identity(name=user.name, role=user.role, proven=True, user_id=user.id)
    user.failed_logins += 1
    session.add(user)
    session.flush()
    audit.record(session=session, actor=user.name, action="user.login_failed", entity="user", entity_id=user.name,
                 after={"failures": user.failed_logins})
    if user.failed_logins < config.login_max_failures():
        return _Refusal(WRONG.format(name=name))
    minutes = config.login_lock_minutes()
    user.locked_until = now + minutes * 60
    session.add(user)
    session.flush()
    audit.record(session=session, actor=user.name, action="user.locked", entity="user", entity_id=user.name,
                 after={"failures": user.failed_logins, "locked_until": user.locked_until, "minutes": minutes})
    return _Refusal(_locked_message(user, user.locked_until), until=user.locked_until)


def prove_password(*, session: Session, name: str, password: str, audit_success: bool = False) -> Identity:
    """The proven Identity of user `name` when `password` is theirs, counting wrong passwords and
    locking the user after too many (see the module). With `audit_success` a success is audited as
    `user.login` (the console's logins; `init`'s are not).

    Raises:
        InvalidInput: `name` is not a valid user name (values.user_name); nothing is counted.
        AccountLocked: the user is locked (also with the right password); the message says until when.
        PermissionDenied: a wrong password, an unknown or deactivated user, or a user without a password.
    """
    name = user_name(name)
    if session.in_transaction():
        outcome = _attempt(session, name, password, audit_success)
    else:
        with Session(session.get_bind(), expire_on_commit=False) as own:
            outcome = _attempt(own, name, password, audit_success)
            own.commit()  # the failure and its events stay although the refusal propagates
    if isinstance(outcome, _Refusal):
        raise outcome.error()
    return outcome


def identify(*, session: Session, declared: str | None, fallback: str, password: str | None = None,
             token: str | None = None) -> Identity:
    """Who acts: a token names its user, a password proves the declared name (else `fallback`), and
    without either the name is only declared (no role, no id, not proven). A proven identity
    carries the stored user's name, role and id; a name is matched ignoring case and width. The one
    place proof is made (besides OIDC logins, `log_in_external`).

    >>> who = identify(session=s, declared="rita", fallback="rita", password="...")   # proven, role reviewer

    The password goes through `prove_password`: wrong ones are counted and lock the user after too
    many (recorded in a transaction of its own when `session` has not begun one, so the count
    survives the caller's rollback).

    Raises:
        PermissionDenied: a wrong token or password, or a token of another user than `declared`;
            AccountLocked (a PermissionDenied) while the user is locked.
        InvalidInput: the name is not a valid user name (values.user_name).
    """
    if token:
        user = user_for_token(session=session, token=token)
        if declared and user_key(declared) != user.name_key:
            raise PermissionDenied(f"the API token belongs to {user.name!r}, not {declared!r}")
        return Identity(name=user.name, role=user.role, proven=True, user_id=user.id)
    name = user_name(declared or fallback)
    if password is not None:
        return prove_password(session=session, name=name, password=password)
    return Identity(name=name)


def log_in(*, session: Session, name: str, password: str) -> Identity:
    """A console login: `prove_password`, with the success audited as `user.login` (via password).

    >>> who = log_in(session=s, name="rita", password="...")      # Identity(name="rita", role="reviewer", ...)

    Raises:
        InvalidInput: `name` is not a valid user name.
        AccountLocked: the user is locked; the message says until when.
        PermissionDenied: a wrong user name or password.
    """
    return prove_password(session=session, name=name, password=password, audit_success=True)


def external_names(claims: Mapping[str, Any]) -> list[str]:
    """The names an OIDC identity may go by in the store, in the order they are tried: its `email`
    (unless the provider says `email_verified` is false), then its `preferred_username`. Values
    that are not valid user names are left out.

    >>> external_names({"email": "rita@bank.example", "preferred_username": "rita"})
    ['rita@bank.example', 'rita']
    """
    found: list[str] = []
    candidates = []
    if claims.get("email_verified") is not False:
        candidates.append(claims.get("email"))
    candidates.append(claims.get("preferred_username"))
    for value in candidates:
        try:
            name = user_name(value)
        except InvalidInput:
            continue
        if user_key(name) not in {user_key(f) for f in found}:
            found.append(name)
    return found


def log_in_external(*, session: Session, provider: str, claims: Mapping[str, Any]) -> Identity:
    """A proven Identity for someone an OIDC provider authenticated: the first of `external_names`
    that names an active user of the store (matched ignoring case and width). Audited as
    `user.login` with via "oidc", the provider and the claim that matched. The password lockout does
    not apply (no password is guessed here; docs/console.md).

    >>> log_in_external(session=s, provider="google", claims={"email": "rita@bank.example", "email_verified": True})

    Raises:
        PermissionDenied: no claim names an active user (the message names what was tried).
    """
    names = external_names(claims)
    for name in names:
        user = session.execute(select(User).where(col(User.name_key) == user_key(name))).scalars().first()
        if user is not None and user.active:
            claim = "email" if claims.get("email") == name else "preferred_username"
            audit.record(session=session, actor=user.name, action="user.login", entity="user", entity_id=user.name,
                         after={"via": "oidc", "provider": provider, "claim": claim})
            return Identity(name=user.name, role=user.role, proven=True, user_id=user.id)
    tried = " or ".join(repr(n) for n in names) or "no email or preferred_username"
    raise PermissionDenied(f"your {provider} account ({tried}) matches no active user of this store; "
                           f"ask an admin to add you under that name")


def log_out(*, session: Session, actor: Identity, reason: str = "logout") -> None:
    """Record that `actor` ended their console session: `user.logout` with `reason` ("logout" for
    the button, "idle" when the session timed out)."""
    audit.record(session=session, actor=actor.name, action="user.logout", entity="user", entity_id=actor.name,
                 after={"reason": reason})


def unlock_user(*, session: Session, actor: Identity, name: str) -> UserPublic:
    """End user `name`'s login lock and forget their failed logins now; audited as `user.unlock`.

    Raises:
        PermissionDenied: `actor` is not a proven admin now (`manage_users`) nor the operator.
        NotFound: no such user.
        Conflict: the user is neither locked nor has failed logins.
    """
    actor = permissions.authorize(session=session, actor=actor, action="manage_users")
    user = get_user(session=session, name=name)
    if not user.failed_logins and user.locked_until is None:
        raise Conflict(f"user {user.name!r} is not locked and has no failed logins; nothing was changed")
    before = {"failures": user.failed_logins, "locked_until": user.locked_until}
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor.name, action="user.unlock", entity="user", entity_id=user.name,
                 before=before, after={"failures": 0, "locked_until": None})
    return user_public(session=session, user=user)
