"""Validation reports as a notebook shows them: a headline ("3 errors, 1 warning against german v2")
and one row per finding, errors in red and warnings in amber, every user string escaped."""
from __future__ import annotations

import html
from typing import Any

from mlops_nb.display.base import displays
from mlops_nb.display.format import NOWRAP, format_value, html_cell, html_header, text_table
from mlops_nb.services.data.results import ValidationResult

FINDING_COLUMNS = ["column", "rule", "severity", "message", "examples", "details"]
SHOWN = ["column", "rule", "severity", "message", "examples"]  # the table leaves details to to_frame()
COLOURS = {"error": "#b3261e", "warning": "#9a6700"}  # red and amber, readable on white and dark themes
MAX_ROWS = 50


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _examples(values: list[Any]) -> str:
    return ", ".join(format_value(v) if v is not None else "null" for v in values)


@displays(ValidationResult)
class ValidationReport(ValidationResult):
    """A validation against a contract: `.ok`, `.findings`, `.errors`, `.warnings`, `.to_frame()`
    (one row per finding), a text `repr` and an HTML table in Jupyter.

        report = mlops.validate(batch, against="german")
        report.ok, report.to_frame()
    """

    @property
    def headline(self) -> str:
        """'3 errors, 1 warning against german v2 (500 rows)', or 'valid against ...' with no finding."""
        if not self.findings:
            return f"valid against {self.contract}: no findings ({self.rows:,} rows)"
        return (f"{_plural(len(self.errors), 'error')}, {_plural(len(self.warnings), 'warning')} against "
                f"{self.contract} ({self.rows:,} rows)")

    def _rows(self) -> list[list[Any]]:
        """One row per finding in SHOWN order, errors first (each group in the contract's column order)."""
        ranked = sorted(self.findings, key=lambda f: f.severity != "error")
        return [[f.column or "", f.rule, f.severity, f.message, _examples(f.examples)] for f in ranked]

    def to_frame(self) -> Any:
        """A pandas DataFrame with FINDING_COLUMNS, one row per finding (examples a list, details a dict)."""
        import pandas as pd

        return pd.DataFrame([[f.column, f.rule, f.severity, f.message, list(f.examples), dict(f.details)]
                             for f in self.findings], columns=FINDING_COLUMNS)

    def __repr__(self) -> str:
        rows = self._rows()
        more = f"\n… {len(rows) - MAX_ROWS} more" if len(rows) > MAX_ROWS else ""
        if not rows:
            return self.headline
        return text_table(SHOWN, rows[:MAX_ROWS], self.headline) + more

    def _repr_html_(self) -> str:
        esc = html.escape
        colour = COLOURS["error"] if self.errors else (COLOURS["warning"] if self.findings else "#1b6e20")
        head = (f"<div class='mlops-validation-headline' style='font-weight:600;color:{colour};margin:4px 0'>"
                f"{esc(self.headline)}</div>")
        if not self.findings:
            return f"<div class='mlops-validation'>{head}</div>"
        body = []
        for row in self._rows()[:MAX_ROWS]:
            severity = row[2]
            cells = [html_cell(row[0]), html_cell(row[1]),
                     f"<td style='{NOWRAP};color:{COLOURS.get(severity, 'inherit')};font-weight:600'>"
                     f"{esc(severity)}</td>",
                     f"<td style='text-align:left'>{esc(row[3])}</td>",
                     f"<td style='text-align:left'>{esc(row[4])}</td>"]
            body.append("<tr>" + "".join(cells) + "</tr>")
        more = (f"<tr><td colspan='{len(SHOWN)}'>… {len(self.findings) - MAX_ROWS} more (to_frame() has all)</td></tr>"
                if len(self.findings) > MAX_ROWS else "")
        return (f"<div class='mlops-validation'>{head}<table class='mlops-table'><thead><tr>{html_header(SHOWN)}"
                f"</tr></thead><tbody>{''.join(body)}{more}</tbody></table></div>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}
