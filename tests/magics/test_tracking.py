"""The %mlops magics, driven through a real IPython shell the way a notebook drives them."""
from __future__ import annotations

import hashlib
import math
import subprocess
import sys
import warnings

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import mlops_nb as mlops
from mlops_nb.magics import SUBCOMMANDS, param_value
from tests.factories import finished_run


@pytest.fixture()
def session_shell(shell, sqlite_url):
    """The shell after `%mlops init` on a fresh SQLite store."""
    shell.run_line_magic("mlops", f"init --project nb --db {sqlite_url} --user dana")
    return shell


def mlops_line(shell, line: str):
    return shell.run_line_magic("mlops", line)


# --- help and bad commands -------------------------------------------------------------------------

def test_help_lists_every_subcommand_and_returns_instead_of_exiting(shell, capsys):
    assert mlops_line(shell, "--help") is None
    shown = capsys.readouterr().out
    for name in ("init", "start", "end", "log", "dataset", "run", "runs", "panel"):
        assert f"\n    {name} " in shown
    assert "%mlops init --project credit --user dana" in shown


def test_magic_docstring_for_question_mark_is_the_generated_usage(shell):
    doc = shell.find_line_magic("mlops").__doc__
    assert doc.startswith("usage: %mlops")
    assert all(name.split()[0] in doc for name in SUBCOMMANDS)


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_has_help_with_an_example(shell, capsys, name):
    assert mlops_line(shell, f"{name} --help") is None
    shown = capsys.readouterr().out
    assert "example:" in shown
    assert f"mlops {name}" in shown.split("example:")[1]


def test_empty_line_prints_the_help(shell, capsys):
    assert mlops_line(shell, "") is None
    assert "SUBCOMMAND" in capsys.readouterr().out


def test_unknown_subcommand_is_a_usage_error_naming_it(shell):
    with pytest.raises(UsageError, match="invalid choice: 'frobnicate'"):
        mlops_line(shell, "frobnicate --now")


def test_unknown_option_is_a_usage_error_naming_option_and_subcommand(shell):
    with pytest.raises(UsageError, match=r"%mlops init: unrecognized arguments: --bogus"):
        mlops_line(shell, "init --project p --bogus")


def test_missing_required_option_is_named(shell):
    with pytest.raises(UsageError, match=r"%mlops dataset: the following arguments are required: --name"):
        mlops_line(shell, "dataset frame")


def test_log_needs_a_kind(shell):
    with pytest.raises(UsageError, match=r"%mlops log: the following arguments are required: KIND"):
        mlops_line(shell, "log")


def test_unbalanced_quote_is_a_usage_error(shell):
    with pytest.raises(UsageError, match="cannot read the line"):
        mlops_line(shell, 'runs --filter "metrics.auc > 0.5')


def test_domain_error_becomes_a_usage_error_with_its_message(session_shell):
    with pytest.raises(UsageError, match="no active run"):
        mlops_line(session_shell, "log param C=1")


# --- init ------------------------------------------------------------------------------------------

def test_init_returns_the_context(shell, sqlite_url):
    context = mlops_line(shell, f"init --project credit --db {sqlite_url} --user dana")
    assert (context.project, context.user, context.proven) == ("credit", "dana", False)
    assert mlops.get_context() is context


def test_init_login_asks_for_the_password_and_proves_the_role(shell, sqlite_url, monkeypatch):
    from mlops_nb.services import identity
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.migrate import ensure_schema

    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        identity.add_user(session=session, actor=identity.OPERATOR, name="rita", role="reviewer", password="correct horse")
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "correct horse")
    context = mlops_line(shell, f"init --project credit --db {sqlite_url} --user rita --login")
    assert prompts == ["password for rita: "]
    assert (context.user, context.role, context.proven) == ("rita", "reviewer", True)

    monkeypatch.setattr("getpass.getpass", lambda prompt: "wrong password")
    with pytest.raises(UsageError, match="wrong user name or password for 'rita'"):
        mlops_line(shell, f"init --project credit --db {sqlite_url} --user rita --login")


def test_config_default_project_is_used_without_project(shell, sqlite_url):
    shell.run_line_magic("config", 'MlopsMagics.default_project = "from-config"')
    try:
        context = mlops_line(shell, f"init --db {sqlite_url} --user dana")
        assert context.project == "from-config"
    finally:
        shell.run_line_magic("config", 'MlopsMagics.default_project = "default"')


# --- start, log, end -------------------------------------------------------------------------------

def test_start_log_end_round_trip(session_shell):
    run = mlops_line(session_shell, "start --experiment baseline --name lr-1 --tag team=risk")
    assert (run.name, run.status, run.experiment, run.tags) == ("lr-1", "running", "baseline", {"team": "risk"})
    assert mlops_line(session_shell, "log param C=0.5 depth=3 layers=[64,32] penalty=l2 fit_intercept=true") is None
    mlops_line(session_shell, "log metric auc=0.7 --step 2")
    mlops_line(session_shell, "log metric auc=0.75 loss=nan gain=-inf")
    ended = mlops_line(session_shell, "end")
    assert ended.status == "finished" and ended.id == run.id
    assert ended.params == {"C": "0.5", "depth": "3", "layers": "[64, 32]", "penalty": "l2",
                            "fit_intercept": "True"}
    assert ended.metrics["auc"] == 0.75 and math.isnan(ended.metrics["loss"]) and ended.metrics["gain"] == -math.inf
    assert [(p.step, p.value) for p in mlops.get_metric_history(run.id, "auc")] == [(2, 0.7), (3, 0.75)]


def test_magic_params_match_the_python_api_so_they_do_not_conflict(session_shell):
    mlops_line(session_shell, "start --experiment e")
    mlops.log_params({"C": 0.5, "layers": [64, 32], "name": "lr"})
    mlops_line(session_shell, "log param C=0.5 layers=[64,32] name=lr")  # same values: no Conflict
    with pytest.raises(UsageError, match="'C'"):
        mlops_line(session_shell, "log param C=0.25")


def test_start_without_experiment_uses_the_default_experiment(session_shell):
    assert mlops_line(session_shell, "start").experiment == "default"


def test_end_with_status_failed(session_shell):
    mlops_line(session_shell, "start --experiment e")
    assert mlops_line(session_shell, "end --status failed").status == "failed"


def test_end_with_an_unknown_status_names_the_choices(session_shell):
    with pytest.raises(UsageError, match="invalid choice: 'done'"):
        mlops_line(session_shell, "end --status done")


def test_log_param_without_equals_names_the_pair(session_shell):
    mlops_line(session_shell, "start --experiment e")
    with pytest.raises(UsageError, match="expected KEY=VALUE, got 'C'"):
        mlops_line(session_shell, "log param C")


def test_metric_value_that_is_not_a_number_is_refused(session_shell):
    mlops_line(session_shell, "start --experiment e")
    with pytest.raises(UsageError, match="metric 'auc' needs a number, got 'high'"):
        mlops_line(session_shell, "log metric auc=high")
    assert mlops.active_run().metrics == {}


def test_repeated_key_is_refused(session_shell):
    mlops_line(session_shell, "start --experiment e")
    with pytest.raises(UsageError, match="'auc' is given twice"):
        mlops_line(session_shell, "log metric auc=1 auc=2")


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3), ("0.5", 0.5), ("1e-3", 0.001), ("[64,32]", [64, 32]), ('{"a":1}', {"a": 1}),
    ("true", True), ("null", None), ("l2", "l2"), ("[oops", "[oops"), ("", ""),
])
def test_param_values_are_read_as_int_float_json_else_text(text, value):
    assert param_value(text) == value


# --- dataset ---------------------------------------------------------------------------------------

def test_dataset_versions_a_notebook_variable(session_shell, credit):
    session_shell.user_ns["train_df"] = credit
    run = mlops_line(session_shell, "start --experiment e")
    dataset = mlops_line(session_shell, "dataset train_df --name german-credit")
    assert (dataset.name, dataset.version, dataset.rows) == ("german-credit", 1, len(credit))
    linked = mlops.get_run(run.id).datasets
    assert [(d["name"], d["role"]) for d in linked] == [("german-credit", "train")]


def test_dataset_of_a_missing_variable_names_it(session_shell):
    mlops_line(session_shell, "start --experiment e")
    session_shell.user_ns.pop("no_such_frame", None)
    with pytest.raises(UsageError, match="no variable 'no_such_frame' in the notebook"):
        mlops_line(session_shell, "dataset no_such_frame --name d")


def test_dataset_with_an_unknown_role_names_it(session_shell, credit):
    session_shell.user_ns["train_df"] = credit
    mlops_line(session_shell, "start --experiment e")
    with pytest.raises(UsageError, match="dataset role 'training' is not one of"):
        mlops_line(session_shell, "dataset train_df --name d --role training")


# --- %%mlops run -----------------------------------------------------------------------------------

def test_run_cell_runs_inside_a_finished_run_and_keeps_its_source(session_shell):
    body = "import mlops_nb as mlops\nmlops.log_metric('auc', 0.81)\nmagic_cell_value = 42\n"
    run = session_shell.run_cell_magic("mlops", "run --experiment baseline --name cell-run", body)
    assert (run.name, run.status, run.metrics) == ("cell-run", "finished", {"auc": 0.81})
    assert run.context["cell_source"] == body
    assert session_shell.user_ns["magic_cell_value"] == 42
    assert mlops.active_run() is None


def test_run_cell_that_raises_marks_the_run_failed_and_keeps_its_source(session_shell):
    body = "import mlops_nb as mlops\nmlops.log_param('C', 1)\n1 / 0\n"
    result = session_shell.run_cell("%%mlops run --experiment baseline --name broken\n" + body)
    assert isinstance(result.error_in_exec, UsageError)
    assert "the cell raised ZeroDivisionError" in str(result.error_in_exec)
    assert "ended failed" in str(result.error_in_exec)
    (row,) = mlops.runs("baseline").rows
    run = mlops.get_run(row["run_id"])
    assert (run.name, run.status, run.params) == ("broken", "failed", {"C": "1"})
    assert run.context["cell_source"] == body
    assert mlops.active_run() is None


def test_run_cell_with_a_syntax_error_marks_the_run_failed(session_shell):
    with pytest.raises(UsageError, match="the cell raised SyntaxError"):
        session_shell.run_cell_magic("mlops", "run --experiment e --name syntax", "def broken(:\n")
    assert mlops.runs("e").rows[0]["status"] == "failed"


def test_run_as_a_line_magic_is_a_usage_error(session_shell):
    with pytest.raises(UsageError, match=r"put `%%mlops run --experiment e` on the first line of the cell"):
        mlops_line(session_shell, "run --experiment e")


def test_other_subcommands_do_not_take_a_cell(session_shell):
    with pytest.raises(UsageError, match="%%mlops start does not take a cell"):
        session_shell.run_cell_magic("mlops", "start --experiment e", "x = 1\n")
    assert mlops.active_run() is None


# --- runs ------------------------------------------------------------------------------------------

def test_runs_lists_and_filters(session_shell):
    finished_run("baseline", "weak", params={"C": 0.1}, metrics={"auc": 0.6})
    finished_run("baseline", "strong", params={"C": 1.0}, metrics={"auc": 0.8})
    finished_run("other", "elsewhere", metrics={"auc": 0.9})
    table = mlops_line(session_shell, "runs --experiment baseline")
    assert [row["name"] for row in table] == ["strong", "weak"]
    assert "strong" in repr(table) and "<table" in table._repr_mimebundle_()["text/html"]
    quoted = mlops_line(session_shell, "runs --experiment baseline --filter \"metrics.auc > 0.7 and params.C = '1.0'\"")
    assert [row["name"] for row in quoted] == ["strong"]
    unquoted = mlops_line(session_shell, "runs --filter metrics.auc > 0.7")
    assert sorted(row["name"] for row in unquoted) == ["elsewhere", "strong"]


def test_runs_filter_takes_mlflow_lists_and_null_tests_and_names_what_it_refuses(session_shell):
    finished_run("baseline", "weak", params={"C": 0.1}, metrics={"auc": 0.6})
    finished_run("baseline", "strong", params={"C": 1.0}, metrics={"auc": 0.8})
    table = mlops_line(session_shell, "runs --filter \"attributes.run_name IN ('weak', 'x') and params.C IS NOT NULL\"")
    assert [row["name"] for row in table] == ["weak"]
    upper = mlops_line(session_shell, "runs --filter \"attributes.status = 'FINISHED' and run_name LIKE 'S%'\"")
    assert [row["name"] for row in upper] == []
    with pytest.raises(UsageError, match="operator '>' does not apply to params; use one of =, !=, LIKE, ILIKE"):
        mlops_line(session_shell, "runs --filter \"params.C > '0.5'\"")


def test_runs_of_an_unknown_experiment_names_it(session_shell):
    with pytest.raises(UsageError, match="nope"):
        mlops_line(session_shell, "runs --experiment nope")


# --- the post_run_cell hook ------------------------------------------------------------------------

def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_cells_executed_during_a_run_are_hashed_on_it(session_shell):
    assert session_shell.run_cell("%mlops start --experiment e").success
    run = mlops.active_run()
    session_shell.run_cell("hook_a = 1")
    session_shell.run_cell("hook_b = hook_a + 1")
    session_shell.run_cell("%mlops end")
    session_shell.run_cell("hook_c = 3")  # no active run: not recorded
    cells = ["%mlops start --experiment e", "hook_a = 1", "hook_b = hook_a + 1", "%mlops end"]
    context = mlops.get_run(run.id).context
    assert context["cell_hashes"] == [_sha(c) for c in cells]  # the start and end cells too, each once
    assert context["cell_source"] == "\n\n# %%\n".join(cells)


def test_config_record_cells_off_records_nothing(session_shell):
    session_shell.run_cell("%mlops start --experiment e")
    run = mlops.active_run()
    session_shell.run_line_magic("config", "MlopsMagics.record_cells = False")
    try:
        session_shell.run_cell("hook_off = 1")
    finally:
        session_shell.run_line_magic("config", "MlopsMagics.record_cells = True")
    assert mlops.get_run(run.id).context["cell_hashes"] == [_sha("%mlops start --experiment e")]


def test_cell_hook_failure_never_reaches_the_cell_and_warns_once(session_shell, monkeypatch):
    mlops_line(session_shell, "start --experiment e")

    def broken(source, key=None):
        raise RuntimeError("store unreachable")

    monkeypatch.setattr("mlops_nb.api.cells.record_cell", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = session_shell.run_cell("hook_fail_1 = 1")
        second = session_shell.run_cell("hook_fail_2 = 2")
    assert first.success and second.success
    messages = [str(w.message) for w in caught if "mlops" in str(w.message)]
    assert len(messages) == 1 and "store unreachable" in messages[0]


def test_cell_hook_without_a_run_touches_nothing(shell, monkeypatch):
    monkeypatch.setattr("mlops_nb.api.cells.record_cell", lambda source, key=None: pytest.fail("recorded without a run"))
    assert shell.run_cell("hook_idle = 1").success


# --- extension lifecycle ---------------------------------------------------------------------------

def test_unload_removes_the_magics_and_the_hook():
    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("mlops_nb")
    hooks = len(shell.events.callbacks["post_run_cell"])
    shell.extension_manager.unload_extension("mlops_nb")
    assert shell.find_line_magic("mlops") is None and shell.find_cell_magic("mlops") is None
    assert len(shell.events.callbacks["post_run_cell"]) == hooks - 1
    assert "MlopsMagics" not in [type(c).__name__ for c in shell.configurables]


def test_importing_the_magics_does_not_import_heavy_libraries():
    code = ("import sys, mlops_nb.magics; "
            "print(sorted(m for m in ('pandas', 'sqlalchemy', 'sklearn', 'ipywidgets', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_config_show_widgets_displays_the_run_panel_after_end(session_shell, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objects: shown.extend(objects))
    mlops_line(session_shell, "start --experiment e --name with-panel")
    session_shell.run_line_magic("config", "MlopsMagics.show_widgets = True")
    try:
        run = mlops_line(session_shell, "end")
    finally:
        session_shell.run_line_magic("config", "MlopsMagics.show_widgets = False")
    (panel,) = shown
    assert panel.run_id == run.id and "with-panel" in panel.header.value


def test_panel_magic_embeds_plotly_when_asked_or_configured(session_shell):
    import html as html_module

    session_shell.run_line_magic("mlops", "start --experiment nb --name curves")
    session_shell.run_line_magic("mlops", "log metric auc=0.7")
    page = lambda panel: html_module.unescape("".join(o["data"]["text/html"] for o in panel.curves.outputs))  # noqa: E731
    assert "cdn.plot.ly/plotly" in page(session_shell.run_line_magic("mlops", "panel"))
    assert "cdn.plot.ly/plotly" not in page(session_shell.run_line_magic("mlops", "panel --embed-plotly"))
    session_shell.run_line_magic("config", "MlopsMagics.plotlyjs = 'embed'")
    try:
        assert "cdn.plot.ly/plotly" not in page(session_shell.run_line_magic("mlops", "panel"))
    finally:
        session_shell.run_line_magic("config", "MlopsMagics.plotlyjs = 'cdn'")
