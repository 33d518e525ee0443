"""Paged run search (tracking.search_run_page): one page and the count of all matches, in any order,
on SQLite (the raw-sqlite3 fast path, checked against the portable store) and PostgreSQL."""
from __future__ import annotations

import math

import pytest

from mlops_nb.services import tracking
from mlops_nb.services.errors import InvalidInput
from mlops_nb.store.db import session_scope
from mlops_nb.store.run_store import run_store
from mlops_nb.store.runs import PortableRunStore
from tests.factories import tracked_runs

# 12 runs, oldest first: auc 0.70, 0.73, ... 0.92 except run-05 (NaN) and run-09 (no auc); C as text
AUCS = [0.70 + 0.02 * i for i in range(12)]
SPECS = [{"name": f"run-{i:02d}", "experiment": "a" if i % 2 else "b",
          "params": {"C": str(i), "model": "rf" if i < 6 else "lr"},
          "metrics": ({} if i == 9 else {"auc": math.nan if i == 5 else AUCS[i]}),
          "status": "failed" if i == 3 else "finished"} for i in range(12)]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def runs(request, tmp_path_factory):
    """One store per database for the module (the tests only read it)."""
    from mlops_nb.store.db import get_engine
    from mlops_nb.store.migrate import ensure_schema
    from tests.conftest import new_pg_database

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'store.db'}"
    else:
        url, drop = new_pg_database(request.getfixturevalue("pg_admin_url"))
        request.addfinalizer(drop)
    engine = get_engine(url)
    ensure_schema(engine)
    ids = tracked_runs(engine, project="credit", runs=SPECS)
    tracked_runs(engine, project="other", runs=[{"name": "elsewhere", "metrics": {"auc": 0.99}}])
    with session_scope(engine) as session:
        project_id = tracking.get_project(session=session, name="credit").id
    return engine, project_id, dict(zip(ids, (s["name"] for s in SPECS)))


def _page(engine, project_id, **kwargs):
    page = tracking.search_run_page(store=run_store(engine), project_id=project_id, **kwargs)
    if engine.dialect.name == "sqlite":  # the fast path and the portable store give the same page
        portable = tracking.search_run_page(store=PortableRunStore(engine), project_id=project_id, **kwargs)
        assert [r["run_id"] for r in portable.rows] == [r["run_id"] for r in page.rows]
        assert portable.total == page.total
    return page


def _names(page):
    return [row["name"] for row in page.rows]


def test_pages_split_the_newest_first_runs_and_count_them_all(runs):
    engine, project_id, _ = runs
    first = _page(engine, project_id, limit=5)
    second = _page(engine, project_id, offset=5, limit=5)
    last = _page(engine, project_id, offset=10, limit=5)
    assert _names(first) == ["run-11", "run-10", "run-09", "run-08", "run-07"]
    assert _names(second) == ["run-06", "run-05", "run-04", "run-03", "run-02"]
    assert _names(last) == ["run-01", "run-00"]
    assert (first.total, first.page, first.pages) == (12, 1, 3)
    assert (second.page, last.page) == (2, 3)
    # the page's runs come with their params and metrics, and no other project's run is counted
    assert first.rows[0]["params.C"] == "11" and first.rows[0]["metrics.auc"] == pytest.approx(AUCS[11])


def test_a_filter_narrows_the_page_and_the_count(runs):
    engine, project_id, _ = runs
    page = _page(engine, project_id, filter="metrics.auc > 0.8", limit=3)
    assert page.total == 5  # 0.82 .. 0.92 less run-09, which has no auc
    assert _names(page) == ["run-11", "run-10", "run-08"]


def test_orders_by_a_metric_either_way_with_runs_lacking_it_last(runs):
    engine, project_id, _ = runs
    up = _page(engine, project_id, order_by="metrics.auc", descending=False, limit=20)
    down = _page(engine, project_id, order_by="metrics.auc", descending=True, limit=20)
    assert _names(up)[:3] == ["run-00", "run-01", "run-02"]
    assert _names(down)[:3] == ["run-11", "run-10", "run-08"]
    # NaN is stored as NULL: it and the run without the metric come last, newest first, both ways
    assert _names(up)[-2:] == _names(down)[-2:] == ["run-09", "run-05"]


def test_orders_by_a_param_as_text_and_by_name(runs):
    engine, project_id, _ = runs
    by_c = _page(engine, project_id, order_by="params.C", descending=False, limit=4)
    assert [r["params.C"] for r in by_c.rows] == ["0", "1", "10", "11"]  # text order, as MLflow's
    by_name = _page(engine, project_id, order_by="name", descending=False, offset=10, limit=5)
    assert _names(by_name) == ["run-10", "run-11"]
    by_experiment = _page(engine, project_id, order_by="attributes.experiment", descending=False, limit=6)
    assert {r["experiment"] for r in by_experiment.rows} == {"a"}


def test_quick_filters_take_experiments_and_statuses(runs):
    engine, project_id, _ = runs
    in_b = _page(engine, project_id, experiments=["b"], limit=50)
    assert in_b.total == 6 and {r["experiment"] for r in in_b.rows} == {"b"}
    failed = _page(engine, project_id, statuses=["FAILED"], limit=50)
    assert _names(failed) == ["run-03"] and failed.total == 1
    both = _page(engine, project_id, experiments=["a", "b"], statuses=["finished"], filter="params.model = 'rf'")
    assert both.total == 5


def test_an_offset_past_the_end_gives_the_last_page(runs):
    engine, project_id, _ = runs
    page = _page(engine, project_id, offset=500, limit=5)
    assert (page.offset, page.page, _names(page)) == (10, 3, ["run-01", "run-00"])
    nothing = _page(engine, project_id, filter="metrics.auc > 5", offset=50, limit=5)
    assert (nothing.total, nothing.rows, nothing.pages) == (0, [], 1)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"filter": "metrics.auc >"}, "has no value"),
    ({"order_by": "metrics."}, "name the metric after the dot"),
    ({"order_by": "colour"}, "cannot order by attribute 'colour'"),
    ({"order_by": "tags.team"}, "use metrics.K, params.K"),
    ({"statuses": ["done"]}, "unknown run status 'done'"),
    ({"limit": 0}, "limit must be a whole number of runs from 1 to 1,000"),
    ({"offset": -1}, "offset must be a whole number of runs, 0 or more"),
])
def test_refuses_what_it_cannot_search_with_a_message_naming_it(runs, kwargs, words):
    engine, project_id, _ = runs
    with pytest.raises(InvalidInput, match=words):
        tracking.search_run_page(store=run_store(engine), project_id=project_id, **kwargs)


def test_keys_and_experiments_of_a_project(runs):
    engine, project_id, _ = runs
    with session_scope(engine) as session:
        assert tracking.run_keys(session=session, project_id=project_id) == {"metrics": ["auc"],
                                                                             "params": ["C", "model"]}
        assert tracking.list_experiments(session=session, project_id=project_id) == ["a", "b"]
