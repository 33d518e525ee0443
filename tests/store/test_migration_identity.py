"""Migration 0003 (identity by id) on a store that already holds users, requests and approvals:
the name key and the user ids are filled from the stored names, and users whose names collide by
key stop the upgrade with their names, changing nothing (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import SchemaMismatch, current_revision, downgrade, upgrade

BEFORE, IDENTITY = "0002", "0003"  # the revision before this one, and this one


def _store_before(db_url: str, users: list[tuple[int, str]]) -> object:
    """A store at BEFORE with `users` (id, name; user 1 with an API token), one model version and two
    requests: request 1 by 'RITA' decided by 'Ed' with approvals by 'ed' and 'ED' (one person
    twice) and the stage change it made, request 2 by 'someone' (a declared name, no user)."""
    engine = get_engine(db_url)
    upgrade(engine, BEFORE)
    statements = [
        *(f"INSERT INTO user_account (id, name, role, active, created_at) VALUES ({i}, '{n}', 'reviewer', TRUE, 1.0)"
          for i, n in users),
        "INSERT INTO project (id, name, created_at) VALUES (1, 'p', 1.0)",
        "INSERT INTO artifact (id, name, uri, sha256, size, created_at) VALUES (1, 'm', 'file:///m', 'x', 1, 1.0)",
        "INSERT INTO registered_model (id, project_id, name, created_by, created_at) VALUES (1, 1, 'm', 'dana', 1.0)",
        "INSERT INTO model_version (id, model_id, version, stage, artifact_id, flavor, signature, env, requirements, "
        "params, metrics, code, features, created_by, created_at) VALUES (1, 1, 1, 'none', 1, 'sklearn', '{}', '{}', "
        "'', '{}', '{}', '{}', '[]', 'dana', 1.0)",
        "INSERT INTO promotion_request (id, model_id, model_version_id, target_stage, requester, reason, status, "
        "gates, policy, created_at, decided_at, decided_by) VALUES (1, 1, 1, 'staging', 'RITA', 'r', 'approved', "
        "'[]', '{}', 1.0, 2.0, 'Ed')",
        "INSERT INTO promotion_request (id, model_id, model_version_id, target_stage, requester, reason, status, "
        "gates, policy, created_at) VALUES (2, 1, 1, 'production', 'someone', 'r', 'pending', '[]', '{}', 1.0)",
        "INSERT INTO approval (id, request_id, \"user\", role, decision, comment, created_at) "
        "VALUES (1, 1, 'ed', 'ml_engineer', 'approve', '', 1.0)",
        "INSERT INTO approval (id, request_id, \"user\", role, decision, comment, created_at) "
        "VALUES (2, 1, 'ED', 'reviewer', 'approve', '', 1.0)",
        # rows referring to the tables the migration rebuilds (batch mode on SQLite)
        "INSERT INTO api_token (id, user_id, prefix, token_hash, created_at, revoked) "
        "VALUES (1, 1, 'abcd', 'h', 1.0, FALSE)",
        "INSERT INTO stage_change (id, model_id, model_version_id, from_stage, to_stage, actor, reason, request_id, "
        "rollback, created_at) VALUES (1, 1, 1, 'none', 'staging', 'Ed', 'r', 1, FALSE, 2.0)",
    ]
    with session_scope(engine) as session:
        for statement in statements:
            session.execute(text(statement))
    return engine


def _rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_upgrade_fills_keys_and_ids_from_the_stored_names(db_url):
    engine = _store_before(db_url, [(1, "Rita"), (2, "ed"), (3, "Ｚoë")])
    upgrade(engine, IDENTITY)
    assert _rows(engine, "SELECT id, name, name_key FROM user_account ORDER BY id") == [
        (1, "Rita", "rita"), (2, "ed", "ed"), (3, "Ｚoë", "zoë")]
    assert _rows(engine, "SELECT id, requester_id, decided_by_id FROM promotion_request ORDER BY id") == [
        (1, 1, 2), (2, None, None)]
    # one person approved twice under two spellings: the first approval carries the id
    assert _rows(engine, "SELECT id, user_id FROM approval ORDER BY id") == [(1, 2), (2, None)]
    assert _rows(engine, "SELECT user_id FROM api_token") == [(1,)]
    assert _rows(engine, "SELECT request_id FROM stage_change") == [(1,)]
    with pytest.raises(Exception, match="(?i)unique"):  # the key is unique now
        with session_scope(engine) as session:
            session.execute(text("INSERT INTO user_account (name, name_key, role, active, created_at) "
                                 "VALUES ('RITA', 'rita', 'admin', TRUE, 1.0)"))
    downgrade(engine, BEFORE)
    assert "name_key" not in {c["name"] for c in inspect(engine).get_columns("user_account")}
    assert _rows(engine, "SELECT id, \"user\" FROM approval ORDER BY id") == [(1, "ed"), (2, "ED")]
    upgrade(engine)


def test_users_whose_names_collide_stop_the_upgrade_naming_them(db_url):
    engine = _store_before(db_url, [(1, "Rita"), (2, "ed"), (3, "ＲＩＴＡ")])
    with pytest.raises(SchemaMismatch) as err:
        upgrade(engine, IDENTITY)
    message = str(err.value)
    assert "'Rita' (id 1); 'ＲＩＴＡ' (id 3)" in message and "'ed'" not in message
    assert "differ only in case or width" in message and "nothing was changed" in message
    assert current_revision(engine) == BEFORE
    assert "name_key" not in {c["name"] for c in inspect(engine).get_columns("user_account")}
    with session_scope(engine) as session:
        session.execute(text("UPDATE user_account SET name = 'rita-2' WHERE id = 3"))
    upgrade(engine, IDENTITY)
    assert _rows(engine, "SELECT id, name_key FROM user_account ORDER BY id") == [(1, "rita"), (2, "ed"), (3, "rita-2")]


def test_a_collision_is_reported_by_init_as_a_conflict(sqlite_url):
    import mlops_nb as mlops

    _store_before(sqlite_url, [(1, "Rita"), (2, "rita")])
    with pytest.raises(mlops.Conflict, match="'Rita' \\(id 1\\); 'rita' \\(id 2\\)"):
        mlops.init(project="p", db_url=sqlite_url, user="dana")
