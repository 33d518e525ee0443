"""How a result shows itself: text for `repr`, HTML for Jupyter, and the conversion of a service's plain
record into its displayable form.

Every displayable class subclasses the service's record (`isinstance` still holds, every field is the
same) and adds only presentation. `present(value)` turns a service result, and the records nested in
it, into that form; the Python API calls it on what it returns.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from mlops_nb.display.format import html_table, key_value_html, key_value_text, text_table

T = TypeVar("T")

_DISPLAY: dict[type, type] = {}


def displays(record: type) -> Any:
    """Class decorator: the decorated class is how instances of the service class `record` display."""

    def register(cls: type) -> type:
        _DISPLAY[record] = cls
        return cls

    return register


def present(value: T) -> T:
    """`value` as its displayable subclass (the same object's fields, no copy of their values); records
    in its fields, directly or in a list, are converted too. Anything else is returned as it is."""
    cls = _DISPLAY.get(type(value))
    if cls is None:
        return value
    shown: Any = object.__new__(cls)
    for key, item in vars(value).items():
        if type(item) in _DISPLAY:
            item = present(item)
        elif type(item) is list and item and type(item[0]) in _DISPLAY:
            item = [present(x) for x in item]
        shown.__dict__[key] = item
    return shown  # type: ignore[no-any-return]  # cls subclasses type(value): a T


class Displayable:
    """Gives `__repr__` and `_repr_mimebundle_` from `_pairs()` (one record: field, value rows)."""

    _title = ""

    def _pairs(self) -> list[tuple[str, Any]]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return key_value_text(self._title, self._pairs())

    def _repr_html_(self) -> str:
        return key_value_html(self._title, self._pairs())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


class DisplayTable:
    """Text and HTML for a table result: subclasses give `_display(limit)` -> (columns, rows, title)
    and `__len__`; the first 50 rows are shown, with a count of the rest in text."""

    def _display(self, limit: int = 50) -> tuple[Sequence[str], Sequence[Sequence[Any]], str]:
        raise NotImplementedError

    def __repr__(self) -> str:
        cols, rows, title = self._display()
        total = len(self)  # type: ignore[arg-type]  # the record class beside this one in the bases gives __len__
        more = f"\n… {total - len(rows)} more" if total > len(rows) else ""
        return text_table(cols, rows, title) + more

    def _repr_html_(self) -> str:
        return html_table(*self._display())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}
