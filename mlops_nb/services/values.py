"""Checks on user-given names and values, shared by every service that stores them."""
from __future__ import annotations

import json
import numbers
from typing import Any

from mlops_nb.services.errors import InvalidInput

MAX_NAME = 250
MAX_PARAM_VALUE = 6000
MIN_STEP, MAX_STEP = -2**63, 2**63 - 1  # the step column is a 64-bit BIGINT (as MLflow's)
MAX_ROW_ID = 2**31 - 1  # integer primary keys are 32-bit INTEGER columns on PostgreSQL


READ_LIMIT = 1_000  # the most rows a listing read returns at once
NOTE_CHARS = 5_000  # a person's note (an alert's acknowledgement, an attestation): what was done, not a document


def is_row_id(value: Any) -> bool:
    """Whether `value` could be an integer row id: an int (not a bool) from 1 to MAX_ROW_ID. A larger
    one would reach PostgreSQL's driver as "integer out of range" rather than find nothing."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ROW_ID


def check_limit(limit: Any, maximum: int = READ_LIMIT) -> int:
    """`limit` itself when it is a whole number from 1 to `maximum` (how many rows a read returns).

    Raises:
        InvalidInput: anything else (a bool, a float, 0, more than `maximum`), named.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidInput(f"limit must be a whole number from 1 to {maximum}, got {limit!r}")
    return limit


def check_note(note: Any, *, required: str | None = None) -> str:
    """`note` as given, when it is text a store keeps: no NUL (PostgreSQL refuses it), at most
    NOTE_CHARS characters; with `required` (what the note must say, for the message), not blank either.

    Raises:
        InvalidInput: not text, holding NUL, too long, or blank when `required`.
    """
    if not isinstance(note, str):
        raise InvalidInput(f"a note must be text, got {type(note).__name__}")
    if "\x00" in note:
        raise InvalidInput("a note must not hold NUL characters")
    if len(note) > NOTE_CHARS:
        raise InvalidInput(f"a note is at most {NOTE_CHARS:,} characters, got {len(note):,}")
    if required is not None and not note.strip():
        raise InvalidInput(f"a note is required: {required}")
    return note


def check_name(value: Any, what: str) -> str:
    """A key or name as given, when it is a non-empty string of at most 250 characters without NUL.

    Raises:
        InvalidInput: naming `what` ("param name", "run name", ...) and the problem.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > MAX_NAME:
        raise InvalidInput(f"{what} {value[:40]!r}… is {len(value)} characters; the limit is {MAX_NAME}")
    if "\x00" in value:
        raise InvalidInput(f"{what} {value!r} contains a NUL character")
    return value


def _plain(value: Any) -> Any:
    """numpy arrays as (nested) lists and numpy scalars as Python numbers, also inside lists, tuples
    and dicts, so a value means the same whichever way it was built (numpy is not imported here)."""
    module = type(value).__module__
    if module == "numpy" or module.startswith("numpy."):
        tolist = getattr(value, "tolist", None)
        if callable(tolist):
            return tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _plain(k): _plain(v) for k, v in value.items()}
    return value


def _is_array(value: Any) -> bool:
    module = type(value).__module__
    return (module == "numpy" or module.startswith("numpy.")) and getattr(value, "ndim", 0) > 0


def value_text(value: Any) -> str:
    """A value as a param or tag stores it: `str(value)`, with lists, dicts, tuples and numpy arrays
    as JSON of plain numbers (numpy scalars inside them as Python numbers), so `[64, 32]`,
    `np.array([64, 32])` and `list(np.array([64, 32]))` are one value: `[64, 32]`. Where JSON cannot
    encode a value, `str()` of it. No limit is checked here."""
    if isinstance(value, (list, dict, tuple)) or _is_array(value):
        try:
            return json.dumps(_plain(value), default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def param_text(key: str, value: Any, what: str = "param") -> str:
    """A param (or tag) value as stored: `value_text(value)`, checked against the limits.

    Raises:
        InvalidInput: longer than 6,000 characters, or containing NUL.
    """
    text = value_text(value)
    if len(text) > MAX_PARAM_VALUE:
        raise InvalidInput(f"{what} {key!r} is {len(text)} characters long; the limit is {MAX_PARAM_VALUE} "
                           "(log a long value as an artifact instead)")
    if "\x00" in text:
        raise InvalidInput(f"{what} {key!r} contains a NUL character")
    return text


def metric_value(key: str, value: Any) -> float:
    """A metric value as a float; NaN and +-inf are kept as such.

    Raises:
        InvalidInput: bool, text or anything else that is not a real number, or an int beyond float range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy scalars are Real
        raise InvalidInput(f"metric {key!r} must be a number, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except OverflowError as err:  # an int beyond float range
        raise InvalidInput(f"metric {key!r} is too large for a float ({str(value)[:20]}…)") from err


def metric_step(key: str, step: Any) -> int:
    """A step as stored: an integer (numpy's included; bool refused) within the 64-bit column.

    Raises:
        InvalidInput: not an integer, or outside -2**63..2**63-1.
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidInput(f"metric {key!r}: step must be an integer, got {step!r}")
    value = int(step)
    if not MIN_STEP <= value <= MAX_STEP:
        raise InvalidInput(f"metric {key!r}: step {value} is outside {MIN_STEP}..{MAX_STEP}")
    return value


# --- user names -----------------------------------------------------------------------------------
# SPEC §4 (Identity): a name is normalised (Unicode NFKC, no control characters, no surrounding
# spaces) and case-folded when it is matched to a user, so two spellings of one person are one user.
# Surrounding spaces and control or format characters (category C: Cc, Cf, Cs, Co, Cn: e.g. a
# zero-width space or a right-to-left override) are refused, never stripped: a name that could look
# like another is a mistake to report, not to repair silently.


def user_name(value: Any, what: str = "user name") -> str:
    """A user name in Unicode NFKC form ("ＲＩＴＡ" becomes "RITA"), case kept, as stored and shown.

    Raises:
        InvalidInput: not a string, empty, longer than 250 characters, with leading or trailing
            spaces, or with a control or format character (the message names it and its position).
    """
    import unicodedata

    check_name(value, what)
    name = unicodedata.normalize("NFKC", value)
    if name != name.strip():
        raise InvalidInput(f"{what} {value!r} has leading or trailing spaces; give it without them")
    for position, char in enumerate(name):
        if unicodedata.category(char).startswith("C"):
            raise InvalidInput(f"{what} {value!r} contains the control or format character U+{ord(char):04X} "
                               f"at position {position}; names may not contain them")
    return check_name(name, what)


def user_key(value: Any, what: str = "user name") -> str:
    """The key a user is matched by: `user_name(value)` case-folded, in NFKC again (Unicode's
    NFKC_Casefold, approximately), so "Rita", "rita" and "ＲＩＴＡ" share one key: "rita".

    Raises:
        InvalidInput: as `user_name`.
    """
    import unicodedata

    return unicodedata.normalize("NFKC", user_name(value, what).casefold())


def epoch_seconds(value: Any, what: str = "time") -> float:
    """`value` as UTC epoch seconds: a datetime or date (naive ones read as UTC), an ISO 8601 text
    ("2024-05-31", "2024-05-31T12:00:00+02:00"), a pandas Timestamp, or epoch seconds (int/float).

    Raises:
        InvalidInput: anything else, a text that is not ISO 8601, or a time that is not finite or
            lies in the future (`what` names it).
    """
    import datetime as dt
    import math
    import time

    when: float
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a date, a datetime, an ISO 8601 text or epoch seconds, got a bool")
    if isinstance(value, numbers.Real):
        when = float(value)
    elif isinstance(value, (str, dt.date)):
        try:
            parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            raise InvalidInput(f"{what} {value!r} is not an ISO 8601 date or time (e.g. '2024-05-31')") from None
        if not isinstance(parsed, dt.datetime):
            parsed = dt.datetime(parsed.year, parsed.month, parsed.day)
        when = (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()
    else:
        raise InvalidInput(f"{what} must be a date, a datetime, an ISO 8601 text or epoch seconds, "
                           f"got {type(value).__name__}")
    if not math.isfinite(when):
        raise InvalidInput(f"{what} must be a finite time, got {value!r}")
    if when > time.time() + 60:
        raise InvalidInput(f"{what} {value!r} lies in the future")
    return when
