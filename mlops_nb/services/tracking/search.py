"""Searching runs with MLflow's filter syntax (see filters.py), newest first.

The run store runs one search statement (store.runs.search) for every database; on a SQLite file
it runs on the fast path's own connection. tests/services/tracking/test_search_parity.py holds the
fast and the portable store to the same answers.

    >>> table = tracking.search_runs(store=run_store(engine), project_id=1, experiment="baseline",
    ...                              filter="metrics.auc > 0.7 and params.penalty = 'l2'")
"""
from __future__ import annotations

import sqlite3

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from mlops_nb.services.errors import StoreUnavailable
from mlops_nb.services.tracking.filters import parse_filter
from mlops_nb.services.tracking.projects import get_experiment
from mlops_nb.services.tracking.results import RunTable
from mlops_nb.services.tracking.runs import mark_stale_runs
from mlops_nb.store.models import Experiment, Run
from mlops_nb.store.runs import RunQuery, RunStore


def search_runs(*, store: RunStore, project_id: int, experiment: str | None = None,
                filter: str | None = None, limit: int | None = None) -> RunTable:
    """Runs of project `project_id` (of one experiment when given) matching an MLflow-style filter,
    newest first, at most `limit` (None: all), with their params, latest metrics and tags as columns.
    An experiment that does not exist gives no runs (callers that must say so check it).

    The filter grammar is services.tracking.filters (MLflow's, documented in docs/api.md).

    Raises:
        InvalidInput: the filter is not a string, too long, has too many conditions, or cannot be
            read; the message names the part and what is accepted.
        StoreUnavailable: the database could not run the search (its driver's error, named).
    """
    query = RunQuery(project_id=project_id, experiment=experiment, conditions=tuple(parse_filter(filter)),
                     limit=limit)
    title = f"Runs in {experiment}" if experiment else "Runs"
    try:
        rows = store.search_runs(query)
    except (sqlite3.Error, SQLAlchemyError) as err:
        detail = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise StoreUnavailable(f"searching runs failed in the database: {type(err).__name__}: {detail}") from err
    return RunTable(rows=rows, title=title + (f" where {filter}" if filter else ""))


def read_runs(*, session: Session, store: RunStore, project_id: int, experiment: str | None = None,
              filter: str | None = None, stale_s: float) -> RunTable:
    """What a reader of runs gets, from any front end: running runs whose heartbeat is older than
    `stale_s` seconds are first marked killed (SPEC §4), then `search_runs`; when nothing is found
    for a named experiment, whether that experiment exists is checked (in `session`) so the caller
    hears so instead of getting an empty table. `session` must not have begun a transaction yet:
    on SQLite each one holds the write lock, which the store's own connection would then wait for.

    Raises:
        InvalidInput: the filter is refused (see search_runs).
        StoreUnavailable: the database could not run the search.
        NotFound: `experiment` does not exist in the project (the message lists those that do).
    """
    mark_stale_runs(store=store, stale_s=stale_s)
    table = search_runs(store=store, project_id=project_id, experiment=experiment, filter=filter)
    if not table.rows and experiment is not None:
        get_experiment(session=session, project_id=project_id, name=experiment)
    return table


def count_runs(*, session: Session, project_id: int) -> int:
    """How many runs project `project_id` has, in every experiment."""
    count: int = session.exec(select(func.count()).select_from(Run)
                              .join(Experiment, col(Experiment.id) == col(Run.experiment_id))
                              .where(Experiment.project_id == project_id)).one()
    return count
