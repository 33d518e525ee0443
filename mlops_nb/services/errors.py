"""Domain errors: every refusal raises one of these, with a message naming the input and the next step.

Interfaces translate them once at their edge: magics into UsageError, the CLI into exit status 1,
the console into an error box.
"""
from __future__ import annotations


class MlopsError(Exception):
    """Base of every refusal the toolkit makes on purpose."""


class InvalidInput(MlopsError, ValueError):
    """A bad value, or a call that needs something missing (e.g. an active run)."""


class NotFound(MlopsError, LookupError):
    """A named project, run, dataset, model or version does not exist."""


class PermissionDenied(MlopsError):
    """A role or proof of identity is missing, or four eyes would be broken."""


class GateFailed(MlopsError):
    """A promotion gate failed; the message names each failing gate."""


class Conflict(MlopsError):
    """The store already holds something else (a param with another value, a decided request)."""


class IntegrityFailure(MlopsError):
    """Stored bytes or records do not match their recorded hash."""


class ValidationFailed(InvalidInput):
    """A frame broke its contract badly enough to be refused (a scoring batch under a `refuse`
    policy): `.report` is the ValidationReport whose error findings name each column and rule."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class StoreUnavailable(MlopsError):
    """The store could not be reached or used (the database's driver refused the operation: no
    connection, a read-only or full disk, a database file that is not one). Nothing was changed: the
    transaction was rolled back. The message keeps the driver's words."""


class StoreBusy(StoreUnavailable):
    """Another writer held the store's lock past the busy timeout (SQLite's `database is locked`,
    PostgreSQL's lock or statement timeout, a serialization failure). Nothing was changed; the same
    call may simply be retried. MLOPS_SQLITE_BUSY_TIMEOUT_MS sets how long SQLite waits."""


__all__ = ["MlopsError", "InvalidInput", "NotFound", "PermissionDenied", "GateFailed", "Conflict",
           "IntegrityFailure", "StoreUnavailable", "StoreBusy", "ValidationFailed"]
