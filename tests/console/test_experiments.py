"""The Experiments page: the chosen project's runs a page at a time, the filter box, sorting, and the
comparison of selected runs."""
from __future__ import annotations

import pytest

from mlops_nb.console import ui
from mlops_nb.console.views.experiments import TABLE_KEY
from tests.factories import tracked_runs

# 25 runs in credit, oldest first: run-00 .. run-24, auc 0.60 + 0.01 * i, C = i; run-24's model is markup
CREDIT = [{"name": f"run-{i:02d}", "experiment": "sweep" if i % 2 else "baseline",
           "params": {"C": str(i), "model": "<b>x</b>" if i == 24 else "rf", "penalty": "l2"},
           "metrics": {"auc": [0.5, round(0.60 + 0.01 * i, 2)]}} for i in range(25)]
FRAUD = [{"name": "fraud-a", "metrics": {"auc": 0.9}}, {"name": "fraud-b", "metrics": {"auc": 0.95}}]


@pytest.fixture()
def runs(console_store):
    from mlops_nb.store.db import get_engine

    engine = get_engine(console_store)
    tracked_runs(engine, project="credit", runs=CREDIT)
    tracked_runs(engine, project="fraud", runs=FRAUD)
    return console_store


def open_page(at):
    at.switch_page("views/experiments.py")
    at = at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Experiments"]
    return at


def table(at):
    return at.dataframe[0].value


def counter(at):
    return next(m.value for m in at.markdown if m.value.startswith("**Page"))


def test_the_table_shows_the_runs_of_the_chosen_project_only(runs, logged_in):
    at = open_page(logged_in("dana"))
    assert list(table(at)["Run"])[:3] == ["run-24", "run-23", "run-22"]  # newest first
    assert counter(at) == "**Page 1 of 1** · 25 runs"
    at.multiselect(key="experiments.experiments").select("sweep").run()
    assert counter(at) == "**Page 1 of 1** · 12 runs"
    at.sidebar.selectbox(key="project").set_value("fraud")
    at = at.run()
    assert not at.exception, at.exception
    assert list(table(at)["Run"]) == ["fraud-b", "fraud-a"]  # credit's experiment choice does not carry over
    assert counter(at) == "**Page 1 of 1** · 2 runs"


def test_a_filter_narrows_the_rows_and_the_count(runs, logged_in):
    at = open_page(logged_in("dana"))
    at.text_input(key="experiments.filter").input("metrics.auc > 0.8").run()
    assert list(table(at)["Run"]) == ["run-24", "run-23", "run-22", "run-21"]
    assert counter(at) == "**Page 1 of 1** · 4 runs"


def test_a_bad_filter_shows_the_services_message_and_no_traceback(runs, logged_in):
    at = open_page(logged_in("dana"))
    at.text_input(key="experiments.filter").input("metrics.auc >").run()
    assert not at.exception
    assert len(at.error) == 1
    assert ui.plain("filter 'metrics.auc >'") in at.error[0].value and "has no value" in at.error[0].value
    assert not at.dataframe


def test_paging_moves_to_the_next_runs(runs, logged_in):
    at = open_page(logged_in("dana"))
    at.selectbox(key="experiments.size").set_value(20).run()
    assert counter(at) == "**Page 1 of 2** · 25 runs"
    assert len(table(at)) == 20
    at.button(key="experiments.next").click().run()
    assert counter(at) == "**Page 2 of 2** · 25 runs"
    assert list(table(at)["Run"]) == ["run-04", "run-03", "run-02", "run-01", "run-00"]
    assert at.button(key="experiments.next").disabled
    at.button(key="experiments.prev").click().run()
    assert list(table(at)["Run"])[0] == "run-24"


def test_sorting_by_a_metric_either_way(runs, logged_in):
    at = open_page(logged_in("dana"))
    at.selectbox(key="experiments.sort").set_value("metrics.auc")
    at.selectbox(key="experiments.direction").set_value("Ascending").run()
    assert list(table(at)["Run"])[:2] == ["run-00", "run-01"]
    assert list(table(at)["metrics.auc"])[:2] == pytest.approx([0.60, 0.61])
    at.selectbox(key="experiments.direction").set_value("Descending").run()
    assert list(table(at)["Run"])[:2] == ["run-24", "run-23"]


def test_selecting_two_runs_compares_them_with_only_their_differences(runs, logged_in):
    at = open_page(logged_in("dana"))
    at.session_state[TABLE_KEY] = {"selection": {"rows": [1, 2]}}  # run-23 and run-22
    at = at.run()
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader] == ["Compare 2 runs"]
    diff = at.dataframe[1].value
    assert list(diff.index) == ["C"]  # model and penalty are the same (rf, l2)
    assert [list(diff[c]) for c in diff.columns] == [["23"], ["22"]]
    at.toggle(key="experiments.only_diff").set_value(False).run()
    assert list(at.dataframe[1].value.index) == ["C", "model", "penalty"]
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the metric curves and the parallel coordinates


def test_param_values_are_shown_as_text(runs, logged_in):
    at = open_page(logged_in("dana"))
    assert table(at)["params.model"].iloc[0] == "<b>x</b>"
    assert not any("<b>" in m.value for m in at.markdown)


def test_no_runs_yet_shows_the_notebook_lines_that_make_one(console_store, logged_in):
    at = open_page(logged_in("dana"))
    assert not at.dataframe
    assert 'mlops.init(project="credit")' in at.code[0].value
    assert "mlops.log_metric(" in at.code[0].value


def test_parallel_coordinates_map_text_params_to_numbers_and_leave_out_what_is_the_same():
    from mlops_nb.console import compare

    rows = [{"run_id": "a" * 32, "name": "one", "params.model": "rf", "params.C": "0.1", "params.seed": "1",
             "metrics.auc": 0.8},
            {"run_id": "b" * 32, "name": "two", "params.model": "<b>lr</b>", "params.C": "1", "params.seed": "1",
             "metrics.auc": 0.7}]
    figure, mapped = compare.parallel_figure(rows, color_metric="auc")
    dims = figure.data[0].dimensions
    assert [d.label for d in dims] == ["params.C", "params.model", "metrics.auc"]  # seed is the same: left out
    assert mapped == ["model"]
    assert list(dims[1].ticktext) == ["&lt;b&gt;lr&lt;/b&gt;", "rf"] and list(dims[1].values) == [1, 0]
    assert compare.parallel_figure(rows[:1])[0] is None
