"""Searching runs with MLflow's filter syntax (see filters.py), newest first.

The run store runs one search statement (store.runs.search) for every database; on a SQLite file
it runs on the fast path's own connection. tests/services/tracking/test_search_parity.py holds the
fast and the portable store to the same answers.

    >>> table = tracking.search_runs(store=run_store(engine), project_id=1, experiment="baseline",
    ...                              filter="metrics.auc > 0.7 and params.penalty = 'l2'")
"""
from __future__ import annotations

from sqlmodel import Session, col, func, select

from mlops_nb.services.tracking.filters import parse_filter
from mlops_nb.services.tracking.results import RunTable
from mlops_nb.store.models import Experiment, Run
from mlops_nb.store.runs import RunQuery, RunStore


def search_runs(*, store: RunStore, project_id: int, experiment: str | None = None,
                filter: str | None = None, limit: int | None = None) -> RunTable:
    """Runs of project `project_id` (of one experiment when given) matching an MLflow-style filter,
    newest first, at most `limit` (None: all), with their params, latest metrics and tags as columns.
    An experiment that does not exist gives no runs (callers that must say so check it).

    Raises:
        InvalidInput: the filter cannot be read; the message names the part.
    """
    query = RunQuery(project_id=project_id, experiment=experiment, conditions=tuple(parse_filter(filter)),
                     limit=limit)
    title = f"Runs in {experiment}" if experiment else "Runs"
    return RunTable(rows=store.search_runs(query), title=title + (f" where {filter}" if filter else ""))


def count_runs(*, session: Session, project_id: int) -> int:
    """How many runs project `project_id` has, in every experiment."""
    count: int = session.exec(select(func.count()).select_from(Run)
                              .join(Experiment, col(Experiment.id) == col(Run.experiment_id))
                              .where(Experiment.project_id == project_id)).one()
    return count
