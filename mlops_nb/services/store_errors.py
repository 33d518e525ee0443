"""Driver errors of the database, named: what every interface edge turns a raw driver error into.

A user never sees `sqlite3.OperationalError: database is locked` or a psycopg traceback (SPEC §4,
Errors): the API (api/boundary.py) and the CLI translate the driver's operational errors here into
`StoreBusy` (another writer held the lock past the busy timeout; retrying may succeed) or
`StoreUnavailable` (the store cannot be used: no connection, disk full or read-only, not a
database). The transaction was rolled back before the error got here, so nothing was changed.

    try:
        ...
    except Exception as err:
        named = store_error(err)
        if named is None:
            raise
        raise named from err
"""
from __future__ import annotations

import sqlite3

from mlops_nb.services.errors import StoreBusy, StoreUnavailable

# SQLite's words for a lock it could not get in time (SQLITE_BUSY, SQLITE_LOCKED)
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy", "database schema is locked")
# PostgreSQL's SQLSTATEs for the same: lock_not_available, query_canceled (lock or statement
# timeout), serialization_failure, deadlock_detected (the PostgreSQL manual, Appendix A)
_PG_BUSY = {"55P03", "57014", "40001", "40P01"}


def _driver_error(err: BaseException) -> BaseException | None:
    """The DB-API operational error behind `err` (SQLAlchemy wraps it as `.orig`), or None."""
    from sqlalchemy.exc import OperationalError as WrappedOperationalError

    if isinstance(err, WrappedOperationalError):
        return err.orig if err.orig is not None else err
    if isinstance(err, sqlite3.OperationalError):
        return err
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    return err if isinstance(err, psycopg.OperationalError) else None


def store_error(err: BaseException) -> StoreUnavailable | None:
    """`err` as StoreBusy or StoreUnavailable when it is a driver's operational error (sqlite3's,
    psycopg's, or SQLAlchemy's wrapping of either); None for anything else."""
    driver = _driver_error(err)
    if driver is None:
        return None
    words = str(driver).strip().splitlines()[0] if str(driver).strip() else type(driver).__name__
    state = getattr(driver, "sqlstate", None)
    if state in _PG_BUSY or any(busy in words.lower() for busy in _SQLITE_BUSY):
        return StoreBusy(f"the store is busy: another writer held its lock past the busy timeout ({words}); "
                         "nothing was changed, try again (MLOPS_SQLITE_BUSY_TIMEOUT_MS sets how long SQLite waits)")
    return StoreUnavailable(f"the store could not be used ({type(driver).__name__}: {words}); nothing was "
                            "changed; check the store's URL, that its database is reachable and its disk writable")
