"""`mlops monitor ...`, `mlops alerts` and `mlops alert ack`: evaluate alert rules from cron, manage
the rules, read and acknowledge alerts. The operator's tool: no password, audited as "operator (cli)".

    mlops monitor run [--project P] [--model M] [--all] [--actions MODULE]
    mlops monitor rules [--project P]
    mlops monitor rule add NAME --project P --kind K [--model M] [--severity S] [--param KEY=VALUE ...]
                           [--notify] [--webhook URL --secret-env VAR] [--callable NAME] [--retrain]
    mlops monitor rule disable|enable|delete NAME --project P
    mlops alerts [--project P] [--open]
    mlops alert ack ID [--project P] [--note TEXT]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

from mlops_nb.cli.base import command, open_engine
from mlops_nb.services.errors import InvalidInput


def _project_id(session: Any, name: str) -> int:
    from mlops_nb.services import tracking

    project_id = tracking.get_project(session=session, name=name).id
    assert project_id is not None  # a row read from the store
    return project_id


def _import_actions(module: str) -> None:
    """Import the operator's module `module` (it registers callables with register_action /
    mlops.on_alert), looked up from the current directory first, as `python -m` would."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        importlib.import_module(module)
    except ImportError as err:
        raise InvalidInput(f"--actions {module}: cannot import it ({err})") from err


def cmd_monitor_run(args: argparse.Namespace) -> int:
    """Evaluate alert rules and due drift for production models; print what fired.

    With no rules in a project, SPEC §4's defaults apply: error findings of new scoring batches and
    dataset drift of the window. One line per error finding and per alert (warnings too with
    --all), nothing for what is fine; exit 1 when another run holds the lock or a model could not
    be evaluated. Safe from cron.

    Example: mlops monitor run --project credit --actions ops_hooks

    Raises:
        Conflict: another `mlops monitor run` holds the lock (named, with since when).
        NotFound: no such project, or --model has no production version.
        InvalidInput: --actions names a module that cannot be imported.
    """
    from mlops_nb.config import Settings
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring.monitor import run_monitor
    from mlops_nb.store.artifacts import artifact_store
    from mlops_nb.store.db import session_scope

    if args.actions:
        _import_actions(args.actions)
    engine = open_engine(args, must_exist=True)
    project_id = None
    if args.project is not None:
        with session_scope(engine) as session:
            project_id = _project_id(session, args.project)
    from mlops_nb.api.retraining import kernel_identity

    result = run_monitor(engine=engine, store=artifact_store(Settings.from_env().artifact_root),
                         project_id=project_id, model=args.model, include_warnings=args.all,
                         actor=identity.OPERATOR, kernel_env=kernel_identity())
    for line in result.lines:
        print(line)
    return 0 if result.ok else 1


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", help="one project (default: every project)")
    p.add_argument("--model", help="one model's production version")
    p.add_argument("--all", action="store_true", help="print warning findings too")
    p.add_argument("--actions", metavar="MODULE",
                   help="import this Python module first (it registers callable actions); nothing named in "
                        "the database is ever imported")


def cmd_monitor_rules(args: argparse.Namespace) -> int:
    """List a project's alert rules (with none, say that the defaults apply).

    Example: mlops monitor rules --project credit

    Raises:
        NotFound: no such project.
    """
    from mlops_nb.display import present
    from mlops_nb.services.monitoring.alert_results import AlertRuleTable
    from mlops_nb.services.monitoring.rules import list_rules
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        rules = list_rules(session=session, project_id=_project_id(session, args.project))
    print(repr(present(AlertRuleTable(rules=rules, defaults=not rules))))
    return 0


def _project_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default="default", help="the project (default: default)")


def parse_param(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` as (key, value), the value read as JSON when it is JSON (0.3, true, "x"), else text.

    Raises:
        InvalidInput: no `=`, or an empty key.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInput(f"--param {text!r}: expected KEY=VALUE, e.g. --param threshold=0.3")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def rule_actions(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The actions the flags of `mlops monitor rule add` name, in a fixed order.

    Raises:
        InvalidInput: --secret-env without --webhook.
    """
    steps: list[dict[str, Any]] = []
    if args.notify:
        steps.append({"type": "notify"})
    if args.webhook:
        steps.append({"type": "webhook", "url": args.webhook, **({"secret_env": args.secret_env} if args.secret_env
                                                               else {})})
    elif args.secret_env:
        raise InvalidInput("--secret-env names the signing secret of a --webhook; give --webhook URL too")
    steps += [{"type": "callable", "name": name} for name in args.callable or []]
    if args.retrain:
        steps.append({"type": "retrain"})
    return steps


def cmd_rule_add(args: argparse.Namespace) -> int:
    """Add an alert rule to a project.

    Example: mlops monitor rule add income-drift --project credit --kind feature_drift --param column=income
             --severity critical --notify --webhook https://hooks.example/mlops --secret-env MLOPS_HOOK_SECRET

    Raises:
        InvalidInput: a bad kind, severity, param (named) or action.
        NotFound: no such project or model.
        Conflict: the project has a rule of that name.
    """
    from mlops_nb.display import present
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring.rules import add_rule
    from mlops_nb.store.db import session_scope

    params: dict[str, Any] = {}
    for key, value in (parse_param(p) for p in args.param or []):
        if key in params:  # last-wins kept one of two thresholds silently
            raise InvalidInput(f"--param {key!r} is given twice ({params[key]!r} and {value!r}); give it once")
        params[key] = value
    steps = rule_actions(args)
    with session_scope(open_engine(args)) as session:
        rule = add_rule(session=session, project_id=_project_id(session, args.project), actor=identity.OPERATOR,
                        name=args.name, kind=args.kind, model=args.model, severity=args.severity, params=params,
                        actions=steps)
    print(repr(present(rule)))
    return 0


def _rule_add_args(p: argparse.ArgumentParser) -> None:
    # kinds and severities are checked by the service (its message names the bad one); reading their
    # lists from the store's models here would import every table for every `mlops` command
    p.add_argument("name")
    _project_arg(p)
    p.add_argument("--kind", required=True, help="drift_share, feature_drift, validation, outcome_metric, "
                                                 "latency_p95 or model_age")
    p.add_argument("--model", help="watch this model only (default: every production model of the project)")
    p.add_argument("--severity", default="warning", help="info, warning (default) or critical")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a param of the kind, e.g. threshold=0.3, column=income, sla_ms=50, max_days=90")
    p.add_argument("--notify", action="store_true", help="record a notification the console shows")
    p.add_argument("--webhook", metavar="URL", help="POST the alert as JSON to this http(s) URL, signed")
    p.add_argument("--secret-env", metavar="VAR", help="environment variable holding the webhook's signing secret")
    p.add_argument("--callable", action="append", metavar="NAME",
                   help="call the function registered under NAME (see monitor run --actions)")
    p.add_argument("--retrain", action="store_true", help="start the model's retraining notebook")


def _rule_change(enabled: bool | None) -> Any:
    def handler(args: argparse.Namespace) -> int:
        from mlops_nb.services import identity
        from mlops_nb.services.monitoring import rules
        from mlops_nb.store.db import session_scope

        with session_scope(open_engine(args, must_exist=True)) as session:
            project_id = _project_id(session, args.project)
            if enabled is None:
                rules.delete_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name=args.name)
            else:
                rules.set_rule_enabled(session=session, project_id=project_id, actor=identity.OPERATOR,
                                       name=args.name, enabled=enabled)
        print(f"rule {args.name!r} {'deleted' if enabled is None else 'enabled' if enabled else 'disabled'}")
        return 0

    return handler


def cmd_rule_enable(args: argparse.Namespace) -> int:
    """Enable an alert rule.

    Example: mlops monitor rule enable income-drift --project credit

    Raises:
        NotFound: no such project or rule.
    """
    return int(_rule_change(True)(args))


def cmd_rule_disable(args: argparse.Namespace) -> int:
    """Disable an alert rule (kept, not evaluated).

    Example: mlops monitor rule disable income-drift --project credit

    Raises:
        NotFound: no such project or rule.
    """
    return int(_rule_change(False)(args))


def cmd_rule_delete(args: argparse.Namespace) -> int:
    """Delete an alert rule (the alerts it fired stay).

    Example: mlops monitor rule delete income-drift --project credit

    Raises:
        NotFound: no such project or rule.
    """
    return int(_rule_change(None)(args))


def _rule_name_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    _project_arg(p)


def cmd_alerts(args: argparse.Namespace) -> int:
    """List a project's alerts, newest first.

    Example: mlops alerts --project credit --open

    Raises:
        NotFound: no such project or model.
    """
    from mlops_nb.display import present
    from mlops_nb.services.monitoring.alert_results import AlertTable
    from mlops_nb.services.monitoring.alerts import list_alerts
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        rows = list_alerts(session=session, project_id=_project_id(session, args.project), model=args.model,
                           status="open" if args.open else None, limit=args.limit)
    title = f"{'Open alerts' if args.open else 'Alerts'} of project {args.project}"
    print(repr(present(AlertTable(rows=rows, title=title))))
    return 0


def _alerts_args(p: argparse.ArgumentParser) -> None:
    _project_arg(p)
    p.add_argument("--model", help="one model's alerts")
    p.add_argument("--open", action="store_true", help="only alerts not acknowledged yet")
    p.add_argument("--limit", type=int, default=100, help="how many (default 100)")


def cmd_alert_ack(args: argparse.Namespace) -> int:
    """Acknowledge an alert, with a note.

    Example: mlops alert ack 12 --project credit --note "retraining started"

    Raises:
        NotFound: no such project, or no alert ID in it.
    """
    from mlops_nb.display import present
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring.alerts import acknowledge_alert
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        alert = acknowledge_alert(session=session, project_id=_project_id(session, args.project),
                                  actor=identity.OPERATOR, alert_id=args.id, note=args.note)
    print(repr(present(alert)))
    return 0


def _ack_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", type=int)
    _project_arg(p)
    p.add_argument("--note", default="", help="why, what is being done")


command("monitor", "run")(_run_args)(cmd_monitor_run)
command("monitor", "rules")(_project_arg)(cmd_monitor_rules)
command("monitor", "rule", "add")(_rule_add_args)(cmd_rule_add)
command("monitor", "rule", "enable")(_rule_name_args)(cmd_rule_enable)
command("monitor", "rule", "disable")(_rule_name_args)(cmd_rule_disable)
command("monitor", "rule", "delete")(_rule_name_args)(cmd_rule_delete)
command("alerts")(_alerts_args)(cmd_alerts)
command("alert", "ack")(_ack_args)(cmd_alert_ack)
