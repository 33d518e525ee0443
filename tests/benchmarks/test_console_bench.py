"""The console benchmark's parts: its store, its rows in run_all's table, the memory reading."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run_all():
    return _load("run_all")


def _result(cold=None, warm=None, ml_cold=None, ml_warm=None, pages=None, pss=120.0):
    con = {"memory": {"processes": 1, "pss_mb": pss, "rss_mb": pss + 10}}
    if cold is not None:
        con.update(cold_s=cold, warm_s=warm, cold_from_open_s=cold + 1,
                   loads={"login_s": [1.0], "cold": [], "warm": []})
    else:
        con["first_rows_error"] = "TimeoutError: no run row"
    mlflow = ({"cold_s": ml_cold, "warm_s": ml_warm, "memory": {"processes": 10, "pss_mb": 1780.0, "rss_mb": 2000.0}}
              if ml_cold else {"skipped": "no --mlflow-python"})
    pages = pages or {t: {"first_s": 0.2, "median_s": 0.1, "elements": 5} for t in
                      ("Overview", "Experiments", "Registry", "Approvals", "Audit", "Admin")}
    return {"store": {"runs": 10_000}, "repeat": 5, "mlflow": mlflow, "console": con,
            "apptest": {"repeat": 5, "pages": pages}}


def test_first_rows_are_judged_against_a_third_of_mlflows(run_all):
    rows = run_all.rows_for("console", _result(cold=1.9, warm=2.5, ml_cold=6.0, ml_warm=5.0), {})
    assert [r["met"] for r in rows[:2]] == [True, False]  # 6.0 / 1.9 >= 3; 5.0 / 2.5 < 3
    assert rows[0]["ratio_mlflow_over_ours"] == 3.2
    assert rows[2]["met"] is None  # the cold figure counting the login is reported, not judged


def test_without_mlflow_or_a_runs_table_the_first_rows_are_not_measured(run_all):
    rows = run_all.rows_for("console", _result(), {})
    assert [r["met"] for r in rows[:2]] == ["not measured", "not measured"]
    assert "no --mlflow-python" in rows[0]["note"] and "TimeoutError: no run row" in rows[0]["note"]
    assert "NOT MEASURED: first run row" in run_all.summary(rows)


def test_each_page_and_the_memory_get_a_row(run_all):
    pages = {"Overview": {"first_s": 1.5, "median_s": 1.2, "elements": 9},
             "Registry": {"first_s": 0.1, "median_s": 0.1, "elements": 3, "error": "KeyError: 'x'"}}
    rows = run_all.rows_for("console", _result(pages=pages, pss=640.0), {})
    by_page = {r["what"].split(" page ")[0]: r["met"] for r in rows if " page rendered" in r["what"]}
    assert by_page == {"Overview": False, "Experiments": "not measured", "Registry": False,
                       "Approvals": "not measured", "Audit": "not measured", "Admin": "not measured"}
    memory = rows[-1]
    assert memory["unit"] == "MB" and memory["met"] is False and memory["ours"] == 640.0


def test_the_sweep_is_the_same_every_time_with_distinct_ids():
    data = _load("console_data")
    first, again = list(data.sweep(300)), list(data.sweep(300))
    assert first == again
    assert len({r["id"] for r in first}) == 300 and all(len(r["id"]) == 32 for r in first)
    assert all(r["name"].startswith(data.RUN_PREFIX) and len(r["params"]) == 7 and len(r["metrics"]) == 7
               for r in first)


def test_the_store_holds_what_the_console_reads(tmp_path, monkeypatch):
    """A small store: its runs searchable, its requests pending and decided, its audit chain intact."""
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))
    store = _load("console_store").build(runs=200, versions=160, requests=10, directory=str(tmp_path))
    assert store["requests"] == {"approved": 4, "rejected": 2, "pending": 4}
    from sqlalchemy import select

    from mlops_nb.services import governance, tracking
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.models import ModelVersion
    from mlops_nb.store.run_store import run_store

    engine = get_engine(store["url"])
    with session_scope(engine) as s:
        project = tracking.get_project(session=s, name=store["project"])
        assert tracking.count_runs(session=s, project_id=project.id) == 200
        stages = s.execute(select(ModelVersion.stage)).scalars().all()
        assert governance.verify(session=s).ok
    assert len(stages) == 160 and stages.count("production") == 2  # v1 of each of the two models with a production request
    hits = tracking.search_runs(store=run_store(engine), project_id=project.id, filter="params.model = 'random_forest'")
    expected = sum(1 for r in _load("console_data").sweep(200) if r["params"]["model"] == "random_forest")
    assert len(hits) == expected > 0


def test_memory_is_read_for_a_process_and_its_children():
    procs = _load("console_procs")
    mine = procs.pss(os.getpid())
    assert mine["processes"] >= 1 and mine["pss_mb"] > 0 and mine["each"][0]["pid"] == os.getpid()
    assert os.getpid() in procs.tree(os.getppid())
