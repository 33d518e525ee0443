"""Password logins with lockout (one check for init and the console), OIDC name matching, logout.

The failure count and its audit events must outlive the refusal: callers open their session with
session_scope, which rolls back when PermissionDenied propagates (SQLite and PostgreSQL).
"""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

import mlops_nb as mlops
from mlops_nb.services import identity
from mlops_nb.services.errors import Conflict, InvalidInput, PermissionDenied
from mlops_nb.services.identity import OPERATOR, AccountLocked
from mlops_nb.services.identity import login as login_module
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.models import AuditEvent, User

SECRET = "rita-secret-1"
WRONG = "wrong user name or password for 'rita'"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """argon2 with its production cost takes ~0.3 s a hash; the same algorithm, cheaper, for tests."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(identity.auth, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    login_module._decoy_hash.cache_clear()
    yield
    login_module._decoy_hash.cache_clear()


@pytest.fixture()
def store(db_url):
    """An engine on a store with rita (reviewer, password SECRET) and ada (admin)."""
    engine = get_engine(db_url)
    ensure_schema(engine)
    with session_scope(engine) as s:
        identity.add_user(session=s, actor=OPERATOR, name="rita", role="reviewer", password=SECRET)
        identity.add_user(session=s, actor=OPERATOR, name="ada", role="admin", password="ada-secret-1")
    return engine


@pytest.fixture()
def sqlite_store(sqlite_url):
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as s:
        identity.add_user(session=s, actor=OPERATOR, name="rita", role="reviewer", password=SECRET)
        identity.add_user(session=s, actor=OPERATOR, name="ada", role="admin", password="ada-secret-1")
    return engine


def _try(engine, password: str, name: str = "rita"):
    """One password check as init does it: in a session_scope that rolls back when it raises."""
    with session_scope(engine) as s:
        return identity.identify(session=s, declared=name, fallback="x", password=password)


def _rita(engine) -> tuple[int, float | None]:
    with session_scope(engine) as s:
        user = s.execute(select(User).where(User.name == "rita")).scalars().one()
        return user.failed_logins, user.locked_until


def _events(engine, *actions: str) -> list[tuple[str, str, dict]]:
    with session_scope(engine) as s:
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        return [(e.actor, e.action, e.after) for e in rows if not actions or e.action in actions]


def test_a_wrong_password_is_counted_and_audited_although_the_caller_rolls_back(store):
    with pytest.raises(PermissionDenied, match=f"^{WRONG}$"):
        _try(store, "not-her-password")
    assert _rita(store) == (1, None)
    assert _events(store, "user.login_failed") == [("rita", "user.login_failed", {"failures": 1})]
    with pytest.raises(PermissionDenied, match=WRONG):
        _try(store, "still-not-it")
    assert _rita(store) == (2, None)


def test_too_many_wrong_passwords_lock_the_user_even_against_the_right_one(store, monkeypatch):
    monkeypatch.setenv("MLOPS_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("MLOPS_LOGIN_LOCK_MIN", "10")
    for _ in range(2):
        with pytest.raises(PermissionDenied, match=WRONG):
            _try(store, "guess")
    with pytest.raises(AccountLocked) as locked:
        _try(store, "guess")
    failures, until = _rita(store)
    assert failures == 3 and locked.value.until == until
    assert (f"user 'rita' is locked until {login_module._utc(until)} after 3 wrong passwords in a row; "
            "try again then, or ask an admin to unlock it") == str(locked.value)
    assert " UTC after " in str(locked.value)
    with pytest.raises(AccountLocked, match="user 'rita' is locked until"):
        _try(store, SECRET)
    assert _rita(store) == (3, until)  # a refusal while locked neither counts nor extends the lock
    events = _events(store, "user.login_failed", "user.locked")
    assert [a for _, a, _ in events] == ["user.login_failed"] * 3 + ["user.locked", "user.login_failed"]
    assert events[3][2] == {"failures": 3, "locked_until": until, "minutes": 10.0}
    assert events[4][2] == {"failures": 3, "locked_until": until}


def test_the_lock_ends_after_its_minutes_and_a_success_resets_the_count(sqlite_store, monkeypatch):
    monkeypatch.setenv("MLOPS_LOGIN_MAX_FAILURES", "2")
    clock = [1_000_000.0]
    monkeypatch.setattr(login_module.time, "time", lambda: clock[0])
    for _ in range(2):
        with pytest.raises(PermissionDenied):
            _try(sqlite_store, "guess")
    assert _rita(sqlite_store) == (2, 1_000_000.0 + 15 * 60)  # the default: 15 minutes
    clock[0] += 15 * 60 - 1
    with pytest.raises(AccountLocked):
        _try(sqlite_store, SECRET)
    clock[0] += 2
    with pytest.raises(PermissionDenied, match=WRONG):  # a lock that ran out: the count starts again
        _try(sqlite_store, "guess")
    assert _rita(sqlite_store) == (1, None)
    assert _try(sqlite_store, SECRET).role == "reviewer"
    assert _rita(sqlite_store) == (0, None)


def test_an_unknown_name_reads_like_a_wrong_password_and_is_audited_without_its_text(store):
    with pytest.raises(PermissionDenied) as unknown:
        _try(store, "correct horse", name="ritta")
    with pytest.raises(PermissionDenied) as wrong:
        _try(store, "correct horse", name="rita")
    assert str(unknown.value) == "wrong user name or password for 'ritta'"
    assert str(wrong.value) == WRONG
    with session_scope(store) as s:
        assert s.execute(select(User.name).order_by(User.name)).scalars().all() == ["ada", "rita"]
    [event, _] = _events(store, "user.login_failed")
    fingerprint = login_module.name_fingerprint("ritta")
    assert event == ("anonymous", "user.login_failed", {"known": False, "name_fingerprint": fingerprint})
    assert "ritta" not in json.dumps(_events(store))
    assert login_module.name_fingerprint("RITTA") == fingerprint


def test_deactivated_users_and_users_without_a_password_read_like_a_wrong_password(sqlite_store):
    with session_scope(sqlite_store) as s:
        identity.add_user(session=s, actor=OPERATOR, name="bo", role="data_scientist")
        identity.deactivate_user(session=s, actor=OPERATOR, name="rita")
    with pytest.raises(PermissionDenied, match=f"^{WRONG}$"):
        _try(sqlite_store, SECRET)
    with pytest.raises(PermissionDenied, match="^wrong user name or password for 'bo'$"):
        _try(sqlite_store, "anything-at-all", name="bo")


def test_a_bad_name_is_invalid_input_and_counts_nothing(sqlite_store):
    with pytest.raises(InvalidInput, match="leading or trailing spaces"):
        _try(sqlite_store, "guess", name=" rita")
    assert _events(sqlite_store, "user.login_failed") == []


def test_console_logins_are_audited_init_logins_are_not(sqlite_store):
    _try(sqlite_store, SECRET)
    assert _events(sqlite_store, "user.login") == []
    with session_scope(sqlite_store) as s:
        who = identity.log_in(session=s, name="RITA", password=SECRET)
    assert (who.name, who.role, who.proven) == ("rita", "reviewer", True)
    assert _events(sqlite_store, "user.login") == [("rita", "user.login", {"via": "password"})]
    with session_scope(sqlite_store) as s:
        identity.log_out(session=s, actor=who, reason="idle")
    assert _events(sqlite_store, "user.logout") == [("rita", "user.logout", {"reason": "idle"})]


def test_init_with_a_wrong_password_is_counted(sqlite_store, sqlite_url):
    with pytest.raises(mlops.PermissionDenied, match=WRONG):
        mlops.init(project="p", db_url=sqlite_url, user="rita", password="guess-guess")
    assert _rita(sqlite_store) == (1, None)
    assert mlops.init(project="p", db_url=sqlite_url, user="rita", password=SECRET).proven
    assert _rita(sqlite_store) == (0, None)


def test_in_an_open_transaction_the_check_runs_in_it(sqlite_store):
    """A caller already in a transaction cannot wait for a second writer on SQLite: the failure is
    recorded in its transaction and stored when it commits."""
    with session_scope(sqlite_store) as s:
        s.execute(select(User.id)).all()
        with pytest.raises(PermissionDenied):
            identity.identify(session=s, declared="rita", fallback="x", password="guess")
    assert _rita(sqlite_store) == (1, None)


def test_no_password_in_events_or_logs(sqlite_store, caplog):
    caplog.set_level(logging.DEBUG)
    for password in ("guess-one-7", SECRET):
        with session_scope(sqlite_store) as s:
            try:
                identity.log_in(session=s, name="rita", password=password)
            except PermissionDenied:
                pass
    with pytest.raises(PermissionDenied):
        _try(sqlite_store, "guess-two-8", name="nobody")
    stored = json.dumps(_events(sqlite_store))
    for password in ("guess-one-7", SECRET, "guess-two-8"):
        assert password not in stored and password not in caplog.text


def test_an_admin_unlocks_a_locked_user(sqlite_store, monkeypatch):
    monkeypatch.setenv("MLOPS_LOGIN_MAX_FAILURES", "1")
    with pytest.raises(AccountLocked):
        _try(sqlite_store, "guess")
    with session_scope(sqlite_store) as s:
        ada = identity.log_in(session=s, name="ada", password="ada-secret-1")
        assert identity.list_users(session=s, actor=ada)[1].locked_until is not None
    with session_scope(sqlite_store) as s:
        with pytest.raises(PermissionDenied):
            identity.unlock_user(session=s, actor=identity.Identity(name="rita"), name="rita")
    with session_scope(sqlite_store) as s:
        ada = identity.identify(session=s, declared="ada", fallback="x", password="ada-secret-1")
        unlocked = identity.unlock_user(session=s, actor=ada, name="rita")
    assert (unlocked.name, unlocked.locked_until) == ("rita", None)
    assert _rita(sqlite_store) == (0, None)
    assert _try(sqlite_store, SECRET).proven
    with session_scope(sqlite_store) as s, pytest.raises(Conflict, match="is not locked"):
        identity.unlock_user(session=s, actor=OPERATOR, name="rita")
    assert _events(sqlite_store, "user.unlock")[0][:2] == ("ada", "user.unlock")


@pytest.mark.parametrize("value", ["", "zero", "0", "-3"])
def test_bad_lock_settings_keep_the_defaults(monkeypatch, value):
    from mlops_nb import config

    monkeypatch.setenv("MLOPS_LOGIN_MAX_FAILURES", value)
    monkeypatch.setenv("MLOPS_LOGIN_LOCK_MIN", value)
    assert (config.login_max_failures(), config.login_lock_minutes()) == (5, 15.0)


# --- logins proven by an OIDC provider ---

@pytest.mark.parametrize("claims, names", [
    ({"email": "Rita@Bank.example", "preferred_username": "rita"}, ["Rita@Bank.example", "rita"]),
    ({"email": "rita@bank.example", "email_verified": False, "preferred_username": "rita"}, ["rita"]),
    ({"email": "rita@bank.example", "preferred_username": "RITA@bank.example"}, ["rita@bank.example"]),
    ({"email": " spaced", "preferred_username": "ok\x00"}, []),
    ({"name": "Rita Reviewer"}, []),
])
def test_external_names_are_the_verified_email_then_the_preferred_username(claims, names):
    assert identity.external_names(claims) == names


def test_an_oidc_login_proves_the_matching_active_user_and_is_audited(sqlite_store):
    with session_scope(sqlite_store) as s:
        identity.add_user(session=s, actor=OPERATOR, name="eli@bank.example", role="ml_engineer")
        who = identity.log_in_external(session=s, provider="okta",
                                       claims={"email": "ELI@bank.example", "email_verified": True})
        assert (who.name, who.role, who.proven, who.user_id is not None) == ("eli@bank.example", "ml_engineer",
                                                                              True, True)
        by_username = identity.log_in_external(session=s, provider="okta",
                                               claims={"email": "x@elsewhere.example", "preferred_username": "rita"})
        assert by_username.name == "rita"
    assert _events(sqlite_store, "user.login") == [
        ("eli@bank.example", "user.login", {"via": "oidc", "provider": "okta", "claim": "email"}),
        ("rita", "user.login", {"via": "oidc", "provider": "okta", "claim": "preferred_username"})]


def test_an_oidc_login_without_an_active_user_is_refused(sqlite_store):
    with session_scope(sqlite_store) as s:
        identity.deactivate_user(session=s, actor=OPERATOR, name="rita")
    with session_scope(sqlite_store) as s, pytest.raises(PermissionDenied) as err:
        identity.log_in_external(session=s, provider="okta", claims={"email": "rita", "preferred_username": "x"})
    assert str(err.value) == ("your okta account ('rita' or 'x') matches no active user of this store; "
                              "ask an admin to add you under that name")
    with session_scope(sqlite_store) as s, pytest.raises(PermissionDenied, match=r"\(no email or preferred_username\)"):
        identity.log_in_external(session=s, provider="okta", claims={})


@pytest.mark.postgres
def test_two_wrong_passwords_at_once_count_as_two_on_postgresql(pg_admin_url, tmp_path):
    """The second check waits for the first one's row lock (FOR UPDATE) and counts on from its result,
    instead of reading the count before the first committed and writing the same number."""
    import threading

    from sqlalchemy import text

    from tests.conftest import new_pg_database

    url, drop = new_pg_database(pg_admin_url)
    try:
        engine = get_engine(url)
        ensure_schema(engine)
        with session_scope(engine) as s:
            identity.add_user(session=s, actor=OPERATOR, name="rita", role="reviewer", password=SECRET)
        outcome: list[BaseException] = []

        def second() -> None:
            try:
                _try(engine, "guess-two")
            except PermissionDenied as err:
                outcome.append(err)

        with session_scope(engine) as first:
            first.execute(select(User.id)).all()  # in a transaction: the check runs in it and holds the row
            with pytest.raises(PermissionDenied):
                identity.identify(session=first, declared="rita", fallback="x", password="guess-one")
            thread = threading.Thread(target=second)
            thread.start()
            waiting = 0
            for _ in range(200):  # until the second check waits for the lock (at most ~10 s)
                with engine.connect() as conn:
                    waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                                "AND datname = current_database()")).scalar()
                if waiting:
                    break
                thread.join(0.05)
            assert waiting == 1
        thread.join(30)
        assert len(outcome) == 1
        assert _rita(engine) == (2, None)
    finally:
        drop()
