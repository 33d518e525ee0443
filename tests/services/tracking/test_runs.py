"""services.tracking with an explicit session: runs, params, metrics, tags, staleness, search."""
from __future__ import annotations

import math
import threading

import pytest

from mlops_nb.services import tracking
from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.store.db import session_scope
from mlops_nb.store.run_store import run_store


@pytest.fixture()
def run(session):
    project = tracking.get_or_create_project(session=session, name="p")
    experiment = tracking.get_or_create_experiment(session=session, project_id=project.id, name="e")
    return tracking.create_run(session=session, experiment_id=experiment.id, name=None, user="dana")


def test_get_or_create_returns_the_same_rows(session):
    first = tracking.get_or_create_project(session=session, name="p")
    assert tracking.get_or_create_project(session=session, name="p").id == first.id
    exp = tracking.get_or_create_experiment(session=session, project_id=first.id, name="e")
    assert tracking.get_or_create_experiment(session=session, project_id=first.id, name="e").id == exp.id


def test_concurrent_get_or_create_makes_one_row(engine):
    """Two sessions creating the same project at once: both succeed and see one row."""
    barrier, ids, errors = threading.Barrier(4), [], []

    def create():
        try:
            barrier.wait()
            with session_scope(engine) as session:
                project = tracking.get_or_create_project(session=session, name="shared")
                ids.append(tracking.get_or_create_experiment(session=session, project_id=project.id,
                                                             name="shared").id)
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(ids)) == 1


def test_unknown_project_names_the_known_ones(session):
    tracking.get_or_create_project(session=session, name="credit")
    with pytest.raises(NotFound, match="project 'nope' does not exist; projects: credit"):
        tracking.get_project(session=session, name="nope")


def test_new_run_is_running_with_a_default_name(run):
    assert run.status == "running" and run.name == f"run-{run.id[:8]}" and len(run.id) == 32


def test_end_run_sets_status_and_end_time_once(session, run):
    ended = tracking.end_run(store=run_store(session), run_id=run.id, status="failed")
    assert ended.status == "failed" and ended.end_time is not None
    again = tracking.end_run(store=run_store(session), run_id=run.id, status="finished")
    assert (again.status, again.end_time) == ("failed", ended.end_time)


def test_params_conflict_names_the_key_and_keeps_the_first_value(session, run):
    tracking.log_params(store=run_store(session), run_id=run.id, params={"C": 1, "penalty": "l2"})
    with pytest.raises(Conflict, match="param 'C' was already logged as '1'.*tried '2'"):
        tracking.log_params(store=run_store(session), run_id=run.id, params={"C": 2, "new": 3})
    assert tracking.get_run(session=session, run_id=run.id).params == {"C": "1", "penalty": "l2"}


def test_params_must_be_a_mapping(session, run):
    with pytest.raises(InvalidInput, match="params must be a mapping of names to values, got list"):
        tracking.log_params(store=run_store(session), run_id=run.id, params=[("a", 1)])
    with pytest.raises(InvalidInput, match="metrics must be a mapping of names to numbers, got float"):
        tracking.log_metrics(session=session, run_id=run.id, metrics=1.0)


def test_log_metrics_returns_the_steps_used(session, run):
    assert tracking.log_metrics(session=session, run_id=run.id, metrics={"a": 1.0, "b": 2.0}) == {"a": 0, "b": 0}
    assert tracking.log_metrics(session=session, run_id=run.id, metrics={"a": 1.0}) == {"a": 1}
    assert tracking.log_metrics(session=session, run_id=run.id, metrics={"a": 1.0}, step=7) == {"a": 7}
    assert tracking.read_next_steps(store=run_store(session), run_id=run.id, keys=["a", "b", "c"]) == {
        "a": 8, "b": 1, "c": 0}


def test_nan_is_stored_as_null_and_read_back_as_nan(session, run):
    tracking.log_metrics(session=session, run_id=run.id, metrics={"x": math.nan})
    assert math.isnan(tracking.metric_history(session=session, run_id=run.id, key="x")[0].value)


def test_stale_runs_are_marked_killed_and_live_ones_are_not(session, run):
    assert tracking.heartbeat(session=session, run_id=run.id)
    assert tracking.mark_stale_runs(store=run_store(session), stale_s=60) == 0
    assert tracking.mark_stale_runs(store=run_store(session), stale_s=60, now=run.heartbeat_at + 61) == 1
    session.expire_all()
    killed = tracking.get_run_row(session=session, run_id=run.id)
    assert killed.status == "killed" and killed.end_time is not None
    assert not tracking.heartbeat(session=session, run_id=run.id)


def test_set_run_code_replaces_the_recorded_code(session, run):
    tracking.set_run_code(session=session, run_id=run.id, cell_source="a = 1")
    tracking.set_run_code(session=session, run_id=run.id, cell_source="a = 1\n\nb = 2", code_hash="h",
                          cell_hashes=["x"])
    context = tracking.get_run(session=session, run_id=run.id).context
    assert context["cell_source"] == "a = 1\n\nb = 2" and context["code_hash"] == "h" and context["cell_hashes"] == ["x"]


def test_search_runs_returns_params_metrics_and_tags_as_columns(session, run):
    tracking.log_params(store=run_store(session), run_id=run.id, params={"C": 1})
    tracking.log_metrics(session=session, run_id=run.id, metrics={"auc": 0.8})
    tracking.set_tags(session=session, run_id=run.id, tags={"team": "risk"})
    project = tracking.get_project(session=session, name="p")
    table = tracking.search_runs(store=run_store(session), project_id=project.id, filter="tags.team = 'risk'")
    row = table.rows[0]
    assert row["params.C"] == "1" and row["metrics.auc"] == 0.8 and row["tags.team"] == "risk"
    assert table.title == "Runs where tags.team = 'risk'"
    assert tracking.count_runs(session=session, project_id=project.id) == 1
