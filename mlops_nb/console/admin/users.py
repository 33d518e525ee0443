"""Users and roles on the Admin page: the users table, adding a user, and one user's role, access,
password and API tokens.

Every action calls the identity services with the logged-in identity as actor: they refuse anyone
who is not a proven admin now, refuse to demote or deactivate the last active admin, and audit
each change with the admin's name. Here an admin also cannot change their own role or deactivate
themselves (another admin can): the console never locks out the person using it. Passwords are
cleared from the form once submitted; a new token is shown once (flash) and never kept.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from mlops_nb.console import data, ui
from mlops_nb.console.admin import flash
from mlops_nb.services import identity
from mlops_nb.services.errors import MlopsError
from mlops_nb.services.identity import Identity, UserPublic

_ADD = "admin.add"  # widget keys of the add-a-user form: admin.add.name, .role, .password, .confirm
_CHOSEN = "admin.user"  # the user the panel below the table manages


def users_section(who: Identity, now: Identity, notes: flash.Notes) -> None:
    """The section: `who` is the login (the actor of every call), `now` the same user as the store
    sees them now (their current name and role), `notes` what the last action said."""
    try:
        users = data.users(who)
    except MlopsError as err:
        st.error(ui.plain(str(err)))
        return
    st.dataframe(_users_frame(users), hide_index=True, width="stretch")
    _add_user_form(who, notes)
    st.subheader("Manage a user")
    names = [u.name for u in users]
    if st.session_state.get(_CHOSEN) not in names:
        st.session_state[_CHOSEN] = now.name if now.name in names else names[0]
    chosen = st.selectbox("User", names, key=_CHOSEN, width=320)
    user = next(u for u in users if u.name == chosen)
    access, password, tokens = st.columns([1, 1, 2], gap="large")
    with access:
        _access_panel(who, now, user, notes)
    with password:
        _password_form(who, user, notes)
    with tokens:
        _tokens_panel(who, user, notes)


def _users_frame(users: list[UserPublic]) -> list[dict[str, Any]]:
    """The users as table rows (names as text, times with their zone)."""
    return [{"Name": u.name, "Role": u.role, "Active": u.active, "Password": "set" if u.password else "none",
             "Tokens": u.tokens, "Created": ui.when(u.created_at)} for u in users]


def _write(area: str, action: Any, done: str = "") -> Any:
    """Run a service through data.write (one transaction, caches cleared); a refusal becomes an
    error note for `area`."""
    return flash.attempt(area, lambda: data.write(action), done)


# --- adding a user ---

def _add_user_form(who: Identity, notes: flash.Notes) -> None:
    with st.expander("Add a user", expanded=bool(notes.get("users.add")), icon=":material/person_add:"):
        flash.show(notes, "users.add")
        with st.form("admin.add_form", border=False):
            name_col, role_col = st.columns(2)
            name_col.text_input("Name", key=f"{_ADD}.name", max_chars=250)
            role_col.selectbox("Role", identity.ROLES, key=f"{_ADD}.role")
            pw_col, confirm_col = st.columns(2)
            pw_col.text_input("Password", type="password", key=f"{_ADD}.password",
                              help=f"At least {identity.MIN_PASSWORD} characters; stored only as an argon2 hash. "
                                   "Leave both empty for a user who acts with API tokens only.")
            confirm_col.text_input("Confirm password", type="password", key=f"{_ADD}.confirm")
            st.form_submit_button("Add user", type="primary", on_click=_on_add, args=(who,))


def _on_add(who: Identity) -> None:
    state = st.session_state
    name, role = state[f"{_ADD}.name"], state[f"{_ADD}.role"]
    password, confirm = state[f"{_ADD}.password"], state[f"{_ADD}.confirm"]
    state[f"{_ADD}.password"] = state[f"{_ADD}.confirm"] = ""  # never kept past this click
    if password != confirm:
        flash.add("users.add", "error", "The two passwords differ; type the same password twice.")
        return
    added = _write("users.add", lambda s: identity.add_user(session=s, actor=who, name=name, role=role,
                                                               password=password or None).name)
    if added is not None:
        how = "" if password else " without a password: issue them an API token to act"
        flash.add("users.add", "success", f"Added **{ui.plain(added)}** as {role}{how}.")
        state[f"{_ADD}.name"] = ""
        state[_CHOSEN] = added


# --- one user's role and access ---

def _access_panel(who: Identity, now: Identity, user: UserPublic, notes: flash.Notes) -> None:
    st.markdown("**Role and access**")
    flash.show(notes, "users.access")
    state = "active" if user.active else "deactivated: their password and tokens prove nothing"
    st.caption(f"{ui.plain(user.name)} is {user.role}, {state}. Added {ui.when(user.created_at)}.")
    yourself = user.name == now.name
    # the role in the key: a role changed elsewhere shows as it is now, not as last picked
    st.selectbox("Role", identity.ROLES, index=identity.ROLES.index(user.role),
                 key=f"admin.role.{user.name}.{user.role}", disabled=yourself)
    buttons = st.container(horizontal=True)  # side by side, one under the other when narrow
    buttons.button("Change role", key=f"admin.set_role.{user.name}", on_click=_on_role, args=(who, user),
                   disabled=yourself)
    buttons.button("Deactivate" if user.active else "Activate", key=f"admin.active.{user.name}",
                   on_click=_on_active, args=(who, user), disabled=yourself,
                   icon=":material/person_off:" if user.active else ":material/person_check:")
    if yourself:
        st.caption("This is you: another admin can change your role or deactivate you, so the console "
                   "never locks out the person using it.")


def _on_role(who: Identity, user: UserPublic) -> None:
    role = st.session_state[f"admin.role.{user.name}.{user.role}"]
    if role == user.role:
        flash.add("users.access", "info", f"{ui.plain(user.name)} is {role} already; pick another role first.")
        return
    _write("users.access", lambda s: identity.set_role(session=s, actor=who, name=user.name, role=role),
           f"**{ui.plain(user.name)}** is now {role} (was {user.role}); their next click acts with it.")


def _on_active(who: Identity, user: UserPublic) -> None:
    if user.active:
        _write("users.access", lambda s: identity.deactivate_user(session=s, actor=who, name=user.name),
               f"Deactivated **{ui.plain(user.name)}**: their password and tokens are refused from their next call.")
    else:
        _write("users.access", lambda s: identity.activate_user(session=s, actor=who, name=user.name),
               f"Activated **{ui.plain(user.name)}** again.")


# --- password ---

def _password_form(who: Identity, user: UserPublic, notes: flash.Notes) -> None:
    st.markdown("**Password**")
    flash.show(notes, "users.password")
    st.caption("A password is set." if user.password else "No password: this user acts with API tokens only.")
    with st.form(f"admin.password.{user.name}", border=False):
        st.text_input("New password", type="password", key=f"admin.password.{user.name}.new",
                      help=f"At least {identity.MIN_PASSWORD} characters.")
        st.text_input("Confirm new password", type="password", key=f"admin.password.{user.name}.confirm")
        st.form_submit_button("Set password", on_click=_on_password, args=(who, user.name))


def _on_password(who: Identity, name: str) -> None:
    state = st.session_state
    password, confirm = state[f"admin.password.{name}.new"], state[f"admin.password.{name}.confirm"]
    state[f"admin.password.{name}.new"] = state[f"admin.password.{name}.confirm"] = ""
    if password != confirm:
        flash.add("users.password", "error", "The two passwords differ; type the same password twice.")
        return
    _write("users.password", lambda s: identity.set_password(session=s, actor=who, name=name, password=password),
           f"Set a new password for **{ui.plain(name)}**.")


# --- API tokens ---

def _tokens_panel(who: Identity, user: UserPublic, notes: flash.Notes) -> None:
    st.markdown("**API tokens**")
    flash.show(notes, "users.tokens")
    try:
        tokens = data.tokens(who, user.name)
    except MlopsError as err:
        st.error(ui.plain(str(err)))
        return
    if tokens:
        st.dataframe([{"Prefix": t.prefix, "Status": t.status,
                       "Issued": ui.when(t.created_at), "Expires": ui.when(t.expires_at) or "never"}
                      for t in tokens], hide_index=True, width="stretch", height="auto")
    else:
        st.caption("No tokens yet. A token lets a notebook or script act as this user: "
                   "`mlops.init(token=...)` or `MLOPS_TOKEN`.")
    days_col, issue_col = st.columns([1, 1], vertical_alignment="bottom")
    days_col.number_input("Valid for (days)", min_value=1, max_value=identity.MAX_TOKEN_DAYS,
                          value=identity.TOKEN_DAYS, step=1, key=f"admin.token_days.{user.name}")
    issue_col.button("Issue token", key=f"admin.issue.{user.name}", on_click=_on_issue, args=(who, user.name),
                     icon=":material/key:", width="stretch")
    live = [t.prefix for t in tokens if t.status == "active"]
    if live:
        pick_col, revoke_col = st.columns([1, 1], vertical_alignment="bottom")
        pick_col.selectbox("Token to revoke (prefix)", live, key=f"admin.revoke_pick.{user.name}")
        revoke_col.button("Revoke token", key=f"admin.revoke.{user.name}", on_click=_on_revoke,
                          args=(who, user.name), icon=":material/key_off:", width="stretch")


def _on_issue(who: Identity, name: str) -> None:
    days = st.session_state[f"admin.token_days.{name}"]
    token = _write("users.tokens", lambda s: identity.issue_token(session=s, actor=who, name=name,
                                                                    expires_days=int(days)))
    if token is not None:
        flash.add("users.tokens", "token", token, about=name)


def _on_revoke(who: Identity, name: str) -> None:
    prefix = st.session_state[f"admin.revoke_pick.{name}"]
    _write("users.tokens", lambda s: identity.revoke_token(session=s, actor=who, prefix=prefix),
           f"Revoked the token {identity.TOKEN_PREFIX}\\_{prefix}\\_… of **{ui.plain(name)}**.")
