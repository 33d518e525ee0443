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


class StoreError(MlopsError):
    """The database could not answer (unreachable, locked past its timeout, damaged, or missing a
    table); the message names the operation and the driver's own words. Nothing was changed."""


__all__ = ["MlopsError", "InvalidInput", "NotFound", "PermissionDenied", "GateFailed", "Conflict",
           "IntegrityFailure", "StoreError"]
