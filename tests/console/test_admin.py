"""The Admin page: users and roles for admins, promotion policies for ml_engineers and admins, and
the services refusing everyone else whatever the page shows."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from mlops_nb.console import nav, ui
from mlops_nb.services import governance, identity
from mlops_nb.services.errors import PermissionDenied
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.models import AuditEvent
from tests import factories
from tests.console.conftest import PASSWORD, USERS, copy_store, log_in, new_app

MODEL = "credit-risk"


@pytest.fixture(scope="module")
def template(console_template, tmp_path_factory):
    """A store made once for the module: the session's console store (one user per role: USERS,
    password PASSWORD, project `credit`) and a registered model MODEL."""
    from mlops_nb.services import tracking

    folder = tmp_path_factory.mktemp("admin-store")
    engine = get_engine(copy_store(console_template, folder))
    with session_scope(engine) as s:
        factories.model(s, tracking.get_or_create_project(session=s, name="credit").id, MODEL)
    engine.dispose()  # closes the connections, so SQLite folds its write-ahead log into store.db
    return folder


@pytest.fixture()
def store(template, tmp_path, monkeypatch):
    """A copy of the template store (with its audit key) that MLOPS_DB_URL names, as console_store does."""
    url = copy_store(template, tmp_path)
    monkeypatch.setenv("MLOPS_DB_URL", url)
    monkeypatch.setenv("MLOPS_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    return url


@pytest.fixture()
def logged_in(store):
    """A function: the console logged in as `name` (one of USERS), on its first page."""
    def _login(name: str):
        at = log_in(new_app().run(), name)
        assert not at.exception, at.exception
        return at

    return _login


@pytest.fixture()
def admin_page(logged_in):
    """A function: the console logged in as `name`, on the Admin page."""
    def _open(name: str):
        at = logged_in(name)
        at.switch_page("views/admin.py")
        at = at.run()
        assert not at.exception, at.exception
        return at

    return _open


def proven(url: str, name: str) -> identity.Identity:
    """`name`'s identity as the login makes it (password checked)."""
    with session_scope(get_engine(url)) as s:
        return identity.identify(session=s, declared=name, fallback=name, password=PASSWORD)


def events(url: str, action: str) -> list[AuditEvent]:
    with session_scope(get_engine(url)) as s:
        found = s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()
        s.expunge_all()
        return list(found)


def project_id(url: str) -> int:
    from mlops_nb.services import tracking

    with session_scope(get_engine(url)) as s:
        return tracking.get_or_create_project(session=s, name="credit").id


def effective(url: str, model: str | None = MODEL) -> governance.PolicyPublic:
    with session_scope(get_engine(url)) as s:
        return governance.read_policy(session=s, project_id=project_id(url), model=model)


def texts(at) -> list[str]:
    """Every markdown-rendered text on the page (markdown, captions, boxes)."""
    return [e.value for kind in (at.markdown, at.caption, at.success, at.info, at.error, at.warning) for e in kind]


def widget(widgets, suffix: str):
    """The one widget whose key ends with `suffix` (policy widgets carry a digest of the rules)."""
    found = [w for w in widgets if w.key and w.key.endswith(suffix)]
    assert len(found) == 1, [w.key for w in widgets]
    return found[0]


def user_rows(at) -> dict[str, dict]:
    frame = at.dataframe[0].value
    return {row["Name"]: row for row in frame.to_dict("records")}


# --- who reaches the page ---

@pytest.mark.parametrize("name", ["rita", "dana", "max"])
def test_reviewer_scientist_and_manager_cannot_reach_admin_and_the_services_refuse(store, logged_in, name):
    assert "Admin" not in [p.title for p in nav.visible(USERS[name])]
    at = logged_in(name)
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not registered for the role
        at.switch_page("views/admin.py")
    who = proven(store, name)
    with session_scope(get_engine(store)) as s, pytest.raises(PermissionDenied, match="needs the role admin"):
        identity.list_users(session=s, actor=who)
    with session_scope(get_engine(store)) as s, pytest.raises(PermissionDenied, match="needs the role admin"):
        identity.set_role(session=s, actor=who, name=name, role="admin")
    with session_scope(get_engine(store)) as s, pytest.raises(PermissionDenied, match="ml_engineer or admin"):
        governance.change_policy(session=s, actor=who, project_id=project_id(store), model=MODEL,
                                 rules={"approvals": {"production": {"reviewer": 1}}})


def test_ml_engineer_sees_policies_but_not_users(store, admin_page):
    at = admin_page("eli")
    assert [t.value for t in at.title] == ["Admin"]
    assert not at.tabs  # one section: no tabs
    assert "admin.user" not in at.session_state and not [w for w in at.selectbox if w.key == "admin.user"]
    assert at.selectbox(key="admin.policy.scope").label == "Policy of"
    assert not [b for b in at.button if b.label in ("Add user", "Issue token")]
    with session_scope(get_engine(store)) as s, pytest.raises(PermissionDenied):
        identity.list_users(session=s, actor=proven(store, "eli"))


def test_a_role_taken_away_since_login_takes_the_page_away(store, admin_page):
    at = admin_page("eli")
    with session_scope(get_engine(store)) as s:
        identity.set_role(session=s, actor=identity.OPERATOR, name="eli", role="reviewer")
    at = at.run()  # the login re-reads the role by id on every rerun: the navigation no longer has Admin
    assert not [w for w in at.selectbox if w.key == "admin.policy.scope"]
    assert "Admin" not in [t.value for t in at.title]


# --- users and roles ---

def test_admin_adds_a_user_who_can_then_log_in(store, admin_page):
    at = admin_page("ada")
    assert [tab.label for tab in at.tabs] == ["Users and roles", "Promotion policies"]
    at.text_input(key="admin.add.name").input("bob")
    at.selectbox(key="admin.add.role").select("reviewer")
    at.text_input(key="admin.add.password").input("bobs secret 1")
    at.text_input(key="admin.add.confirm").input("bobs secret 2")
    at.button(key="FormSubmitter:admin.add_form-Add user").click()
    at = at.run()
    assert [e.value for e in at.error] == [ui.plain("The two passwords differ; type the same password twice.")]
    assert "bob" not in user_rows(at)
    at.text_input(key="admin.add.password").input("bobs secret 1")
    at.text_input(key="admin.add.confirm").input("bobs secret 1")
    at.button(key="FormSubmitter:admin.add_form-Add user").click()
    at = at.run()
    assert not at.error
    assert [e.value for e in at.success] == ["Added **bob** as reviewer."]
    assert user_rows(at)["bob"]["Role"] == "reviewer" and user_rows(at)["bob"]["Password"] == "set"
    assert at.session_state["admin.add.password"] == "" and at.session_state["admin.add.confirm"] == ""
    assert at.selectbox(key="admin.user").value == "bob"  # the panel below manages the new user
    [added] = events(store, "user.add")[-1:]
    assert added.actor == "ada" and added.entity_id == "bob"

    bob = log_in(new_app().run(), "bob", "bobs secret 1")
    assert [t.value for t in bob.title] == ["Overview"]


def test_a_name_with_markup_is_shown_as_text(store, admin_page):
    at = admin_page("ada")
    at.text_input(key="admin.add.name").input("<b>bob</b>")
    at.selectbox(key="admin.add.role").select("manager")
    at.text_input(key="admin.add.password").input("bobs secret 1")
    at.text_input(key="admin.add.confirm").input("bobs secret 1")
    at.button(key="FormSubmitter:admin.add_form-Add user").click()
    at = at.run()
    assert "<b>bob</b>" in user_rows(at)  # the table holds text
    assert at.selectbox(key="admin.user").value == "<b>bob</b>"
    assert [e.value for e in at.success] == ["Added **\\<b\\>bob\\</b\\>** as manager."]
    assert not [t for t in texts(at) if "<b>" in t]  # nothing renders it as markup


def test_role_change_is_audited_with_the_admin_as_actor(store, admin_page):
    at = admin_page("ada")
    at.selectbox(key="admin.user").select("rita")
    at = at.run()
    at.selectbox(key="admin.role.rita.reviewer").select("manager")
    at.button(key="admin.set_role.rita").click()
    at = at.run()
    assert not at.error
    assert user_rows(at)["rita"]["Role"] == "manager"
    assert at.success[0].value.startswith("**rita** is now manager (was reviewer)")
    [event] = events(store, "user.role")
    assert (event.actor, event.entity_id, event.before, event.after) == ("ada", "rita", {"role": "reviewer"},
                                                                          {"role": "manager"})


def test_admin_cannot_demote_or_deactivate_themselves_here(store, admin_page):
    at = admin_page("ada")
    assert at.selectbox(key="admin.user").value == "ada"
    assert at.selectbox(key="admin.role.ada.admin").disabled
    assert at.button(key="admin.set_role.ada").disabled and at.button(key="admin.active.ada").disabled
    with session_scope(get_engine(store)) as s, pytest.raises(Exception, match="last active admin"):
        identity.deactivate_user(session=s, actor=proven(store, "ada"), name="ada")  # and the service refuses


def test_deactivated_user_cannot_log_in_until_activated(store, admin_page):
    at = admin_page("ada")
    at.selectbox(key="admin.user").select("rita")
    at = at.run()
    at.button(key="admin.active.rita").click()
    at = at.run()
    assert user_rows(at)["rita"]["Active"] is False or not user_rows(at)["rita"]["Active"]
    assert at.button(key="admin.active.rita").label == "Activate"
    assert [e.actor for e in events(store, "user.deactivate")] == ["ada"]
    refused = log_in(new_app().run(), "rita")
    assert [e.value for e in refused.error] == [ui.plain("Wrong username or password.")]
    at.button(key="admin.active.rita").click()
    at = at.run()
    assert user_rows(at)["rita"]["Active"]
    assert [e.actor for e in events(store, "user.activate")] == ["ada"]


def test_set_password_replaces_it_and_clears_the_fields(store, admin_page):
    at = admin_page("ada")
    at.selectbox(key="admin.user").select("rita")
    at = at.run()
    at.text_input(key="admin.password.rita.new").input("short")
    at.text_input(key="admin.password.rita.confirm").input("short")
    at.button(key="FormSubmitter:admin.password.rita-Set password").click()
    at = at.run()
    assert [e.value for e in at.error] == [ui.plain("password for 'rita' is too short; use at least 8 characters")]
    at.text_input(key="admin.password.rita.new").input("ritas new secret")
    at.text_input(key="admin.password.rita.confirm").input("ritas new secret")
    at.button(key="FormSubmitter:admin.password.rita-Set password").click()
    at = at.run()
    assert [e.value for e in at.success] == ["Set a new password for **rita**."]
    assert at.session_state["admin.password.rita.new"] == ""
    assert [e.actor for e in events(store, "user.password")] == ["ada"]
    assert [t.value for t in log_in(new_app().run(), "rita", "ritas new secret").title] == ["Overview"]


def test_a_token_is_shown_once_and_gone_on_the_next_rerun(store, admin_page):
    at = admin_page("ada")
    at.selectbox(key="admin.user").select("eli")
    at = at.run()
    at.button(key="admin.issue.eli").click()
    at = at.run()
    [code] = at.code
    token = code.value
    assert token.startswith("mlops_")
    assert "it will not be shown again" in at.success[0].value
    with session_scope(get_engine(store)) as s:
        assert identity.user_for_token(session=s, token=token).name == "eli"
    assert user_rows(at)["eli"]["Tokens"] == 1
    secret = token.split("_", 2)[2]
    assert secret not in repr(at.session_state.to_dict())

    at = at.run()
    assert not at.code
    assert secret not in repr(at.session_state.to_dict())
    [issued] = events(store, "token.issue")
    assert issued.actor == "ada" and issued.entity_id == "eli" and secret not in repr(issued.after)

    prefix = token.split("_")[1]
    assert at.dataframe[1].value.to_dict("records")[0]["Status"] == "active"
    at.selectbox(key="admin.revoke_pick.eli").select(prefix)
    at.button(key="admin.revoke.eli").click()
    at = at.run()
    assert at.dataframe[1].value.to_dict("records")[0]["Status"] == "revoked"
    assert [e.actor for e in events(store, "token.revoke")] == ["ada"]
    with session_scope(get_engine(store)) as s, pytest.raises(PermissionDenied, match="was revoked"):
        identity.user_for_token(session=s, token=token)


# --- policies ---

def choose_model(at, model: str = MODEL):
    at.selectbox(key="admin.policy.scope").select(model)
    return at.run()


def test_saving_a_policy_changes_the_effective_policy_and_is_audited(store, admin_page):
    at = choose_model(admin_page("eli"))
    assert any(c.value.startswith(f"Model {ui.plain(MODEL)} follows the built-in rules") for c in at.caption)
    widget(at.number_input, ".approvals.production.reviewer").set_value(2)
    widget(at.text_area, ".metric_thresholds").input("roc_auc >= 0.75\nf1 > 0.5")
    widget(at.toggle, ".no_regression").set_value(True)
    at = at.run()
    widget(at.text_input, ".no_regression.metric").input("roc_auc")
    widget(at.number_input, ".no_regression.tolerance").set_value(0.02)
    widget(at.button, ".save").click()
    at = at.run()
    assert not at.error, [e.value for e in at.error]
    assert at.success[0].value.startswith(f"Saved the policy of model **{ui.plain(MODEL)}**")

    policy = effective(store)
    assert policy.source == "model"
    assert policy.rules["approvals"] == {"staging": {"ml_engineer": 1}, "production": {"ml_engineer": 1, "reviewer": 2}}
    assert policy.rules["gates"]["metric_thresholds"] == {"roc_auc": ">= 0.75", "f1": "> 0.5"}
    assert policy.rules["gates"]["no_regression"] == {"metric": "roc_auc", "tolerance": 0.02, "higher_is_better": True}
    assert effective(store, None).source == "default"  # the project default is untouched
    [event] = events(store, "policy.set")
    assert (event.actor, event.entity_id) == ("eli", MODEL)
    gates = next(m.value for m in at.markdown if m.value.startswith("Gates"))
    assert f"- Metric thresholds: {ui.plain('f1 > 0.5, roc_auc >= 0.75')}\n" in gates  # stored by name
    assert widget(at.number_input, ".approvals.production.reviewer").value == 2  # the editor shows what is saved


def test_the_project_default_is_edited_the_same_way(store, admin_page):
    at = admin_page("ada")
    widget(at.toggle, ".lineage_complete").set_value(False)
    widget(at.button, ".save").click()
    at = at.run()
    assert not at.error
    assert effective(store, None).source == "project"
    assert effective(store).source == "project" and effective(store).rules["gates"]["lineage_complete"] is False
    assert [(e.actor, e.entity_id) for e in events(store, "policy.set")] == [("ada", "project:credit")]


@pytest.mark.parametrize("change, message", [
    (lambda at: widget(at.number_input, ".approvals.staging.ml_engineer").set_value(0),
     "approvals for staging must name at least one role"),
    (lambda at: widget(at.text_area, ".metric_thresholds").input("roc_auc => 0.7"),
     "threshold for metric 'roc_auc' must look like"),
    (lambda at: widget(at.text_area, ".metric_thresholds").input(">= 0.7"),
     "metric_thresholds needs a metric name"),
])
def test_an_invalid_policy_is_refused_with_an_error_box_and_nothing_changes(store, admin_page, change, message):
    at = choose_model(admin_page("eli"))
    change(at)
    widget(at.button, ".save").click()
    at = at.run()
    [error] = at.error
    assert error.value.startswith(ui.plain(message))
    assert not at.success
    assert effective(store).source == "default"
    assert events(store, "policy.set") == []


def test_saving_an_unchanged_policy_says_so(store, admin_page):
    at = admin_page("eli")
    widget(at.button, ".save").click()  # the project default, from the built-in rules: saved once
    at = at.run()
    widget(at.button, ".save").click()
    at = at.run()
    assert [e.value for e in at.info] == ["Nothing to save: the policy is as shown."]
    assert len(events(store, "policy.set")) == 1
