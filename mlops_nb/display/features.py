"""Feature definitions and skew checks as a notebook shows them (every user string escaped by
display.format)."""
from __future__ import annotations

from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.format import ShortId, format_time
from mlops_nb.services.data.feature_results import FEATURE_COLUMNS, FeatureDefinitionPublic, FeatureTable, SkewResult

SKEW_COLUMNS = ["feature", "column", "rule", "severity", "rows", "share", "versions", "message", "examples"]


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
        rows = []
        for finding in self.findings[:limit]:
            row = self._row(finding)
            row[5] = f"{row[5]:.1%}" if isinstance(row[5], float) else row[5]
            row[8] = "; ".join(f"row {e.get('row')}: {e.get('training')!r} vs {e.get('serving')!r}"
                               for e in row[8]) or None
            rows.append(row)
        verdict = "no skew" if self.ok else f"{sum(f.severity == 'error' for f in self.findings)} features differ"
        title = (f"Skew check of {self.model} v{self.version} on {self.rows} rows, {len(self.features)} features "
                 f"against {self.serving}: {verdict}")
        return SKEW_COLUMNS, rows, title


__all__ = ["FeatureDefinitionView", "FeatureTableView", "SkewReport"]
