"""The alerting verbs of the Python API: alert rules, the alerts they fired, acknowledging one, a
monitor run from the notebook, and callables that run when a rule fires (issue 11 item 4).

Each opens one transaction on the context's store and calls services.monitoring (rules, alerts,
monitor, actions). Changing rules needs a proven ml_engineer or admin (`mlops.init(user=...,
password=...)`); any proven user acknowledges.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.monitoring.alert_results import AlertRuleTable, AlertTable
from mlops_nb.services.monitoring.alerts import AlertPublic
from mlops_nb.services.monitoring.monitor import MonitorResult
from mlops_nb.services.monitoring.rules import AlertRulePublic
from mlops_nb.store.db import session_scope


@store_errors
def add_alert_rule(name: str, *, kind: str, model: str | None = None, severity: str = "warning",
                   actions: list[dict[str, Any]] | None = None, **params: Any) -> AlertRulePublic:
    """Add an alert rule to the project; `params` are the kind's (threshold, column, severity, metric,
    expected, tolerance, min, max, sla_ms, max_days).

    >>> mlops.add_alert_rule("drift", kind="drift_share", threshold=0.3)
    >>> mlops.add_alert_rule("defaults up", kind="outcome_metric", model="credit-risk", severity="critical",
    ...                      metric="default_rate", expected=0.05, tolerance=0.02,
    ...                      actions=[{"type": "notify"}, {"type": "retrain"}])
    >>> mlops.add_alert_rule("sla", kind="latency_p95", sla_ms=50,
    ...                      actions=[{"type": "webhook", "url": "https://hooks.example/mlops",
    ...                                "secret_env": "MLOPS_HOOK_SECRET"}])

    Raises:
        PermissionDenied: not a proven ml_engineer or admin.
        InvalidInput: a bad kind, severity, param (named) or action.
        NotFound: no such model.
        Conflict: the project has a rule of that name.
    """
    from mlops_nb.services.monitoring import rules

    context = get_context()
    with session_scope(context.engine) as session:
        return present(rules.add_rule(session=session, project_id=context.project_id, actor=context.actor(),
                                      name=name, kind=kind, model=model, severity=severity, params=params,
                                      actions=actions))


@store_errors
def alert_rules() -> AlertRuleTable:
    """The project's alert rules (none: SPEC §4's defaults apply).

    >>> mlops.alert_rules().to_frame()
    """
    from mlops_nb.services.monitoring import rules

    context = get_context()
    with session_scope(context.engine) as session:
        found = rules.list_rules(session=session, project_id=context.project_id)
    return present(AlertRuleTable(rules=found, defaults=not found))


@store_errors
def alerts(model: str | None = None, status: str | None = None, *, limit: int = 100) -> AlertTable:
    """The project's alerts, newest first: of `model`, of `status` (open, acknowledged).

    >>> mlops.alerts("credit-risk", status="open").to_frame()

    Raises:
        InvalidInput: an unknown status, a limit below 1.
        NotFound: no such model.
    """
    from mlops_nb.services.monitoring.alerts import list_alerts

    context = get_context()
    with session_scope(context.engine) as session:
        rows = list_alerts(session=session, project_id=context.project_id, model=model, status=status, limit=limit)
    title = f"{'Alerts' if status is None else status.capitalize() + ' alerts'}{f' of {model}' if model else ''}"
    return present(AlertTable(rows=rows, title=title))


@store_errors
def acknowledge_alert(alert_id: int, note: str = "") -> AlertPublic:
    """Acknowledge alert `alert_id`, with a note; audited.

    >>> mlops.acknowledge_alert(12, note="retraining started")

    Raises:
        PermissionDenied: not a proven user.
        NotFound: no such alert in the project.
    """
    from mlops_nb.services.monitoring.alerts import acknowledge_alert as acknowledge

    context = get_context()
    with session_scope(context.engine) as session:
        return present(acknowledge(session=session, project_id=context.project_id, actor=context.actor(),
                                   alert_id=alert_id, note=note))


@store_errors
def monitor(model: str | None = None, *, include_warnings: bool = False, snapshot: bool = True) -> MonitorResult:
    """Evaluate the project's alert rules and due drift now, as `mlops monitor run --project` does
    (under the same lock); callables registered with `mlops.on_alert` in this kernel run. This
    kernel's queued batches are written first; a retraining a rule starts runs as this process's
    MLOPS_TOKEN (or MLOPS_USER) proves. At the end the project's scorecards are snapshotted for the
    trend, as the CLI's run does (only cards that changed or whose last snapshot is a day old);
    `snapshot=False` leaves that out (a notebook replaying back-dated history).

    >>> result = mlops.monitor("credit-risk")
    >>> result.lines, result.alerts, result.reports

    Raises:
        Conflict: a monitor run holds the lock.
        NotFound: `model` has no production version.
    """
    from mlops_nb.api.retraining import kernel_identity
    from mlops_nb.services.monitoring.monitor import run_monitor

    context = get_context()
    _flush(context)
    return present(run_monitor(engine=context.engine, store=context.artifacts, project_id=context.project_id,
                               model=model, include_warnings=include_warnings, actor=context.actor(),
                               kernel_env=kernel_identity(), snapshot=snapshot))


def _flush(context: Any) -> None:
    """Wait for this kernel's queued scoring batches: the monitor should see what was just scored."""
    from mlops_nb.services import monitoring

    monitoring.flush_store(context.engine)


def on_alert(name: str) -> Callable[[Callable[[AlertPublic], Any]], Callable[[AlertPublic], Any]]:
    """Decorator: run the function when a rule whose actions include {"type": "callable", "name":
    name} fires, in this process (a notebook calling `mlops.monitor()`, or the module named by
    `mlops monitor run --actions MODULE`). It receives the AlertPublic.

    >>> @mlops.on_alert("page-oncall")
    ... def page(alert):
    ...     pager.send(alert.message)

    Raises:
        InvalidInput: an empty name.
    """
    from mlops_nb.services.errors import InvalidInput
    from mlops_nb.services.monitoring.actions import register_action

    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"mlops.on_alert needs the action's name, e.g. @mlops.on_alert('page-oncall'); got {name!r}")

    def register(fn: Callable[[AlertPublic], Any]) -> Callable[[AlertPublic], Any]:
        return register_action(name, fn)

    return register
