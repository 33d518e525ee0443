"""`mlops runs`: list a project's runs, filtered with MLflow's search syntax."""
from __future__ import annotations

import argparse

from mlops_nb.cli.base import command, open_engine


def cmd_runs(args: argparse.Namespace) -> int:
    """List runs of a project, newest first, filtered with MLflow's search syntax.

    Example: `mlops runs --project credit --experiment baseline --filter "metrics.auc > 0.7"`.
    """
    from mlops_nb.display import present
    from mlops_nb.services import tracking
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.runs import run_store

    with session_scope(open_engine(args)) as session:
        project = tracking.get_project(session=session, name=args.project)
        assert project.id is not None  # a stored row has its id
        table = tracking.search_runs(store=run_store(session), project_id=project.id, experiment=args.experiment,
                                     filter=args.filter)
    print(repr(present(table)))
    return 0


def _runs_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default="default")
    p.add_argument("--experiment")
    p.add_argument("--filter", help="e.g. \"metrics.auc > 0.7 and params.model = 'rf'\"")


command("runs")(_runs_args)(cmd_runs)
