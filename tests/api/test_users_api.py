"""User administration from the Python API: a proven admin only, every change audited as that admin,
and what it changes holds at the next `init` (expired, revoked, deactivated)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update

import mlops_nb as mlops
from mlops_nb.services import identity
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.models import ApiToken, AuditEvent, User


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    from argon2 import PasswordHasher

    monkeypatch.setattr(identity.auth, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture()
def store(sqlite_url):
    """ada (admin), ed (ml_engineer), each with a password, added by the operator."""
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        identity.add_user(session=session, actor=identity.OPERATOR, name="ada", role="admin", password="ada-secret-1")
        identity.add_user(session=session, actor=identity.OPERATOR, name="ed", role="ml_engineer",
                          password="ed-secret-12")
    return sqlite_url


CALLS = {
    "users": lambda: mlops.users(),
    "add_user": lambda: mlops.add_user("mallory", role="admin", password="mallory-pw-1"),
    "set_role": lambda: mlops.set_role("ed", "admin"),
    "deactivate_user": lambda: mlops.deactivate_user("ada"),
    "activate_user": lambda: mlops.activate_user("ed"),
    "set_password": lambda: mlops.set_password("ada", "taken-over-1"),
    "issue_token": lambda: mlops.issue_token("ed"),
    "tokens": lambda: mlops.tokens("ada"),
    "revoke_token": lambda: mlops.revoke_token("00000000"),
}


def _stored(url: str) -> tuple:
    with session_scope(get_engine(url)) as session:
        return (session.execute(select(User.name, User.role, User.active, User.password_hash)).all(),
                session.execute(select(ApiToken.id)).all(), session.execute(select(AuditEvent.id)).all())


@pytest.mark.parametrize("login", [dict(user="ada"), dict(user="ed", password="ed-secret-12")],
                         ids=["declared-admin", "proven-ml-engineer"])
def test_user_management_needs_a_proven_admin(store, login):
    mlops.init(project="p", db_url=store, **login)
    before = _stored(store)
    for call in CALLS.values():
        with pytest.raises(mlops.PermissionDenied, match="may not manage users"):
            call()
    assert _stored(store) == before, "a refused call changed the store"


def test_a_proven_admin_manages_users_and_each_change_is_audited_as_them(store):
    mlops.init(project="p", db_url=store, user="ada", password="ada-secret-1")
    added = mlops.add_user("bo", role="data_scientist", password="bo-secret-12")
    assert (added.name, added.role, added.active, added.password, added.tokens) == ("bo", "data_scientist", True,
                                                                                    True, 0)
    assert "User bo · data_scientist" in repr(added)
    assert mlops.set_role("bo", "ml_engineer").role == "ml_engineer"
    token = mlops.issue_token("bo", expires_days=30)
    frame = mlops.users().to_frame()
    assert list(frame.columns) == ["name", "role", "active", "password", "tokens", "created_at"]
    assert frame.set_index("name").loc["bo", "tokens"] == 1 and str(frame["created_at"].dt.tz) == "UTC"
    listed = mlops.tokens("bo")
    assert [(t.prefix, t.status) for t in listed] == [(token.split("_")[1], "active")]
    assert listed[0].expires_at - listed[0].created_at == pytest.approx(30 * 86400)
    assert list(listed.to_frame().columns) == ["user", "prefix", "status", "created_at", "expires_at"]
    assert mlops.set_password("bo", "bo-secret-34").password
    assert not mlops.deactivate_user("bo").active
    assert mlops.activate_user("bo").active
    assert mlops.revoke_token(f"mlops_{listed[0].prefix}").status == "revoked"
    trail = mlops.audit_trail(entity="user", entity_id="bo").to_frame()
    assert list(trail["action"])[::-1] == ["user.add", "user.role", "token.issue", "user.password",
                                           "user.deactivate", "user.activate", "token.revoke"]
    assert set(trail["actor"]) == {"ada"}


def test_what_an_admin_changes_holds_at_the_next_init(store):
    mlops.init(project="p", db_url=store, user="ada", password="ada-secret-1")
    token = mlops.issue_token("ed")
    mlops.deactivate_user("ed")
    with pytest.raises(mlops.PermissionDenied, match="wrong user name or password for 'ed'"):
        mlops.init(project="p", db_url=store, user="ed", password="ed-secret-12")
    with pytest.raises(mlops.PermissionDenied, match="belongs to a user who is deactivated"):
        mlops.init(project="p", db_url=store, token=token)
    mlops.init(project="p", db_url=store, user="ada", password="ada-secret-1")
    mlops.activate_user("ed")
    assert mlops.init(project="p", db_url=store, token=token).role == "ml_engineer"
    with session_scope(get_engine(store)) as session:  # the token's expiry passes
        session.execute(update(ApiToken).values(expires_at=time.time() - 60))
    with pytest.raises(mlops.PermissionDenied, match=r"expired on .* ask an admin for a new one \(`mlops user token ed`\)"):
        mlops.init(project="p", db_url=store, token=token)
    mlops.init(project="p", db_url=store, user="ada", password="ada-secret-1")
    fresh = mlops.issue_token("ed", expires_days=1)
    mlops.revoke_token(fresh.split("_")[1])
    with pytest.raises(mlops.PermissionDenied, match="was revoked"):
        mlops.init(project="p", db_url=store, token=fresh)


def test_an_admin_whose_role_was_taken_since_init_is_refused(store):
    mlops.init(project="p", db_url=store, user="ada", password="ada-secret-1")
    with session_scope(get_engine(store)) as session:
        identity.set_role(session=session, actor=identity.OPERATOR, name="ada", role="reviewer")
    with pytest.raises(mlops.PermissionDenied, match=r"user 'ada' \(reviewer\) may not manage users"):
        mlops.users()
