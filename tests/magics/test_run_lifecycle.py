"""`%mlops start` and `%%mlops run` end and nest runs as the Python API does: an active run is never
ended by starting another (refused, or --nested), and an interrupted cell's run is killed."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import mlops_nb as mlops


@pytest.fixture()
def session_shell(shell, sqlite_url):
    shell.run_line_magic("mlops", f"init --project nb --db {sqlite_url} --user dana")
    return shell


def test_start_inside_an_active_run_is_a_usage_error_naming_it_and_the_run_goes_on(session_shell):
    outer = session_shell.run_line_magic("mlops", "start --name outer")
    with pytest.raises(UsageError, match=r"run 'outer' \(\w+\) is active; end it first .*%mlops start --nested"):
        session_shell.run_line_magic("mlops", "start --name inner")
    assert mlops.active_run().id == outer.id and mlops.active_run().status == "running"
    assert [row["name"] for row in mlops.runs()] == ["outer"]


def test_start_nested_records_the_parent_and_end_makes_the_outer_run_active_again(session_shell):
    outer = session_shell.run_line_magic("mlops", "start --name outer")
    inner = session_shell.run_line_magic("mlops", "start --name inner --nested --tag fold=2")
    assert inner.tags == {"fold": "2", "mlops.parentRunId": outer.id}
    assert session_shell.run_line_magic("mlops", "end").id == inner.id
    assert mlops.active_run().id == outer.id
    assert session_shell.run_line_magic("mlops", "end").status == "finished"


def test_a_run_cell_inside_an_active_run_needs_nested(session_shell):
    outer = session_shell.run_line_magic("mlops", "start --name outer")
    with pytest.raises(UsageError, match="'outer'.* is active"):
        session_shell.run_cell_magic("mlops", "run --name cell", "x = 1")
    assert "x" not in session_shell.user_ns  # the cell did not run
    ran = session_shell.run_cell_magic("mlops", "run --name cell --nested", "import mlops_nb as mlops\n"
                                       "mlops.log_metric('m', 1.0)")
    assert ran.status == "finished" and ran.tags["mlops.parentRunId"] == outer.id and ran.metrics == {"m": 1.0}
    assert mlops.active_run().id == outer.id


def test_an_interrupted_run_cell_is_killed_and_a_nested_run_it_left_open_too(session_shell):
    body = ("import mlops_nb as mlops\n"
            "inner = mlops.start_run(name='left-open', nested=True)\n"
            "raise KeyboardInterrupt")
    with pytest.raises(UsageError, match=r"the cell raised KeyboardInterrupt.*ended killed"):
        session_shell.run_cell_magic("mlops", "run --name cell", body)
    assert {row["name"]: row["status"] for row in mlops.runs()} == {"cell": "killed", "left-open": "killed"}
    assert mlops.active_run() is None
