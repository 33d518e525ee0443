"""MLflow's search syntax: the parser, its errors, and what each condition selects in SQL."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect

from mlops_nb.services import tracking
from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.tracking.filters import Condition, parse_filter
from mlops_nb.store.run_store import run_store


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_every_comparison_operator_parses(op):
    assert parse_filter(f"metrics.auc {op} 0.5") == [Condition("metrics", "auc", op, 0.5)]


@pytest.mark.parametrize("text, expected", [
    ("params.model LIKE 'rf%'", Condition("params", "model", "LIKE", "rf%")),
    ("tags.team ilike 'RI%'", Condition("tags", "team", "ILIKE", "RI%")),
    ("attributes.name NOT  LIKE 'x%'", Condition("attributes", "name", "NOT LIKE", "x%")),
    ("metric.loss<=1e-3", Condition("metrics", "loss", "<=", 0.001)),
    ("param.`my key` = 'a b'", Condition("params", "my key", "=", "a b")),
    ('tags."my.tag" = \'v\'', Condition("tags", "my.tag", "=", "v")),
    ("attr.status = 'finished'", Condition("attributes", "status", "=", "finished")),
    ("run.start_time > 10", Condition("attributes", "start_time", ">", 10.0)),
    ("params.quote = 'it''s'", Condition("params", "quote", "=", "it's")),
    ("metrics.x > -inf", Condition("metrics", "x", ">", float("-inf"))),
])
def test_identifiers_quoting_and_literals(text, expected):
    assert parse_filter(text) == [expected]


def test_conditions_are_joined_with_and():
    assert parse_filter("metrics.a > 1 and params.b = 'x' AND tags.c != 'y'") == [
        Condition("metrics", "a", ">", 1.0), Condition("params", "b", "=", "x"), Condition("tags", "c", "!=", "y")]


def test_empty_filter_is_no_condition():
    assert parse_filter(None) == [] and parse_filter("   ") == []


@pytest.mark.parametrize("text, words", [
    ("metrics.auc >", "incomplete condition at the end"),
    ("metrics.auc > 0.5 or params.a = 'b'", "cannot read \"or params.a = 'b'\""),
    ("metrics.auc > 0.5 and", "nothing after the last 'and'"),
    ("metrics.auc > 0.5 metrics.b > 1", "conditions are joined with 'and', found 'metrics.b'"),
    ("auc > 0.5", "cannot read 'auc > 0.5'; expected e.g."),
    ("metrics.auc = 'high'", "metrics.auc compares with a number, not 'high'"),
    ("metrics.auc LIKE 1", "LIKE applies to params, tags and attributes, not metrics"),
    ("params.C = 1", "params.C compares with a quoted string, e.g. '1'"),
    ("attributes.color = 'red'", "unknown attribute 'color'"),
    ("attributes.start_time > 'yesterday'", "attributes.start_time compares with a number"),
    ("params.a = 'unterminated", "cannot read \"'unterminated\""),
    ("params.a 'x' = ", "expected IDENTIFIER OP VALUE"),
    ("metrics.a > 1; DROP TABLE run", "cannot read '; DROP TABLE run'"),
])
def test_bad_syntax_is_refused_naming_the_problem(text, words):
    with pytest.raises(InvalidInput, match="filter .*" + re.escape(words)):
        parse_filter(text)


@pytest.fixture()
def project_id(session):
    project = tracking.get_or_create_project(session=session, name="p")
    experiment = tracking.get_or_create_experiment(session=session, project_id=project.id, name="e")
    for name, auc, model, team in (("lr-1", 0.7, "lr", "risk"), ("lr-2", 0.8, "lr", "growth"),
                                   ("rf-1", 0.9, "rf", "risk")):
        run = tracking.create_run(session=session, experiment_id=experiment.id, name=name, user="dana")
        tracking.log_params(store=run_store(session), run_id=run.id, params={"model": model})
        tracking.log_metrics(session=session, run_id=run.id, metrics={"auc": auc})
        tracking.set_tags(session=session, run_id=run.id, tags={"team": team})
    tracking.end_run(store=run_store(session), run_id=run.id)  # rf-1 finished, the others running
    return project.id


def _names(session, project_id, text):
    table = tracking.search_runs(store=run_store(session), project_id=project_id, filter=text)
    return sorted(row["name"] for row in table.rows)


CASES = [
    ("metrics.auc = 0.8", ["lr-2"]),
    ("metrics.auc != 0.8", ["lr-1", "rf-1"]),
    ("metrics.auc < 0.8", ["lr-1"]),
    ("metrics.auc <= 0.8", ["lr-1", "lr-2"]),
    ("metrics.auc > 0.8", ["rf-1"]),
    ("metrics.auc >= 0.8", ["lr-2", "rf-1"]),
    ("params.model = 'lr'", ["lr-1", "lr-2"]),
    ("params.model != 'lr'", ["rf-1"]),
    ("tags.team = 'risk' and params.model = 'lr'", ["lr-1"]),
    ("attributes.name LIKE 'lr-%'", ["lr-1", "lr-2"]),
    ("attributes.name NOT LIKE 'lr-%'", ["rf-1"]),
    ("attributes.name ILIKE 'RF-%'", ["rf-1"]),
    ("attributes.status = 'finished'", ["rf-1"]),
    ("attributes.user = 'dana' and metrics.auc > 0.75", ["lr-2", "rf-1"]),
    ("metrics.missing > 0", []),
    ("params.model > 'lr'", ["rf-1"]),
]


def test_conditions_select_the_right_runs(session, project_id):
    got = {text: _names(session, project_id, text) for text, _ in CASES}
    assert got == dict(CASES)


def test_values_cannot_inject_sql(session, project_id):
    for value in ("'; DROP TABLE run; --", "x' OR '1'='1", "lr%' OR 1=1 --"):
        literal = "'" + value.replace("'", "''") + "'"
        assert _names(session, project_id, f"params.model = {literal}") == []
        assert _names(session, project_id, f"attributes.name LIKE {literal}") == []
        assert _names(session, project_id, f"tags.team != {literal}") == ["lr-1", "lr-2", "rf-1"]
    assert "run" in inspect(session.connection()).get_table_names()


def test_keys_cannot_inject_sql(session, project_id):
    assert _names(session, project_id, "params.`model' OR 1=1 --` = 'lr'") == []
    assert len(_names(session, project_id, None)) == 3
