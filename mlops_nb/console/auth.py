"""The login kept in the Streamlit session: who is logged in, since when, and the idle limit.

Logging in is the proof SPEC §4 asks of deciding roles: the login page checks the password with the
identity service (argon2 hashes from the store, the lockout of services.identity.login) or takes an
identity an OIDC provider proved (`st.login`, when `.streamlit/secrets.toml` has an [auth] section),
and `login` keeps the `Identity` the service returned. Nothing a page or a widget sets in
`st.session_state` can make one: only `login` stores it, as an instance of a private class under a
key no widget uses, and anything else found there is thrown away. On every rerun the user is
re-read by id (cached until the store changes), so a role changed by an admin shows in the
navigation and a deactivated user is logged out; the services re-read the role on every call anyway.
A session idle for longer than `MLOPS_CONSOLE_IDLE_MIN` minutes (default 30) ends; `Log out` ends
it at once. Both are audited as `user.logout` with the logged-in user as actor.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from mlops_nb.console.ui import plain
from mlops_nb.services.identity import Identity

__all__ = ["current_identity", "idle_limit_s", "login", "logout", "oidc_providers", "plain"]

_KEY = "_mlops_login"  # a _Login; written here only
REASON_KEY = "_mlops_logout_reason"  # what the login page says after a logout
REASONS = {
    "logout": "You logged out.",
    "idle": "Your session ended after {minutes:g} minutes without activity; log in again.",
    "inactive": "Your account is no longer active here; ask an admin.",
}


@dataclass
class _Login:
    """The session's login: the proven identity, how it was proven, when, and the last activity."""

    identity: Identity
    via: str  # "password" or "oidc"
    since: float
    seen: float


def idle_limit_s() -> float:
    """`MLOPS_CONSOLE_IDLE_MIN` in seconds (default 30 minutes; a bad value keeps the default)."""
    from mlops_nb import config

    return config.console_idle_minutes() * 60


def current_identity() -> Identity | None:
    """The logged-in identity as the store sees it now, or None when nobody is logged in, the session
    was idle too long, or the user was deactivated (then the login page says why). Every call
    counts as activity."""
    from mlops_nb.console import data

    entry = st.session_state.get(_KEY)
    if not isinstance(entry, _Login):
        if entry is not None:
            del st.session_state[_KEY]  # not made by `login`: never trusted
        return None
    now = time.time()
    if now - entry.seen > idle_limit_s():
        logout(reason="idle")
        return None
    fresh: Identity | None = data.current_user(entry.identity)
    if fresh is None:
        logout(reason="inactive")
        return None
    entry.identity, entry.seen = fresh, now
    return fresh


def login(identity: Identity, *, via: str = "password") -> None:
    """Keep a proven identity (made by the identity service) as the session's login."""
    if not identity.proven or identity.user_id is None:
        raise ValueError("only a proven identity can log in")
    now = time.time()
    st.session_state[_KEY] = _Login(identity=identity, via=via, since=now, seen=now)


def logout(reason: str = "logout") -> None:
    """End the login, audited as `user.logout` with `reason` ("logout", "idle" or "inactive"); the
    next rerun shows the login page saying why. A login an OIDC provider proved also ends there
    (`st.logout`), so the provider's cookie does not log the session straight back in."""
    from mlops_nb.console import data

    entry = st.session_state.pop(_KEY, None)
    st.session_state[REASON_KEY] = REASONS.get(reason, REASONS["logout"]).format(minutes=idle_limit_s() / 60)
    if not isinstance(entry, _Login):
        return
    data.log_out(entry.identity, reason)
    if entry.via == "oidc" and st.user.get("is_logged_in"):
        st.logout()


def oidc_providers() -> dict[str, str]:
    """The OIDC providers `.streamlit/secrets.toml` configures for `st.login`, {provider: label}:
    each [auth.NAME] section ("okta" -> "Okta"), and "default" when [auth] itself holds a client_id
    (labelled by its server's host). Empty when there is no [auth] section."""
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - an unreadable secrets file means: no OIDC
        return {}
    if not isinstance(section, Mapping):
        return {}
    found = {name: name.replace("-", " ").title() for name, value in section.items() if isinstance(value, Mapping)}
    if "client_id" in section:
        from urllib.parse import urlsplit

        found["default"] = urlsplit(str(section.get("server_metadata_url", ""))).hostname or "single sign-on"
    return found


def oidc_claims() -> dict[str, Any] | None:
    """The claims of the identity an OIDC provider proved in this browser (`st.user`), or None."""
    if not st.user.get("is_logged_in"):
        return None
    return {key: value for key, value in st.user.to_dict().items() if key != "tokens"}
