"""MLflow's run search tests, run on every store: SQLite (the fast sqlite3 store and the portable
one) and PostgreSQL give the same answers, and the answers MLflow gives.

Ported from mlflow/mlflow `tests/store/tracking/test_sqlalchemy_store.py` (`test_search_params`,
`test_search_tags`, `test_search_metrics`, `test_search_attrs`, `test_search_full`) and
`tests/utils/test_search_utils.py` (`test_correct_filtering`, `test_filter_runs_by_start_time`,
`test_filter_runs_by_user_id`, `test_filter_runs_by_tag_and_param_is_null`): the same data and
filter strings, with our run names in place of MLflow's run ids. Where MLflow's data has no
counterpart here (datasets without a context, artifact URIs) the case is adapted and says so.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from mlops_nb.services import tracking
from mlops_nb.services.errors import InvalidInput, StoreUnavailable
from mlops_nb.services.tracking.filters import MAX_CONDITIONS, MAX_LIST_VALUES
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import DatasetVersion, Run, RunInput
from mlops_nb.store.run_store import run_store
from mlops_nb.store.runs import PortableRunStore

# epoch seconds of r1, r2, r3 (MLflow writes milliseconds: 1700000000123, 1700000001500, 1700000002000)
STARTS = {"r1": 1_700_000_000.123, "r2": 1_700_000_001.5, "r3": 1_700_000_002.0}


def _build(engine) -> tuple[int, dict[str, str]]:
    with session_scope(engine) as session:
        project = tracking.get_or_create_project(session=session, name="p")
        experiment = tracking.get_or_create_experiment(session=session, project_id=project.id, name="e")
        ids = {name: tracking.create_run(session=session, experiment_id=experiment.id, name=name, user=user).id
               for name, user in (("r1", "dana"), ("r2", "user-id2"), ("r3", "dana"))}
        store = run_store(session)
        r1, r2, r3 = ids["r1"], ids["r2"], ids["r3"]
        tracking.log_params(store=store, run_id=r1, params={"generic_param": "p_val", "generic_2": "some value",
                                                            "p_a": "abc"})
        tracking.log_params(store=store, run_id=r2, params={"generic_param": "p_val", "generic_2": "another value",
                                                            "p_b": "ABC"})
        tracking.log_params(store=store, run_id=r3, params={"odd": "a*b?[c]", "path": "C:\\tmp"})
        tracking.set_tags(session=session, run_id=r1, tags={"generic_tag": "p_val", "generic_2": "some value",
                                                            "p_a": "abc"})
        tracking.set_tags(session=session, run_id=r2, tags={"generic_tag": "p_val", "generic_2": "another value",
                                                            "p_b": "ABC"})
        tracking.set_tags(session=session, run_id=r3, tags={"env": "prod"})
        for run_id, key, value, step in ((r1, "common", 1.0, 1), (r2, "common", 1.0, 1), (r1, "measure_a", 1.0, 1),
                                         (r2, "measure_a", 200.0, 2), (r2, "measure_a", 400.0, 3),
                                         (r1, "m_a", 2.0, 2), (r2, "m_b", 3.0, 2), (r2, "m_b", 4.0, 8),
                                         (r2, "m_b", 8.0, 3)):
            tracking.log_metrics(session=session, run_id=run_id, metrics={key: value}, step=step)
        versions = {}
        for name, digest in (("name1", "digest1"), ("name2", "digest2")):
            versions[name] = DatasetVersion(project_id=project.id, name=name, version=1, fingerprint=digest, rows=1,
                                            columns=1, schema_={}, profile={}, created_by="dana", created_at=1.0)
            session.add(versions[name])
        session.flush()
        for run_id, name, role in ((r1, "name1", "train"), (r2, "name1", "test"), (r3, "name2", "validation")):
            session.add(RunInput(run_id=run_id, dataset_version_id=versions[name].id, role=role, created_at=1.0))
        for name, start in STARTS.items():
            session.get(Run, ids[name]).start_time = start
        session.flush()
        tracking.end_run(store=store, run_id=r2, status="failed")
        tracking.end_run(store=store, run_id=r3, status="finished")
        return project.id, ids


@pytest.fixture()
def searched(engine):
    """(project id, run ids by name, the stores to hold to the same answers)."""
    project_id, ids = _build(engine)
    stores = [run_store(engine)]
    if engine.dialect.name == "sqlite":
        stores.append(PortableRunStore(engine))  # run_store gave the fast one
    return project_id, ids, stores


def _names(store, project_id, filter_text):
    table = tracking.search_runs(store=store, project_id=project_id, filter=filter_text)
    return sorted(row["name"] for row in table.rows)


ALL = ["r1", "r2", "r3"]
CASES = [
    # test_search_params
    ("params.generic_param = 'p_val'", ["r1", "r2"]),
    ("params.generic_2 = 'some value'", ["r1"]),
    ("params.generic_2 = 'another value'", ["r2"]),
    ("params.generic_param = 'wrong_val'", []),
    ("params.generic_param != 'p_val'", []),
    ("params.generic_param != 'wrong_val'", ["r1", "r2"]),
    ("params.generic_2 != 'wrong_val'", ["r1", "r2"]),
    ("params.p_a = 'abc'", ["r1"]),
    ("params.p_a = 'ABC'", []),
    ("params.p_a != 'ABC'", ["r1"]),
    ("params.p_b = 'ABC'", ["r2"]),
    ("params.generic_2 LIKE '%other%'", ["r2"]),
    ("params.generic_2 LIKE 'other%'", []),
    ("params.generic_2 LIKE '%other'", []),
    ("params.generic_2 LIKE 'other'", []),
    ("params.generic_2 LIKE '%Other%'", []),
    ("params.generic_2 ILIKE '%Other%'", ["r2"]),
    # test_search_tags
    ("tags.generic_tag = 'p_val'", ["r1", "r2"]),
    ("tags.generic_tag = 'P_VAL'", []),
    ("tags.generic_tag != 'P_VAL'", ["r1", "r2"]),
    ("tags.generic_2 = 'some value'", ["r1"]),
    ("tags.generic_tag != 'p_val'", []),
    ("tags.p_b = 'ABC'", ["r2"]),
    ("tags.generic_2 LIKE '%other%'", ["r2"]),
    ("tags.generic_2 LIKE '%Other%'", []),
    ("tags.generic_2 LIKE 'other%'", []),
    ("tags.generic_2 ILIKE '%Other%'", ["r2"]),
    ("tags.generic_2 ILIKE '%Other%' and tags.generic_tag = 'p_val'", ["r2"]),
    ("tags.generic_2 ILIKE '%Other%' and tags.generic_tag ILIKE 'p_val'", ["r2"]),
    # test_search_metrics (the latest value is the one at the highest step)
    ("metrics.common = 1.0", ["r1", "r2"]),
    ("metrics.common > 0.0", ["r1", "r2"]),
    ("metrics.common <= 4.0", ["r1", "r2"]),
    ("metrics.common != 1.0", []),
    ("metrics.common >= 3.0", []),
    ("metrics.measure_a < 50.0", ["r1"]),
    ("metrics.measure_a != -12.0", ["r1", "r2"]),
    ("metrics.measure_a > 50.0", ["r2"]),
    ("metrics.measure_a = 400.0", ["r2"]),
    ("metrics.m_a > 1.0", ["r1"]),
    ("metrics.m_b > 5.0", []),
    ("metrics.m_b = 4.0", ["r2"]),
    # test_search_attrs: MLflow's upper-case statuses (r1 running, r2 failed, r3 finished)
    ("", ALL),
    ("attribute.status != 'blah'", ALL),
    ("attribute.status != 'SCHEDULED'", ALL),
    ("attributes.status NOT IN ('blah', 'Running')", ["r2", "r3"]),
    ("attribute.status = 'RUNNING'", ["r1"]),
    ("attribute.status = 'FAILED'", ["r2"]),
    ("attribute.status = 'SCHEDULED'", []),
    ("attribute.status = 'KILLED'", []),
    ("attributes.status = 'finished'", ["r3"]),
    ("attributes.status IN ('FAILED', 'FINISHED')", ["r2", "r3"]),
    ("attributes.status NOT IN ('RUNNING')", ["r2", "r3"]),
    ("status LIKE 'FIN%'", ["r3"]),
    # test_search_full
    ("params.generic_param = 'p_val' and metrics.common = 1.0", ["r1", "r2"]),
    ("params.generic_param = 'p_val' and metrics.common = 1.0 and metrics.m_a > 1.0", ["r1"]),
    ("params.generic_param = 'p_val' and metrics.common = 1.0 and metrics.m_a > 1.0 and params.p_a LIKE 'a%'",
     ["r1"]),
    ("params.generic_param = 'p_val' and metrics.common = 1.0 and metrics.m_a > 1.0 and params.p_a LIKE 'A%'",
     []),
    ("params.generic_param = 'p_val' and metrics.common = 1.0 and metrics.m_a > 1.0 and params.p_a ILIKE 'A%'",
     ["r1"]),
    ("params.random_bad_name = 'p_val' and metrics.common = 1.0 and metrics.m_a > 1.0", []),
    # test_correct_filtering (datasets: MLflow's context tag is our role; every link here has one)
    ("datasets.name = 'name1'", ["r1", "r2"]),
    ("datasets.name IN ('name1', 'name2')", ALL),
    ("datasets.digest IN ('digest1', 'digest2')", ALL),
    ("datasets.name = 'name1' AND datasets.digest = 'digest2'", []),
    ("datasets.context = 'train'", ["r1"]),
    ("datasets.name = 'name1' AND datasets.context = 'train'", ["r1"]),
    ("datasets.name LIKE 'NAME%'", []),
    ("datasets.name ILIKE 'NAME%'", ALL),
    ("datasets.context NOT IN ('train', 'test')", ["r3"]),
    # test_filter_runs_by_start_time / _by_end_time, in MLflow's epoch milliseconds
    ("attribute.start_time >= 0", ALL),
    ("attributes.start_time = 1700000000123", ["r1"]),
    ("attributes.start_time != 1700000001500", ["r1", "r3"]),
    ("attributes.start_time > 1700000000123", ["r2", "r3"]),
    ("created >= 1700000001500", ["r2", "r3"]),
    ("attributes.start_time < 1700000001500", ["r1"]),
    ("attributes.start_time <= 1700000001500", ["r1", "r2"]),
    ("attributes.end_time > 0", ["r2", "r3"]),
    # test_filter_runs_by_user_id; MLflow's run_name and tags.mlflow.runName
    ("attribute.user_id = 'user-id2'", ["r2"]),
    ("attributes.run_name = 'r1'", ["r1"]),
    ("attributes.run_name LIKE 'R%'", []),
    ("attributes.`Run name` ILIKE 'R%'", ALL),
    ("tags.mlflow.runName IN ('r1', 'r3')", ["r1", "r3"]),
    # test_filter_runs_by_tag_and_param_is_null
    ("tags.env IS NOT NULL", ["r3"]),
    ("tags.env IS NULL", ["r1", "r2"]),
    ("params.p_a IS NOT NULL", ["r1"]),
    ("params.p_a IS NULL", ["r2", "r3"]),
    ("tags.env IS NULL AND params.generic_2 = 'some value'", ["r1"]),
    # LIKE patterns mean the same on every database: GLOB's own * ? [ and a backslash are plain
    ("params.odd LIKE 'a*b?[c]'", ["r3"]),
    ("params.odd LIKE 'a_b_[c_'", ["r3"]),
    ("params.odd LIKE 'A*%'", []),
    ("params.odd ILIKE 'A*%'", ["r3"]),
    ("params.odd NOT LIKE 'a*%'", []),
    ("params.path LIKE 'C:\\tmp'", ["r3"]),
    ("params.path LIKE 'C:\\%'", ["r3"]),
    ("params.path LIKE 'c:%'", []),
]


def test_mlflow_search_cases_give_mlflow_answers_on_every_store(searched):
    project_id, _ids, stores = searched
    expected = dict(CASES)
    for store in stores:
        got = {text_: _names(store, project_id, text_) for text_, _ in CASES}
        assert got == expected, type(store).__name__


def test_runs_are_found_by_id_lists(searched):
    project_id, ids, stores = searched
    for store in stores:
        assert _names(store, project_id, f"attributes.run_id IN ('{ids['r1']}', '{ids['r3']}')") == ["r1", "r3"]
        assert _names(store, project_id, f"run_id NOT IN ('{ids['r1']}')") == ["r2", "r3"]
        assert _names(store, project_id, f"attributes.run_id = \"{ids['r2']}\"") == ["r2"]
        many = ", ".join([f"'{ids['r1']}'"] + [f"'x{i}'" for i in range(MAX_LIST_VALUES - 1)])
        assert _names(store, project_id, f"run_id IN ({many})") == ["r1"]


def test_as_many_conditions_as_documented_run_on_every_store(searched):
    project_id, _ids, stores = searched
    text_ = " and ".join(["metrics.common = 1.0", "params.generic_param = 'p_val'", "tags.generic_tag LIKE 'p%'",
                          "attributes.status != 'KILLED'", "datasets.name = 'name1'"] * (MAX_CONDITIONS // 5))
    for store in stores:
        assert _names(store, project_id, text_) == ["r1", "r2"]


@pytest.mark.parametrize("bad, words", [
    (123, "filter must be a string such as \"metrics.auc > 0.7\", not int 123"),
    (" and ".join(["metrics.common = 1.0"] * 100), f"more than {MAX_CONDITIONS} conditions"),
    ("attributes.start_time LIKE 1234", "operator 'LIKE' does not apply to time attributes"),
    ("attributes.name = 1234", "attributes.name compares with a quoted string"),
])
def test_refused_filters_are_named_errors_on_every_store(searched, bad, words):
    project_id, _ids, stores = searched
    for store in stores:
        with pytest.raises(InvalidInput, match=words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            tracking.search_runs(store=store, project_id=project_id, filter=bad)


def test_a_driver_error_during_a_search_is_a_store_error(searched, engine):
    project_id, _ids, stores = searched
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE tag CASCADE" if engine.dialect.name == "postgresql" else "DROP TABLE tag"))
    for store in stores:
        with pytest.raises(StoreUnavailable, match="searching runs failed in the database: .*tag"):
            tracking.search_runs(store=store, project_id=project_id, filter="tags.env = 'prod'")
