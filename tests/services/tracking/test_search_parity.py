"""The SQLite fast search (raw sqlite3) and the portable SQLAlchemy search give the same answers.

`mlops.runs()` on a SQLite file searches through `store.sqlite_fast.FastRunStore`; PostgreSQL
through `store.runs.PortableRunStore`. Both run `tracking.search_runs` here on one SQLite store,
over every operator, NaN and inf, quoting, several experiments and projects, and limits.
"""
from __future__ import annotations

import math
import time

import pytest

from mlops_nb.services import tracking
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.run_store import run_store
from mlops_nb.store.runs import PortableRunStore
from mlops_nb.store.sqlite_fast import FastRunStore

CASES = [
    "metrics.auc = 0.8", "metrics.auc != 0.8", "metrics.auc < 0.8", "metrics.auc <= 0.8", "metrics.auc > 0.8",
    "metrics.auc >= 0.8", "params.model = 'lr'", "params.model != 'lr'", "tags.team = 'risk' and params.model = 'lr'",
    "attributes.name LIKE 'lr-%'", "attributes.name NOT LIKE 'lr-%'", "attributes.name ILIKE 'RF-%'",
    "attributes.status = 'finished'", "attributes.user = 'dana' and metrics.auc > 0.75", "metrics.missing > 0",
    "params.model LIKE 'r%'", "params.model LIKE 'R%'", "params.model NOT ILIKE 'r%'", "tags.team LIKE '%\\%%'",
    "tags.team IS NULL", "tags.team IS NOT NULL", "params.missing IS NULL", "attributes.status IN ('FINISHED')",
    "attributes.name NOT IN ('lr-1', 'nan')", "status LIKE 'FIN%'", "attributes.start_time > 0",
    "attributes.end_time > 1", "tags.team LIKE 'a%b'", "tags.team LIKE 'a_b'", "params.model ILIKE 'RF'", "tags.team ILIKE 'risk'",
    "tags.team NOT LIKE 'r%'", "metrics.auc > 0.5 and metrics.loss < 0.25 and params.n = '3' and tags.team = 'risk'",
    "metrics.auc > inf", "metrics.auc >= inf", "params.model = 'x''y'", "attributes.start_time > 0",
    "attributes.end_time > 0", "metrics.loss <= 1 and attributes.name != 'lr-1'", None, "",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('parity') / 's.db'}"
    engine = get_engine(url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        project = tracking.get_or_create_project(session=session, name="p")
        other = tracking.get_or_create_project(session=session, name="q")
        experiments = [tracking.get_or_create_experiment(session=session, project_id=project.id, name="e"),
                       tracking.get_or_create_experiment(session=session, project_id=project.id, name="e2"),
                       tracking.get_or_create_experiment(session=session, project_id=other.id, name="e")]
        for exp in experiments:
            for name, auc, model, team in (("lr-1", 0.7, "lr", "risk"), ("lr-2", 0.8, "lr", "growth"),
                                           ("rf-1", 0.9, "rf", "risk"), ("nan", float("nan"), "Rf", "Risk"),
                                           ("inf", float("inf"), "x'y", "a%b")):
                run = tracking.create_run(session=session, experiment_id=exp.id, name=name, user="dana")
                tracking.log_params(store=run_store(session), run_id=run.id, params={"model": model, "n": 3})
                tracking.log_metrics(session=session, run_id=run.id,
                                     metrics={"auc": auc, "loss": 1 - (auc if auc == auc else 0)})
                tracking.set_tags(session=session, run_id=run.id, tags={"team": team})
                time.sleep(0.001)
            tracking.end_run(store=run_store(session), run_id=run.id)
        project_id = project.id
    fast, portable = run_store(engine), PortableRunStore(engine)
    assert isinstance(fast, FastRunStore)
    return fast, portable, project_id


def _normalised(table):
    return [{k: ("NaN" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in table.rows]


@pytest.mark.parametrize("experiment", ["e", "e2", None, "nope"])
@pytest.mark.parametrize("filter_text", CASES)
def test_fast_sqlite_search_matches_the_portable_search(store, experiment, filter_text):
    fast_store, portable_store, project_id = store
    portable = tracking.search_runs(store=portable_store, project_id=project_id, experiment=experiment,
                                    filter=filter_text)
    fast = tracking.search_runs(store=fast_store, project_id=project_id, experiment=experiment, filter=filter_text)
    assert _normalised(fast) == _normalised(portable)
    assert fast.title == portable.title


@pytest.mark.parametrize("limit", [1, 3])
def test_fast_sqlite_search_honours_limits_like_the_portable_search(store, limit):
    fast_store, portable_store, project_id = store
    portable = tracking.search_runs(store=portable_store, project_id=project_id, filter="metrics.auc > 0", limit=limit)
    fast = tracking.search_runs(store=fast_store, project_id=project_id, filter="metrics.auc > 0", limit=limit)
    assert _normalised(fast) == _normalised(portable) and len(fast.rows) == limit


def test_both_stores_find_the_expected_runs(store):
    fast_store, portable_store, project_id = store
    for run_store_ in (fast_store, portable_store):
        table = tracking.search_runs(store=run_store_, project_id=project_id, experiment="e",
                                     filter="metrics.auc > 0.75 and tags.team ILIKE 'RISK'")
        assert [row["name"] for row in table.rows] == ["rf-1"]
        assert table.rows[0]["params.model"] == "rf" and table.rows[0]["metrics.auc"] == 0.9
