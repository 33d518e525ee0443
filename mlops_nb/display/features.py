"""Feature definitions and skew checks as a notebook shows them (every user string escaped by
display.format)."""
from __future__ import annotations

import html
from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.data import COLOURS
from mlops_nb.display.format import NOWRAP, ShortId, format_time, html_cell, html_header
from mlops_nb.services.data.feature_results import FEATURE_COLUMNS, FeatureDefinitionPublic, FeatureTable, SkewResult

SKEW_COLUMNS = ["feature", "column", "rule", "severity", "rows", "share", "versions", "message", "examples"]
SHOWN_COLUMNS = ["feature", "rule", "severity", "rows", "share", "versions", "examples", "message"]


@displays(FeatureDefinitionPublic)
class FeatureDefinitionView(Displayable, FeatureDefinitionPublic):
    """One definition version: hash, where it was defined, outputs, who and when, and its source."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Feature {self.name} v{self.version}"

    def _pairs(self) -> list[tuple[str, Any]]:
        return [("source_hash", self.source_hash), ("function", self.function),
                ("outputs", ", ".join(self.outputs) or None), ("by", self.created_by),
                ("created", format_time(self.created_at)), ("source", self.source)]


@displays(FeatureTable)
class FeatureTableView(DisplayTable, FeatureTable):
    """Feature definition versions, one row each; `.to_frame()` a DataFrame (source included)."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per version, with its source; `created_at` as UTC timestamps."""
        import pandas as pd

        frame = pd.DataFrame([{c: getattr(r, c) for c in [*FEATURE_COLUMNS, "source"]} for r in self.rows],
                             columns=[*FEATURE_COLUMNS, "source"])
        frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        rows = [[r.name, r.version, ShortId(r.source_hash, 12, whole_in_text=False), r.function,
                 ", ".join(r.outputs), r.created_by, format_time(r.created_at)] for r in self.rows[:limit]]
        return FEATURE_COLUMNS, rows, f"{self.title} ({len(self.rows)})"


def _versions(details: dict[str, Any]) -> str | None:
    training, serving = details.get("training_version"), details.get("serving_version", "-")
    if training is None:
        return None
    return f"v{training} -> " + ("unregistered" if serving is None else f"v{serving}" if serving != "-" else "served")


@displays(SkewResult)
class SkewReport(DisplayTable, SkewResult):
    """A skew check: one row per finding (feature, rows differing and their share, the versions
    when they differ, the message, examples); `.ok`, `.findings`, `.to_frame()`."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per finding: feature, column, rule, severity, rows, share,
        versions, message and the examples ({row, training, serving} each)."""
        import pandas as pd

        return pd.DataFrame([self._row(f) for f in self.findings], columns=SKEW_COLUMNS)

    @staticmethod
    def _row(finding: Any) -> list[Any]:
        details = finding.details or {}
        return [details.get("feature", finding.column), finding.column, finding.rule, finding.severity,
                details.get("rows"), details.get("share"), _versions(details), finding.message,
                list(finding.examples)]

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        """One row per finding: feature, rule, severity, rows, share (a percentage), versions, the
        examples as `row R: training vs serving` (floats to 6 significant digits), the message."""
        rows = []
        for finding in self.findings[:limit]:
            feature, _, rule, severity, count, share, versions, message, examples = self._row(finding)
            rows.append([feature, rule, severity, count, f"{share:.1%}" if isinstance(share, float) else share,
                         versions, "; ".join(f"row {e.get('row')}: {_short(e.get('training'))} vs "
                                             f"{_short(e.get('serving'))}" for e in examples) or None, message])
        differ = sum(f.severity == "error" for f in self.findings)
        verdict = "no skew" if self.ok else f"{_plural(differ, 'feature')} {'differs' if differ == 1 else 'differ'}"
        title = (f"Skew check of {self.model} v{self.version} on {_plural(self.rows, 'row')}, "
                 f"{_plural(len(self.features), 'feature')} against {self.serving}: {verdict}")
        return SHOWN_COLUMNS, rows, title

    def _repr_html_(self) -> str:
        """The title as a headline (red when a feature differs, green when none does), then one row
        per finding: the examples and the whole message wrap, left-aligned, never cut."""
        _, rows, title = self._display()
        colour = "#1b6e20" if self.ok else COLOURS["error"]
        head = (f"<div class='mlops-skew-headline' style='font-weight:600;color:{colour};margin:4px 0'>"
                f"{html.escape(title)}</div>")
        if not rows:
            return f"<div class='mlops-skew'>{head}</div>"
        body = []
        for row in rows:
            severity = str(row[2])
            wrapping = "".join(f"<td style='text-align:left;min-width:14em;overflow-wrap:anywhere'>"
                               f"{html.escape('' if v is None else str(v))}</td>" for v in row[6:])
            body.append("<tr>" + "".join(html_cell(v) for v in row[:2])
                        + f"<td style='{NOWRAP};color:{COLOURS.get(severity, 'inherit')};font-weight:600'>"
                          f"{html.escape(severity)}</td>"
                        + "".join(html_cell(v) for v in row[3:6]) + wrapping + "</tr>")
        return (f"<div class='mlops-skew'>{head}<table class='mlops-table'><thead><tr>{html_header(SHOWN_COLUMNS)}"
                f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _short(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


__all__ = ["FeatureDefinitionView", "FeatureTableView", "SkewReport"]
