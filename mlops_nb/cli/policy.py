"""`mlops policy show` and `mlops policy set`: the promotion policy of a model or a project.

    mlops policy show [--model M]       the policy in force for a model, or the project default
    mlops policy set --model M --json '{"metric_thresholds": {"roc_auc": ">= 0.7"}}'

Like every CLI command, these run as the store's operator (whoever can open its database), so
`policy set` needs no password: it acts as identity.OPERATOR, and its audit event names the actor
"operator (cli)".
"""
from __future__ import annotations

import argparse
import json

from mlops_nb.cli.base import command, open_engine
from mlops_nb.services.errors import InvalidInput


def cmd_policy_show(args: argparse.Namespace) -> int:
    """Show the promotion policy in force for a model, or the project default.

    Example: mlops policy show --project credit --model credit-risk

    Raises:
        NotFound: no such project or model.
    """
    from mlops_nb.display import present
    from mlops_nb.services import governance, tracking
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        project_id = tracking.get_project(session=session, name=args.project).id
        assert project_id is not None  # a row read from the store
        policy = governance.read_policy(session=session, project_id=project_id, model=args.model)
    print(repr(present(policy)))
    return 0


def cmd_policy_set(args: argparse.Namespace) -> int:
    """Change settings of a model's policy (or the project default) from a JSON object.

    Example: mlops policy set --model credit-risk --json '{"approvals": {"production": {"reviewer": 2}}}'

    Raises:
        InvalidInput: --json is not valid JSON, or a setting is not valid.
        NotFound: no such project or model.
        Conflict: the policy was changed by someone else at the same moment.
    """
    from mlops_nb.display import present
    from mlops_nb.services import governance, identity, tracking
    from mlops_nb.store.db import session_scope

    try:
        rules = json.loads(args.json)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"--json is not valid JSON: {err}") from err
    with session_scope(open_engine(args)) as session:
        project_id = tracking.get_project(session=session, name=args.project).id
        assert project_id is not None  # a row read from the store
        policy = governance.change_policy(session=session, actor=identity.OPERATOR, project_id=project_id,
                                          model=args.model, rules=rules)
    print(repr(present(policy)))
    return 0


def _policy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default="default")
    p.add_argument("--model", help="the model (default: the project's default policy)")


def _policy_set_args(p: argparse.ArgumentParser) -> None:
    _policy_args(p)
    p.add_argument("--json", required=True, help="settings to change, e.g. '{\"metric_thresholds\": {\"auc\": \">= 0.7\"}}'")


command("policy", "show")(_policy_args)(cmd_policy_show)
command("policy", "set")(_policy_set_args)(cmd_policy_set)
