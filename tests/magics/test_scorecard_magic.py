"""%mlops scorecard and mlops.scorecard, through a real IPython shell on a store where project
'credit' has a production model and an unregistered one, and project 'fraud' has nothing."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import mlops_nb as mlops
from mlops_nb.display.scorecards import ScorecardView
from mlops_nb.store.db import session_scope
from tests import factories


@pytest.fixture()
def notebook(shell, sqlite_url):
    shell.run_line_magic("mlops", f"init --project credit --db {sqlite_url} --user dana")
    with session_scope(mlops.get_context().engine) as session:
        project_id = factories.project(session, "credit")
        factories.version(session, factories.model(session, project_id, "credit-risk"), stage="production")
        factories.version(session, factories.model(session, project_id, "credit-gbm"))
        factories.project(session, "fraud")
    return shell


def test_scorecard_shows_the_projects_card_with_one_per_model(notebook):
    card = notebook.run_line_magic("mlops", "scorecard")
    assert isinstance(card, ScorecardView) and (card.project, card.model) == ("credit", None)
    assert sorted(m.model for m in card.models) == ["credit-gbm", "credit-risk"]
    assert all(isinstance(m, ScorecardView) for m in card.models)
    assert card.criterion("models_registered").status == "pass"
    bundle = card._repr_mimebundle_()
    assert "mlops-scorecard" in bundle["text/html"] and bundle["text/plain"].startswith("Scorecard credit (whole")


def test_scorecard_of_one_model_and_of_another_project(notebook):
    card = notebook.run_line_magic("mlops", "scorecard --model credit-risk")
    assert (card.model, card.version) == ("credit-risk", 1) and len(card.criteria) == 12
    assert card.to_frame().equals(mlops.scorecard(model="credit-risk").to_frame())
    other = notebook.run_line_magic("mlops", "scorecard --project fraud")
    assert (other.project, other.models, other.phase) == ("fraud", [], 0)
    assert other.criterion("runs_tracked").status == "fail" and other.criterion("runs_tracked").next_step


def test_scorecard_help_has_an_example(notebook, capsys):
    assert notebook.run_line_magic("mlops", "scorecard --help") is None
    out = capsys.readouterr().out
    assert "%mlops scorecard --model credit-risk" in out and "--project PROJECT" in out


@pytest.mark.parametrize("line, words", [
    ("scorecard --model nope", "nope"),
    ("scorecard --project nope", "project 'nope' does not exist; projects: credit, fraud"),
    ("scorecard credit-risk", "%mlops scorecard: unrecognized arguments: credit-risk"),
])
def test_scorecard_errors_are_one_line(notebook, line, words):
    with pytest.raises(UsageError, match=words):
        notebook.run_line_magic("mlops", line)


def test_the_api_refuses_a_name_that_is_not_text(notebook):
    with pytest.raises(mlops.InvalidInput, match="model must be a name \\(a string\\), got int"):
        mlops.scorecard(model=3)
