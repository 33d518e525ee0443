"""The `mlops` command line, run as users run it: a subprocess with --db."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MLOPS = str(Path(sys.executable).with_name("mlops"))


def cli(*args: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`mlops ARGS` in a subprocess; `stdin` is what it reads (nothing when None)."""
    return subprocess.run([MLOPS, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, input=stdin,
                          stdin=subprocess.DEVNULL if stdin is None else None)


@pytest.fixture()
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_db_upgrade_creates_a_new_store_and_is_idempotent(db):
    from mlops_nb.store.migrations import HEAD

    first = cli("--db", db, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    key = db.removeprefix("sqlite:///") + ".audit-key"
    assert first.stdout.splitlines() == [f"store at revision {HEAD} (was empty); head is {HEAD}",
                                         f"audit key: {key} (keep it readable by its owner only, and back it up "
                                         "apart from the database)"]
    again = cli("db", "upgrade", "--db", db)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == f"store at revision {HEAD} (was {HEAD}); head is {HEAD}"


def test_db_upgrade_uses_mlops_db_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = cli("db", "upgrade", env={"MLOPS_DB_URL": url})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.db").is_file()


def test_user_add_and_token(db):
    added = cli("--db", db, "user", "add", "rita", "--role", "reviewer", "--password-stdin", stdin="rita-secret-1\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added user rita (reviewer)"
    issued = cli("--db", db, "user", "token", "rita")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.rstrip("\n").splitlines()[-1]
    assert token.startswith("mlops_") and " " not in token
    import mlops_nb as mlops

    ctx = mlops.init(project="p", db_url=db, token=token)
    assert (ctx.user, ctx.role) == ("rita", "reviewer")


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_unknown_role_is_one_line_on_stderr(db):
    line = _one_line_error(cli("--db", db, "user", "add", "bob", "--role", "boss", "--no-password"))
    assert line.startswith("mlops: ") and "invalid choice: 'boss'" in line


def test_duplicate_user_is_one_line_on_stderr(db):
    assert cli("--db", db, "user", "add", "rita", "--role", "reviewer", "--no-password").returncode == 0
    line = _one_line_error(cli("--db", db, "user", "add", "rita", "--role", "admin", "--no-password"))
    assert line == "mlops: user 'rita' already exists"


@pytest.mark.parametrize("second, shown", [("rita", "rita"), ("ＲＩＴＡ", "RITA")])
def test_another_spelling_of_a_user_is_one_line_conflict(db, second, shown):
    added = cli("--db", db, "user", "add", "Ｒita", "--role", "reviewer", "--no-password")
    assert added.returncode == 0 and added.stdout.strip() == "added user Rita (reviewer)", added.stderr
    line = _one_line_error(cli("--db", db, "user", "add", second, "--role", "admin", "--no-password"))
    assert line == (f"mlops: user {shown!r} already exists as 'Rita' "
                    "(names are matched ignoring case and width)")


def test_a_user_name_with_surrounding_spaces_is_refused(db):
    line = _one_line_error(cli("--db", db, "user", "add", "rita ", "--role", "admin", "--no-password"))
    assert line == "mlops: user name 'rita ' has leading or trailing spaces; give it without them"


def test_user_add_without_a_terminal_names_the_ways_to_give_a_password(db):
    line = _one_line_error(cli("--db", db, "user", "add", "bob", "--role", "admin"))
    assert line == ("mlops: no terminal to ask for the password on; pipe it with --password-stdin, "
                    "or --no-password")


def test_token_for_an_unknown_user_is_one_line_on_stderr(db):
    line = _one_line_error(cli("--db", db, "user", "token", "ghost"))
    assert line.startswith("mlops: user 'ghost' does not exist")


def test_runs_lists_runs(db, tmp_path):
    import mlops_nb as mlops

    mlops.init(project="credit", db_url=db, user="dana", artifact_root=str(tmp_path / "a"))
    for name, auc in (("lr-1", 0.7), ("rf-1", 0.9)):
        with mlops.start_run(experiment="baseline", name=name):
            mlops.log_metric("auc", auc)
    listed = cli("--db", db, "runs", "--project", "credit", "--experiment", "baseline")
    assert listed.returncode == 0, listed.stderr
    assert "lr-1" in listed.stdout and "rf-1" in listed.stdout and "Runs in baseline (2)" in listed.stdout
    filtered = cli("--db", db, "runs", "--project", "credit", "--filter", "metrics.auc > 0.8")
    assert "rf-1" in filtered.stdout and "lr-1" not in filtered.stdout
    mlflow_style = cli("--db", db, "runs", "--project", "credit", "--filter",
                       "attributes.status IN ('FINISHED') and attributes.run_name LIKE 'LR%'")
    assert mlflow_style.returncode == 0 and "Runs where" in mlflow_style.stdout and "lr-1" not in mlflow_style.stdout


def test_runs_marks_runs_with_a_stale_heartbeat_killed_as_every_reader_does(db):
    from mlops_nb.services import tracking
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.migrate import ensure_schema

    engine = get_engine(db)
    ensure_schema(engine)
    with session_scope(engine) as session:  # a run whose kernel died: no heartbeat thread behind it
        project = tracking.get_or_create_project(session=session, name="credit")
        experiment = tracking.get_or_create_experiment(session=session, project_id=project.id, name="baseline")
        tracking.create_run(session=session, experiment_id=experiment.id, name="orphan", user="dana")
    fresh = cli("--db", db, "runs", "--project", "credit")
    assert fresh.returncode == 0 and "running" in fresh.stdout, fresh.stderr
    stale = cli("--db", db, "runs", "--project", "credit", env={"MLOPS_RUN_STALE_S": "0"})
    assert "killed" in stale.stdout and "running" not in stale.stdout, stale.stdout


def test_runs_with_a_bad_filter_or_project_is_one_line_on_stderr(db, tmp_path):
    import mlops_nb as mlops

    mlops.init(project="credit", db_url=db, user="dana", artifact_root=str(tmp_path / "a"))
    line = _one_line_error(cli("--db", db, "runs", "--project", "credit", "--filter", "metrics.auc >"))
    assert "incomplete condition" in line
    line = _one_line_error(cli("--db", db, "runs", "--project", "credit", "--filter", "attributes.start_time LIKE 1"))
    assert "operator 'LIKE' does not apply to time attributes; use one of =, !=, <, <=, >, >=" in line
    line = _one_line_error(cli("--db", db, "runs", "--project", "nope"))
    assert line.startswith("mlops: project 'nope' does not exist; projects: credit")


def test_no_command_prints_help_and_fails(db):
    result = cli("--db", db)
    assert result.returncode == 1 and "usage: mlops" in result.stderr


def test_an_unreachable_store_is_one_line_on_stderr():
    line = _one_line_error(cli("--db", "postgresql://nobody@127.0.0.1:1/none", "db", "upgrade"))
    assert line.startswith("mlops: cannot use the store: ") and "(check --db or MLOPS_DB_URL)" in line


@pytest.mark.parametrize("command", [["runs"], ["audit", "verify"], ["audit", "log"], ["policy", "show"]])
def test_a_reading_command_on_a_mistyped_store_says_so_and_creates_nothing(tmp_path, command):
    missing = tmp_path / "typo" / "x.db"
    out = cli("--db", f"sqlite:///{missing}", *command)
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert f"no store at {missing}" in out.stderr and "mlops db upgrade" in out.stderr
    assert not missing.exists() and not missing.parent.exists()
    beside = tmp_path / "x.db"
    out = cli("--db", f"sqlite:///{beside}", *command)
    assert out.returncode == 1 and "no store at" in out.stderr and not beside.exists()


def test_runs_of_an_unknown_experiment_names_it_as_the_api_does(db, tmp_path):
    import mlops_nb as mlops

    mlops.init(project="credit", db_url=db, user="dana", artifact_root=str(tmp_path / "a"))
    with mlops.start_run(experiment="baseline"):
        pass
    out = cli("--db", db, "runs", "--project", "credit", "--experiment", "basline")
    assert out.returncode == 1 and "experiment 'basline' does not exist" in out.stderr and "baseline" in out.stderr
