"""The login page: `Username` and `Password` in a form; the only page shown to nobody logged in."""
from __future__ import annotations

import streamlit as st

from mlops_nb.console import auth, data


def render() -> None:
    """The form; a successful login reruns the app into the role's pages, a failure says so."""
    st.title("mlops console")
    reason = st.session_state.pop("_mlops_logout_reason", None)
    if reason:
        st.info(reason)
    with st.form("login"):
        name = st.text_input("Username", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        try:
            identity = data.log_in(name, password)
        except data.LoginRefused as err:
            st.error(str(err))
            return
        auth.login(identity)
        st.rerun()


if __name__ == "__main__":
    render()
