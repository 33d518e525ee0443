"""Users, roles and proof: argon2 hashes, tokens that name their user, refusals at init."""
from __future__ import annotations

import pytest
from sqlmodel import select

import mlops_nb as mlops
from mlops_nb.services import identity
from mlops_nb.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.models import ApiToken, User


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """argon2 with its production cost takes ~0.3 s a hash; the same algorithm, cheaper, for tests."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(identity.auth, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def test_add_user_stores_only_an_argon2_hash(session):
    user = identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="reviewer", password="rita-secret-1")
    assert user.password_hash.startswith("$argon2id$") and "rita-secret-1" not in user.password_hash
    assert identity.verify_secret(user.password_hash, "rita-secret-1")
    assert not identity.verify_secret(user.password_hash, "wrong")
    assert not identity.verify_secret(None, "anything") and not identity.verify_secret("not-a-hash", "x")


def test_duplicate_user_is_a_conflict(session):
    identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="reviewer")
    with pytest.raises(Conflict, match="user 'rita' already exists"):
        identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="admin")


def test_unknown_role_is_invalid_input(session):
    with pytest.raises(InvalidInput, match="role 'boss' is not one of data_scientist, ml_engineer"):
        identity.add_user(session=session, actor=identity.OPERATOR, name="bob", role="boss")


def test_short_password_is_refused(session):
    with pytest.raises(InvalidInput, match="password for 'bob' is too short; use at least 8 characters"):
        identity.add_user(session=session, actor=identity.OPERATOR, name="bob", role="admin", password="short")


def test_unknown_user_is_not_found(session):
    with pytest.raises(NotFound, match="user 'ghost' does not exist; add it with `mlops user add ghost"):
        identity.issue_token(session=session, actor=identity.OPERATOR, name="ghost")


def test_tokens_are_stored_hashed_and_name_their_user(session):
    identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="reviewer")
    token = identity.issue_token(session=session, actor=identity.OPERATOR, name="rita")
    assert token.startswith("mlops_")
    row = session.exec(select(ApiToken)).one()
    assert row.token_hash.startswith("$argon2") and token.split("_", 2)[2] not in row.token_hash
    assert identity.user_for_token(session=session, token=token).name == "rita"
    who = identity.identify(session=session, declared=None, fallback="someone", token=token)
    assert who == identity.Identity(name="rita", role="reviewer", proven=True,
                                    user_id=identity.get_user(session=session, name="rita").id)


@pytest.mark.parametrize("bad, words", [("garbage", "the API token is malformed"),
                                        ("mlops_dead_beef", "the API token is not valid")])
def test_bad_tokens_are_refused(session, bad, words):
    with pytest.raises(PermissionDenied, match=words):
        identity.user_for_token(session=session, token=bad)


def test_revoked_tokens_and_inactive_users_are_refused(session):
    identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="reviewer", password="rita-secret-1")
    token = identity.issue_token(session=session, actor=identity.OPERATOR, name="rita")
    row = session.exec(select(ApiToken)).one()
    row.revoked = True
    session.flush()
    with pytest.raises(PermissionDenied, match=r"the API token mlops_\w{8}_… was revoked; ask an admin for a new one"):
        identity.user_for_token(session=session, token=token)
    user = session.exec(select(User)).one()
    user.active = False
    session.flush()
    with pytest.raises(PermissionDenied, match="wrong user name or password for 'rita'"):
        identity.identify(session=session, declared="rita", fallback="x", password="rita-secret-1")


def test_declared_name_without_proof_has_no_role(session):
    identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="reviewer", password="rita-secret-1")
    assert identity.identify(session=session, declared="rita", fallback="x") == identity.Identity(name="rita")
    assert identity.identify(session=session, declared=None, fallback="me").name == "me"


@pytest.fixture()
def users(db_url):
    engine = get_engine(db_url)
    from mlops_nb.store.migrate import ensure_schema

    ensure_schema(engine)
    with session_scope(engine) as session:
        identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="reviewer", password="rita-secret-1")
        identity.add_user(session=session, actor=identity.OPERATOR, name="ed", role="ml_engineer", password="ed-secret-12")
        return {"rita": identity.issue_token(session=session, actor=identity.OPERATOR, name="rita")}


def test_init_with_password_proves_the_role(db_url, users):
    ctx = mlops.init(project="p", db_url=db_url, user="rita", password="rita-secret-1")
    assert (ctx.user, ctx.role, ctx.proven) == ("rita", "reviewer", True)
    assert "rita (reviewer, proven)" in repr(ctx)


def test_init_with_token_proves_the_role(db_url, users, monkeypatch):
    ctx = mlops.init(project="p", db_url=db_url, token=users["rita"])
    assert (ctx.user, ctx.role, ctx.proven) == ("rita", "reviewer", True)
    monkeypatch.setenv("MLOPS_TOKEN", users["rita"])
    assert mlops.init(project="p", db_url=db_url).role == "reviewer"


def test_init_with_a_wrong_password_is_refused(db_url, users):
    with pytest.raises(mlops.PermissionDenied, match="wrong user name or password for 'rita'"):
        mlops.init(project="p", db_url=db_url, user="rita", password="wrong-password")
    with pytest.raises(mlops.PermissionDenied, match="wrong user name or password for 'nobody'"):
        mlops.init(project="p", db_url=db_url, user="nobody", password="whatever-1")


def test_init_with_a_wrong_token_is_refused(db_url, users):
    with pytest.raises(mlops.PermissionDenied, match="the API token is not valid"):
        mlops.init(project="p", db_url=db_url, token=users["rita"] + "x")


def test_init_with_another_users_token_is_refused(db_url, users, monkeypatch):
    with pytest.raises(mlops.PermissionDenied, match="the API token belongs to 'rita', not 'ed'"):
        mlops.init(project="p", db_url=db_url, user="ed", token=users["rita"])
    monkeypatch.setenv("MLOPS_USER", "ed")
    with pytest.raises(mlops.PermissionDenied, match="belongs to 'rita', not 'ed'"):
        mlops.init(project="p", db_url=db_url, token=users["rita"])


def test_declared_name_tracks_without_a_role(db_url, users):
    ctx = mlops.init(project="p", db_url=db_url, user="rita")
    assert (ctx.user, ctx.role, ctx.proven) == ("rita", None, False)
