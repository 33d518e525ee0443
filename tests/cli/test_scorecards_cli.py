"""`mlops attest`, `mlops attestations`, `mlops attestation withdraw`, `mlops scorecard-settings` and
`mlops scorecard-history`: the operator's commands, errors one line on stderr with exit status 1."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mlops_nb.cli import main
from mlops_nb.services.monitoring.scorecard_history import take_snapshots
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.models import Attestation, AuditEvent
from tests import factories


@pytest.fixture()
def store(sqlite_url):
    """Project 'credit' with model 'credit-risk'."""
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        factories.model(session, factories.project(session, "credit"), "credit-risk")
    return sqlite_url


def _exit(argv: list[str]) -> int:
    """main's exit status, also when argparse refuses the arguments (it exits)."""
    try:
        return main(argv)
    except SystemExit as done:
        return int(done.code)


def _rows(url, table) -> int:
    with session_scope(get_engine(url)) as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def test_attest_list_and_withdraw_as_the_operator(store, capsys):
    assert main(["--db", store, "attest", "model.7", "--project", "credit", "--model", "credit-risk",
                 "--note", "inclusion review, doc ML-31", "--days", "90"]) == 0
    out = capsys.readouterr().out
    assert "Attestation 1 · model.7 · active" in out and "operator (cli) (admin)" in out
    assert main(["--db", store, "attestations", "--project", "credit"]) == 0
    listed = capsys.readouterr().out
    assert "Attestations in force of project credit (1)" in listed and "inclusion review, doc ML-31" in listed
    assert main(["--db", store, "attestation", "withdraw", "1", "--project", "credit"]) == 0
    assert "withdrawn by" in capsys.readouterr().out
    assert main(["--db", store, "attestations", "--project", "credit"]) == 0
    assert "(0)" in capsys.readouterr().out
    assert main(["--db", store, "attestations", "--project", "credit", "--all"]) == 0
    assert "withdrawn" in capsys.readouterr().out
    with session_scope(get_engine(store)) as session:
        actions = session.execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.action.like("attestation.%")).order_by(AuditEvent.id)).all()
    assert [tuple(a) for a in actions] == [("attestation.add", "operator (cli)"), ("attestation.withdraw", "operator (cli)")]


@pytest.mark.parametrize(("args", "words"), [
    (["attest", "data.9", "--project", "credit", "--note", "x"], "mlops: 'data.9' is not an ML Test Score test"),
    (["attest", "data.2", "--project", "credit", "--note", " "], "mlops: a note is required"),
    (["attest", "data.2", "--project", "credit", "--note", "x", "--days", "0"],
     "mlops: days must be a number of days above 0 and at most 730"),
    (["attest", "data.2", "--project", "credit", "--note", "x", "--days", "nan"], "mlops: days must be"),
    (["attest", "data.2", "--project", "credit", "--note", "x", "--model", "nope"],
     "mlops: model 'nope' is not registered in this project"),
    (["attest", "data.2", "--project", "nope", "--note", "x"], "mlops: project 'nope' does not exist"),
    (["attest", "data.2", "--note", "x"],  # no --project, no project "default": say which flag picks one
     "mlops: project 'default' does not exist; projects: credit; name one with --project P"),
    (["attest", "data.2", "--project", "credit"], "mlops: the following arguments are required: --note"),
    (["attestation", "withdraw", "7", "--project", "credit"], "mlops: attestation 7 does not exist in this project"),
])
def test_bad_attestations_are_one_line_errors_and_store_nothing(store, capsys, args, words):
    assert _exit(["--db", store, *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(words) and len(err.strip().splitlines()) == 1
    assert _rows(store, Attestation) == 0


def test_scorecard_settings_show_and_set(store, capsys):
    assert main(["--db", store, "scorecard-settings", "--project", "credit"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "Scorecard settings of project credit" and "drift_max_age_days      7" in shown
    assert main(["--db", store, "scorecard-settings", "--project", "credit", "--set", "drift_max_age_days=14",
                 "--set", "sweep_min_runs=5"]) == 0
    changed = capsys.readouterr().out
    assert "drift_max_age_days      14" in changed and "sweep_min_runs          5" in changed


@pytest.mark.parametrize(("sets", "words"), [
    (["drift_max_age_days"], "mlops: --set 'drift_max_age_days': expected KEY=VALUE"),
    (["drift_max_age_days=soon"], "mlops: --set 'drift_max_age_days=soon': 'soon' is not a number"),
    (["drift=3"], "mlops: unknown scorecard setting 'drift'"),
    (["sweep_min_runs=0"], "mlops: scorecard setting sweep_min_runs must be a whole number from 1 to 1000, got 0.0"),
    (["sweep_min_runs=3", "sweep_min_runs=4"], "mlops: --set 'sweep_min_runs' is given twice (3 and 4)"),
])
def test_bad_settings_are_one_line_errors(store, capsys, sets, words):
    args = [a for s in sets for a in ("--set", s)]
    assert main(["--db", store, "scorecard-settings", "--project", "credit", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(words) and len(err.strip().splitlines()) == 1
    assert main(["--db", store, "scorecard-settings", "--project", "credit"]) == 0
    assert "sweep_min_runs          3" in capsys.readouterr().out


def test_scorecard_history_shows_a_cards_snapshots(store, capsys):
    assert main(["--db", store, "scorecard-history", "--project", "credit", "--model", "credit-risk"]) == 0
    assert "Scorecard history of model credit-risk (0 snapshots)" in capsys.readouterr().out
    with session_scope(get_engine(store)) as session:
        assert take_snapshots(session=session, taken_by="operator (cli)", trigger="demo") == 2
    assert main(["--db", store, "scorecard-history", "--project", "credit"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "Scorecard history of project credit (1 snapshots)"
    assert shown[1].split() == ["taken_at", "phase", "passed", "partial", "failed", "test_score", "trigger"]
    assert shown[-1].split()[-1] == "demo"
    assert main(["--db", store, "scorecard-history", "--project", "credit", "--model", "nope"]) == 1
    assert capsys.readouterr().err.startswith("mlops: model 'nope' is not registered in this project")
