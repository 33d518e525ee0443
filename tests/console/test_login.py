"""The console's login and session security: wrong passwords counted and locking, login and logout
audited with the user as actor, idle sessions ending, no password left in the session, a login that
cannot be forged from session_state, a deactivated user out on the next click, and OIDC logins."""
from __future__ import annotations

import json
import logging
import time

import pytest
from sqlalchemy import select, update

from mlops_nb.console import ui
from mlops_nb.console.auth import REASONS
from mlops_nb.services import identity
from mlops_nb.services.errors import PermissionDenied
from mlops_nb.services.identity import OPERATOR
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.models import AuditEvent, User
from tests.console.conftest import PASSWORD, log_in, new_app

LOGIN_KEY = "_mlops_login"
WRONG = "not her password"


def _title(at) -> list[str]:
    return [t.value for t in at.title]


def _events(url: str, *actions: str) -> list[tuple[str, str, dict]]:
    with session_scope(get_engine(url)) as s:
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        return [(e.actor, e.action, e.after) for e in rows if e.action in actions]


def _user(url: str, name: str) -> User:
    with session_scope(get_engine(url)) as s:
        return s.execute(select(User).where(User.name == name)).scalars().one()


def test_a_wrong_password_is_refused_and_counted(app, console_store):
    at = log_in(app, "rita", WRONG)
    assert [e.value for e in at.error] == [ui.plain("Wrong username or password.")]
    assert _title(at) == ["mlops console"]
    assert _user(console_store, "rita").failed_logins == 1
    assert _events(console_store, "user.login_failed") == [("rita", "user.login_failed", {"failures": 1})]
    at = log_in(at, "nobody", WRONG)  # an unknown name reads the same
    assert [e.value for e in at.error] == [ui.plain("Wrong username or password.")]


def test_the_sixth_attempt_is_refused_while_locked_and_the_lock_ends(app, console_store):
    at = app
    for _ in range(4):
        at = log_in(at, "rita", WRONG)
        assert [e.value for e in at.error] == [ui.plain("Wrong username or password.")]
    at = log_in(at, "rita", WRONG)
    locked = at.error[0].value
    assert locked.startswith("This account is locked until ") and "try again then, or ask an admin" in locked
    at = log_in(at, "rita", PASSWORD)  # the sixth, with the right password
    assert [e.value for e in at.error] == [locked]
    assert _title(at) == ["mlops console"]
    user = _user(console_store, "rita")
    assert user.failed_logins == 5 and user.locked_until > time.time() + 14 * 60
    assert [a for _, a, _ in _events(console_store, "user.locked")] == ["user.locked"]
    with session_scope(get_engine(console_store)) as s:  # 15 minutes pass
        s.execute(update(User).where(User.name == "rita").values(locked_until=time.time() - 1))
    at = log_in(at, "rita", PASSWORD)
    assert not at.error and _title(at) == ["Overview"]
    assert _user(console_store, "rita").failed_logins == 0


def test_login_and_logout_are_audited_with_the_user_as_actor(logged_in, console_store):
    at = logged_in("rita")
    assert _events(console_store, "user.login") == [("rita", "user.login", {"via": "password"})]
    at.sidebar.button(key="logout").click()
    at = at.run()
    assert _title(at) == ["mlops console"]
    assert [i.value for i in at.info] == [REASONS["logout"]]
    assert _events(console_store, "user.logout") == [("rita", "user.logout", {"reason": "logout"})]
    assert LOGIN_KEY not in at.session_state


def test_an_idle_session_ends_and_is_audited(logged_in, console_store, monkeypatch):
    monkeypatch.setenv("MLOPS_CONSOLE_IDLE_MIN", "2")
    at = logged_in("rita")
    at.session_state[LOGIN_KEY].seen -= 60  # a minute idle: still logged in
    at = at.run()
    assert _title(at) == ["Overview"]
    at.session_state[LOGIN_KEY].seen -= 2 * 60 + 1
    at = at.run()
    assert _title(at) == ["mlops console"]
    assert [i.value for i in at.info] == ["Your session ended after 2 minutes without activity; log in again."]
    assert _events(console_store, "user.logout") == [("rita", "user.logout", {"reason": "idle"})]


def test_the_password_is_never_kept_shown_audited_or_logged(app, console_store, caplog):
    caplog.set_level(logging.DEBUG)
    at = log_in(app, "rita", WRONG)
    assert at.text_input(key="login_password").value == ""
    assert WRONG not in repr(at.session_state.to_dict())
    at = log_in(at, "rita", PASSWORD)
    assert _title(at) == ["Overview"]
    state = repr(at.session_state.to_dict())
    assert PASSWORD not in state and "login_password" not in state.replace("'login_password': ''", "")
    with session_scope(get_engine(console_store)) as s:
        trail = json.dumps([(e.actor, e.entity_id, e.before, e.after) for e in s.execute(select(AuditEvent)).scalars()])
    for secret in (WRONG, PASSWORD):
        assert secret not in trail and secret not in caplog.text


def test_a_login_cannot_be_forged_from_session_state(app, console_store):
    with session_scope(get_engine(console_store)) as s:
        ada = identity.get_user(session=s, name="ada")
        forged = identity.Identity(name=ada.name, role="admin", proven=True, user_id=ada.id)
    app.session_state[LOGIN_KEY] = {"identity": forged, "via": "password", "since": time.time(), "seen": time.time()}
    at = app.run()
    assert _title(at) == ["mlops console"]
    assert LOGIN_KEY not in at.session_state


def test_a_deactivated_user_is_out_on_the_next_click_and_the_services_refuse_them(logged_in, console_store):
    at = logged_in("ada")
    held = at.session_state[LOGIN_KEY].identity
    with session_scope(get_engine(console_store)) as s:
        identity.deactivate_user(session=s, actor=OPERATOR, name="ada")
    with session_scope(get_engine(console_store)) as s, pytest.raises(PermissionDenied):
        identity.list_users(session=s, actor=held)  # the identity the session held proves nothing now
    at = at.run()
    assert _title(at) == ["mlops console"]
    assert [i.value for i in at.info] == [REASONS["inactive"]]
    assert _events(console_store, "user.logout") == [("ada", "user.logout", {"reason": "inactive"})]


def test_a_role_changed_by_an_admin_shows_on_the_next_rerun(logged_in, console_store):
    at = logged_in("rita")
    with session_scope(get_engine(console_store)) as s:
        identity.set_role(session=s, actor=OPERATOR, name="rita", role="admin")
    at = at.run()
    assert at.session_state[LOGIN_KEY].identity.role == "admin"
    assert "(admin)" in at.sidebar.caption[0].value


# --- OIDC (st.login): AppTest seeds st.user; the provider's redirect itself is not exercised ---

AUTH = {"redirect_uri": "http://localhost:8612/oauth2callback", "cookie_secret": "not-a-real-secret",
        "okta": {"client_id": "id", "client_secret": "secret",
                 "server_metadata_url": "https://okta.example/.well-known/openid-configuration"}}


def _oidc_app(user: dict):
    at = new_app()
    at.secrets["auth"] = AUTH
    at.user = user
    return at.run()


def test_with_an_auth_section_the_login_page_offers_the_provider(console_store):
    at = _oidc_app({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in", "Log in with Okta"]


def test_an_oidc_login_maps_the_email_to_a_user_and_logout_ends_both(console_store):
    with session_scope(get_engine(console_store)) as s:
        identity.add_user(session=s, actor=OPERATOR, name="eli@bank.example", role="ml_engineer")
    at = _oidc_app({"is_logged_in": True, "email": "Eli@Bank.example", "email_verified": True,
                    "iss": "https://okta.example"})
    assert _title(at) == ["Overview"]
    assert "eli@bank" in at.sidebar.caption[0].value
    assert _events(console_store, "user.login") == [
        ("eli@bank.example", "user.login", {"via": "oidc", "provider": "https://okta.example", "claim": "email"})]
    at.sidebar.button(key="logout").click()
    at = at.run()
    assert _title(at) == ["mlops console"] and at.user.get("is_logged_in") is False
    assert _events(console_store, "user.logout") == [("eli@bank.example", "user.logout", {"reason": "logout"})]


def test_an_oidc_identity_without_a_user_is_refused(console_store):
    at = _oidc_app({"is_logged_in": True, "email": "stranger@elsewhere.example", "iss": "https://okta.example"})
    assert _title(at) == ["mlops console"]
    assert "matches no active user of this store" in at.error[0].value
    assert at.button(key="login.oidc_logout").label == "Log out of the identity provider"
