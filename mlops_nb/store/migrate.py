"""Bring a store to the current schema with alembic, safely when many processes open it at once.

A store already at head is recognised with one query and no alembic import (the common case, on
every `init`). Otherwise one process migrates while the others wait: a file lock beside a SQLite
database, an advisory lock on PostgreSQL.

A new, empty SQLite store is not migrated step by step: it receives a copy of a schema template, a
database this process migrated to head with alembic once (a temporary file), through SQLite's
backup API, then gets its own audit key and head row (`_make_own`, what migration 0006 does per
store). The result is the same database the migrations make (tests/store/test_schema_template.py
compares the two), in milliseconds instead of a second. A migration that writes data belonging to
one store (as 0006 does) must be repeated in `_make_own`; that test fails until it is.
"""
from __future__ import annotations

import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from mlops_nb.store.db import sqlite_path
from mlops_nb.store.migrations import HEAD

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD", "MIGRATIONS_DIR", "SchemaMismatch", "alembic_config", "current_revision", "downgrade",
           "ensure_schema", "upgrade"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x6D6C6F7073  # "mlops"


def current_revision(engine: Engine) -> str | None:
    """The store's alembic revision, or None for an empty database."""
    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except Exception:
            conn.rollback()
            return None
        return row[0] if row else None


def alembic_config(connection: Connection) -> Config:
    """An alembic configuration running our migrations on `connection` (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    path = sqlite_path(str(engine.url))
    if path is None:
        yield
        return
    import fcntl

    lock_path = path.with_name(path.name + ".migrate.lock")
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection to migrate on, committed when the block ends and rolled back if it raises.

    On SQLite, foreign keys are off while migrating: alembic's batch mode changes a table by
    copying it, dropping the old one and renaming the copy, and with foreign keys on, dropping a
    table other rows refer to fails (alembic's docs, "Batch migrations for SQLite": turn them off
    around the migration). `PRAGMA foreign_key_check` then proves no reference was broken before
    the commit, and they are on again before the connection goes back to the pool.
    """
    with engine.connect() as conn:
        raw = conn.connection.driver_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")  # the driver is in autocommit: this takes effect
        try:
            yield conn
            if raw is not None:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise SchemaMismatch(f"the migration left rows referring to missing ones: {broken[:5]}; "
                                         "nothing was changed")
            conn.commit()
        finally:
            if conn.in_transaction():
                conn.rollback()
            if raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def _refuse_unversioned(engine: Engine) -> None:
    if current_revision(engine) is None and "run" in inspect(engine).get_table_names():
        raise SchemaMismatch("the database holds mlops tables but no alembic version; "
                             "it was not created by mlops - check it, then run `mlops db upgrade`")


_template_lock = threading.Lock()
_template: dict[str, Path] = {}  # HEAD -> the template database of this process


def _template_path() -> Path:
    """The schema template of this process: a SQLite file in a private temporary folder (removed at
    exit), migrated to head by alembic on first use. Its own audit key lies beside it, unused:
    MLOPS_AUDIT_KEY_FILE, which names the key of the store being opened, is set aside meanwhile."""
    import atexit
    import shutil

    from alembic import command
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    from mlops_nb.config import audit_key_file_set_aside
    from mlops_nb.store.db import sqlite_pragmas

    with _template_lock:
        found = _template.get(HEAD)
        if found is not None and found.exists():
            return found
        folder = Path(tempfile.mkdtemp(prefix="mlops-schema-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.db"
        engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
        event.listen(engine, "connect", lambda dbapi, _record: sqlite_pragmas(dbapi))
        try:
            with audit_key_file_set_aside(), _migrating(engine) as conn:
                command.upgrade(alembic_config(conn), HEAD)
        finally:
            engine.dispose()
        _template[HEAD] = path
        return path


def _is_empty(raw: sqlite3.Connection) -> bool:
    """Whether the SQLite database holds no table, index, view or trigger at all."""
    return bool(raw.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0)


def _make_own(conn: Connection) -> None:
    """What a new store gets that the template's copy must not share: its own audit key and head row."""
    from mlops_nb.store.audit_key import begin_keyed_chain

    begin_keyed_chain(conn)


def _copy_template(engine: Engine, path: Path) -> bool:
    """Give the empty SQLite store at `path` the template's schema (True), or do nothing when it is not
    empty (False). Runs under the migration file lock, on a connection of its own."""
    from mlops_nb.store.db import sqlite_pragmas

    target = sqlite3.connect(path, isolation_level=None)
    try:
        if not _is_empty(target):
            return False
        source = sqlite3.connect(_template_path())
        try:
            source.backup(target)
        finally:
            source.close()
        sqlite_pragmas(target)  # WAL again: the copy carries the template's header
    finally:
        target.close()
    with engine.begin() as conn:
        _make_own(conn)
    return True


def upgrade(engine: Engine, revision: str = "head", *, refuse_unversioned: bool = False) -> None:
    """Migrate to `revision` (default: head) under the lock; a no-op when already there.

    `refuse_unversioned` checks, under the same lock, that the database is not someone else's: a
    check made before taking the lock could see the tables of a process migrating at that moment.

    Raises:
        SchemaMismatch: with `refuse_unversioned`, the database holds our tables but no alembic version.
    """
    from alembic import command

    if engine.dialect.name == "sqlite":
        with _sqlite_file_lock(engine):
            if refuse_unversioned:
                _refuse_unversioned(engine)
            if revision == "head" and current_revision(engine) == HEAD:
                return
            path = sqlite_path(str(engine.url))
            if revision in ("head", HEAD) and path is not None and _copy_template(engine, path):
                return
            with _migrating(engine) as conn:
                command.upgrade(alembic_config(conn), revision)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        conn.commit()
        try:
            if refuse_unversioned:
                _refuse_unversioned(engine)
            command.upgrade(alembic_config(conn), revision)
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the store down to `revision` (tests and operators undoing an upgrade)."""
    from alembic import command

    with _migrating(engine) as conn:
        command.downgrade(alembic_config(conn), revision)


class SchemaMismatch(RuntimeError):
    """The database cannot be brought to this code's schema automatically."""


def ensure_schema(engine: Engine) -> None:
    """Called by every front end when it opens a store: fast when at head, migrates otherwise.

    A database holding our tables without an alembic version is refused rather than guessed at.

    Raises:
        SchemaMismatch: such a database, or one at a revision this code does not know.
    """
    if current_revision(engine) == HEAD:
        return
    upgrade(engine, refuse_unversioned=True)
