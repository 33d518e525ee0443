"""User management in the services: only a proven admin (or the CLI's operator) may do it, each change
is audited with its actor, tokens expire and can be revoked, deactivated users prove nothing."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from mlops_nb.services import identity
from mlops_nb.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.identity import OPERATOR, Identity
from mlops_nb.store.models import ApiToken, AuditEvent, User


def _ada(session) -> Identity:
    """ada, the admin, as init's password check proves her (with her user id)."""
    return identity.identify(session=session, declared="ada", fallback="ada", password="ada-secret-1")


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """argon2 with its production cost takes ~0.3 s a hash; the same algorithm, cheaper, for tests."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(identity.auth, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture()
def people(session):
    """ada (admin), ed (ml_engineer) and rita (reviewer), each with a password; rita has a token;
    bo (data_scientist, no password) is deactivated."""
    identity.add_user(session=session, actor=OPERATOR, name="ada", role="admin", password="ada-secret-1")
    identity.add_user(session=session, actor=OPERATOR, name="ed", role="ml_engineer", password="ed-secret-12")
    identity.add_user(session=session, actor=OPERATOR, name="rita", role="reviewer", password="rita-secret-1")
    identity.add_user(session=session, actor=OPERATOR, name="bo", role="data_scientist")
    identity.deactivate_user(session=session, actor=OPERATOR, name="bo")
    return {"token": identity.issue_token(session=session, actor=OPERATOR, name="rita")}


def _prefix(token: str) -> str:
    return token.split("_")[1]


CALLS = {
    "add_user": lambda s, who, p: identity.add_user(session=s, actor=who, name="mallory", role="admin",
                                                    password="mallory-pw-1"),
    "set_password": lambda s, who, p: identity.set_password(session=s, actor=who, name="ed", password="taken-over-1"),
    "issue_token": lambda s, who, p: identity.issue_token(session=s, actor=who, name="ed"),
    "list_users": lambda s, who, p: identity.list_users(session=s, actor=who),
    "set_role": lambda s, who, p: identity.set_role(session=s, actor=who, name="ed", role="admin"),
    "deactivate_user": lambda s, who, p: identity.deactivate_user(session=s, actor=who, name="ed"),
    "activate_user": lambda s, who, p: identity.activate_user(session=s, actor=who, name="bo"),
    "list_tokens": lambda s, who, p: identity.list_tokens(session=s, actor=who, name="rita"),
    "revoke_token": lambda s, who, p: identity.revoke_token(session=s, actor=who, prefix=_prefix(p["token"])),
}


def _state(session) -> tuple:
    users = session.execute(select(User.name, User.role, User.active, User.password_hash).order_by(User.name)).all()
    tokens = session.execute(select(ApiToken.prefix, ApiToken.revoked).order_by(ApiToken.id)).all()
    events = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return users, tokens, events


INTRUDERS = [Identity(name="ada"),  # an admin's name, declared without proof
             Identity(name="ed", role="ml_engineer", proven=True),  # proven, not an admin
             Identity(name="ed", role="admin", proven=True),  # claims a role the store does not give him
             Identity(name="operator (cli)")]  # the operator's name, declared


def test_only_a_proven_admin_may_manage_users(session, people):
    before = _state(session)
    for call in CALLS:
        for who in INTRUDERS:
            with pytest.raises(PermissionDenied,
                               match=f"user {re.escape(repr(who.name))} .*may not manage users.*needs the role admin"):
                CALLS[call](session, who, people)
    assert _state(session) == before  # nothing changed, nothing audited


def test_a_proven_admin_and_the_operator_may_manage_users_audited_as_themselves(session, people):
    for who in (_ada(session), OPERATOR):
        for call in CALLS:
            start = session.execute(select(func.max(AuditEvent.id))).scalar_one()
            with session.begin_nested() as attempt:
                CALLS[call](session, who, people)
                audited = _events(session, start)
                attempt.rollback()  # each call from the same state
            assert audited == ([] if call.startswith("list_") else [(who.name,) + audited[0][1:]]), call


def test_an_admin_demoted_since_login_may_no_longer_manage_users(session, people):
    ada = _ada(session)  # logged in as an admin
    identity.set_role(session=session, actor=OPERATOR, name="ada", role="reviewer")
    with pytest.raises(PermissionDenied, match=r"user 'ada' \(reviewer\) may not manage users"):
        identity.list_users(session=session, actor=ada)
    identity.set_role(session=session, actor=OPERATOR, name="ada", role="admin")
    identity.deactivate_user(session=session, actor=OPERATOR, name="ada")
    with pytest.raises(PermissionDenied, match="with a declared name"):
        identity.list_users(session=session, actor=ada)


def _events(session, since: int) -> list[tuple]:
    rows = session.execute(select(AuditEvent).where(AuditEvent.id > since).order_by(AuditEvent.id)).scalars()
    return [(e.actor, e.action, e.entity, e.entity_id) for e in rows]


def test_every_change_is_audited_with_its_actor(session, people):
    start = session.execute(select(func.max(AuditEvent.id))).scalar_one()
    identity.add_user(session=session, actor=_ada(session), name="cy", role="data_scientist")
    identity.set_role(session=session, actor=_ada(session), name="cy", role="ml_engineer")
    identity.deactivate_user(session=session, actor=_ada(session), name="cy")
    identity.activate_user(session=session, actor=_ada(session), name="cy")
    identity.set_password(session=session, actor=_ada(session), name="cy", password="cy-secret-123")
    token = identity.issue_token(session=session, actor=OPERATOR, name="cy", expires_days=7)
    identity.revoke_token(session=session, actor=_ada(session), prefix=f"mlops_{_prefix(token)}")
    assert _events(session, start) == [
        ("ada", "user.add", "user", "cy"), ("ada", "user.role", "user", "cy"),
        ("ada", "user.deactivate", "user", "cy"), ("ada", "user.activate", "user", "cy"),
        ("ada", "user.password", "user", "cy"), ("operator (cli)", "token.issue", "user", "cy"),
        ("ada", "token.revoke", "user", "cy")]
    role = session.execute(select(AuditEvent).where(AuditEvent.action == "user.role")).scalars().one()
    assert (role.before, role.after) == ({"role": "data_scientist"}, {"role": "ml_engineer"})
    issued = session.execute(select(AuditEvent).where(AuditEvent.entity_id == "cy",
                                                      AuditEvent.action == "token.issue")).scalars().one()
    assert issued.after["prefix"] == _prefix(token) and issued.after["expires_days"] == 7
    text = " ".join(str((e.before, e.after)) for e in session.execute(select(AuditEvent)).scalars())
    assert "cy-secret-123" not in text and token.split("_", 2)[2] not in text  # no secret in the trail


def test_tokens_expire_after_90_days_by_default_and_the_lifetime_is_bounded(session, people):
    row = session.execute(select(ApiToken).where(ApiToken.prefix == _prefix(people["token"]))).scalars().one()
    assert row.expires_at - row.created_at == pytest.approx(90 * 86400)
    for bad in (0, 3651, -1, 1.5, True, "30"):
        with pytest.raises(InvalidInput, match="a token's lifetime must be a whole number of days from 1 to 3650"):
            identity.issue_token(session=session, actor=OPERATOR, name="rita", expires_days=bad)


def test_an_expired_token_is_refused_saying_so_and_how_to_get_a_new_one(session, people):
    row = session.execute(select(ApiToken).where(ApiToken.prefix == _prefix(people["token"]))).scalars().one()
    assert identity.user_for_token(session=session, token=people["token"]).name == "rita"
    row.expires_at = time.time() - 1
    session.flush()
    with pytest.raises(PermissionDenied, match=r"the API token mlops_\w{8}_… expired on \d{4}-\d\d-\d\d .*UTC; "
                                               r"ask an admin for a new one \(`mlops user token rita`\)"):
        identity.user_for_token(session=session, token=people["token"])
    assert identity.list_tokens(session=session, actor=_ada(session), name="rita")[0].status == "expired"
    row.expires_at = None  # a token from before tokens expired: valid until revoked
    session.flush()
    assert identity.user_for_token(session=session, token=people["token"]).name == "rita"


def test_a_revoked_token_is_refused(session, people):
    revoked = identity.revoke_token(session=session, actor=_ada(session), prefix=_prefix(people["token"]))
    assert (revoked.user, revoked.status) == ("rita", "revoked")
    with pytest.raises(PermissionDenied, match="was revoked; ask an admin for a new one"):
        identity.identify(session=session, declared=None, fallback="x", token=people["token"])
    with pytest.raises(Conflict, match="is revoked already; nothing was changed"):
        identity.revoke_token(session=session, actor=_ada(session), prefix=people["token"])  # the whole token works too
    with pytest.raises(NotFound, match="no API token has the prefix '00000000'"):
        identity.revoke_token(session=session, actor=_ada(session), prefix="00000000")
    with pytest.raises(InvalidInput, match="'nope' is not a token prefix"):
        identity.revoke_token(session=session, actor=_ada(session), prefix="nope")


def test_a_deactivated_user_proves_nothing_until_reactivated(session, people):
    identity.deactivate_user(session=session, actor=_ada(session), name="rita")
    with pytest.raises(PermissionDenied, match="wrong user name or password for 'rita'"):
        identity.identify(session=session, declared="rita", fallback="x", password="rita-secret-1")
    with pytest.raises(PermissionDenied, match="belongs to a user who is deactivated"):
        identity.identify(session=session, declared=None, fallback="x", token=people["token"])
    with pytest.raises(Conflict, match="user 'rita' is deactivated already"):
        identity.deactivate_user(session=session, actor=_ada(session), name="rita")
    identity.activate_user(session=session, actor=_ada(session), name="rita")
    assert identity.identify(session=session, declared=None, fallback="x", token=people["token"]).role == "reviewer"


def test_users_are_listed_with_role_state_and_usable_tokens(session, people):
    identity.deactivate_user(session=session, actor=_ada(session), name="ed")
    table = identity.list_users(session=session, actor=_ada(session))
    assert [(u.name, u.role, u.active, u.password, u.tokens) for u in table] == [
        ("ada", "admin", True, True, 0), ("bo", "data_scientist", False, False, 0),
        ("ed", "ml_engineer", False, True, 0), ("rita", "reviewer", True, True, 1)]
    assert table[0].created_at > 0


def test_set_role_refuses_an_unknown_role_and_a_missing_user(session, people):
    with pytest.raises(InvalidInput, match="role 'boss' is not one of"):
        identity.set_role(session=session, actor=_ada(session), name="ed", role="boss")
    with pytest.raises(NotFound, match="user 'ghost' does not exist"):
        identity.set_role(session=session, actor=_ada(session), name="ghost", role="reviewer")
    with pytest.raises(Conflict, match="user 'ed' has the role ml_engineer already"):
        identity.set_role(session=session, actor=_ada(session), name="ed", role="ml_engineer")


def test_an_admin_cannot_remove_the_last_active_admin_but_the_operator_can(session, people):
    with pytest.raises(Conflict, match="user 'ada' is the last active admin; making them reviewer would leave"):
        identity.set_role(session=session, actor=_ada(session), name="ada", role="reviewer")
    with pytest.raises(Conflict, match="user 'ada' is the last active admin; deactivating them"):
        identity.deactivate_user(session=session, actor=_ada(session), name="ada")
    identity.set_role(session=session, actor=_ada(session), name="ed", role="admin")
    identity.deactivate_user(session=session, actor=_ada(session), name="ada")  # ed is still an admin
    identity.deactivate_user(session=session, actor=OPERATOR, name="ed")  # the operator can repair it later


@pytest.mark.parametrize("name", ["operator (cli)", "Operator (CLI)", " operator (cli)"])
def test_no_user_may_take_the_operators_name(session, name):
    with pytest.raises(InvalidInput, match="is reserved: audit events name the CLI's operator so"):
        identity.add_user(session=session, actor=OPERATOR, name=name, role="admin")
