"""The login page: `Username` and `Password` in a form, and "Log in with <provider>" when an OIDC
provider is configured; the only page shown to nobody logged in.

The password is read in the form's callback and its widget is emptied there, so it never stays in
`st.session_state` nor goes back to the browser; it is never shown, logged or audited.
"""
from __future__ import annotations

import streamlit as st

from mlops_nb.console import auth, data, ui

NAME_KEY, PASSWORD_KEY = "login_username", "login_password"
_ERROR_KEY = "login.error"  # the refusal of the last attempt, shown once


def _submit() -> None:
    """The form's callback: check the password, then forget it whatever the outcome."""
    name = str(st.session_state.get(NAME_KEY) or "")
    password = str(st.session_state.get(PASSWORD_KEY) or "")
    st.session_state[PASSWORD_KEY] = ""
    try:
        identity = data.log_in(name, password)
    except data.LoginRefused as err:
        st.session_state[_ERROR_KEY] = str(err)
        return
    st.session_state[NAME_KEY] = ""
    auth.login(identity, via="password")


def _oidc(providers: dict[str, str]) -> None:
    """Log in whom the provider proved (st.user), else offer one button per provider."""
    claims = auth.oidc_claims()
    if claims is not None:
        try:
            identity = data.log_in_external(claims)
        except data.LoginRefused as err:
            st.error(ui.plain(err))
            if st.button("Log out of the identity provider", key="login.oidc_logout"):
                st.logout()
            return
        auth.login(identity, via="oidc")
        st.rerun()
    for provider, label in providers.items():
        if st.button(f"Log in with {label}", key=f"login.oidc.{provider}"):
            st.login(None if provider == "default" else provider)


def render() -> None:
    """The form; a successful login reruns the app into the role's pages, a refusal says why."""
    st.title("mlops console")
    reason = st.session_state.pop(auth.REASON_KEY, None)
    if reason:
        st.info(reason)
    with st.form("login"):
        st.text_input("Username", key=NAME_KEY, autocomplete="username")
        st.text_input("Password", type="password", key=PASSWORD_KEY, autocomplete="current-password")
        st.form_submit_button("Log in", on_click=_submit)
    error = st.session_state.pop(_ERROR_KEY, None)
    if error:
        st.error(ui.plain(error))
    providers = auth.oidc_providers()
    if providers:
        st.caption("Or with your organisation's account:")
        _oidc(providers)


if __name__ == "__main__":
    render()
