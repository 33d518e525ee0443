"""The API's edge for driver errors: every public API function is wrapped in `store_errors`.

A database driver's operational error (SQLite's `database is locked` past the busy timeout, a lost
PostgreSQL connection) leaves the API as `StoreBusy` or `StoreUnavailable` (services.store_errors),
never as a raw sqlite3, psycopg or SQLAlchemy exception; the transaction has been rolled back by
then, so nothing was changed. Everything else passes through untouched.

    @store_errors
    def log_metric(key, value, *, step=None): ...
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


def store_errors(function: F) -> F:
    """`function`, raising StoreBusy or StoreUnavailable instead of a driver's operational error."""
    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as err:
            from mlops_nb.services.store_errors import store_error

            named = store_error(err)
            if named is None:
                raise
            raise named from err
    return cast(F, guarded)
