"""The context `init` returns: proof only a password or token check creates, and a failed login
clears (SPEC §4 Identity; issue 8 item 3). Nothing a caller sets on the context proves anything."""
from __future__ import annotations

import pytest

import mlops_nb as mlops
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.models import Approval
from tests import factories as g


@pytest.fixture()
def pending(sqlite_url):
    """A store with dana (data scientist), eve (ml_engineer) and a pending staging request by dana;
    returns (url, request id)."""
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        g.identity.add_user(session=session, actor=g.identity.OPERATOR, name="dana", role="data_scientist", password="dana-secret-1")
        g.identity.add_user(session=session, actor=g.identity.OPERATOR, name="eve", role="ml_engineer", password="eve-secret-1")
        pid = g.project(session, "credit")
        m = g.model(session, pid, "credit-risk")
        g.version(session, m)
    mlops.init(project="credit", db_url=sqlite_url, user="dana", password="dana-secret-1")
    return sqlite_url, mlops.request_promotion("credit-risk", version=1, to="staging", reason="better AUC").id


def _approvals(url: str, request_id: int) -> list[str]:
    from sqlalchemy import select

    with session_scope(get_engine(url)) as session:
        return list(session.execute(select(Approval.user).where(Approval.request_id == request_id)).scalars())


@pytest.mark.parametrize("field, value", [("proven", True), ("role", "admin"), ("user", "eve"), ("user_id", 2)])
def test_setting_proof_on_the_context_is_refused(pending, field, value):
    url, request_id = pending
    ctx = mlops.init(project="credit", db_url=url, user="eve")  # declared: eve's name, no password
    with pytest.raises(AttributeError):
        setattr(ctx, field, value)
    assert (ctx.user, ctx.role, ctx.proven, ctx.user_id) == ("eve", None, False, None)
    with pytest.raises(mlops.PermissionDenied, match="'eve' may not approve a promotion request with a declared name"):
        mlops.approve(request_id, comment="forged")
    assert _approvals(url, request_id) == []


def test_a_failed_relogin_drops_the_earlier_proof(pending):
    url, request_id = pending
    ctx = mlops.init(project="credit", db_url=url, user="eve", password="eve-secret-1")
    assert (ctx.user, ctx.role, ctx.proven) == ("eve", "ml_engineer", True)
    with pytest.raises(mlops.PermissionDenied, match="wrong user name or password for 'rita'"):
        mlops.init(project="credit", db_url=url, user="rita", password="wrong-password")
    assert mlops.get_context() is ctx and (ctx.role, ctx.proven, ctx.user_id) == (None, False, None)
    with pytest.raises(mlops.PermissionDenied, match="with a declared name"):
        mlops.approve(request_id, comment="recorded as eve?")
    assert _approvals(url, request_id) == []


@pytest.mark.parametrize("login", [dict(user="eve", password="wrong-password"), dict(token="mlops_dead_beef"),
                                   dict(user=" eve", password="eve-secret-1")])
def test_every_failed_login_leaves_no_proof(pending, login):
    url, request_id = pending
    mlops.init(project="credit", db_url=url, user="eve", password="eve-secret-1")
    with pytest.raises((mlops.PermissionDenied, mlops.InvalidInput)):
        mlops.init(project="credit", db_url=url, **login)
    assert not mlops.get_context().proven
    with pytest.raises(mlops.PermissionDenied):
        mlops.approve(request_id)


def test_a_token_of_another_user_leaves_no_proof(pending):
    url, request_id = pending
    with session_scope(get_engine(url)) as session:
        token = g.identity.issue_token(session=session, actor=g.identity.OPERATOR, name="dana")
    mlops.init(project="credit", db_url=url, user="eve", password="eve-secret-1")
    with pytest.raises(mlops.PermissionDenied, match="the API token belongs to 'dana', not 'eve'"):
        mlops.init(project="credit", db_url=url, user="eve", token=token)
    with pytest.raises(mlops.PermissionDenied, match="with a declared name"):
        mlops.approve(request_id)


def test_actor_is_the_identity_init_issued(pending):
    url, request_id = pending
    ctx = mlops.init(project="credit", db_url=url, user="EVE", password="eve-secret-1")
    actor = ctx.actor()
    assert (actor.name, actor.role, actor.proven) == ("eve", "ml_engineer", True)
    assert actor.user_id == ctx.user_id is not None
    assert mlops.approve(request_id, comment="ok").status == "approved"
    assert _approvals(url, request_id) == ["eve"]


@pytest.mark.parametrize("alias", ["EVE", "Eve ", "ｅｖｅ", "someone-else"])
def test_one_person_cannot_file_under_another_name_and_approve_it(pending, alias):
    """Issue 8 item 2's bypass: an ml_engineer files as a case variant, a full-width spelling or an
    invented name of herself, then logs in and approves her own request."""
    url, _ = pending
    with session_scope(get_engine(url)) as session:
        g.version(session, g.model(session, g.project(session, "credit"), "fraud"))
    with pytest.raises((mlops.PermissionDenied, mlops.InvalidInput)):
        mlops.init(project="credit", db_url=url, user=alias)
        req = mlops.request_promotion("fraud", version=1, to="staging", reason="mine")
        mlops.init(project="credit", db_url=url, user="eve", password="eve-secret-1")
        mlops.approve(req.id, comment="looks good to me")
    assert len(mlops.requests("fraud", status="approved")) == 0
