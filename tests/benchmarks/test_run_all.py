"""benchmarks/run_all.py: a target counts as met only when it was measured and met."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

RUN_ALL = Path(__file__).resolve().parents[2] / "benchmarks" / "run_all.py"


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("bench_run_all", RUN_ALL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_skipped_case_is_not_measured_and_fails_the_run(run_all):
    rows = run_all.rows_for("registry", {"skipped": "not built yet: mlops_nb.load_model"}, {})
    assert [r["met"] for r in rows] == ["not measured"]
    assert "NOT MEASURED: registry" in run_all.summary(rows)
    assert not all(r["met"] in (True, None) for r in rows)  # main's exit test


def test_the_import_target_without_mlflows_figure_is_not_measured(run_all):
    rows = run_all.rows_for("import", {"value_s": 0.05}, {})
    assert rows[0]["met"] == "not measured"
    assert run_all.summary(rows).splitlines()[0].startswith("NOT MEASURED: `import mlops_nb`")


def test_the_import_target_with_mlflows_figure_is_judged(run_all):
    rows = run_all.rows_for("import", {"value_s": 0.05}, {"import_time": {"import_mlflow": {"median_s": 2.5}}})
    assert rows[0]["met"] is True and run_all.summary(rows) == "1 targets met, 0 unmet, 0 not measured"


def test_a_failed_case_is_not_measured(run_all):
    rows = run_all.rows_for("audit_verify", {"error": "exit 1: boom"}, {})
    assert rows[0]["met"] == "not measured" and rows[0]["note"] == "failed: exit 1: boom"


def test_log_metric_rows_state_the_durability_of_each_side(run_all):
    ours = {"calls": 2000, "per_call_mean_us": 100.0, "value_s": 0.2, "synchronous": "FULL", "sqlite_floor_s": 0.1,
            "sqlite_floor_per_point_us": 50.0, "ratio_over_floor": 2.0}
    row = run_all.rows_for("log_metric_full", ours, {"log_metric_single": {"total_s": 16.0}})[0]
    assert "synchronous=FULL" in row["what"] and row["met"] is True
    assert "ours: WAL, synchronous=FULL (a commit survives a power loss)" in row["note"]
    assert "MLflow: SQLite defaults, rollback journal, synchronous=FULL" in row["note"]
