"""Searching runs with MLflow's filter syntax (see filters.py), newest first.

The run store runs one search statement (store.runs.search) for every database; on a SQLite file
it runs on the fast path's own connection. tests/services/tracking/test_search_parity.py holds the
fast and the portable store to the same answers.

A table of thousands of runs is read a page at a time (`search_run_page`): the count of matches
and one page's runs, in any order, with only that page's params, metrics and tags read.

    >>> table = tracking.search_runs(store=run_store(engine), project_id=1, experiment="baseline",
    ...                              filter="metrics.auc > 0.7 and params.penalty = 'l2'")
    >>> page = tracking.search_run_page(store=run_store(engine), project_id=1, filter="metrics.auc > 0.7",
    ...                                 order_by="metrics.auc", offset=50, limit=50)
    >>> page.total, page.page, page.pages, len(page.rows)     # (1106, 2, 23, 50)
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import exists, literal_column
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from mlops_nb.services.errors import InvalidInput, StoreUnavailable
from mlops_nb.services.tracking.filters import ATTRIBUTE_NAMES, Condition, parse_filter
from mlops_nb.services.tracking.projects import get_experiment
from mlops_nb.services.tracking.results import RunPage, RunTable
from mlops_nb.services.tracking.runs import END_STATUSES, mark_stale_runs
from mlops_nb.store.models import Experiment, Run
from mlops_nb.store.runs import ORDER_ATTRIBUTES, RunOrder, RunQuery, RunStore
from mlops_nb.store.runs.statements import KEYED_TABLES


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
    with _database_errors():
        rows = store.search_runs(query)
    return RunTable(rows=rows, title=title + (f" where {filter}" if filter else ""))


@contextmanager
def _database_errors() -> Iterator[None]:
    """A driver's error while searching, as StoreUnavailable naming it."""
    try:
        yield
    except (sqlite3.Error, SQLAlchemyError) as err:
        detail = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise StoreUnavailable(f"searching runs failed in the database: {type(err).__name__}: {detail}") from err


MAX_PAGE_SIZE = 1000
_ORDER_KINDS = ("metrics", "params", "attributes")
_ORDER_NAMES = {**{name: name for name in ORDER_ATTRIBUTES}, **ATTRIBUTE_NAMES, "experiment_name": "experiment"}
_STATUSES = ("running", *END_STATUSES)


def parse_order(order_by: str, *, descending: bool = True) -> RunOrder:
    """The order `order_by` names: `metrics.K`, `params.K`, `attributes.A` or a bare attribute A, with
    A one of start_time, end_time, name, status, user, experiment (MLflow's names run_name,
    user_id and created are accepted too).

    Raises:
        InvalidInput: an unknown kind or attribute, or no key; the message lists what is accepted.
    """
    kind, _, key = order_by.partition(".") if "." in order_by else ("attributes", "", order_by)
    if kind not in _ORDER_KINDS:
        raise InvalidInput(f"cannot order by {order_by!r}: use metrics.K, params.K or one of "
                           f"{', '.join(ORDER_ATTRIBUTES)}")
    if not key:
        raise InvalidInput(f"cannot order by {order_by!r}: name the {kind[:-1]} after the dot")
    if kind == "attributes":
        if key not in _ORDER_NAMES or _ORDER_NAMES[key] not in ORDER_ATTRIBUTES:
            raise InvalidInput(f"cannot order by attribute {key!r}; use one of {', '.join(ORDER_ATTRIBUTES)}")
        key = _ORDER_NAMES[key]
    return RunOrder(kind=kind, key=key, descending=descending)


def search_run_page(*, store: RunStore, project_id: int, filter: str | None = None,
                    experiments: Sequence[str] | None = None, statuses: Sequence[str] | None = None,
                    order_by: str = "start_time", descending: bool = True, offset: int = 0,
                    limit: int = 50) -> RunPage:
    """One page of the runs of project `project_id` matching an MLflow-style filter (as
    `search_runs`), of any of `experiments` and with any of `statuses` (running, finished, failed,
    killed; None or empty: all), in the order `order_by` names (see parse_order; runs without the
    value last, ties newest first), skipping `offset` runs and giving at most `limit`; with the count
    of all matches, read in the same snapshot. Only the page's runs are read with their params,
    metrics and tags, so the first page of 10,000 runs costs a count and one page. An offset past
    the last match gives the last page. Params order as text (MLflow's rule: '10' before '9').

    Raises:
        InvalidInput: a filter refused as by `search_runs`, an unknown order or status, a negative
            `offset`, or a `limit` outside 1..1000.
        StoreUnavailable: the database could not run the search.
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"offset must be a whole number of runs, 0 or more, not {offset!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be a whole number of runs from 1 to {MAX_PAGE_SIZE:,}, not {limit!r}")
    conditions = parse_filter(filter)
    if statuses:
        unknown = [s for s in statuses if str(s).lower() not in _STATUSES]
        if unknown:
            raise InvalidInput(f"unknown run status {unknown[0]!r}; use {', '.join(_STATUSES)}")
        conditions.append(Condition("attributes", "status", "IN", tuple(str(s).lower() for s in statuses)))
    query = RunQuery(project_id=project_id, conditions=tuple(conditions),
                     experiments=tuple(experiments) if experiments else None,
                     order=parse_order(order_by, descending=descending), offset=offset, limit=limit)
    with _database_errors():
        total, rows = store.search_page(query)
        if not rows and offset > 0 and total > 0:  # past the end (runs were deleted, a filter narrowed)
            offset = (total - 1) // limit * limit
            total, rows = store.search_page(replace(query, offset=offset))
    return RunPage(rows=rows, total=total, offset=offset, limit=limit)


def run_keys(*, session: Session, project_id: int) -> dict[str, list[str]]:
    """The metric and param keys the runs of project `project_id` have, each list by name:
    {"metrics": ["auc", "loss"], "params": ["C", "model"]} (what a table may be ordered by).

    Each distinct key of the store is probed for one run of the project (an indexed EXISTS), rather
    than every run of the project read for its keys: 10,000 runs, 2 metrics: ~2 ms against ~115 ms.
    """
    keys: dict[str, list[str]] = {}
    for kind in ("metrics", "params"):
        table = KEYED_TABLES[kind]
        distinct = select(table.c.key).distinct().subquery("k")
        used: Any = (select(literal_column("1"))
                .select_from(table.join(Run, col(Run.id) == table.c.run_id)
                             .join(Experiment, col(Experiment.id) == col(Run.experiment_id)))
                .where(table.c.key == distinct.c.key, col(Experiment.project_id) == project_id))
        found = session.execute(select(distinct.c.key).where(exists(used)).order_by(distinct.c.key)).scalars()
        keys[kind] = [str(k) for k in found]
    return keys


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
