"""The console's shell: login, navigation by role, logout."""
from __future__ import annotations

from mlops_nb.console import nav, ui
from tests.console.conftest import USERS, log_in


def test_login_page_is_all_nobody_sees(app):
    assert not app.exception
    assert [t.value for t in app.title] == ["mlops console"]
    assert app.text_input(key="login_username").label == "Username"
    assert app.text_input(key="login_password").label == "Password"


def test_wrong_password_is_refused(app):
    at = log_in(app, "rita", "not her password")
    assert [e.value for e in at.error] == [ui.plain("Wrong username or password.")]
    assert [t.value for t in at.title] == ["mlops console"]


def test_each_role_lands_on_overview(logged_in):
    for name in ("rita",):
        at = logged_in(name)
        assert [t.value for t in at.title] == ["Overview"]
        assert "rita" in at.sidebar.caption[0].value


def test_navigation_follows_role():
    assert [p.title for p in nav.visible("reviewer")] == ["Overview", "Experiments", "Registry", "Data", "Approvals",
                                                     "Monitoring", "Scorecards", "Audit"]
    assert "Admin" in [p.title for p in nav.visible("admin")]
    assert nav.visible(None) == []
    assert set(USERS.values()) <= set(nav.EVERYONE)


def test_logout_returns_to_login(logged_in):
    at = logged_in("rita")
    at.sidebar.button(key="logout").click()
    at = at.run()
    assert [t.value for t in at.title] == ["mlops console"]
