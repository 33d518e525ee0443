"""`mlops attest`, `mlops attestations`, `mlops attestation withdraw`, `mlops scorecard-settings` and
`mlops scorecard-history`: the operator's side of the scorecards' attestations, settings and trend.
The operator acts without a password and is audited as "operator (cli)" (SPEC §4). A snapshot is
taken with `mlops scorecard --snapshot` (cli/scorecard_show.py) or by `mlops monitor run`.

    mlops attest TEST --note TEXT [--project P] [--model M] [--days N]
    mlops attestations [--project P] [--model M] [--all]
    mlops attestation withdraw ID [--project P]
    mlops scorecard-settings [--project P] [--set KEY=VALUE ...]
    mlops scorecard-history [--project P] [--model M]
"""
from __future__ import annotations

import argparse
from typing import Any

from mlops_nb.cli.base import command, open_engine
from mlops_nb.services.errors import InvalidInput

DEFAULT_PROJECT = "default"  # what --project means when not given, as for `mlops runs`


def _project_id(session: Any, name: str) -> int:
    from mlops_nb.services import tracking
    from mlops_nb.services.errors import NotFound

    try:
        project_id = tracking.get_project(session=session, name=name).id
    except NotFound as err:
        if name != DEFAULT_PROJECT:
            raise
        # `mlops attestations` with no --project on a store without a "default" project (the demo's):
        # say which flag picks one, not only that "default" is missing
        raise NotFound(f"{err}; name one with --project P") from err
    assert project_id is not None  # a row read from the store
    return project_id


def _project_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default=DEFAULT_PROJECT, help=f"the project (default: {DEFAULT_PROJECT})")


def cmd_attest(args: argparse.Namespace) -> int:
    """Attest an ML Test Score test done by hand (worth 0.5 while it holds).

    Example: mlops attest model.7 --project credit --model credit-risk --note "inclusion review, doc ML-31" --days 90

    Raises:
        InvalidInput: an unknown test, a blank or too long note, days out of bounds.
        NotFound: no such project or model.
    """
    from mlops_nb.display import present
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring.attestations import attest
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        made = attest(session=session, actor=identity.OPERATOR, project_id=_project_id(session, args.project),
                      test=args.test, note=args.note, model=args.model, days=args.days)
    print(repr(present(made)))
    return 0


def _attest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("test", help="the test's key, data.1 ... monitoring.7")
    p.add_argument("--note", required=True, help="what was done by hand and where it is recorded")
    _project_arg(p)
    p.add_argument("--model", help="one model (default: every model of the project)")
    p.add_argument("--days", type=float, help="how long it holds (default: the project's attestation_days)")


def cmd_attestations(args: argparse.Namespace) -> int:
    """List a project's attestations in force, newest first (--all: withdrawn and expired ones too).

    Example: mlops attestations --project credit --all

    Raises:
        NotFound: no such project or model.
    """
    from mlops_nb.display import present
    from mlops_nb.services.monitoring.attestations import list_attestations
    from mlops_nb.services.monitoring.scorecard_tables import AttestationTable
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        rows = list_attestations(session=session, project_id=_project_id(session, args.project), model=args.model,
                                 include_inactive=args.all)
    title = f"{'Attestations' if args.all else 'Attestations in force'} of project {args.project}"
    print(repr(present(AttestationTable(rows=rows, title=title))))
    return 0


def _attestations_args(p: argparse.ArgumentParser) -> None:
    _project_arg(p)
    p.add_argument("--model", help="those that count for one model (its own and the project-wide ones)")
    p.add_argument("--all", action="store_true", help="withdrawn and expired ones too")


def cmd_attestation_withdraw(args: argparse.Namespace) -> int:
    """Withdraw an attestation (it stops counting; the record stays).

    Example: mlops attestation withdraw 4 --project credit

    Raises:
        NotFound: no such project, or no attestation ID in it.
        Conflict: it was withdrawn already.
    """
    from mlops_nb.display import present
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring.attestations import withdraw_attestation
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        gone = withdraw_attestation(session=session, actor=identity.OPERATOR,
                                    project_id=_project_id(session, args.project), attestation_id=args.id)
    print(repr(present(gone)))
    return 0


def _withdraw_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", type=int)
    _project_arg(p)


def parse_setting(text: str) -> tuple[str, float]:
    """`KEY=VALUE` as (key, number).

    Raises:
        InvalidInput: no `=`, an empty key, or a value that is not a number.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInput(f"--set {text!r}: expected KEY=VALUE, e.g. --set drift_max_age_days=14")
    try:
        return key.strip(), float(value)
    except ValueError:
        raise InvalidInput(f"--set {text!r}: {value!r} is not a number") from None


def cmd_scorecard_settings(args: argparse.Namespace) -> int:
    """Show a project's scorecard thresholds and windows, or change them with --set.

    Example: mlops scorecard-settings --project credit --set drift_max_age_days=14 --set sweep_min_runs=5

    Raises:
        InvalidInput: a --set that is not KEY=NUMBER, an unknown key, a value out of its bounds.
        NotFound: no such project.
    """
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring.scorecard_settings import get_settings, set_settings
    from mlops_nb.store.db import session_scope

    changes: dict[str, float] = {}
    for key, value in (parse_setting(s) for s in args.set or []):
        if key in changes:
            raise InvalidInput(f"--set {key!r} is given twice ({changes[key]:g} and {value:g}); give it once")
        changes[key] = value
    with session_scope(open_engine(args, must_exist=True)) as session:
        project_id = _project_id(session, args.project)
        if changes:
            settings = set_settings(session=session, actor=identity.OPERATOR, project_id=project_id, changes=changes)
        else:
            settings = get_settings(session=session, project_id=project_id)
    width = max(len(k) for k in settings)
    print(f"Scorecard settings of project {args.project}")
    for key, value in settings.items():
        print(f"{key:<{width}}  {value:g}")
    return 0


def _settings_args(p: argparse.ArgumentParser) -> None:
    _project_arg(p)
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="change one setting, e.g. drift_max_age_days=14 (repeatable)")


def cmd_scorecard_history(args: argparse.Namespace) -> int:
    """Show the snapshots of a project's (or a model's) scorecard, oldest first.

    Example: mlops scorecard-history --project credit --model credit-risk

    Raises:
        NotFound: no such project or model.
    """
    from mlops_nb.display import present
    from mlops_nb.services.monitoring.scorecard_history import scorecard_history
    from mlops_nb.services.monitoring.scorecard_tables import ScorecardHistory
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        rows = scorecard_history(session=session, project_id=_project_id(session, args.project), model=args.model)
    print(repr(present(ScorecardHistory(project=args.project, model=args.model, rows=rows))))
    return 0


def _history_args(p: argparse.ArgumentParser) -> None:
    _project_arg(p)
    p.add_argument("--model", help="one model's card (default: the project's card)")


command("attest")(_attest_args)(cmd_attest)
command("attestations")(_attestations_args)(cmd_attestations)
command("attestation", "withdraw")(_withdraw_args)(cmd_attestation_withdraw)
command("scorecard-settings")(_settings_args)(cmd_scorecard_settings)
command("scorecard-history")(_history_args)(cmd_scorecard_history)
