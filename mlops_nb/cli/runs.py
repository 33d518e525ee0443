"""`mlops runs`: list a project's runs, filtered with MLflow's search syntax."""
from __future__ import annotations

import argparse

from mlops_nb.cli.base import command, open_engine


def cmd_runs(args: argparse.Namespace) -> int:
    """List runs of a project, newest first, filtered with MLflow's search syntax. Like every reader,
    it first marks killed the running runs whose heartbeat is older than MLOPS_RUN_STALE_S (SPEC §4).

    Example: `mlops runs --project credit --experiment baseline --filter "metrics.auc > 0.7"`.
    """
    from mlops_nb.config import run_stale_seconds
    from mlops_nb.display import present
    from mlops_nb.services import tracking
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.run_store import run_store

    engine = open_engine(args, must_exist=True)
    with session_scope(engine) as session:
        project_id = tracking.get_project(session=session, name=args.project).id
        assert project_id is not None  # a stored row has its id
    with session_scope(engine) as session:  # not begun before read_runs: see its docstring
        table = tracking.read_runs(session=session, store=run_store(engine), project_id=project_id,
                                   experiment=args.experiment, filter=args.filter, stale_s=run_stale_seconds())
    print(repr(present(table)))
    return 0


def _runs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default="default")
    p.add_argument("--experiment")
    p.add_argument("--filter", help="e.g. \"metrics.auc > 0.7 and params.model = 'rf'\"")


command("runs")(_runs_args)(cmd_runs)
