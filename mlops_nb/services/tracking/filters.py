"""MLflow's run search syntax, parsed into SQL conditions.

`metrics.auc > 0.7 and params.penalty = 'l2' and attributes.name LIKE 'lr-%'`: identifiers
`metrics.K`, `params.K`, `tags.K` (K may be quoted with backticks or double quotes) and
`attributes.status|name|user|run_id|start_time|end_time`; operators = != < <= > >= LIKE ILIKE;
conditions joined by `and`; string literals in single quotes. Each condition becomes a JOIN (or an
EXISTS) over the indexed (run_id, key) rows, so a search never loads the runs it rejects.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from mlops_nb.services.errors import InvalidInput
from mlops_nb.store.models import LatestMetric, Param, Run, Tag

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<ident>(?:metrics|metric|params|param|tags|tag|attributes|attribute|attr|run)\.
                (?:`[^`]+`|"[^"]+"|[\w\-./:]+))
    | (?P<op>!=|<=|>=|=|<|>|\bNOT\s+LIKE\b|\bILIKE\b|\bLIKE\b)
    | (?P<string>'(?:[^'\\]|\\.|'')*')
    | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf(?:inity)?\b|nan\b)
    | (?P<and>\bAND\b)
    )""", re.VERBOSE | re.IGNORECASE)

_ATTRIBUTES = {"status": Run.status, "name": Run.name, "run_name": Run.name, "user": Run.user,
               "run_id": Run.id, "id": Run.id, "start_time": Run.start_time, "end_time": Run.end_time}
_NUMERIC_ATTRIBUTES = {"start_time", "end_time"}


@dataclass(frozen=True)
class Condition:
    kind: str  # metrics | params | tags | attributes
    key: str
    op: str
    value: Any


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise InvalidInput(f"filter {text!r}: cannot read {text[pos:pos + 30]!r}; expected e.g. "
                               "\"metrics.auc > 0.7 and params.model = 'rf'\"")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def parse_filter(text: str | None) -> list[Condition]:
    """Parse a filter string into conditions; raises InvalidInput naming the part it cannot read."""
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
        kind = {"metric": "metrics", "param": "params", "tag": "tags", "attribute": "attributes",
                "attr": "attributes", "run": "attributes"}.get(prefix.lower(), prefix.lower())
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
            if key not in _ATTRIBUTES:
                raise InvalidInput(f"filter {text!r}: unknown attribute {key!r}; "
                                   f"use one of {', '.join(sorted(_ATTRIBUTES))}")
            if key in _NUMERIC_ATTRIBUTES and k3 != "number":
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


def _compare(column, op: str, value: Any) -> ColumnElement:
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "LIKE":
        return column.like(value)
    if op == "NOT LIKE":
        return column.not_like(value)
    if op == "ILIKE":
        return func.lower(column).like(str(value).lower())
    raise InvalidInput(f"unknown operator {op!r}")


def condition_sql(cond: Condition) -> ColumnElement:
    """One condition as a SQL expression over `run` (an EXISTS for metrics, params and tags)."""
    if cond.kind == "attributes":
        return _compare(_ATTRIBUTES[cond.key], cond.op, cond.value)
    table = {"metrics": LatestMetric, "params": Param, "tags": Tag}.get(cond.kind)
    if table is None:
        raise InvalidInput(f"unknown identifier prefix {cond.kind!r}; use metrics., params., tags. or attributes.")
    return exists(select(1).where(and_(table.run_id == Run.id, table.key == cond.key,
                                       _compare(table.value, cond.op, cond.value))))


def filter_sql(text: str | None) -> list[ColumnElement]:
    return [condition_sql(c) for c in parse_filter(text)]


_SQLITE_ATTRIBUTES = {"status": 'run.status', "name": 'run.name', "run_name": 'run.name', "user": 'run."user"',
                      "run_id": 'run.id', "id": 'run.id', "start_time": 'run.start_time',
                      "end_time": 'run.end_time'}
_SQLITE_TABLES = {"metrics": "latest_metric", "params": "param", "tags": "tag"}
_SQL_OPS = {"=": "= ?", "!=": "!= ?", "<": "< ?", "<=": "<= ?", ">": "> ?", ">=": ">= ?", "LIKE": "LIKE ?",
            "NOT LIKE": "NOT LIKE ?"}


def _sqlite_compare(column: str, op: str, value: Any) -> tuple[str, Any]:
    if op == "ILIKE":
        return f"lower({column}) LIKE ?", str(value).lower()
    if op not in _SQL_OPS:
        raise InvalidInput(f"unknown operator {op!r}")
    return f"{column} {_SQL_OPS[op]}", value


def sqlite_filter(text: str | None) -> tuple[str, list[Any], str, str, list[Any]]:
    """The filter as SQLite text for the raw search path (same comparisons as `apply_filter`):
    (WITH clause, its parameters, FROM source standing for `run`, AND-ed WHERE terms, their parameters).

    The metrics/params/tags conditions become one materialized CTE `hits`: the runs found from the
    first condition's (key, value) index, each probed by primary key for the others; only then is the
    `run` row of each hit read. Left to itself the planner reads the run row of every candidate of
    the first condition before probing the others (10,000 runs, 1,106 hits: ~12 ms to ~7 ms)."""
    tables, terms, term_params = [], [], []
    for cond in parse_filter(text):
        if cond.kind == "attributes":
            sql, value = _sqlite_compare(_SQLITE_ATTRIBUTES[cond.key], cond.op, cond.value)
            terms.append(sql)
            term_params.append(value)
            continue
        table = _SQLITE_TABLES.get(cond.kind)
        if table is None:
            raise InvalidInput(f"unknown identifier prefix {cond.kind!r}; use metrics., params., tags. or attributes.")
        tables.append((table, cond))
    where = "".join(f" AND {t}" for t in terms)
    if not tables:
        return "", [], "run", where, term_params
    joins, join_params = [], []
    for i, (table, cond) in enumerate(tables[1:], start=1):
        sql, value = _sqlite_compare(f"f{i}.value", cond.op, cond.value)
        joins.append(f' JOIN {table} AS f{i} ON f{i}.run_id = f0.run_id AND f{i}."key" = ? AND {sql}')
        join_params += [cond.key, value]
    first, cond = tables[0]
    sql, value = _sqlite_compare("f0.value", cond.op, cond.value)
    import sqlite3

    materialized = " MATERIALIZED" if sqlite3.sqlite_version_info >= (3, 35) else ""
    with_clause = (f"WITH hits AS{materialized} (SELECT f0.run_id AS run_id FROM {first} AS f0{''.join(joins)} "
                   f'WHERE f0."key" = ? AND {sql}) ')
    return (with_clause, [*join_params, cond.key, value], "hits JOIN run ON run.id = hits.run_id", where,
            term_params)


def apply_filter(query: Select, text: str | None) -> Select:
    """Add the filter to a select over `run`: attributes as WHERE terms, each metrics/params/tags
    condition as an inner JOIN of its table on (run_id, key) with the comparison in the ON clause.
    Those tables hold one row per run and key, so a join never repeats a run and the result equals
    the EXISTS form; but the planner may now start from the (key, value) index of a condition's table
    (e.g. the runs with auc > 0.8) and probe the others by primary key, instead of walking every run
    of the experiment with one probe per condition (10,000 runs: ~12 ms to ~8 ms in raw sqlite3)."""
    for i, cond in enumerate(parse_filter(text)):
        if cond.kind == "attributes":
            query = query.where(_compare(_ATTRIBUTES[cond.key], cond.op, cond.value))
            continue
        table = {"metrics": LatestMetric, "params": Param, "tags": Tag}.get(cond.kind)
        if table is None:
            raise InvalidInput(f"unknown identifier prefix {cond.kind!r}; use metrics., params., tags. or attributes.")
        alias = aliased(table, name=f"f{i}")
        query = query.join(alias, and_(alias.run_id == Run.id, alias.key == cond.key,
                                       _compare(alias.value, cond.op, cond.value)))
    return query
