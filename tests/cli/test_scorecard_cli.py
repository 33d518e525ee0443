"""`mlops scorecard`: the portfolio on the terminal, one project or model, the board pack written to
a file, and a snapshot stored, through mlops_nb.cli.main."""
from __future__ import annotations

import pytest

from mlops_nb.cli import main
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from tests import factories


def _fill(url: str) -> str:
    """Project 'credit' (credit-risk v1 in production; a model '<b>x|y</b>' never promoted) and 'fraud' (empty)."""
    engine = get_engine(url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        project_id = factories.project(session, "credit")
        factories.version(session, factories.model(session, project_id, "credit-risk"), stage="production")
        factories.version(session, factories.model(session, project_id, "<b>x|y</b>"))
        factories.project(session, "fraud")
    return url


@pytest.fixture()
def store(sqlite_url):
    return _fill(sqlite_url)


def test_text_gives_a_line_per_card_then_the_next_steps(db_url, capsys):
    """On SQLite and PostgreSQL (the others on SQLite: the command is the same)."""
    store = _fill(db_url)
    assert main(["--db", store, "scorecard"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("scorecards as of ") and lines[0].endswith(" UTC")
    cards = lines[1:lines.index("next steps:")]
    assert [c.split(":")[0] for c in cards] == ["credit (whole project)", "credit · credit-risk v1",
                                                "credit · <b>x|y</b> (no production version)", "fraud (whole project)"]
    assert all(", band " in c and " pass, " in c for c in cards)
    steps = lines[lines.index("next steps:") + 1:]
    assert [s for s in steps if not s.startswith("    ")] == [f"  {c.split(':')[0]}:" for c in cards]
    fraud = steps[steps.index("  fraud (whole project):") + 1:]
    assert fraud[0].startswith("    Runs tracked with params and metrics (fail): ")
    # criteria sharing a next step share its line: a project with nothing promoted has one step for six
    promote = [line for line in fraud if "then to='production'" in line]
    assert len(promote) == 1 and promote[0].startswith(
        "    Staging before production; Prediction distributions monitored for production models; Drift reports")
    assert len(fraud) < 12 and sum(line.count("; ") + 1 for line in fraud) >= 12


def test_one_model_of_a_project(store, capsys):
    assert main(["--db", store, "scorecard", "--project", "credit", "--model", "credit-risk"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("credit · credit-risk v1: phase ")
    assert not [line for line in lines[1:] if line.startswith(("credit (whole", "fraud"))]


def test_board_pack_is_written_as_markdown_and_html(store, tmp_path, capsys):
    md, page = tmp_path / "pack.md", tmp_path / "pack.html"
    assert main(["--db", store, "scorecard", "--format", "markdown", "--output", str(md), "--title", "Q4"]) == 0
    assert capsys.readouterr().out == f"wrote 4 scorecards (markdown) to {md}\n"
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Q4\n") and "| credit | \\<b\\>x\\|y\\</b\\> |" in text
    assert main(["--db", store, "scorecard", "--project", "credit", "--format", "html", "--output", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "&lt;b&gt;x|y&lt;/b&gt;" in html and "<b>x|y</b>" not in html
    assert "fraud" not in html


def _exit_code(argv: list[str]) -> int:
    """main's status, or argparse's exit status for a line it refuses."""
    try:
        return main(argv)
    except SystemExit as exit:
        return int(exit.code or 0)


@pytest.mark.parametrize("argv, words", [
    (["scorecard", "--model", "credit-risk"], "mlops: --model credit-risk needs --project"),
    (["scorecard", "--project", "nope"], "mlops: project 'nope' does not exist; projects: credit, fraud"),
    (["scorecard", "--project", "credit", "--model", "nope"], "nope"),
    (["scorecard", "--format", "pdf"], "invalid choice: 'pdf'"),
])
def test_errors_are_one_line_and_exit_1(store, capsys, argv, words):
    assert _exit_code(["--db", store, *argv]) == 1
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_output_refuses_a_directory_and_a_missing_folder(store, tmp_path, capsys):
    assert main(["--db", store, "scorecard", "--output", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (f"mlops: --output {tmp_path}: is a directory; give a file name, "
                                       f"e.g. {tmp_path / 'maturity.html'}\n")
    assert main(["--db", store, "scorecard", "--output", str(tmp_path / "no" / "pack.md")]) == 1
    assert f"folder {tmp_path / 'no'} does not exist" in capsys.readouterr().err


def test_text_writes_control_characters_as_escapes():
    """A name from the store cannot clear or recolour the terminal the report is printed to."""
    from mlops_nb.cli.scorecard_show import text_report
    from tests.display.scorecard_cards import card

    text = text_report([card(model="evil\x1b[2J\nfake line", default="fail")])
    assert "\x1b" not in text and "evil\\x1b[2J\\nfake line v5: phase 0" in text
    assert len(text.splitlines()) == 1 + 1 + 1 + 1 + 12  # as of, the card, "next steps:", its name, 12 steps


def test_snapshot_stores_the_cards_shown_in_their_history(store, capsys):
    from sqlmodel import select

    from mlops_nb.services.identity import OPERATOR_NAME
    from mlops_nb.services.monitoring.scorecard_history import scorecard_history
    from mlops_nb.services.tracking import get_project
    from mlops_nb.store.models.scorecards import ScorecardSnapshot

    assert main(["--db", store, "scorecard", "--project", "credit", "--snapshot"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "stored 3 scorecard snapshots"  # the project's card and its two models'
    shown = next(line for line in out if line.startswith("credit (whole project): "))
    with session_scope(get_engine(store)) as session:
        history = scorecard_history(session=session, project_id=get_project(session=session, name="credit").id)
    assert len(history) == 1 and history[0]["trigger"] == "manual"
    point = history[0]
    assert f"phase {point['phase']} " in shown and f"{point['passed']} pass, {point['partial']} partial, " \
           f"{point['failed']} fail" in shown
    assert main(["--db", store, "scorecard", "--snapshot"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "stored 4 scorecard snapshots"  # every project
    with session_scope(get_engine(store)) as session:
        takers = session.exec(select(ScorecardSnapshot.taken_by)).all()
    assert takers == [OPERATOR_NAME] * 7
