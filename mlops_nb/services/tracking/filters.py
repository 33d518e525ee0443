"""MLflow's run search syntax, parsed into conditions with the same meaning on every database.

Users paste the filters they wrote for `mlflow.search_runs`, so this grammar accepts what MLflow's
(mlflow/utils/search_utils.py, `SearchUtils.parse_search_filter`, and its tests in
tests/utils/test_search_utils.py) accepts and refuses what it refuses, with an InvalidInput that
names the part and lists what is accepted. The whole grammar, and where it differs from MLflow and
why, is one table in docs/api.md (repeated in docs/magics.md):

- `IDENTIFIER OP VALUE`, conditions joined by `AND` (any case); no OR, no parentheses.
- identifiers `metrics.K`, `params.K`, `tags.K`, `attributes.A`, `datasets.D` (and MLflow's other
  spellings: metric, param, parameter(s), tag, attribute, attr, run, dataset; the prefix may be in
  backticks); a bare name is an attribute. K may be quoted with backticks or double quotes.
- values: strings in single or double quotes; numbers (metrics, times); `( 'a', 'b' )` lists.
- per kind, the operators MLflow allows (see _OPERATORS), plus our `NOT LIKE` / `NOT ILIKE`.
- times (`start_time`, `end_time`, `created`) are epoch MILLISECONDS as in MLflow; runs here keep
  seconds, and the store compares the run's time in whole milliseconds.
- `status` is an enum: compared without regard to case (MLflow spells it FINISHED, we finished).

Parsing is all this module does, in one pass over the tokens (no recursion, so no filter can
exhaust the stack); the run store turns the conditions into SQL (store.runs.search).

    >>> parse_filter("metrics.auc > 0.7 and params.penalty = 'l2'")
    [Condition(kind='metrics', key='auc', op='>', value=0.7), Condition(kind='params', ...)]
"""
from __future__ import annotations

import math
import re
from typing import Any

from mlops_nb.services.errors import InvalidInput
from mlops_nb.store.runs import Condition

__all__ = ["ATTRIBUTE_NAMES", "MAX_CONDITIONS", "MAX_FILTER_CHARS", "MAX_LIST_VALUES", "Condition",
           "parse_filter"]

# documented limits (docs/api.md): SQLite joins at most 64 tables, and a search joins one per
# metrics/params/tags condition; every list value is a bind (SQLite takes at most 32,766), so the
# values of all lists together are capped
MAX_CONDITIONS = 50
MAX_FILTER_CHARS = 20_000
MAX_LIST_VALUES = 1_000

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<ident>(?:`[^`]*`|[A-Za-z_]\w*)(?:\.(?:`[^`]*`|"[^"]*"|[\w\-./:]+))?)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]inf(?:inity)?\b)
  | (?P<op>!=|<>|==|<=|>=|=|<|>|~=|~)
  | (?P<punct>[(),])
    """, re.VERBOSE)

_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL"}
_KINDS = {"metric": "metrics", "metrics": "metrics", "param": "params", "params": "params",
          "parameter": "params", "parameters": "params", "tag": "tags", "tags": "tags",
          "attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes",
          "dataset": "datasets", "datasets": "datasets"}
# every attribute name a filter may use (MLflow's and ours) -> the store's attribute (store.runs.ATTRIBUTES)
ATTRIBUTE_NAMES = {"run_id": "run_id", "id": "run_id", "run_name": "name", "name": "name", "run name": "name",
                   "Run name": "name", "Run Name": "name", "user_id": "user", "user": "user",
                   "status": "status", "start_time": "start_time", "created": "start_time",
                   "Created": "start_time", "end_time": "end_time"}
_ATTRIBUTE_LIST = ("run_id, run_name, user_id, status, start_time, end_time, created (MLflow's names) "
                   "and id, name, user (ours)")
# the tags MLflow sets on every run, which here are the run's own attributes
_MLFLOW_TAGS = {"mlflow.runName": "run_name", "mlflow.user": "user_id"}
_TIME_ATTRIBUTES = {"start_time", "end_time"}
_DATASET_KEYS = ("name", "digest", "context")
# MLflow's run statuses (RunStatus); SCHEDULED never occurs here, so it matches nothing
_STATUSES = ("running", "finished", "failed", "killed", "scheduled")

_COMPARE = ("=", "!=", "<", "<=", ">", ">=")
_TEXT = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE")
_OPERATORS = {
    "metrics": _COMPARE,
    "params": _TEXT + ("IS NULL", "IS NOT NULL"),
    "tags": _TEXT + ("IS NULL", "IS NOT NULL"),
    "text attributes": _TEXT + ("IN", "NOT IN"),
    "time attributes": _COMPARE,
    "datasets": _TEXT + ("IN", "NOT IN"),
}
_EXAMPLE = "e.g. \"metrics.auc > 0.7 and params.model = 'rf'\""


class _Refused(Exception):
    """Why the filter was refused; parse_filter puts the filter in front."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _Refused(f"cannot read {text[pos:pos + 30]!r}; {_EXAMPLE}")
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        value = match.group(kind)
        pos = match.end()
        if kind == "ws":
            continue
        if kind == "ident" and value.upper() in _KEYWORDS:
            kind, value = "keyword", value.upper()
        out.append((kind, value))
    return out


def _unquote(text: str) -> str:
    """A key without its backticks or double quotes."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`\"":
        return text[1:-1]
    return text


def _identifier(token: str) -> tuple[str, str]:
    """(kind, key) of an identifier token; a bare name is an attribute."""
    if token.startswith("`"):
        close = token.index("`", 1)
        prefix, rest = token[:close + 1], token[close + 1:]
        if rest:
            key = rest[1:]
        else:
            prefix, key = "attributes", prefix
    elif "." in token:
        prefix, key = token.split(".", 1)
    else:
        prefix, key = "attributes", token
    kind = _KINDS.get(_unquote(prefix))
    if kind is None:
        raise _Refused(f"unknown kind {_unquote(prefix)!r} in {token!r}; use metrics., params., tags., "
                       "attributes. or datasets. (MLflow's spellings metric, param, tag, attribute, run "
                       "and dataset are accepted too)")
    key = _unquote(key)
    if not key:
        raise _Refused(f"{token!r} names no key")
    if kind == "tags" and key in _MLFLOW_TAGS:
        kind, key = "attributes", _MLFLOW_TAGS[key]
    if kind == "attributes":
        if key not in ATTRIBUTE_NAMES:
            if key == "artifact_uri":
                raise _Refused("attributes.artifact_uri: runs here have no artifact URI of their own (each "
                               f"artifact has its own, see mlops.get_run(run_id).artifacts); attributes are "
                               f"{_ATTRIBUTE_LIST}")
            raise _Refused(f"unknown attribute {key!r}; use one of {_ATTRIBUTE_LIST}")
    elif kind == "datasets" and key not in _DATASET_KEYS:
        raise _Refused(f"unknown dataset key {key!r}; use datasets.name, datasets.digest (the content "
                       "fingerprint) or datasets.context (the role: train, validation, ...)")
    return kind, key


_PHRASES = ("IS NOT NULL", "NOT ILIKE", "NOT LIKE", "IS NULL", "NOT IN", "ILIKE", "LIKE", "IN")


def _operator(tokens: list[tuple[str, str]], i: int) -> tuple[str, int]:
    """The operator starting at tokens[i] and the index after it."""
    kind, value = tokens[i]
    if kind == "op":
        return value, i + 1
    words = []
    for token_kind, word in tokens[i:i + 3]:
        if token_kind != "keyword":
            break
        words.append(word)
    for phrase in _PHRASES:  # longest first
        n = phrase.count(" ") + 1
        if " ".join(words[:n]) == phrase:
            return phrase, i + n
    raise _Refused(f"expected an operator ({', '.join(sorted(set(_COMPARE + _PHRASES)))}), found {value!r}")


def _string(literal: str) -> str:
    quote = literal[0]
    body = literal[1:-1]
    return body.replace(quote * 2, quote).replace("\\" + quote, quote)


def _value(tokens: list[tuple[str, str]], i: int, what: str) -> tuple[str, str, int]:
    if i >= len(tokens):
        raise _Refused(f"'{what}' has no value")
    kind, value = tokens[i]
    if kind == "ident" and value.lower() in ("inf", "infinity", "nan"):
        kind = "number"
    if kind not in ("string", "number"):
        hint = " (quote strings with ' or \")" if kind == "ident" else ""
        raise _Refused(f"'{what}' needs a value, found {value!r}{hint}")
    return kind, value, i + 1


def _list(tokens: list[tuple[str, str]], i: int, what: str) -> tuple[tuple[str, ...], int]:
    if i >= len(tokens) or tokens[i] != ("punct", "("):
        raise _Refused(f"{what} takes a list in parentheses, e.g. ('a', 'b')")
    values: list[str] = []
    i += 1
    while True:
        if i >= len(tokens):
            raise _Refused(f"{what}: the list is not closed with ')'")
        kind, value = tokens[i]
        if kind != "string":
            raise _Refused(f"{what}: a list holds quoted strings, found {value!r}")
        values.append(_string(value))
        if i + 1 >= len(tokens):
            raise _Refused(f"{what}: the list is not closed with ')'")
        if tokens[i + 1] == ("punct", ")"):
            return tuple(values), i + 2
        if tokens[i + 1] != ("punct", ","):
            raise _Refused(f"{what}: expected ',' or ')' in the list, found {tokens[i + 1][1]!r}")
        i += 2


def _family(kind: str, key: str) -> str:
    if kind == "attributes":
        return "time attributes" if ATTRIBUTE_NAMES[key] in _TIME_ATTRIBUTES else "text attributes"
    return kind


def _condition(kind: str, key: str, op: str, value: Any, literal_kind: str, literal: str) -> Condition:
    """The condition, its value checked against its kind (MLflow's rules) and in the store's form."""
    what = f"{kind}.{key}"
    family = _family(kind, key)
    if op not in _COMPARE + _PHRASES:
        raise _Refused(f"unknown operator {op!r}; operators are {', '.join(_COMPARE + _PHRASES)}")
    if op not in _OPERATORS[family]:
        raise _Refused(f"{what}: operator {op!r} does not apply to {family}; use one of "
                       f"{', '.join(_OPERATORS[family])}")
    if op in ("IS NULL", "IS NOT NULL"):
        return Condition(kind, key, op, None)
    if op in ("IN", "NOT IN"):
        if kind == "attributes" and ATTRIBUTE_NAMES[key] == "status":
            value = tuple(_status(v, known=op == "IN") for v in value)
        return Condition(kind, ATTRIBUTE_NAMES.get(key, key) if kind == "attributes" else key, op, value)
    if kind == "metrics":
        if literal_kind != "number":
            raise _Refused(f"{what} compares with a number, not {literal}")
        return Condition(kind, key, op, float(literal))
    if family == "time attributes":
        if literal_kind != "number":
            raise _Refused(f"{what} compares with a number (epoch milliseconds, as in MLflow), not {literal}")
        number = float(literal)
        if not math.isfinite(number) or number != int(number):
            raise _Refused(f"{what} compares with whole epoch milliseconds, not {literal}")
        return Condition(kind, ATTRIBUTE_NAMES[key], op, int(number))
    if literal_kind != "string":
        raise _Refused(f"{what} compares with a quoted string, e.g. '{literal}'")
    text = _string(literal)
    if kind == "attributes":
        attribute = ATTRIBUTE_NAMES[key]
        if attribute == "status":
            if op in ("=", "!="):
                text = _status(text, known=op == "=")
            else:  # an enum's spelling carries no meaning: LIKE on status ignores case
                op = op.replace("LIKE", "ILIKE").replace("IILIKE", "ILIKE")
        return Condition(kind, attribute, op, text)
    return Condition(kind, key, op, text)


def _status(value: str, *, known: bool) -> str:
    """A status as stored (lower case); with `known`, refused unless it is one (= and IN on an
    unknown status could only find nothing; != and NOT IN on one find every run, as in MLflow)."""
    status = value.lower()
    if known and status not in _STATUSES:
        raise _Refused(f"status {value!r} is not a run status; use one of {', '.join(s.upper() for s in _STATUSES)} "
                       "(any case)")
    return status


def parse_filter(text: object) -> list[Condition]:
    """The conditions of a filter string (none for None or blank), in the order written.

    Raises:
        InvalidInput: the filter is not a string, is longer than MAX_FILTER_CHARS characters, has
            more than MAX_CONDITIONS conditions, or cannot be read; the message quotes the part and
            says what is accepted.
    """
    if text is None:
        return []
    if not isinstance(text, str):
        raise InvalidInput(f"filter must be a string such as \"metrics.auc > 0.7\", not {type(text).__name__} "
                           f"{text!r:.60}")
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidInput(f"filter is {len(text):,} characters long; at most {MAX_FILTER_CHARS:,} are accepted")
    if not text.strip():
        return []
    try:
        return _parse(text)
    except _Refused as refusal:
        shown = text if len(text) <= 200 else text[:200] + "…"
        raise InvalidInput(f"filter {shown!r}: {refusal}") from None


def _parse(text: str) -> list[Condition]:
    tokens = _tokens(text)
    conditions: list[Condition] = []
    i = listed = 0
    while i < len(tokens):
        kind_, ident = tokens[i]
        if kind_ != "ident":
            raise _Refused(f"expected an identifier such as metrics.auc, found {ident!r}; {_EXAMPLE}")
        kind, key = _identifier(ident)
        if i + 1 >= len(tokens):
            raise _Refused(f"incomplete condition at the end: {ident!r} has no operator")
        op, i = _operator(tokens, i + 1)
        what = f"{kind}.{key}"
        if op in ("IS NULL", "IS NOT NULL"):
            condition = _condition(kind, key, op, None, "", "")
        elif op in ("IN", "NOT IN"):
            values, i = _list(tokens, i, f"{what} {op}")
            listed += len(values)
            if listed > MAX_LIST_VALUES:
                raise _Refused(f"more than {MAX_LIST_VALUES:,} list values; at most {MAX_LIST_VALUES:,} are "
                               "accepted in all lists together")
            condition = _condition(kind, key, op, values, "list", "")
        else:
            if i >= len(tokens):
                raise _Refused(f"incomplete condition at the end: '{what} {op}' has no value")
            literal_kind, literal, i = _value(tokens, i, f"{what} {op}")
            condition = _condition(kind, key, op, None, literal_kind, literal)
        conditions.append(condition)
        if len(conditions) > MAX_CONDITIONS:
            raise _Refused(f"more than {MAX_CONDITIONS} conditions; at most {MAX_CONDITIONS} are accepted")
        if i < len(tokens):
            if tokens[i] == ("keyword", "OR"):
                raise _Refused("conditions are joined with 'and'; OR is not supported (as in MLflow)")
            if tokens[i] != ("keyword", "AND"):
                raise _Refused(f"conditions are joined with 'and', found {tokens[i][1]!r}")
            i += 1
            if i == len(tokens):
                raise _Refused("nothing after the last 'and'")
    return conditions
