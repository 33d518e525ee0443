"""Plain-text and HTML tables and records, with every user string escaped.

Kept free of pandas so showing a result in a notebook costs no heavy import.
"""
from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_CELL = 80
# a flexible column of a side-by-side layout that wraps long values instead of overflowing
FLEX_CELL = "flex:1 1 auto;min-width:16em;max-width:100%;overflow-wrap:anywhere"
# on every header and every short value: it never wraps (a column name broken mid-word reads as two
# names, a time or a run name broken at its hyphens is misread). Inline on each cell, because
# JupyterLab's stylesheet sets `white-space: normal` on every td and th, which beats inheriting it.
NOWRAP = "white-space:nowrap"
# values longer than this many characters (reasons, hashes, JSON) may wrap
NOWRAP_CELL = 32
SHORT_ID = 8  # characters of an id shown in a table; the full id is the cell's tooltip


@dataclass(frozen=True)
class ShortId:
    """An id or hash shown in an HTML table as its first `size` characters with the full value as
    tooltip (`title`), so a 32-character run id or a 64-character sha256 does not take the widest
    column; text tables show it whole (an id to copy), or as short when not `whole_in_text` (a hash)."""

    full: str
    size: int = SHORT_ID
    whole_in_text: bool = True

    def __str__(self) -> str:
        return self.full if self.whole_in_text else self.full[: self.size]


def format_value(value: Any) -> str:
    """A cell's text: floats to 6 significant digits (nan, inf, -inf by name), None as empty, anything
    else `str()` cut to `MAX_CELL` characters with an ellipsis."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def format_time(ts: float | None) -> str:
    """Epoch seconds as `YYYY-MM-DD HH:MM:SS` in UTC; None as empty."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> str:
    """A plain-text table: the title, a header, a rule, one padded line per row; "(none)" when empty."""
    cells = [[format_value(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [title] if title else []
    lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    if not rows:
        lines.append("(none)")
    return "\n".join(lines)


def html_cell(value: Any) -> str:
    """One `<td>`, escaped: a `ShortId` as its short form with the full id as `title`; a value of at
    most `NOWRAP_CELL` characters on one line (`NOWRAP`), a longer one wrapping."""
    esc = html.escape
    if isinstance(value, ShortId):
        return f"<td title='{esc(value.full, quote=True)}' style='{NOWRAP}'>{esc(value.full[:value.size])}</td>"
    text = format_value(value)
    style = f" style='{NOWRAP}'" if len(text) <= NOWRAP_CELL else ""
    return f"<td{style}>{esc(text)}</td>"


def html_header(columns: Sequence[str]) -> str:
    """The header cells: each column name escaped and on one line (`NOWRAP`)."""
    return "".join(f"<th style='{NOWRAP}'>{html.escape(c)}</th>" for c in columns)


def html_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> str:
    """An HTML `<table class='mlops-table'>` with the title as caption; every header and cell is
    HTML-escaped, so names and values users typed show as text. Headers and short values never wrap
    (`html_cell`, `html_header`)."""
    esc = html.escape
    body = "".join("<tr>" + "".join(html_cell(v) for v in row) + "</tr>" for row in rows)
    caption = f"<caption>{esc(title)}</caption>" if title else ""
    empty = f"<tr><td colspan='{len(columns)}'>(none)</td></tr>" if not rows else ""
    return (f"<table class='mlops-table'>{caption}<thead><tr>{html_header(columns)}</tr></thead>"
            f"<tbody>{body}{empty}</tbody></table>")


def key_value_html(title: str, pairs: Sequence[tuple[str, Any]]) -> str:
    """One record as a two-column (field, value) HTML table, escaped like `html_table`."""
    return html_table(["field", "value"], [(k, v) for k, v in pairs], title)


def key_value_text(title: str, pairs: Sequence[tuple[str, Any]]) -> str:
    """One record as text: the title, then one indented `field  value` line per pair."""
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join([title] + [f"  {k.ljust(width)}  {format_value(v)}" for k, v in pairs])
