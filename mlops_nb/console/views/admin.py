"""The Admin page: users and roles (admins), promotion policies per model (ml_engineers and admins).

Each role sees only its sections, read from the store on every rerun (a role changed since the
login counts); the services are the guard, so a section shown by mistake still refuses. Every
action passes the logged-in identity as actor, so the audit trail names who did it. Actions run in
button callbacks, before the page draws, so the tables below them show the change at once; what an
action says (done, refused, a new token) is kept in `st.session_state` only until the page has
shown it once.
"""
from __future__ import annotations

import streamlit as st

from mlops_nb.console import auth
from mlops_nb.console.admin import flash
from mlops_nb.console.admin.policies import policies_section
from mlops_nb.console.admin.users import users_section


def render() -> None:
    """The sections the logged-in user's current role may use."""
    st.title("Admin")
    who = auth.current_identity()
    if who is None:  # the navigation shows this page only after a login
        return
    notes = flash.take()
    now = who  # auth.current_identity re-reads the role by id on every rerun (data.current_user)
    if now.role == "admin":
        users_tab, policies_tab = st.tabs(["Users and roles", "Promotion policies"])
        with users_tab:
            users_section(who, now, notes)
        with policies_tab:
            policies_section(who, notes)
    elif now.role == "ml_engineer":
        st.subheader("Promotion policies")
        policies_section(who, notes)
    else:
        st.info("Your role has nothing to manage here: admins manage users, ml_engineers and admins set "
                "promotion policies. Ask an admin if your role should change.")


if __name__ == "__main__":
    render()
