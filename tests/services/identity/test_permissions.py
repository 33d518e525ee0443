"""The permission matrix: every role (and an unproven declared name) against every action, through
the services themselves, with the default policy."""
from __future__ import annotations

import pytest

from mlops_nb.services import governance, identity
from mlops_nb.services.errors import InvalidInput, PermissionDenied
from mlops_nb.services.identity.auth import Identity
from mlops_nb.store.models.identity import ROLES
from tests import factories as g

IDENTITIES = list(ROLES) + ["declared"]
EVERYONE = set(IDENTITIES)
PROVEN = set(ROLES)  # every role, proven; not a declared name
# the specification, written out: who may do what (default policy for approve/reject)
EXPECTED = {
    "track": EVERYONE,
    "register": EVERYONE,
    "request": PROVEN,
    "view": EVERYONE,
    "cancel_own": PROVEN,
    "cancel": {"ml_engineer", "admin"},
    "approve": {"ml_engineer", "reviewer", "manager", "admin"},
    "reject": {"ml_engineer", "reviewer", "manager", "admin"},
    "rollback": {"ml_engineer", "admin"},
    "set_policy": {"ml_engineer", "admin"},
    "manage_users": {"admin"},
    "trust_types": {"ml_engineer", "admin"},
    "set_monitoring": {"ml_engineer", "admin"},
    "retrain": {"ml_engineer", "admin"},
    "acknowledge": PROVEN,
    "attest": {"ml_engineer", "reviewer", "manager", "admin"},
    "set_scorecard": {"ml_engineer", "admin"},
}
SERVICE_EXPECTED = {
    "request": PROVEN,
    "approve_staging": {"ml_engineer"},
    "approve_production": {"ml_engineer", "reviewer"},
    "reject_staging": {"ml_engineer"},
    "reject_production": {"ml_engineer", "reviewer"},
    "cancel_own": PROVEN,
    "cancel_other": {"ml_engineer", "admin"},
    "rollback": {"ml_engineer", "admin"},
    "set_policy": {"ml_engineer", "admin"},
}


def _identity(who: str) -> Identity:
    return Identity(name="dana") if who == "declared" else Identity(name=who.replace("_", "-"), role=who, proven=True)


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("who", IDENTITIES)
def test_matrix_allows_and_refuses_each_role(who, action):
    actor = _identity(who)
    if who in EXPECTED[action]:
        identity.require(actor, action)
        assert identity.allowed(actor, action)
        return
    with pytest.raises(PermissionDenied) as err:
        identity.require(actor, action)
    message = str(err.value)
    assert repr(actor.name) in message and identity.MATRIX[action].what in message
    assert " or ".join(identity.MATRIX[action].roles) in message
    if who == "declared":
        assert "log in with a password or token" in message


def test_matrix_covers_every_action():
    assert set(identity.ACTIONS) == set(EXPECTED)


def test_a_claimed_role_without_proof_grants_nothing():
    claimed = Identity(name="ed", role="admin", proven=False)
    with pytest.raises(PermissionDenied, match="log in with a password or token"):
        identity.require(claimed, "rollback")


def test_allowed_roles_narrow_but_never_lift_proof():
    with pytest.raises(PermissionDenied, match=r"needs the role reviewer"):
        identity.require(_identity("ml_engineer"), "approve", allowed_roles=["reviewer"])
    with pytest.raises(PermissionDenied, match="log in with a password or token"):
        identity.require(Identity(name="dana"), "approve", allowed_roles=["reviewer"])
    identity.require(_identity("manager"), "approve", allowed_roles=["manager"])


def test_unknown_action_is_invalid_input():
    with pytest.raises(InvalidInput, match="unknown action 'launch'"):
        identity.require(_identity("admin"), "launch")


def test_role_is_read_from_the_store_on_every_call(session):
    people = g.add_users(session)
    engineer = people["ml_engineer"]
    assert identity.current(session=session, actor=engineer).role == "ml_engineer"
    user = identity.get_user(session=session, name=engineer.name)
    user.role = "data_scientist"
    session.flush()
    assert identity.current(session=session, actor=engineer).role == "data_scientist"
    user.active = False
    session.flush()
    assert not identity.current(session=session, actor=engineer).proven


def _try(fn) -> bool:
    try:
        fn()
    except PermissionDenied as err:
        assert "may not" in str(err) or "four eyes" in str(err)
        return False
    return True


def test_service_matrix_every_role_every_action(session):
    people = g.add_users(session)
    pid = g.project(session)
    requester = g.proven(session, "requester")  # a proven data scientist asks; everyone else decides
    outcome: dict[str, set[str]] = {action: set() for action in SERVICE_EXPECTED}
    for who in IDENTITIES:
        actor = people[who]
        m = g.model(session, pid)

        def request(to, by=requester, m=m):
            v = g.version(session, m, stage="staging" if to == "production" else "none")
            return governance.request_promotion(session=session, actor=by, project_id=pid, model=m.name,
                                               version=v.version, to=to, reason="matrix")

        with session.begin_nested():
            if _try(lambda actor=actor: request("staging", actor, g.model(session, pid))):
                outcome["request"].add(who)
        for stage in ("staging", "production"):
            req = request(stage)
            with session.begin_nested():
                if _try(lambda actor=actor, req=req: governance.approve(session=session, actor=actor, request_id=req.id,
                                                                    comment="ok")):
                    outcome[f"approve_{stage}"].add(who)
            req = request(stage)
            with session.begin_nested():
                if _try(lambda actor=actor, req=req: governance.reject(session=session, actor=actor, request_id=req.id,
                                                                   comment="no")):
                    outcome[f"reject_{stage}"].add(who)
        if who != "declared":  # a declared name cannot request, so it has no request of its own
            own = request("staging", actor, g.model(session, pid))
            with session.begin_nested():
                if _try(lambda actor=actor, own=own: governance.cancel(session=session, actor=actor,
                                                                       request_id=own.id)):
                    outcome["cancel_own"].add(who)
        other = request("staging")
        with session.begin_nested():
            if _try(lambda actor=actor, other=other: governance.cancel(session=session, actor=actor,
                                                                       request_id=other.id)):
                outcome["cancel_other"].add(who)
        live = g.model(session, pid)
        g.version(session, live, stage="production")
        g.version(session, live, stage="production")
        with session.begin_nested():
            if _try(lambda actor=actor, live=live: governance.rollback(session=session, actor=actor, model_id=live.id,
                                                                       reason="matrix")):
                outcome["rollback"].add(who)
        with session.begin_nested():
            if _try(lambda actor=actor, m=m: governance.set_policy(
                    session=session, actor=actor, project_id=pid, model_id=m.id,
                    rules={"metric_thresholds": {"auc": ">= 0.5"}})):
                outcome["set_policy"].add(who)
    assert outcome == SERVICE_EXPECTED


def test_unproven_name_of_a_real_engineer_cannot_approve(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    v = g.version(session, m)
    req = governance.request_promotion(session=session, actor=people["dana"], project_id=pid, model=m.name,
                                      version=v.version, to="staging", reason="r")
    with pytest.raises(PermissionDenied) as err:
        governance.approve(session=session, actor=Identity(name="ml-engineer"), request_id=req.id)
    assert "'ml-engineer'" in str(err.value) and "approve" in str(err.value)
    assert "ml_engineer" in str(err.value) and "log in with a password or token" in str(err.value)


def test_current_reads_the_user_by_id_not_by_name(session):
    people = g.add_users(session)
    engineer = people["ml_engineer"]
    user = identity.get_user(session=session, name=engineer.name)
    user.name, user.name_key = "eve", "eve"  # renamed: the proof follows the id
    session.flush()
    now = identity.current(session=session, actor=engineer)
    assert (now.name, now.role, now.proven, now.user_id) == ("eve", "ml_engineer", True, user.id)
    assert identity.current(session=session, actor=Identity(name="eve", role="admin", proven=True,
                                                            user_id=user.id)).role == "ml_engineer"


def test_a_proven_flag_without_a_user_id_is_a_declared_name(session):
    g.add_users(session)
    forged = Identity(name="admin", role="admin", proven=True)  # no check issued it: no user id
    assert identity.current(session=session, actor=forged) == Identity(name="admin")
