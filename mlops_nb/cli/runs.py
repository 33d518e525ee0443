"""`mlops runs`: list a project's runs, filtered with MLflow's search syntax."""
from __future__ import annotations

import argparse

from mlops_nb.cli.base import command, open_engine


def cmd_runs(args: argparse.Namespace) -> int:
    """List runs of a project, filtered with MLflow's search syntax."""
    from mlops_nb.display import present
    from mlops_nb.services import tracking
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args)) as session:
        project = tracking.get_project(session=session, name=args.project)
        table = tracking.search_runs(session=session, project_id=project.id, experiment=args.experiment,
                                     filter=args.filter)
    print(repr(present(table)))
    return 0


def _runs_args(p):
    p.add_argument("--project", default="default")
    p.add_argument("--experiment")
    p.add_argument("--filter", help="e.g. \"metrics.auc > 0.7 and params.model = 'rf'\"")


command("runs")(_runs_args)(cmd_runs)
