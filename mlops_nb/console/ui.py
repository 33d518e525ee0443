"""Display helpers every page shares: times with their zone, user text as plain text, error boxes.

Names, reasons and comments that users typed are never rendered as HTML or markdown: `plain` escapes
markdown for the few places that take markdown (captions), and tables show text as text.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from mlops_nb.services.errors import MlopsError

T = TypeVar("T")
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~$:"})


def plain(text: Any) -> str:
    """`text` with every markdown character escaped, so st.markdown/st.caption show it as typed."""
    return str(text).translate(_MARKDOWN)


def when(ts: float | None) -> str:
    """An epoch time in seconds as the server's local time with its zone, e.g. 2026-11-30 01:05 UTC."""
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def attempt(action: Callable[[], T]) -> T | None:
    """Run `action`; on a refusal show the error box and return None."""
    try:
        return action()
    except MlopsError as err:
        st.error(plain(err))
        return None


TABLE_ROWS = 8  # rows a table shows before it scrolls


def table_height(rows: int) -> int:
    """Pixels for a table of `rows` rows, at most TABLE_ROWS, so no table runs a screen tall."""
    return 38 + 35 * max(1, min(rows, TABLE_ROWS))


def keep_choice(options: list[Any], choice_key: str, default: Any = None) -> None:
    """The choice keyed `choice_key` stays one of `options`: a choice that is not (none yet, or a row
    gone from the table) becomes `default`, else the first option (None when there are none)."""
    if st.session_state.get(choice_key) not in options:
        st.session_state[choice_key] = default if default is not None else (options[0] if options else None)


def pick_from_table(event: Any, options: list[Any], choice_key: str) -> None:
    """A row newly selected in a `st.dataframe(on_select="rerun")` table (its returned `event`) becomes
    the choice of the selectbox keyed `choice_key`, rendered after the table: table and selectbox
    choose the same thing, whichever the user reaches for. `options` are the rows' values, in order."""
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    seen_key = choice_key + ".seen"
    if rows and rows != st.session_state.get(seen_key) and rows[0] < len(options):
        st.session_state[choice_key] = options[rows[0]]
    st.session_state[seen_key] = rows
