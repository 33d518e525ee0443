"""Tables of alerts and alert rules, as plain records: what `mlops.alerts()`, `mlops.alert_rules()`
and the CLI's `mlops alerts` / `mlops monitor rules` return and `mlops_nb.display` shows.

    table = AlertTable(rows=list_alerts(session=s, project_id=1, status="open"))
    len(table), table.rows[0].message
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mlops_nb.services.monitoring.alerts import AlertPublic
from mlops_nb.services.monitoring.rules import AlertRulePublic

ALERT_COLUMNS = ["id", "created_at", "severity", "status", "model", "version", "rule", "column", "message"]
RULE_COLUMNS = ["name", "kind", "model", "severity", "params", "actions", "enabled"]


@dataclass
class AlertTable:
    """Alerts, newest first (`rows`: AlertPublic); `title` says whose."""

    rows: list[AlertPublic] = field(default_factory=list)
    title: str = "Alerts"

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class AlertRuleTable:
    """A project's alert rules by name (`rules`: AlertRulePublic); `defaults` True when it has none
    and SPEC §4's defaults apply."""

    rules: list[AlertRulePublic] = field(default_factory=list)
    defaults: bool = False

    def __len__(self) -> int:
        return len(self.rules)
