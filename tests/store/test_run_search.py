"""The run store's search SQL (store.runs.search): one meaning of each operator on every database.

LIKE case-sensitivity and escapes are where SQLite and PostgreSQL differ by default (MLflow's own
store tests, mlflow/mlflow tests/store/tracking/test_sqlalchemy_store.py `test_search_params` /
`test_search_tags`, expect `LIKE '%Other%'` to miss 'another value' and `ILIKE` to find it on
every database); these tests hold the statement and its binds to that, below the parser.
"""
from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from mlops_nb.services import tracking
from mlops_nb.store.db import session_scope
from mlops_nb.store.run_store import run_store
from mlops_nb.store.runs import Condition, PortableRunStore, RunQuery
from mlops_nb.store.runs.search import _glob, search_params, search_statement, shape_of


@pytest.mark.parametrize("pattern, glob", [
    ("a%", "a*"), ("_b", "?b"), ("a*b", "a[*]b"), ("a?b", "a[?]b"), ("[x]", "[[]x]"), ("C:\\%", "C:\\*"),
    ("", ""), ("100%_done", "100*?done"),
])
def test_like_patterns_become_glob_patterns_matching_the_same_strings(pattern, glob):
    assert _glob(pattern) == glob


def _query(*conditions):
    return RunQuery(project_id=1, conditions=tuple(conditions))


def test_like_is_glob_on_sqlite_and_like_on_postgresql_ilike_the_reverse():
    query = _query(Condition("params", "p", "LIKE", "a%"), Condition("tags", "t", "ILIKE", "B%"))
    lite = str(search_statement(shape_of(query), "sqlite").compile(dialect=sqlite.dialect()))
    pg = str(search_statement(shape_of(query), "postgresql").compile(dialect=postgresql.dialect()))
    assert "f0.value GLOB" in lite
    assert "f0.value LIKE" in pg and "f1.value ILIKE" in pg
    assert search_params(query, "sqlite")["v0"] == "a*" and search_params(query, "sqlite")["v1"] == "b*"
    assert "mlops_lower(f1.value) GLOB" in lite
    backslash = _query(Condition("params", "p", "LIKE", "C:\\%"))
    assert search_params(backslash, "postgresql")["v0"] == "C:\\\\%"  # a plain backslash, not PG's escape


def test_times_are_bound_as_the_seconds_around_a_millisecond():
    params = search_params(_query(Condition("attributes", "start_time", "=", 1_700_000_000_123)), "sqlite")
    assert params["a0"] == pytest.approx(1_700_000_000.1225) and params["b0"] == pytest.approx(1_700_000_000.1235)


def test_lists_bind_as_lists_and_null_tests_bind_the_key():
    params = search_params(_query(Condition("attributes", "run_id", "IN", ("a", "b")),
                                  Condition("tags", "env", "IS NULL", None)), "sqlite")
    assert params["a0"] == ["a", "b"] and params["n0"] == "env"


def test_every_store_runs_the_conditions_the_same_way(engine):
    with session_scope(engine) as session:
        project = tracking.get_or_create_project(session=session, name="p")
        experiment = tracking.get_or_create_experiment(session=session, project_id=project.id, name="e")
        for name, value in (("upper", "Another Value"), ("lower", "another value"), ("star", "a*[v]"),
                            ("accent", "Éclair Ü")):
            run = tracking.create_run(session=session, experiment_id=experiment.id, name=name, user="dana")
            tracking.set_tags(session=session, run_id=run.id, tags={"t": value})
        project_id = project.id
    stores = [run_store(engine)] + ([PortableRunStore(engine)] if engine.dialect.name == "sqlite" else [])
    cases = {
        ("LIKE", "another%"): ["lower"], ("LIKE", "Another%"): ["upper"], ("ILIKE", "ANOTHER%"): ["lower", "upper"],
        ("NOT LIKE", "a%"): ["accent", "upper"], ("NOT ILIKE", "a%"): ["accent"], ("LIKE", "a*[v]"): ["star"], ("LIKE", "a_[_]"): ["star"],
        ("LIKE", "a*%"): ["star"], ("ILIKE", "éCLAIR ü"): ["accent"], ("ILIKE", "%ü"): ["accent"],
        ("LIKE", "éclair%"): [], ("LIKE", "Éclair%"): ["accent"], ("NOT ILIKE", "%É%"): ["lower", "star", "upper"],
    }
    for store in stores:
        for (op, pattern), expected in cases.items():
            rows = store.search_runs(RunQuery(project_id=project_id, conditions=(Condition("tags", "t", op, pattern),)))
            assert sorted(row["name"] for row in rows) == expected, (type(store).__name__, op, pattern)
