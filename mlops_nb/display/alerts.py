"""How alerts, alert rules and a monitor run show: compact tables and records, every user value
escaped (html_table), `.to_frame()` for the tables."""
from __future__ import annotations

from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.format import format_time
from mlops_nb.services.monitoring.alert_results import ALERT_COLUMNS, RULE_COLUMNS, AlertRuleTable, AlertTable
from mlops_nb.services.monitoring.alerts import AlertPublic
from mlops_nb.services.monitoring.monitor import MonitorResult
from mlops_nb.services.monitoring.rules import AlertRulePublic

MESSAGE_CHARS = 120


def _short(text: Any, limit: int = MESSAGE_CHARS) -> Any:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "-"


def _actions(actions: list[dict[str, Any]]) -> str:
    shown = []
    for action in actions:
        kind = action.get("type")
        target = action.get("url") or action.get("name")
        shown.append(f"{kind} {target}" if target else str(kind))
    return ", ".join(shown) or "-"


@displays(AlertTable)
class AlertTableView(DisplayTable, AlertTable):
    """Alerts, newest first; `.to_frame()` a DataFrame (created_at as UTC timestamps, evidence as dicts)."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per alert, with every field."""
        import pandas as pd

        frame = pd.DataFrame([vars(a) for a in self.rows], columns=list(AlertPublic.__dataclass_fields__))
        for column in ("created_at", "acknowledged_at"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        rows = [[format_time(a.created_at) if c == "created_at" else _short(getattr(a, c)) if c == "message"
                 else ("-" if getattr(a, c) is None else getattr(a, c)) for c in ALERT_COLUMNS] for a in self.rows[:limit]]
        return ALERT_COLUMNS, rows, f"{self.title} ({len(self.rows)})"


@displays(AlertRuleTable)
class AlertRuleTableView(DisplayTable, AlertRuleTable):
    """A project's alert rules; with none, says that SPEC §4's defaults apply."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per rule."""
        import pandas as pd

        return pd.DataFrame([vars(r) for r in self.rules], columns=list(AlertRulePublic.__dataclass_fields__))

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        rows = [[r.model or "(every production model)" if c == "model" else _params(r.params) if c == "params"
                 else _actions(r.actions) if c == "actions" else ("yes" if r.enabled else "no") if c == "enabled"
                 else getattr(r, c) for c in RULE_COLUMNS] for r in self.rules[:limit]]
        title = ("Alert rules: none (defaults apply: validation error findings, dataset drift of each window)"
                 if self.defaults else f"Alert rules ({len(self.rules)})")
        return RULE_COLUMNS, rows, title


@displays(AlertPublic)
class AlertView(Displayable, AlertPublic):
    """One alert: what fired, about which model version and column, its evidence and status."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Alert {self.id} · {self.severity} · {self.status}"

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [("rule", f"{self.rule} ({self.kind})"),
                                        ("model", f"{self.model} v{self.version}" if self.model else "-"),
                                        ("column", self.column or "-"), ("message", self.message),
                                        ("evidence", _short(self.evidence, 300)), ("fired", format_time(self.created_at))]
        if self.status == "acknowledged":
            pairs += [("acknowledged by", self.acknowledged_by), ("at", format_time(self.acknowledged_at)),
                      ("note", self.note or "-")]
        return pairs


@displays(AlertRulePublic)
class AlertRuleView(Displayable, AlertRulePublic):
    """One alert rule: kind, params, the model it watches, severity, actions."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Alert rule {self.name} ({self.kind}){'' if self.enabled else ' · disabled'}"

    def _pairs(self) -> list[tuple[str, Any]]:
        return [("model", self.model or "(every production model)"), ("params", _params(self.params)),
                ("severity", self.severity), ("actions", _actions(self.actions)), ("added by", self.created_by)]


@displays(MonitorResult)
class MonitorResultView(Displayable, MonitorResult):
    """A monitor run: its lines (one per error finding and per alert), then counts."""

    _title = "Monitor run"

    def __repr__(self) -> str:
        summary = (f"{len(self.evaluated)} production version(s) evaluated, {len(self.alerts)} alert(s) fired, "
                   f"{len(self.reports)} drift report(s)")
        return "\n".join([*self.lines, summary] if self.lines else [summary + "; nothing to report"])

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [("line", line) for line in self.lines]
        pairs += [("evaluated", ", ".join(f"{label} ({n} new batches)" for label, n in self.evaluated) or "-"),
                  ("alerts fired", len(self.alerts)), ("drift reports", len(self.reports)),
                  ("scorecard snapshots", self.snapshots)]
        pairs += [("not evaluated", f"{label}: {why}") for label, why in self.failed]
        return pairs
