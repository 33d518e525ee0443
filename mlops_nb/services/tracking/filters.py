"""MLflow's run search syntax, parsed into conditions.

`metrics.auc > 0.7 and params.penalty = 'l2' and attributes.name LIKE 'lr-%'`: identifiers
`metrics.K`, `params.K`, `tags.K` (K may be quoted with backticks or double quotes) and
`attributes.status|name|user|run_id|start_time|end_time`; operators = != < <= > >= LIKE NOT LIKE
ILIKE; conditions joined by `and`; string literals in single quotes. Parsing is all this module
does: the run store turns the conditions into SQL (store.runs.search), the same for every database.

    >>> parse_filter("metrics.auc > 0.7 and params.penalty = 'l2'")
    [Condition(kind='metrics', key='auc', op='>', value=0.7), Condition(kind='params', ...)]
"""
from __future__ import annotations

import re
from typing import Any

from mlops_nb.services.errors import InvalidInput
from mlops_nb.store.runs import ATTRIBUTES, NUMERIC_ATTRIBUTES, Condition

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<ident>(?:metrics|metric|params|param|tags|tag|attributes|attribute|attr|run)\.
                (?:`[^`]+`|"[^"]+"|[\w\-./:]+))
    | (?P<op>!=|<=|>=|=|<|>|\bNOT\s+LIKE\b|\bILIKE\b|\bLIKE\b)
    | (?P<string>'(?:[^'\\]|\\.|'')*')
    | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf(?:inity)?\b|nan\b)
    | (?P<and>\bAND\b)
    )""", re.VERBOSE | re.IGNORECASE)

__all__ = ["Condition", "parse_filter"]

_KINDS = {"metric": "metrics", "param": "params", "tag": "tags", "attribute": "attributes", "attr": "attributes",
          "run": "attributes"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise InvalidInput(f"filter {text!r}: cannot read {text[pos:pos + 30]!r}; expected e.g. "
                               "\"metrics.auc > 0.7 and params.model = 'rf'\"")
        kind = match.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def parse_filter(text: str | None) -> list[Condition]:
    """The conditions of a filter string (none for None or blank), in the order written.

    Raises:
        InvalidInput: the filter cannot be read; the message quotes the part and says what was expected.
    """
    if text is None or not text.strip():
        return []
    tokens = _tokens(text)
    conditions: list[Condition] = []
    i = 0
    while i < len(tokens):
        if len(tokens) - i < 3:
            raise InvalidInput(f"filter {text!r}: incomplete condition at the end")
        (k1, ident), (k2, op), (k3, literal) = tokens[i:i + 3]
        if k1 != "ident" or k2 != "op" or k3 not in ("string", "number"):
            raise InvalidInput(f"filter {text!r}: expected IDENTIFIER OP VALUE, got {ident!r} {op!r} {literal!r}")
        prefix, key = ident.split(".", 1)
        key = key.strip('`"')
        kind = _KINDS.get(prefix.lower(), prefix.lower())
        op = " ".join(op.upper().split())
        value: Any
        if k3 == "string":
            value = literal[1:-1].replace("''", "'").replace("\\'", "'")
        else:
            value = float(literal)
        if kind == "metrics":
            if k3 != "number":
                raise InvalidInput(f"filter {text!r}: metrics.{key} compares with a number, not {literal}")
            if "LIKE" in op:
                raise InvalidInput(f"filter {text!r}: LIKE applies to params, tags and attributes, not metrics")
        elif kind == "attributes":
            if key not in ATTRIBUTES:
                raise InvalidInput(f"filter {text!r}: unknown attribute {key!r}; "
                                   f"use one of {', '.join(sorted(ATTRIBUTES))}")
            if key in NUMERIC_ATTRIBUTES and k3 != "number":
                raise InvalidInput(f"filter {text!r}: attributes.{key} compares with a number (epoch seconds)")
        elif k3 != "string":
            raise InvalidInput(f"filter {text!r}: {kind}.{key} compares with a quoted string, e.g. '{literal}'")
        conditions.append(Condition(kind, key, op, value))
        i += 3
        if i < len(tokens):
            if tokens[i][0] != "and":
                raise InvalidInput(f"filter {text!r}: conditions are joined with 'and', found {tokens[i][1]!r}")
            i += 1
            if i == len(tokens):
                raise InvalidInput(f"filter {text!r}: nothing after the last 'and'")
    return conditions
