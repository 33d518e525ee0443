"""A Core statement compiled once for SQLite, to run on a plain sqlite3 connection.

The text and the order of its `?` placeholders come from SQLAlchemy's compiler with the engine's
own dialect, and so do the conversions of typed values (JSON through the engine's serializer,
booleans as 0/1): the raw path runs exactly the SQL the portable path would, without compiling or
processing anything per call beyond what a statement's typed binds need.

    >>> insert = SqliteStatement(statements.insert_param(), engine.dialect)
    >>> conn.execute(*insert.bind({"run_id": run_id, "key": "C", "value": "0.5"}))
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class SqliteStatement:
    """`statement` compiled for `dialect` (a SQLite one): `sql`, the bind `names` in placeholder order,
    the values of the statement's own literals, and the conversions its typed binds need.

    Raises:
        RuntimeError: a list bind this class cannot expand (not rendered as SQLAlchemy renders one
            before execution, or needing a conversion per element).
    """

    __slots__ = ("sql", "names", "_fixed", "_convert", "_expanding", "_plan", "_expansions")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        binds = compiled.binds
        self.sql: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._fixed = {name: value for name, value in compiled.params.items() if not binds[name].required}
        self._convert: dict[str, Callable[[Any], Any]] = {}
        for name in self.names:
            process = binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self._convert[name] = process
        self._expanding = tuple(name for name in self.names if binds[name].expanding)
        for name in self._expanding:
            if self._placeholder(name) not in self.sql:  # how SQLAlchemy renders a list bind before execution
                raise RuntimeError(f"cannot find the list parameter {name!r} in {self.sql!r}")
            if name in self._convert:
                raise RuntimeError(f"list parameter {name!r} needs a conversion per element; not supported")
        for name, value in list(self._fixed.items()):  # a literal's value is converted once, here
            if name in self._convert:
                self._fixed[name] = self._convert.pop(name)(value)
        # per bind: its name, its conversion (None: none), whether it is a list
        self._plan = tuple((name, self._convert.get(name), name in self._expanding) for name in self.names)
        self._expansions: dict[int, str] = {}

    @property
    def conversions(self) -> frozenset[str]:
        """The binds whose values the dialect converts before they reach sqlite3 (floats, JSON, ...)."""
        return frozenset(self._convert)

    @staticmethod
    def _placeholder(name: str) -> str:
        return f"(__[POSTCOMPILE_{name}])"

    def expanded(self, length: int) -> str:
        """The text with its one list bind taking `length` (> 0) values: pass the other binds and the
        list's values in `names` order, the list's flattened in its place (cached per length)."""
        sql = self._expansions.get(length)
        if sql is None:
            (name,) = self._expanding
            sql = self.sql.replace(self._placeholder(name), "(" + ", ".join("?" * length) + ")", 1)
            if len(self._expansions) < 64:
                self._expansions[length] = sql
        return sql

    def bind(self, values: Mapping[str, Any], more: Mapping[str, Any] | None = None) -> tuple[str, list[Any]]:
        """The SQL text and its positional parameters for the bind `values` and `more` (by name; for a
        list bind a non-empty list, whose elements are passed as they are). Raises KeyError naming a
        bind that neither gives."""
        sql = self.sql
        params: list[Any] = []
        fixed = self._fixed if more is None else {**self._fixed, **more}
        for name, convert, expanding in self._plan:
            value = values[name] if name in values else fixed[name]
            if expanding:
                sql = sql.replace(self._placeholder(name), "(" + ", ".join("?" * len(value)) + ")", 1)
                params.extend(value)
            elif convert is not None:  # called for None too, as SQLAlchemy does (JSON None is 'null')
                params.append(convert(value))
            else:
                params.append(value)
        return sql, params
