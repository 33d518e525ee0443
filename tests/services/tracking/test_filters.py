"""MLflow's search syntax: the parser, its errors, and what each condition selects in SQL.

The MLflow cases are ported from mlflow/mlflow `tests/utils/test_search_utils.py` (`test_filter`,
`test_correct_quote_trimming`, `test_error_filter`, `test_error_comparison_clauses`,
`test_bad_quotes`, `test_invalid_clauses`, `test_bad_comparators`): the same filter strings, the
same accept/refuse decision, our Condition in place of MLflow's dict and our message words in place
of MLflow's (each refusal is an InvalidInput that names the part and what is accepted).
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect

from mlops_nb.services import tracking
from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.tracking.filters import MAX_CONDITIONS, MAX_FILTER_CHARS, Condition, parse_filter
from mlops_nb.store.run_store import run_store


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_every_comparison_operator_parses(op):
    assert parse_filter(f"metrics.auc {op} 0.5") == [Condition("metrics", "auc", op, 0.5)]


@pytest.mark.parametrize("text, expected", [
    ("params.model LIKE 'rf%'", Condition("params", "model", "LIKE", "rf%")),
    ("tags.team ilike 'RI%'", Condition("tags", "team", "ILIKE", "RI%")),
    ("attributes.name NOT  LIKE 'x%'", Condition("attributes", "name", "NOT LIKE", "x%")),
    ("params.model NOT ILIKE 'x%'", Condition("params", "model", "NOT ILIKE", "x%")),
    ("metric.loss<=1e-3", Condition("metrics", "loss", "<=", 0.001)),
    ("param.`my key` = 'a b'", Condition("params", "my key", "=", "a b")),
    ('tags."my.tag" = \'v\'', Condition("tags", "my.tag", "=", "v")),
    ("attr.status = 'finished'", Condition("attributes", "status", "=", "finished")),
    ("run.start_time > 10", Condition("attributes", "start_time", ">", 10)),
    ("params.quote = 'it''s'", Condition("params", "quote", "=", "it's")),
    ("metrics.x > -inf", Condition("metrics", "x", ">", float("-inf"))),
    ("metrics.x < inf", Condition("metrics", "x", "<", float("inf"))),
])
def test_identifiers_quoting_and_literals(text, expected):
    assert parse_filter(text) == [expected]


# mlflow tests/utils/test_search_utils.py::test_filter and ::test_correct_quote_trimming
@pytest.mark.parametrize("text, expected", [
    ("metric.acc >= 0.94", [Condition("metrics", "acc", ">=", 0.94)]),
    ("metric.acc>=100", [Condition("metrics", "acc", ">=", 100.0)]),
    ("params.m!='tf'", [Condition("params", "m", "!=", "tf")]),
    ('params."m"!="tf"', [Condition("params", "m", "!=", "tf")]),
    ('metric."legit name" >= 0.243', [Condition("metrics", "legit name", ">=", 0.243)]),
    ("metrics.XYZ = 3", [Condition("metrics", "XYZ", "=", 3.0)]),
    ('params."cat dog" = "pets"', [Condition("params", "cat dog", "=", "pets")]),
    ('metrics."X-Y-Z" = 3', [Condition("metrics", "X-Y-Z", "=", 3.0)]),
    ('metrics."X//Y#$$@&Z" = 3', [Condition("metrics", "X//Y#$$@&Z", "=", 3.0)]),
    ("params.model = 'LinearRegression'", [Condition("params", "model", "=", "LinearRegression")]),
    ("metrics.rmse < 1 and params.model_class = 'LR'",
     [Condition("metrics", "rmse", "<", 1.0), Condition("params", "model_class", "=", "LR")]),
    ("", []),
    ("`metric`.a >= 0.1", [Condition("metrics", "a", ">=", 0.1)]),
    ("tags.version = 'commit-hash'", [Condition("tags", "version", "=", "commit-hash")]),
    ("`tags`.source_name = 'a notebook'", [Condition("tags", "source_name", "=", "a notebook")]),
    ('metrics."accuracy.2.0" > 5', [Condition("metrics", "accuracy.2.0", ">", 5.0)]),
    ("metrics.`spacey name` > 5", [Condition("metrics", "spacey name", ">", 5.0)]),
    ('params."p.a.r.a.m" != "a"', [Condition("params", "p.a.r.a.m", "!=", "a")]),
    ('tags."t.a.g" = "a"', [Condition("tags", "t.a.g", "=", "a")]),
    ("attribute.start_time >= 1234", [Condition("attributes", "start_time", ">=", 1234)]),
    ("run.status = 'RUNNING'", [Condition("attributes", "status", "=", "running")]),
    ("dataset.name = 'my_dataset'", [Condition("datasets", "name", "=", "my_dataset")]),
    ("tags.version IS NULL", [Condition("tags", "version", "IS NULL", None)]),
    ("tags.version IS NOT NULL", [Condition("tags", "version", "IS NOT NULL", None)]),
    ("params.lr IS NULL", [Condition("params", "lr", "IS NULL", None)]),
    ("params.lr IS NOT NULL", [Condition("params", "lr", "IS NOT NULL", None)]),
    ("tags.a IS NULL AND params.b = 'val'",
     [Condition("tags", "a", "IS NULL", None), Condition("params", "b", "=", "val")]),
    ("params.m = 'LR'", [Condition("params", "m", "=", "LR")]),
    ('params.m = "LR"', [Condition("params", "m", "=", "LR")]),
    ('params.m = "L\'Hosp"', [Condition("params", "m", "=", "L'Hosp")]),
])
def test_mlflow_filters_parse_as_in_mlflow(text, expected):
    assert parse_filter(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("attributes.run_id IN ('a1', \"b2\")", Condition("attributes", "run_id", "IN", ("a1", "b2"))),
    ("run_id NOT IN ('a1')", Condition("attributes", "run_id", "NOT IN", ("a1",))),
    ("attributes.status IN ('FINISHED', 'Failed')", Condition("attributes", "status", "IN", ("finished", "failed"))),
    ("datasets.digest IN ('d1','d2')", Condition("datasets", "digest", "IN", ("d1", "d2"))),
    ("datasets.context = 'train'", Condition("datasets", "context", "=", "train")),
    ("attributes.run_name = 'lr'", Condition("attributes", "name", "=", "lr")),
    ("attributes.`Run name` = 'lr'", Condition("attributes", "name", "=", "lr")),
    ("tags.mlflow.runName = 'lr'", Condition("attributes", "name", "=", "lr")),
    ("attributes.user_id = 'dana'", Condition("attributes", "user", "=", "dana")),
    ("created > 1700000000000", Condition("attributes", "start_time", ">", 1700000000000)),
    ("attributes.end_time <= 1.7e12", Condition("attributes", "end_time", "<=", 1700000000000)),
    ("status = 'KILLED'", Condition("attributes", "status", "=", "killed")),
    ("status LIKE 'FIN%'", Condition("attributes", "status", "ILIKE", "FIN%")),
    ("status NOT LIKE 'FIN%'", Condition("attributes", "status", "NOT ILIKE", "FIN%")),
])
def test_mlflow_names_lists_and_spellings_map_to_ours(text, expected):
    assert parse_filter(text) == [expected]


def test_conditions_are_joined_with_and():
    assert parse_filter("metrics.a > 1 and params.b = 'x' AND tags.c != 'y'") == [
        Condition("metrics", "a", ">", 1.0), Condition("params", "b", "=", "x"), Condition("tags", "c", "!=", "y")]


def test_empty_filter_is_no_condition():
    assert parse_filter(None) == [] and parse_filter("   ") == []


@pytest.mark.parametrize("text, words", [
    ("metrics.auc >", "'metrics.auc >' has no value"),
    ("metrics.auc", "'metrics.auc' has no operator"),
    ("metrics.auc > 0.5 or params.a = 'b'", "OR is not supported"),
    ("metrics.auc > 0.5 and", "nothing after the last 'and'"),
    ("metrics.auc > 0.5 metrics.b > 1", "conditions are joined with 'and', found 'metrics.b'"),
    ("auc > 0.5", "unknown attribute 'auc'; use one of run_id, run_name, user_id, status, start_time"),
    ("metrics.auc = 'high'", "metrics.auc compares with a number, not 'high'"),
    ("metrics.auc LIKE 1", "operator 'LIKE' does not apply to metrics; use one of =, !=, <, <=, >, >="),
    ("params.C = 1", "params.C compares with a quoted string, e.g. '1'"),
    ("attributes.color = 'red'", "unknown attribute 'color'"),
    ("attributes.start_time > 'yesterday'", "attributes.start_time compares with a number (epoch milliseconds"),
    ("attributes.start_time = 1.5", "whole epoch milliseconds"),
    ("attributes.start_time LIKE 1234", "operator 'LIKE' does not apply to time attributes"),
    ("attributes.name > 'a'", "operator '>' does not apply to text attributes"),
    ("params.model > 'lr'", "operator '>' does not apply to params; use one of =, !=, LIKE, ILIKE"),
    ("params.model IN ('lr')", "operator 'IN' does not apply to params"),
    ("attributes.status = 'done'", "status 'done' is not a run status; use one of RUNNING, FINISHED"),
    ("attributes.status IN ('FINISHED', 'done')", "status 'done' is not a run status"),
    ("attributes.artifact_uri = '1/23/4'", "runs here have no artifact URI of their own"),
    ("run_id IN ()", "a list holds quoted strings, found ')'"),
    ("run_id IN ('a', 1)", "a list holds quoted strings, found '1'"),
    ("run_id IN ('a'", "the list is not closed"),
    ("run_id IN 'a'", "takes a list in parentheses"),
    ("params.a = 'unterminated", "cannot read \"'unterminated\""),
    ("params.a 'x' = ", "expected an operator"),
    ("metrics.a > 1; DROP TABLE run", "cannot read '; DROP TABLE run'"),
    ("metrics.a <> 1", "unknown operator '<>'"),
])
def test_bad_syntax_is_refused_naming_the_problem(text, words):
    with pytest.raises(InvalidInput, match="filter .*" + re.escape(words)):
        parse_filter(text)


# mlflow tests/utils/test_search_utils.py: every filter MLflow refuses, we refuse (our words)
@pytest.mark.parametrize("text", [
    # test_error_filter
    "metric.acc >= 0.94; metrics.rmse < 1", "m.acc >= 0.94", "acc >= 0.94", "p.model >= 'LR'", "attri.x != 1",
    "a.x != 1", "model >= 'LR'", "metrics.A > 0.1 OR params.B = 'LR'", "metrics.A > 0.1 NAND params.B = 'LR'",
    "metrics.A > 0.1 AND (params.B = 'LR')", "`metrics.A > 0.1", "param`.A > 0.1", "`dummy.A > 0.1",
    "dummy`.A > 0.1", "attribute.start != 1", "attribute.experiment_id != 1", "attribute.lifecycle_stage = 'ACTIVE'",
    "attribute.name != 1", "attribute.time != 1", "attribute._status != 'RUNNING'", "attribute.status = true",
    "dataset.status = 'true'", "dataset.profile = 'num_rows: 10'", "metrics.acc IS NULL", "attribute.status IS NULL",
    # test_error_comparison_clauses
    "metric.model = 'LR'", "metric.model = '5'", "params.acc = 5", "tags.acc = 5", "metrics.acc != metrics.acc",
    "1.0 > metrics.acc", "attribute.status = 1",
    # test_bad_quotes
    "params.acc = LR", "tags.acc = LR", "params.acc = `LR`", "params.'acc = LR", "params.acc = 'LR",
    "params.acc = LR'", "params.acc = \"LR'", "tags.acc = \"LR'", "tags.acc = = 'LR'", "attribute.status IS 'RUNNING'",
    # test_invalid_clauses
    "params.acc LR !=", "params.acc LR", "metric.acc !=", "acc != 1.0", "foo is null", "1=1", "1==2",
    # test_bad_comparators
    "metrics.abc ~ 1.0", "metrics.abc ~= 1.0", "params.abc > 'v'", "params.abc <= 'v'", "params.abc ~ 'v'",
    "tags.abc >= 'v'", "tags.abc < 'v'", "attributes.status > 'v'", "attributes.status ~ 'v'",
    "attributes.start_time LIKE 1234", "attributes.start_time ILIKE 1234", "datasets.name > 'n'",
    "datasets.name ~ 'n'",
])
def test_what_mlflow_refuses_is_refused(text):
    with pytest.raises(InvalidInput, match=r"^filter "):
        parse_filter(text)


@pytest.mark.parametrize("value", [123, 1.5, {"metrics.auc": 0.7}, ["metrics.auc > 0.7"], b"metrics.a > 1"])
def test_a_filter_that_is_not_a_string_is_refused(value):
    with pytest.raises(InvalidInput, match=f"filter must be a string such as .*, not {type(value).__name__}"):
        parse_filter(value)


def test_at_most_the_documented_number_of_conditions():
    assert len(parse_filter(" and ".join(f"metrics.m{i} > 0" for i in range(MAX_CONDITIONS)))) == MAX_CONDITIONS
    for count in (MAX_CONDITIONS + 1, 100, 300):
        with pytest.raises(InvalidInput, match=f"more than {MAX_CONDITIONS} conditions; at most {MAX_CONDITIONS}"):
            parse_filter(" and ".join(f"metrics.m{i} > 0" for i in range(count)))


def test_list_values_are_capped_in_all_lists_together():
    from mlops_nb.services.tracking.filters import MAX_LIST_VALUES

    def lists(*sizes):
        return " and ".join("run_id IN (" + ", ".join(f"'{i}'" for i in range(n)) + ")" for n in sizes)

    assert len(parse_filter(lists(MAX_LIST_VALUES // 2, MAX_LIST_VALUES // 2))) == 2
    for sizes in ((MAX_LIST_VALUES + 1,), (MAX_LIST_VALUES // 2, MAX_LIST_VALUES // 2 + 1)):
        with pytest.raises(InvalidInput, match=f"more than {MAX_LIST_VALUES:,} list values; at most"):
            parse_filter(lists(*sizes))


def test_an_over_long_filter_is_refused_before_it_is_read():
    text = "params.p = '" + "x" * MAX_FILTER_CHARS + "'"
    with pytest.raises(InvalidInput, match=f"at most {MAX_FILTER_CHARS:,} are accepted"):
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
    ("attributes.status = 'FINISHED'", ["rf-1"]),
    ("attributes.user = 'dana' and metrics.auc > 0.75", ["lr-2", "rf-1"]),
    ("metrics.missing > 0", []),
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


def test_the_api_and_magics_docs_describe_the_same_grammar_with_the_code_s_limits():
    from pathlib import Path

    from mlops_nb.services.tracking.filters import MAX_LIST_VALUES

    docs = Path(__file__).resolve().parents[3] / "docs"

    def grammar(name):
        text = (docs / name).read_text(encoding="utf-8")
        return text[text.index("<!-- search-grammar:start"):text.index("<!-- search-grammar:end -->")]

    assert grammar("api.md") == grammar("magics.md")
    assert (f"at most {MAX_CONDITIONS} conditions, {MAX_FILTER_CHARS:,} characters and {MAX_LIST_VALUES:,} values "
            "in all lists together") in grammar("api.md")
