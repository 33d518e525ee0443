"""Identity: who acts, proven by password or token, and what each role may do.

This package names what the domain offers, so callers write `from mlops_nb.services import
identity` and `identity.<function>(session=..., ...)`: auth holds users, passwords, tokens and
`identify` (the one place proof is made); permissions the matrix every service checks.
"""
from __future__ import annotations

from mlops_nb.services.identity.auth import (
    MIN_PASSWORD,
    ROLES,
    TOKEN_PREFIX,
    Identity,
    add_user,
    check_role,
    get_user,
    hash_secret,
    identify,
    issue_token,
    set_password,
    user_for_token,
    verify_secret,
)
from mlops_nb.services.identity.permissions import (
    ACTIONS,
    DECIDERS,
    MATRIX,
    PROOF_HINT,
    STEWARDS,
    Rule,
    allowed,
    current,
    require,
)

__all__ = [
    "ROLES",
    "ACTIONS",
    "DECIDERS",
    "Identity",
    "MATRIX",
    "MIN_PASSWORD",
    "PROOF_HINT",
    "Rule",
    "STEWARDS",
    "TOKEN_PREFIX",
    "add_user",
    "allowed",
    "check_role",
    "current",
    "get_user",
    "hash_secret",
    "identify",
    "issue_token",
    "require",
    "set_password",
    "user_for_token",
    "verify_secret",
]
