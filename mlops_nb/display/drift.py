"""Drift reports as a notebook shows them: a headline ("4 of 20 columns drifted: share 0.20, below 0.5,
no dataset drift"), what was compared, one compact row per tested column (drifted ones first and
highlighted), then the columns that could not be tested and why. Every user string is escaped.

A report of 30 columns fits one screen: rows are one line each (statistics to 4 significant digits,
the test by evidently's short name) with tight padding set on each cell, since JupyterLab's
stylesheet pads every cell by half a line.
"""
from __future__ import annotations

import html
from typing import Any

from mlops_nb.display.base import displays
from mlops_nb.display.format import NOWRAP, format_time, text_table
from mlops_nb.services.monitoring.drift_results import DriftReport

SHOWN = ["column", "type", "test", "statistic", "threshold", "drift"]
MAX_ROWS = 60  # rows shown; to_frame() has all
DRIFT_COLOUR = "#b3261e"  # the validation report's error red: readable on white and dark themes
OK_COLOUR = "#1b6e20"
SOME_COLOUR = "#9a6700"  # amber: some columns drifted, not the dataset
HIGHLIGHT = "background:rgba(179,38,30,0.08)"
CELL = f"padding:2px 8px;{NOWRAP}"
TESTS = {"ks": "K-S p-value", "chisquare": "chi-square p-value", "z": "Z-test p-value",
         "wasserstein": "Wasserstein (normed)", "jensenshannon": "Jensen-Shannon distance"}


def _statistic(value: Any) -> str:
    if not isinstance(value, float):
        return "" if value is None else str(value)
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


@displays(DriftReport)
class DriftReportView(DriftReport):
    """A drift report: `.drifted_columns`, `.share`, `.dataset_drift`, `.prediction_drift`, `.findings`,
    `.to_frame()` (one row per tested column), a text `repr` and a compact HTML report in Jupyter.

        report = mlops.drift_report(reference=train, current=applicants)
        report.drifted_columns, report.to_frame()
    """

    @property
    def headline(self) -> str:
        """'4 of 20 columns drifted: share 0.20, below 0.5: no dataset drift; prediction drift: no'."""
        if not self.tested:
            head = "no column could be tested: no drift share (the findings say why)"
        else:
            side = "at or above" if self.share >= self.drift_share else "below"
            verdict = "dataset drift" if self.dataset_drift else "no dataset drift"
            head = (f"{self.drifted} of {self.tested} column{'s' if self.tested != 1 else ''} drifted: share "
                    f"{self.share:.2f}, {side} {self.drift_share:g}: {verdict}")
        if self.prediction_drift is not None:
            head += f"; prediction drift: {'yes' if self.prediction_drift else 'no'}"
        return head

    @property
    def compared(self) -> str:
        """'dataset german v1 (1,000 rows) against 12 batches (3,400 rows), model credit v2, report 7'."""
        parts = [f"{self.reference} ({self.reference_rows:,} rows) against {self.current} ({self.current_rows:,} rows)"]
        if self.window_start is not None:
            parts.append(f"from {format_time(self.window_start)} to {format_time(self.window_end)} UTC")
        if self.model is not None:
            parts.append(f"model {self.model} v{self.version}")
        parts.append(f"report {self.id}" if self.id is not None else "not stored")
        return ", ".join(parts)

    def _ranked(self) -> list[dict[str, Any]]:
        """Feature rows drifted first (each group in the data's order), then the prediction."""
        features = [r for r in self.rows if r.get("role") != "prediction"]
        return (sorted(features, key=lambda r: not r.get("drift"))
                + [r for r in self.rows if r.get("role") == "prediction"])

    def _cells(self, row: dict[str, Any]) -> list[str]:
        name = str(row.get("column", ""))
        if row.get("role") == "prediction":
            name += " (prediction)"
        return [name, str(row.get("type", "")), str(row.get("test", "")), _statistic(row.get("statistic")),
                _statistic(row.get("threshold")), "drift" if row.get("drift") else "-"]

    def __repr__(self) -> str:
        rows = [self._cells(r) for r in self._ranked()]
        lines = [f"Drift report: {self.headline}", f"  {self.compared}"]
        text = "\n".join(lines)
        if rows:
            text += "\n" + text_table(SHOWN, rows[:MAX_ROWS])
            if len(rows) > MAX_ROWS:
                text += f"\n… {len(rows) - MAX_ROWS} more (to_frame() has all)"
        if self.findings:
            text += "\nnot tested or worth a look:\n" + "\n".join(
                f"  {f.column or '(the data)'}: {f.message}" for f in self.findings)
        return text

    def _repr_html_(self) -> str:
        esc = html.escape
        colour = (DRIFT_COLOUR if self.dataset_drift or self.prediction_drift else
                  SOME_COLOUR if self.drifted_columns or not self.tested else OK_COLOUR)
        head = (f"<div class='mlops-drift-headline' style='font-weight:600;color:{colour};margin:4px 0 0 0'>"
                f"Drift: {esc(self.headline)}</div>"
                f"<div class='mlops-drift-compared' style='font-size:12px;color:#666;margin:0 0 4px 0'>"
                f"{esc(self.compared)}</div>")
        body = []
        for row in self._ranked()[:MAX_ROWS]:
            cells = self._cells(row)
            drifted = bool(row.get("drift"))
            style = f" style='{HIGHLIGHT}'" if drifted else ""
            test = TESTS.get(str(row.get("test")), "")
            tds = [f"<td style='{CELL};text-align:left{';font-weight:600' if drifted else ''}'>{esc(cells[0])}</td>",
                   f"<td style='{CELL};text-align:left'>{esc(cells[1])}</td>",
                   f"<td style='{CELL};text-align:left' title='{esc(test, quote=True)}'>{esc(cells[2])}</td>",
                   f"<td style='{CELL}'>{esc(cells[3])}</td>", f"<td style='{CELL}'>{esc(cells[4])}</td>",
                   f"<td style='{CELL};font-weight:600;color:{DRIFT_COLOUR if drifted else OK_COLOUR}'>"
                   f"{esc(cells[5])}</td>"]
            body.append(f"<tr{style}>" + "".join(tds) + "</tr>")
        more = (f"<tr><td colspan='{len(SHOWN)}' style='{CELL}'>… {len(self.rows) - MAX_ROWS} more "
                "(to_frame() has all)</td></tr>" if len(self.rows) > MAX_ROWS else "")
        header = "".join(f"<th style='{CELL};text-align:{'left' if i < 3 else 'right'}'>{esc(c)}</th>"
                         for i, c in enumerate(SHOWN))
        table = (f"<table class='mlops-table mlops-drift-table' style='margin-left:0'><thead><tr>{header}</tr></thead>"
                 f"<tbody>{''.join(body)}{more}</tbody></table>") if self.rows else ""
        notes = ""
        if self.findings:
            items = "".join(f"<li><b>{esc(f.column or '(the data)')}</b>: {esc(f.message)}</li>"
                            for f in self.findings[:MAX_ROWS])
            notes = (f"<div class='mlops-drift-findings' style='font-size:12px;margin:4px 0'>Not tested or worth "
                     f"a look:<ul style='margin:2px 0 0 0;padding-left:18px'>{items}</ul></div>")
        return f"<div class='mlops-drift'>{head}{table}{notes}</div>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


__all__ = ["DriftReportView"]
