"""The registry and promotion magics: register, promote, models, requests, approve, reject, cancel,
rollback and registry, driven through a real IPython shell with real users and proofs."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import mlops_nb as mlops
from tests.factories import fit_credit_model

PASSWORDS = {"dana": "dana-secret-1", "eve": "eve-secret-1", "ed": "ed-secret-1", "rita": "rita-secret-1"}
ROLES = {"dana": "data_scientist", "eve": "ml_engineer", "ed": "ml_engineer", "rita": "reviewer"}


@pytest.fixture()
def store(shell, sqlite_url, tmp_path, monkeypatch):
    """A fresh store with dana (data_scientist), eve and ed (ml_engineer) and rita (reviewer); the
    shell acts as dana, logged in (requesting promotion needs proof)."""
    from mlops_nb.services import identity
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.migrate import ensure_schema

    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        for name, role in ROLES.items():
            identity.add_user(session=session, actor=identity.OPERATOR, name=name, role=role, password=PASSWORDS[name])
    monkeypatch.setenv("MLOPS_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setattr("getpass.getpass", lambda prompt: PASSWORDS[prompt.split()[-1].rstrip(":")])
    as_user(shell, sqlite_url, "dana", login=True)
    return sqlite_url


def as_user(shell, url: str, name: str, *, login: bool = False):
    """`%mlops init` as `name`; with `login`, the password is typed (getpass is patched in `store`)."""
    return mlops_line(shell, f"init --project reg --db {url} --user {name}" + (" --login" if login else ""))


def mlops_line(shell, line: str):
    return shell.run_line_magic("mlops", line)


@pytest.fixture()
def registered(shell, store, credit):
    """Two versions of 'credit' registered with `%mlops register` in one run with a training dataset."""
    shell.user_ns["train_df"] = credit
    shell.user_ns["model_a"] = fit_credit_model(credit, C=0.1)[0]
    shell.user_ns["model_b"] = fit_credit_model(credit, C=9.0)[0]
    run = mlops_line(shell, "start --experiment credit --name lr")
    mlops_line(shell, "dataset train_df --name german")
    a = mlops_line(shell, "register model_a --name credit --target creditability")
    b = mlops_line(shell, "register model_b --name credit --dataset german --target creditability")
    mlops_line(shell, "end")
    return run, a, b


def staged(shell, store, version: int = 1):
    """Version `version` of 'credit' in staging: dana asks, ed approves."""
    as_user(shell, store, "dana", login=True)
    req = mlops_line(shell, f"promote credit --version {version} --to staging --reason ready")
    as_user(shell, store, "ed", login=True)
    return mlops_line(shell, f"approve {req.id}")


def in_production(shell, store, version: int):
    staged(shell, store, version)
    as_user(shell, store, "dana", login=True)
    req = mlops_line(shell, f"promote credit --version {version} --to production --reason ready")
    for who in ("ed", "rita"):
        as_user(shell, store, who, login=True)
        req = mlops_line(shell, f"approve {req.id} --comment ok")
    assert req.status == "approved"


# --- register --------------------------------------------------------------------------------------

def test_register_versions_a_notebook_model_with_the_run_and_dataset(registered):
    run, a, b = registered
    assert (a.name, a.version, a.stage, a.run_id) == ("credit", 1, "none", run.id)
    assert a.dataset.name == "german" and a.target == "creditability"
    assert b.version == 2 and b.dataset.name == "german"
    assert "Model credit v2" in repr(b) and "<table" in b._repr_mimebundle_()["text/html"]


def test_register_of_a_missing_variable_names_it(shell, store):
    mlops_line(shell, "start --experiment credit")
    shell.user_ns.pop("no_such_model", None)
    with pytest.raises(UsageError, match="no variable 'no_such_model' in the notebook"):
        mlops_line(shell, "register no_such_model --name credit")


def test_register_without_an_active_run_passes_the_domain_message(shell, store, credit):
    shell.user_ns["model_a"] = fit_credit_model(credit)[0]
    with pytest.raises(UsageError, match="register_model needs an active run"):
        mlops_line(shell, "register model_a --name credit")
    assert len(mlops.models()) == 0


def test_register_needs_a_name(shell, store):
    with pytest.raises(UsageError, match=r"%mlops register: the following arguments are required: --name"):
        mlops_line(shell, "register model_a")


# --- promote, models, requests ---------------------------------------------------------------------

def test_promote_records_a_pending_request_with_its_gates(shell, registered):
    req = mlops_line(shell, "promote credit --version 2 --to staging --reason beats v1 on AUC")
    assert (req.model, req.version, req.target_stage, req.status) == ("credit", 2, "staging", "pending")
    assert req.reason == "beats v1 on AUC" and req.requester == "dana"
    assert [(g["name"], g["passed"]) for g in req.gates] == [("lineage_complete", True)]
    quoted = mlops_line(shell, 'promote credit --version 1 --to production --reason "straight to prod"')
    assert quoted.reason == "straight to prod"
    assert ("staging_before_production", False) in [(g["name"], g["passed"]) for g in quoted.gates]


@pytest.mark.parametrize(("line", "message"), [
    ("promote credit --version 2 --to prod --reason r", "argument --to: invalid choice: 'prod'"),
    ("promote credit --version two --to staging --reason r", "argument --version: invalid int value: 'two'"),
    ("promote credit --version 2 --to staging", "the following arguments are required: --reason"),
    ("promote nope --version 1 --to staging --reason r", "model 'nope' is not registered in this project"),
    ("promote credit --version 7 --to staging --reason r", "model 'credit' has no version 7; versions are 1-2"),
    ("promote credit --version 1 --to staging --reason ' '", "reason is required"),
])
def test_promote_refusals_are_one_line_usage_errors(shell, registered, line, message):
    with pytest.raises(UsageError, match=message):
        mlops_line(shell, line)
    assert len(mlops.requests()) == 0


def test_models_lists_models_and_the_versions_of_one(shell, registered):
    table = mlops_line(shell, "models")
    assert [(row["name"], row["versions"], row["latest"]) for row in table] == [("credit", 2, 2)]
    versions = mlops_line(shell, "models credit")
    assert [(row["version"], row["stage"]) for row in versions] == [(2, "none"), (1, "none")]
    assert "Versions of credit" in repr(versions) and "<table" in versions._repr_mimebundle_()["text/html"]
    with pytest.raises(UsageError, match="model 'nope' is not registered"):
        mlops_line(shell, "models nope")


def test_requests_lists_and_filters_by_model_and_status(shell, registered, store):
    first = mlops_line(shell, "promote credit --version 1 --to staging --reason one")
    second = mlops_line(shell, "promote credit --version 2 --to staging --reason two")  # supersedes the first
    assert [(r.id, r.status) for r in mlops_line(shell, "requests")] == [(second.id, "pending"),
                                                                         (first.id, "superseded")]
    assert [r.id for r in mlops_line(shell, "requests credit --status pending")] == [second.id]
    assert "Promotion requests" in repr(mlops_line(shell, "requests --status pending"))
    with pytest.raises(UsageError, match="request status 'open' is not one of"):
        mlops_line(shell, "requests --status open")


# --- approve, reject, cancel -----------------------------------------------------------------------

def test_approve_by_a_proven_ml_engineer_moves_the_version_to_staging(shell, registered, store):
    approved = staged(shell, store, 2)
    assert approved.status == "approved" and approved.decided_by == "ed"
    assert mlops.get_model_version("credit", 2).stage == "staging"


def test_approving_your_own_request_is_refused(shell, registered, store):
    as_user(shell, store, "eve", login=True)
    req = mlops_line(shell, "promote credit --version 1 --to staging --reason mine")
    with pytest.raises(UsageError, match=r"user 'eve' requested promotion request \d+ and may not approve it "
                                         r"\(four eyes\)"):
        mlops_line(shell, f"approve {req.id} --comment looks fine")
    assert mlops.requests()[0].status == "pending"


def test_promote_needs_a_login(shell, registered, store):
    as_user(shell, store, "eve")  # an ml_engineer's name, declared: it could file as anyone
    with pytest.raises(UsageError, match="user 'eve' may not request a promotion with a declared name"):
        mlops_line(shell, "promote credit --version 1 --to staging --reason mine")
    assert len(mlops.requests()) == 0


def test_a_failed_login_leaves_the_session_unproven(shell, registered, store, monkeypatch):
    req = mlops_line(shell, "promote credit --version 1 --to staging --reason ready")
    as_user(shell, store, "ed", login=True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: "wrong password")
    with pytest.raises(UsageError, match="wrong user name or password for 'rita'"):
        as_user(shell, store, "rita", login=True)
    with pytest.raises(UsageError, match="user 'ed' may not approve a promotion request with a declared name"):
        mlops_line(shell, f"approve {req.id}")
    monkeypatch.setattr("getpass.getpass", lambda prompt: PASSWORDS["ed"])
    assert as_user(shell, store, "ed", login=True).proven
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    with pytest.raises(UsageError, match="--login: no password given"):
        as_user(shell, store, "ed", login=True)
    assert not mlops.get_context().proven
    assert mlops.requests()[0].status == "pending"


def test_an_unproven_approver_is_refused(shell, registered, store):
    req = mlops_line(shell, "promote credit --version 1 --to staging --reason ready")
    as_user(shell, store, "ed")  # the name of an ml_engineer, claimed without a password
    with pytest.raises(UsageError, match="user 'ed' may not .* with a declared name"):
        mlops_line(shell, f"approve {req.id}")
    assert mlops.requests()[0].status == "pending"


def test_a_reviewer_may_not_approve_staging_under_the_default_policy(shell, registered, store):
    req = mlops_line(shell, "promote credit --version 1 --to staging --reason ready")
    as_user(shell, store, "rita", login=True)
    with pytest.raises(UsageError, match=r"user 'rita' \(reviewer\) may not"):
        mlops_line(shell, f"approve {req.id}")


def test_a_failing_gate_blocks_approval_and_is_named(shell, registered, store):
    req = mlops_line(shell, "promote credit --version 1 --to production --reason skip staging")
    as_user(shell, store, "ed", login=True)
    with pytest.raises(UsageError, match=r"cannot be approved: 1 gate\(s\) failed: staging_before_production"):
        mlops_line(shell, f"approve {req.id}")


def test_approve_of_an_unknown_or_malformed_id(shell, registered):
    with pytest.raises(UsageError, match="promotion request 999 does not exist"):
        mlops_line(shell, "approve 999")
    with pytest.raises(UsageError, match="argument ID: invalid int value: 'abc'"):
        mlops_line(shell, "approve abc")


def test_reject_needs_a_comment(shell, registered, store):
    req = mlops_line(shell, "promote credit --version 1 --to staging --reason ready")
    as_user(shell, store, "ed", login=True)
    with pytest.raises(UsageError, match=r"%mlops reject: the following arguments are required: --comment"):
        mlops_line(shell, f"reject {req.id}")
    with pytest.raises(UsageError, match="comment is required"):
        mlops_line(shell, f"reject {req.id} --comment ''")
    assert mlops.requests()[0].status == "pending"


def test_reject_with_a_comment_by_a_proven_engineer(shell, registered, store):
    req = mlops_line(shell, "promote credit --version 1 --to staging --reason ready")
    as_user(shell, store, "ed", login=True)
    rejected = mlops_line(shell, f"reject {req.id} --comment AUC below production")
    assert (rejected.status, rejected.decided_by) == ("rejected", "ed")
    assert rejected.approvals[0]["comment"] == "AUC below production"
    with pytest.raises(UsageError, match=f"promotion request {req.id} is already rejected by ed"):
        mlops_line(shell, f"reject {req.id} --comment again")


def test_the_requester_may_not_reject_their_own_request(shell, registered, store):
    as_user(shell, store, "eve", login=True)
    req = mlops_line(shell, "promote credit --version 1 --to staging --reason mine")
    with pytest.raises(UsageError, match="may not reject it .four eyes.; withdraw it with mlops.cancel"):
        mlops_line(shell, f"reject {req.id} --comment changed my mind")


def test_cancel_your_own_request_but_not_another_users(shell, registered, store):
    mine = mlops_line(shell, "promote credit --version 1 --to staging --reason ready")
    cancelled = mlops_line(shell, f"cancel {mine.id} --reason retraining first")
    assert (cancelled.status, cancelled.decided_by) == ("cancelled", "dana")
    as_user(shell, store, "eve", login=True)
    theirs = mlops_line(shell, "promote credit --version 2 --to staging --reason from eve")
    as_user(shell, store, "dana")
    with pytest.raises(UsageError, match="user 'dana' may not"):
        mlops_line(shell, f"cancel {theirs.id}")
    with pytest.raises(UsageError, match=f"promotion request {mine.id} is already cancelled"):
        mlops_line(shell, f"cancel {mine.id}")


# --- rollback --------------------------------------------------------------------------------------

def test_rollback_returns_production_to_the_previous_version(shell, registered, store):
    in_production(shell, store, 1)
    in_production(shell, store, 2)
    as_user(shell, store, "dana")
    with pytest.raises(UsageError, match="user 'dana' may not .* with a declared name"):
        mlops_line(shell, "rollback credit --reason bad")
    as_user(shell, store, "eve", login=True)
    with pytest.raises(UsageError, match="the following arguments are required: --reason"):
        mlops_line(shell, "rollback credit")
    back = mlops_line(shell, "rollback credit --reason default rate doubled")
    assert (back.version, back.stage) == (1, "production")
    assert mlops.load_model("credit", stage="production").version == 1
    with pytest.raises(UsageError, match="model .credit. has no earlier production version to roll back to"):
        mlops_line(shell, "rollback credit --reason again")


# --- registry panel --------------------------------------------------------------------------------

def test_registry_magic_returns_the_panel(shell, registered):
    panel = mlops_line(shell, "registry credit")
    assert panel.model == "credit" and panel.version.version == 2
    with pytest.raises(UsageError, match="model 'nope' is not registered"):
        mlops_line(shell, "registry nope")


def test_audit_magic_shows_the_trail_of_a_version(shell, registered, store):
    trail = mlops_line(shell, "audit --action model.register --limit 5")
    assert trail.verified.startswith("audit chain intact") and len(trail) >= 1
    assert all(e["action"] == "model.register" for e in trail)
    assert "<table" in trail._repr_mimebundle_()["text/html"]
    with pytest.raises(UsageError, match="limit must be a positive whole number"):
        mlops_line(shell, "audit --limit 0")
