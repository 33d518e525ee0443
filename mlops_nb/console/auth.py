"""The login kept in the Streamlit session: who is logged in, since when, and the idle limit.

Logging in is the proof SPEC §4 asks of deciding roles: `login` checks the password with the
identity service (argon2 hashes from the store) and keeps the `Identity` it returns. Nothing a page
sets in `st.session_state` can make one: only `login` stores it, under a key pages do not write.
A session idle for longer than `MLOPS_CONSOLE_IDLE_MIN` minutes (default 30) ends; `Log out` ends
it at once. Each service call re-reads the user's role and active flag by id, so a role changed or
a user deactivated by an admin takes effect on the next click.
"""
from __future__ import annotations

import os
import time

import streamlit as st

from mlops_nb.console.ui import plain
from mlops_nb.services.identity import Identity

__all__ = ["current_identity", "idle_limit_s", "login", "logout", "plain"]

_KEY = "_mlops_login"  # {"identity": Identity, "since": float, "seen": float}
DEFAULT_IDLE_MIN = 30.0


def idle_limit_s() -> float:
    """`MLOPS_CONSOLE_IDLE_MIN` in seconds (default 30 minutes); a bad value falls back to the default."""
    raw = os.environ.get("MLOPS_CONSOLE_IDLE_MIN", "")
    try:
        minutes = float(raw) if raw else DEFAULT_IDLE_MIN
    except ValueError:
        minutes = DEFAULT_IDLE_MIN
    return max(minutes, 0.1) * 60


def current_identity() -> Identity | None:
    """The logged-in identity, or None when nobody is logged in or the session was idle too long
    (then the login page says so). Every call counts as activity."""
    entry = st.session_state.get(_KEY)
    if not entry:
        return None
    now = time.time()
    if now - entry["seen"] > idle_limit_s():
        logout(reason="Your session ended after being idle; log in again.")
        return None
    entry["seen"] = now
    identity: Identity = entry["identity"]
    return identity


def login(identity: Identity) -> None:
    """Keep a proven identity (made by the identity service) as the session's login."""
    if not identity.proven or identity.user_id is None:
        raise ValueError("only a proven identity can log in")
    now = time.time()
    st.session_state[_KEY] = {"identity": identity, "since": now, "seen": now}


def logout(reason: str = "") -> None:
    """End the login; the next rerun shows the login page (with `reason`, when given)."""
    st.session_state.pop(_KEY, None)
    if reason:
        st.session_state["_mlops_logout_reason"] = reason
