"""Identity: who acts, proven by password or token, and what each role may do.

This package names what the domain offers, so callers write `from mlops_nb.services import
identity` and `identity.<function>(session=..., ...)`: auth holds users, passwords, tokens and
`identify` (the one place proof is made) and OPERATOR (the CLI's identity); permissions the matrix
every service checks; users the administration of users and tokens (list, role, deactivate, revoke);
login the one password check with its lockout, logins proven by an OIDC provider, and logout.
"""
from __future__ import annotations

from mlops_nb.services.identity.auth import (
    MAX_TOKEN_DAYS,
    MIN_PASSWORD,
    OPERATOR,
    ROLES,
    TOKEN_DAYS,
    TOKEN_PREFIX,
    Identity,
    add_user,
    check_role,
    get_user,
    hash_secret,
    identify,
    issue_token,
    set_password,
    token_days,
    user_for_token,
    verify_secret,
)
from mlops_nb.services.identity.login import (
    AccountLocked,
    external_names,
    log_in,
    log_in_external,
    log_out,
    prove_password,
    unlock_user,
)
from mlops_nb.services.identity.permissions import (
    ACTIONS,
    DECIDERS,
    MATRIX,
    OPERATOR_NAME,
    PROOF_HINT,
    STEWARDS,
    Rule,
    allowed,
    authorize,
    current,
    is_operator,
    require,
)
from mlops_nb.services.identity.results import TokenPublic, TokenTable, UserPublic, UserTable
from mlops_nb.services.identity.users import (
    activate_user,
    deactivate_user,
    list_tokens,
    list_users,
    revoke_token,
    set_role,
    token_prefix,
    user_public,
)

__all__ = [
    "ROLES",
    "AccountLocked",
    "ACTIONS",
    "DECIDERS",
    "Identity",
    "MATRIX",
    "MAX_TOKEN_DAYS",
    "MIN_PASSWORD",
    "OPERATOR",
    "OPERATOR_NAME",
    "PROOF_HINT",
    "Rule",
    "STEWARDS",
    "TOKEN_DAYS",
    "TOKEN_PREFIX",
    "TokenPublic",
    "TokenTable",
    "UserPublic",
    "UserTable",
    "activate_user",
    "add_user",
    "allowed",
    "authorize",
    "check_role",
    "current",
    "deactivate_user",
    "external_names",
    "get_user",
    "hash_secret",
    "identify",
    "is_operator",
    "issue_token",
    "list_tokens",
    "list_users",
    "log_in",
    "log_in_external",
    "log_out",
    "prove_password",
    "require",
    "revoke_token",
    "set_password",
    "set_role",
    "token_days",
    "token_prefix",
    "unlock_user",
    "user_for_token",
    "user_public",
    "verify_secret",
]
