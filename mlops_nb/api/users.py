"""User administration from the Python API: list users, add them, change roles, (de)activate,
set passwords, issue and revoke API tokens.

Each call acts as the context's identity and needs a proven admin (`mlops.init(user=..., password=...)`
or a token of an admin); the services check it on every call (re-reading the role from the store)
and audit every change with that admin's name. The CLI (`mlops user ...`) does the same as the
store's operator.
"""
from __future__ import annotations

from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.identity.auth import TOKEN_DAYS
from mlops_nb.services.identity.results import TokenPublic, TokenTable, UserPublic, UserTable
from mlops_nb.store.db import session_scope


def users() -> UserTable:
    """Every user: name, role, active, whether a password is set, usable tokens, when added.

    >>> mlops.init(project="credit", user="ada", password="...")   # a proven admin
    >>> mlops.users().to_frame()

    Raises:
        PermissionDenied: you are not a proven admin.
    """
    from mlops_nb.services import identity

    context = get_context()
    with session_scope(context.engine) as session:
        return present(identity.list_users(session=session, actor=context.actor()))


def add_user(name: str, *, role: str, password: str | None = None) -> UserPublic:
    """Add a user with `role` (one of data_scientist, ml_engineer, platform_engineer, reviewer,
    manager, admin); `password` (at least 8 characters) is stored only as an argon2 hash.
    Without a password the user proves who they are with a token (`mlops.issue_token`).

    >>> mlops.add_user("rita", role="reviewer", password=getpass.getpass())

    Raises:
        PermissionDenied: you are not a proven admin.
        InvalidInput: a bad or reserved name, an unknown role, or a password that is too short.
        Conflict: a user of that name exists.
    """
    from mlops_nb.services import identity

    context = get_context()
    with session_scope(context.engine) as session:
        user = identity.add_user(session=session, actor=context.actor(), name=name, role=role, password=password)
        return present(identity.user_public(session=session, user=user))


def set_role(name: str, role: str) -> UserPublic:
    """Give user `name` another role; sessions open as that user act with it from their next call.

    >>> mlops.set_role("rita", "manager")

    Raises:
        PermissionDenied: you are not a proven admin.
        InvalidInput: an unknown role.
        NotFound: no such user.
        Conflict: the user has that role already, or is the last active admin.
    """
    from mlops_nb.services import identity

    context = get_context()
    with session_scope(context.engine) as session:
        return present(identity.set_role(session=session, actor=context.actor(), name=name, role=role))


def deactivate_user(name: str) -> UserPublic:
    """Stop user `name` from proving who they are (password and tokens refused) until reactivated;
    nothing of theirs is deleted.

    >>> mlops.deactivate_user("rita")

    Raises:
        PermissionDenied: you are not a proven admin.
        NotFound: no such user.
        Conflict: the user is deactivated already, or is the last active admin.
    """
    from mlops_nb.services import identity

    context = get_context()
    with session_scope(context.engine) as session:
        return present(identity.deactivate_user(session=session, actor=context.actor(), name=name))


def activate_user(name: str) -> UserPublic:
    """Let a deactivated user prove who they are again.

    >>> mlops.activate_user("rita")

    Raises:
        PermissionDenied: you are not a proven admin.
        NotFound: no such user.
        Conflict: the user is active already.
    """
    from mlops_nb.services import identity

    context = get_context()
    with session_scope(context.engine) as session:
        return present(identity.activate_user(session=session, actor=context.actor(), name=name))


def set_password(name: str, password: str) -> UserPublic:
    """Replace user `name`'s password (at least 8 characters; stored as an argon2 hash).

    >>> mlops.set_password("rita", getpass.getpass())

    Raises:
        PermissionDenied: you are not a proven admin.
        InvalidInput: the password is too short.
        NotFound: no such user.
    """
    from mlops_nb.services import identity

    context = get_context()
    with session_scope(context.engine) as session:
        user = identity.set_password(session=session, actor=context.actor(), name=name, password=password)
        return present(identity.user_public(session=session, user=user))


def issue_token(name: str, *, expires_days: int = TOKEN_DAYS) -> str:
    """A new API token for user `name`, valid for `expires_days` days (1 to 3650; default 90). Only
    its hash is stored: keep the returned string, it is shown this once.

    >>> token = mlops.issue_token("rita", expires_days=30)   # then MLOPS_TOKEN=<token> in rita's shell

    Raises:
        PermissionDenied: you are not a proven admin.
        InvalidInput: `expires_days` is not a whole number from 1 to 3650.
        NotFound: no such user.
    """
    from mlops_nb.services import identity

    context = get_context()
    with session_scope(context.engine) as session:
        return identity.issue_token(session=session, actor=context.actor(), name=name, expires_days=expires_days)


def tokens(name: str) -> TokenTable:
    """User `name`'s API tokens, newest first: prefix, status (active, expired, revoked), issued, expires.

    >>> mlops.tokens("rita").to_frame()

    Raises:
        PermissionDenied: you are not a proven admin.
        NotFound: no such user.
    """
    from mlops_nb.services import identity

    context = get_context()
    with session_scope(context.engine) as session:
        return present(identity.list_tokens(session=session, actor=context.actor(), name=name))


def revoke_token(prefix: str) -> TokenPublic:
    """Revoke the API token with `prefix` ("1a2b3c4d" or "mlops_1a2b3c4d", as `mlops.tokens` lists it).

    >>> mlops.revoke_token("mlops_1a2b3c4d").status
    'revoked'

    Raises:
        PermissionDenied: you are not a proven admin.
        InvalidInput: `prefix` is not a token prefix.
        NotFound: no token has that prefix.
        Conflict: the token is revoked already.
    """
    from mlops_nb.services import identity

    context = get_context()
    with session_scope(context.engine) as session:
        return present(identity.revoke_token(session=session, actor=context.actor(), prefix=prefix))
