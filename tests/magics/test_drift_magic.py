"""%mlops drift, driven through a real IPython shell."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError

import mlops_nb as mlops
from mlops_nb.display.drift import DriftReportView


@pytest.fixture()
def notebook(shell, sqlite_url, credit):
    shell.run_line_magic("mlops", f"init --project nb --db {sqlite_url} --user dana")
    train, rest = credit.iloc[:500], credit.iloc[500:]
    with mlops.start_run(experiment="data"):
        mlops.log_dataset(train, name="german")
    shell.user_ns["train"] = train
    shell.user_ns["applicants"] = rest.assign(credit_amount=rest.credit_amount * 1.6)
    return shell


def test_drift_shows_the_report(notebook):
    report = notebook.run_line_magic("mlops", "drift --reference train --current applicants")
    assert isinstance(report, DriftReportView) and "credit_amount" in report.drifted_columns
    assert "mlops-drift-table" in report._repr_mimebundle_()["text/html"]
    by_name = notebook.run_line_magic("mlops", "drift --reference german --current applicants --exclude creditability")
    assert by_name.reference == "dataset german v1" and "creditability" not in set(by_name.to_frame()["column"])
    assert by_name.drifted_columns == [c for c in report.drifted_columns if c != "creditability"]


def test_drift_help_has_an_example(notebook, capsys):
    assert notebook.run_line_magic("mlops", "drift --help") is None
    out = capsys.readouterr().out
    assert "%mlops drift --reference train --current applicants" in out and "--model MODEL" in out


@pytest.mark.parametrize("line, words", [
    ("drift --current applicants", "the following arguments are required: --reference"),
    ("drift --reference train --current nope", "no variable 'nope' in the notebook"),
    ("drift --reference nope --current applicants", "dataset 'nope' does not exist"),
    ("drift --reference train --current applicants --model credit", "model 'credit' is not registered"),
    ("drift --reference train --current applicants --exclude zzz", "exclude names columns neither"),
])
def test_a_bad_line_is_one_usage_error(notebook, line, words):
    with pytest.raises(UsageError, match=words) as err:
        notebook.run_line_magic("mlops", line)
    assert "\n" not in str(err.value)
