"""A new SQLite store made from the schema template is the store the migrations make (store.migrate)."""
from __future__ import annotations

import sqlite3

from mlops_nb.store.db import get_engine
from mlops_nb.store.migrate import HEAD, _migrating, alembic_config, current_revision, ensure_schema


def _schema(path) -> list[tuple]:
    """Every table, index, view and trigger with its SQL, the parts of a CREATE TABLE in sorted order:
    alembic's batch mode writes a table's constraints in an order that varies from process to process
    (Python's string hashing), which SQLite does not care about."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    def parts(sql: str | None) -> list[str]:
        sql = (sql or "").replace("\n", "")
        head, body = (sql[:sql.index("(")], sql[sql.index("(") + 1:sql.rindex(")")]) if "(" in sql else (sql, "")
        return [head, *sorted(part.strip() for part in body.split(", "))]

    return sorted((kind, name, table, parts(sql)) for kind, name, table, sql in rows)


def _rows(path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables if t != "audit_head"}


def _by_alembic(path) -> None:
    from alembic import command

    engine = get_engine(f"sqlite:///{path}")
    with _migrating(engine) as conn:
        command.upgrade(alembic_config(conn), "head")


def test_the_template_copy_equals_the_migrated_store(tmp_path):
    copied, migrated = tmp_path / "copied.db", tmp_path / "migrated.db"
    ensure_schema(get_engine(f"sqlite:///{copied}"))
    _by_alembic(migrated)
    assert current_revision(get_engine(f"sqlite:///{copied}")) == HEAD
    assert _schema(copied) == _schema(migrated)
    assert _rows(copied) == _rows(migrated)


def test_a_copied_store_has_its_own_audit_key_and_a_chain_that_verifies(tmp_path):
    import mlops_nb as mlops
    from mlops_nb.services import governance
    from mlops_nb.store.audit_key import key_id, load_key
    from mlops_nb.store.db import session_scope

    urls = [f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db")]
    for url in urls:
        ensure_schema(get_engine(url))
    keys = [load_key(url) for url in urls]
    assert keys[0] != keys[1]
    for url, key in zip(urls, keys):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("SELECT key_id, keyed_from FROM audit_head").fetchone() == (key_id(key), 1)
    mlops.init(project="p", db_url=urls[1], user="dana", artifact_root=str(tmp_path / "artifacts"))
    with session_scope(get_engine(urls[1])) as session:
        governance.record(session=session, actor="dana", action="test.event", entity="run", entity_id="x")
    with session_scope(get_engine(urls[1])) as session:
        result = governance.verify(session=session)
    assert result.ok, result


def test_a_database_that_is_not_empty_is_migrated_not_overwritten(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE someone_elses (x INTEGER)")
    from mlops_nb.store.migrate import upgrade

    upgrade(get_engine(f"sqlite:///{path}"))
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "someone_elses" in names and "run" in names
