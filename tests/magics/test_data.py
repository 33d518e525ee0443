"""%mlops validate, driven through a real IPython shell."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import mlops_nb as mlops
from mlops_nb.display.data import ValidationReport


@pytest.fixture()
def notebook(shell, sqlite_url, credit):
    shell.run_line_magic("mlops", f"init --project nb --db {sqlite_url} --user dana")
    ref = credit.sample(500, random_state=0)
    with mlops.start_run(experiment="data"):
        mlops.log_dataset(ref, name="german")
    rest = credit.drop(ref.index)
    shell.user_ns["batch"] = rest.assign(housing=rest.housing.map({"for free": 0, "own": 1, "rent": 2}))
    return shell


def test_validate_shows_the_report(notebook):
    report = notebook.run_line_magic("mlops", "validate batch --against german")
    assert isinstance(report, ValidationReport) and not report.ok
    assert report.errors[0].column == "housing" and "<table" in report._repr_mimebundle_()["text/html"]
    assert notebook.run_line_magic("mlops", "validate batch --against german:1").contract == "german v1"
    notebook.user_ns["applicants"] = notebook.user_ns["batch"].drop(columns=["creditability", "housing"])
    report = notebook.run_line_magic("mlops", "validate applicants --against german --exclude creditability housing")
    assert report.ok and not [f for f in report.findings if f.column in ("creditability", "housing")]


def test_validate_help_has_an_example(notebook, capsys):
    assert notebook.run_line_magic("mlops", "validate --help") is None
    assert "%mlops validate batch --against german" in capsys.readouterr().out


@pytest.mark.parametrize("line, words", [
    ("validate batch", "the following arguments are required: --against"),
    ("validate nope --against german", "no variable 'nope' in the notebook"),
    ("validate batch.iloc[:10] --against german", "is not a variable name; the magic takes the name of a variable: "
                                                  r"assign it first, e.g. batch = batch.iloc\[:10\]"),
    ("validate batch --against german:9", "dataset 'german' has no version 9; versions: 1"),
    ("validate batch --against other", "dataset 'other' does not exist"),
    ("validate batch --against german --exclude nope", "does not hold: nope"),
])
def test_a_bad_line_is_one_usage_error(notebook, line, words):
    with pytest.raises(UsageError, match=words) as err:
        notebook.run_line_magic("mlops", line)
    assert "\n" not in str(err.value)
