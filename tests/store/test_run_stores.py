"""The run stores: the SQLite fast path and the portable SQLAlchemy store do every job alike.

One scenario of writes and reads runs through each store (the one `run_store` picks for the
engine, the portable one on the same engine, and a portable one inside a session) on SQLite and
PostgreSQL, and must leave exactly the rows written out below.
"""
from __future__ import annotations

import math

import pytest
from sqlalchemy import select

from mlops_nb.services import tracking
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.run_store import run_store
from mlops_nb.store.runs import Condition, PortableRunStore, RunQuery, RunState
from mlops_nb.store.runs.statements import EXPERIMENT, LATEST_METRIC, METRIC, PARAM, RUN, TAG
from mlops_nb.store.sqlite_fast import FastRunStore

R1, R2 = "a" * 32, "b" * 32
CONTEXT = {"host": "h", "pid": 7, "git_commit": "abc", "git_dirty": True, "notebook_path": None,
           "code_status": "untracked", "code_hash": None, "cell_hashes": None, "cell_source": None, "python_version": "3.11", "packages": {"numpy": "2.0"}}


def _values(run_id: str, name: str, at: float, **context) -> dict:
    return {"id": run_id, "name": name, "user": "dana", "start_time": at, "heartbeat_at": at + 0.5, **CONTEXT,
            **context}


def _accept_new(values: dict):
    """A param check that takes the pairs not stored yet (as the immutability rule does)."""
    def check(state, existing):
        assert state is not None and state.status == "running"
        return [(k, v) for k, v in values.items() if k not in existing]
    return check


def _scenario(store, project_id: int) -> dict:
    """Every job once; returns what the reads said."""
    seen: dict = {}
    seen["no experiment"] = store.insert_run(project_id=project_id, experiment="e", values=_values(R1, "r1", 5.0),
                                             tags={"team": "risk"})
    store.add_experiment(project_id=project_id, name="e", created_at=1.0)
    store.add_experiment(project_id=project_id, name="e", created_at=2.0)  # exists: nothing changes
    seen["inserted"] = [store.insert_run(project_id=project_id, experiment="e", values=_values(R1, "r1", 5.0),
                                         tags={"team": "risk"}),
                        store.insert_run(project_id=project_id, experiment="e",
                                         values=_values(R2, "r2", 6.0, git_dirty=None, packages=None), tags={})]
    store.write_tags(run_id=R1, tags={"team": "growth", "note": "x"})
    store.write_params(run_id=R1, values={"C": "1", "p": "l2"}, check=_accept_new({"C": "1", "p": "l2"}))
    store.write_params(run_id=R1, values={"C": "1", "k": "v"}, check=_accept_new({"C": "1", "k": "v"}))
    with pytest.raises(ZeroDivisionError):
        store.write_params(run_id=R1, values={"z": "1"}, check=lambda state, existing: [("z", "1"), 1 / 0])
    states: list = []
    store.write_params(run_id="nope", values={"z": "1"}, check=lambda state, existing: states.append(state) or [])
    seen["state of a missing run"] = states
    store.write_metric_points([(R1, "loss", 0.5, 0, 10.0)])
    store.write_metric_points([(R1, "loss", 0.4, 1, 11.0), (R1, "loss", 0.3, 1, 12.0), (R1, "auc", None, 0, 11.0),
                               (R1, "loss", 0.9, 0, 13.0), (R1, "big", math.inf, 2**62, 11.0)])
    store.write_metric_points([(R1, "loss", 0.25, 1, 14.0)])  # the same step again: the later point wins
    store.write_metric_points([(R1, "loss", 0.1, 0, 15.0)])  # a lower step: the latest value stays
    seen["latest steps"] = store.latest_steps(run_id=R1, keys=["loss", "auc", "big", "never"])
    seen["ended"] = [store.end_run(run_id=R2, status="failed", end_time=20.0),
                     store.end_run(run_id=R2, status="finished", end_time=21.0),
                     store.end_run(run_id="nope", status="finished", end_time=21.0)]
    seen["states"] = [store.run_state(run_id=R2), store.run_state(run_id="nope")]
    seen["marked"] = [store.mark_stale_runs(cutoff=4.0), store.mark_stale_runs(cutoff=30.0),
                      store.mark_stale_runs(cutoff=30.0)]
    rows = store.search_runs(RunQuery(project_id=project_id, experiment="e",
                                      conditions=(Condition("metrics", "loss", "<", 0.35),
                                                  Condition("tags", "team", "ILIKE", "GROW%"))))
    seen["found"] = [{k: ("NaN" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                     for row in rows]
    seen["all"] = [row["name"] for row in store.search_runs(RunQuery(project_id=project_id, limit=5))]
    return seen


EXPECTED_SEEN = {
    "no experiment": False,
    "inserted": [True, True],
    "state of a missing run": [None],
    "latest steps": {"loss": 1, "auc": 0, "big": 2**62},
    "ended": [True, False, False],
    "states": [RunState("r2", "failed", 20.0), None],
    "marked": [0, 1, 0],
    "found": [{"run_id": R1, "name": "r1", "status": "killed", "experiment": "e", "user": "dana", "start_time": 5.0,
               "end_time": 5.5, "params.C": "1", "params.k": "v", "params.p": "l2", "metrics.loss": 0.25,
               "metrics.auc": "NaN", "metrics.big": math.inf, "tags.note": "x", "tags.team": "growth"}],
    "all": ["r2", "r1"],
}
RUN_COLUMNS = ("id", "name", "status", "user", "start_time", "end_time", "heartbeat_at", "host", "pid", "git_commit",
               "git_dirty", "notebook_path", "code_status", "code_hash", "cell_hashes", "cell_source", "python_version", "packages")
# JSON columns hold JSON null, not SQL NULL, for None (as the ORM writes them): (cell_hashes, packages) IS NULL
EXPECTED_ROWS = {
    "experiments": [("e", 1.0)],
    "runs": [(R1, "r1", "killed", "dana", 5.0, 5.5, 5.5, "h", 7, "abc", True, None, "untracked", None, None, None,
              "3.11", {"numpy": "2.0"}, False, False),
             (R2, "r2", "failed", "dana", 6.0, 20.0, 6.5, "h", 7, "abc", None, None, "untracked", None, None, None,
              "3.11", None, False, False)],
    "params": [(R1, "C", "1"), (R1, "k", "v"), (R1, "p", "l2")],
    "tags": [(R1, "note", "x"), (R1, "team", "growth")],
    "metrics": [(R1, "auc", None, 0, 11.0), (R1, "big", math.inf, 2**62, 11.0), (R1, "loss", 0.5, 0, 10.0),
                (R1, "loss", 0.9, 0, 13.0), (R1, "loss", 0.1, 0, 15.0), (R1, "loss", 0.4, 1, 11.0),
                (R1, "loss", 0.3, 1, 12.0), (R1, "loss", 0.25, 1, 14.0)],
    "latest": [(R1, "auc", None, 0, 11.0), (R1, "big", math.inf, 2**62, 11.0), (R1, "loss", 0.25, 1, 14.0)],
}


def _rows(engine) -> dict:
    with engine.connect() as conn:
        return {
            "experiments": conn.execute(select(EXPERIMENT.c.name, EXPERIMENT.c.created_at)).all(),
            "runs": [tuple(r) for r in conn.execute(
                select(*(RUN.c[c] for c in RUN_COLUMNS), RUN.c.cell_hashes.is_(None), RUN.c.packages.is_(None))
                .order_by(RUN.c.id))],
            "params": conn.execute(select(PARAM).order_by(PARAM.c.run_id, PARAM.c.key)).all(),
            "tags": conn.execute(select(TAG).order_by(TAG.c.run_id, TAG.c.key)).all(),
            "metrics": conn.execute(select(METRIC.c.run_id, METRIC.c.key, METRIC.c.value, METRIC.c.step,
                                           METRIC.c.timestamp)
                                    .order_by(METRIC.c.key, METRIC.c.step, METRIC.c.timestamp)).all(),
            "latest": conn.execute(select(LATEST_METRIC).order_by(LATEST_METRIC.c.key)).all(),
        }


@pytest.mark.parametrize("which", ["chosen", "portable", "in a session"])
def test_every_store_does_every_job_alike(engine, which):
    with session_scope(engine) as session:
        project_id = tracking.get_or_create_project(session=session, name="p").id
    if which == "in a session":
        with session_scope(engine) as session:
            seen = _scenario(run_store(session), project_id)
    else:
        seen = _scenario(run_store(engine) if which == "chosen" else PortableRunStore(engine), project_id)
    assert seen == EXPECTED_SEEN
    assert {k: [tuple(r) for r in v] for k, v in _rows(engine).items()} == EXPECTED_ROWS


def test_the_store_is_chosen_once_per_engine(tmp_path, db_url):
    sqlite_file = get_engine(f"sqlite:///{tmp_path / 'f.db'}")
    assert isinstance(run_store(sqlite_file), FastRunStore) and run_store(sqlite_file) is run_store(sqlite_file)
    for engine in (get_engine("sqlite://"), get_engine(db_url) if db_url.startswith("postgresql") else None):
        if engine is not None:
            assert type(run_store(engine)) is PortableRunStore and run_store(engine) is run_store(engine)


def test_a_store_in_a_session_sees_what_the_session_holds_and_commits_nothing(engine):
    with session_scope(engine) as session:
        project_id = tracking.get_or_create_project(session=session, name="p").id
        experiment = tracking.get_or_create_experiment(session=session, project_id=project_id, name="e")
        run = tracking.create_run(session=session, experiment_id=experiment.id, name="r", user="dana")
        store = run_store(session)
        store.write_metric_points([(run.id, "loss", 1.0, 0, 1.0)])
        assert store.latest_steps(run_id=run.id, keys=["loss"]) == {"loss": 0}
        session.rollback()
    assert _rows(engine)["runs"] == [] and _rows(engine)["metrics"] == []
