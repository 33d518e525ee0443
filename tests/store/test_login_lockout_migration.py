"""Migration 0009 (login lockout) on a store that already has users: they survive with no failures
and no lock, can log in, and a downgrade takes the two columns away again (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import inspect, text

from mlops_nb.services import identity
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import current_revision, downgrade, upgrade

BEFORE, LOCKOUT = "0008", "0009"


def test_users_survive_the_upgrade_with_no_failures_and_no_lock(db_url):
    engine = get_engine(db_url)
    upgrade(engine, BEFORE)
    hashed = identity.hash_secret("rita-secret-1")
    with session_scope(engine) as session:
        for i, (name, active) in enumerate((("Rita", True), ("bo", False)), start=1):
            session.execute(text("INSERT INTO user_account (id, name, name_key, role, password_hash, active, "
                                 "created_at) VALUES (:id, :name, :key, 'reviewer', :hash, :active, 1.0)"),
                            {"id": i, "name": name, "key": name.lower(), "hash": hashed, "active": active})
        session.execute(text("INSERT INTO api_token (id, user_id, prefix, token_hash, created_at, revoked) "
                             "VALUES (1, 1, 'abcd', 'h', 1.0, FALSE)"))
    upgrade(engine, LOCKOUT)
    assert current_revision(engine) == LOCKOUT
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name, active, failed_logins, locked_until FROM user_account "
                                 "ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "Rita", True, 0, None), (2, "bo", False, 0, None)]
        assert conn.execute(text("SELECT user_id FROM api_token")).scalar() == 1
    with session_scope(engine) as session:
        assert identity.identify(session=session, declared="rita", fallback="x", password="rita-secret-1").user_id == 1
    downgrade(engine, BEFORE)
    assert not {"failed_logins", "locked_until"} & {c["name"] for c in inspect(engine).get_columns("user_account")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_account")).scalar() == 2
    upgrade(engine)
