"""`mlops retrain` and `mlops retraining`: run a model's training notebook headless, name it, list the runs.

    mlops retraining set credit-risk --notebook mlops_nb/demo/credit_retraining.ipynb --param C=0.5
    mlops retraining show credit-risk
    mlops retrain credit-risk --window-start 2024-05-01 --window-end 2024-07-31
    mlops retraining runs credit-risk

Like every CLI command, these act as the store's operator (whoever can open its database). The
notebook's kernel acts as whoever MLOPS_TOKEN (and MLOPS_USER) in this environment prove: set the
token of a retraining user, or its promotion request is refused as unproven (docs/retraining.md).
Artifacts (the approved notebook, the executed one) go to MLOPS_ARTIFACT_ROOT, else
$MLOPS_HOME/artifacts, as for `mlops.init`.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mlops_nb.cli.base import command, open_engine
from mlops_nb.services.errors import InvalidInput


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """`KEY=VALUE` pairs as parameters: VALUE read as JSON when it is JSON (0.5, true, null, [1, 2],
    "text"), else as the text itself.

    Raises:
        InvalidInput: a pair without `=`, with an empty key, or a key given twice.
    """
    params: dict[str, Any] = {}
    for pair in pairs or []:
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise InvalidInput(f"--param {pair!r} is not KEY=VALUE (e.g. --param C=0.5)")
        if key.strip() in params:  # last-wins ran the notebook with one of two values silently
            raise InvalidInput(f"--param {key.strip()!r} is given twice; give it once")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def _context(args: argparse.Namespace) -> tuple[Any, Any, int]:
    """The engine, the artifact store and the project id the command acts on."""
    from mlops_nb.config import Settings
    from mlops_nb.services import tracking
    from mlops_nb.store.artifacts import artifact_store
    from mlops_nb.store.db import session_scope

    engine = open_engine(args)
    with session_scope(engine) as session:
        project_id = tracking.get_project(session=session, name=args.project).id
    assert project_id is not None  # a stored row has its id
    return engine, artifact_store(Settings.from_env().artifact_root), project_id


def cmd_retrain(args: argparse.Namespace) -> int:
    """Run a model's retraining notebook headless now; one line per outcome (exit 1 when it failed).

    Example: mlops retrain credit-risk --project credit --window-start 2024-05-01 --window-end 2024-07-31

    Raises:
        NotFound: no such project or model, or no retraining notebook set for it.
        InvalidInput: a bad --param or window.
        Conflict: a retraining of the model is running.
    """
    from mlops_nb.api.retraining import kernel_identity
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring import retraining

    if (args.window_start is None) != (args.window_end is None):
        raise InvalidInput("give both --window-start and --window-end, or neither")
    window = None if args.window_start is None else (args.window_start, args.window_end)
    engine, store, project_id = _context(args)
    run = retraining.start_retraining(engine=engine, store=store, project_id=project_id, actor=identity.OPERATOR,
                                      model=args.model, window=window, parameters=parse_params(args.param),
                                      env=kernel_identity(), timeout_s=args.timeout)
    took = f"{run.seconds:.1f} s" if run.seconds is not None else "-"
    print(f"retraining run {run.id} of {run.model}: {run.status} in {took}")
    if run.run_id:
        print(f"run {run.run_id}")
    if run.model_version is not None:
        print(f"version {run.model} v{run.model_version}")
    if run.request_id is not None:
        print(f"promotion request {run.request_id} ({run.request_status})")
    if run.status == "failed":
        print(f"mlops: retraining run {run.id} failed: {run.error} (an alert was fired; the executed notebook "
              "is kept)", file=sys.stderr)
        return 1
    return 0


def cmd_retraining_set(args: argparse.Namespace) -> int:
    """Name a model's training notebook (a copy is stored) and the parameters it gets.

    Example: mlops retraining set credit-risk --project credit --notebook mlops_nb/demo/credit_retraining.ipynb --param C=0.5

    Raises:
        NotFound: no such project or model.
        InvalidInput: the notebook cannot be read or has no cell tagged `parameters`; a bad --param.
    """
    from mlops_nb.display import present
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring import retraining
    from mlops_nb.store.db import session_scope

    engine, store, project_id = _context(args)
    with session_scope(engine) as session:
        config = retraining.set_retraining(session=session, store=store, project_id=project_id,
                                           actor=identity.OPERATOR, model=args.model, notebook=args.notebook,
                                           parameters=parse_params(args.param))
    print(repr(present(config)))
    return 0


def cmd_retraining_show(args: argparse.Namespace) -> int:
    """Show a model's retraining notebook and parameters.

    Example: mlops retraining show credit-risk --project credit

    Raises:
        NotFound: no such project or model, or no retraining notebook set for it.
    """
    from mlops_nb.display import present
    from mlops_nb.services.errors import NotFound
    from mlops_nb.services.monitoring import retraining
    from mlops_nb.store.db import session_scope

    engine, _store, project_id = _context(args)
    with session_scope(engine) as session:
        config = retraining.retraining_config(session=session, project_id=project_id, model=args.model)
    if config is None:
        raise NotFound(f"model {args.model!r} has no retraining notebook; set one with "
                       f"`mlops retraining set {args.model} --notebook PATH`")
    print(repr(present(config)))
    return 0


def cmd_retraining_runs(args: argparse.Namespace) -> int:
    """List retraining runs, newest first: status, trigger, version, request, error.

    Example: mlops retraining runs credit-risk --project credit --limit 10

    Raises:
        NotFound: no such project or model.
    """
    from mlops_nb.display import present
    from mlops_nb.services.monitoring import retraining
    from mlops_nb.services.monitoring.retraining_results import RetrainingRunTable
    from mlops_nb.store.db import session_scope

    engine, _store, project_id = _context(args)
    with session_scope(engine) as session:
        runs = retraining.retraining_runs(session=session, project_id=project_id, model=args.model, limit=args.limit)
    print(repr(present(RetrainingRunTable(model=args.model, runs=runs))))
    return 0


def _project(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default="default")


def _params(p: argparse.ArgumentParser) -> None:
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a notebook parameter (repeatable); VALUE as JSON when it is JSON, e.g. C=0.5")


def _retrain_args(p: argparse.ArgumentParser) -> None:
    from mlops_nb.services.monitoring.headless import DEFAULT_TIMEOUT_S

    p.add_argument("model")
    _project(p)
    _params(p)
    p.add_argument("--window-start", metavar="DATE", help="first day of the data window (YYYY-MM-DD)")
    p.add_argument("--window-end", metavar="DATE", help="last day of the data window (YYYY-MM-DD)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                   help=f"how long one cell may run (default {DEFAULT_TIMEOUT_S} s)")


def _set_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model")
    _project(p)
    p.add_argument("--notebook", required=True, metavar="PATH", help="the training notebook (.ipynb)")
    _params(p)


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model")
    _project(p)


def _runs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", help="the model (default: every model of the project)")
    _project(p)
    p.add_argument("--limit", type=int, default=50)


command("retrain")(_retrain_args)(cmd_retrain)
command("retraining", "set")(_set_args)(cmd_retraining_set)
command("retraining", "show")(_show_args)(cmd_retraining_show)
command("retraining", "runs")(_runs_args)(cmd_retraining_runs)
