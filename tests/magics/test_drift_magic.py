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
    ("drift --current applicants", "give --reference VAR, or --model MODEL"),
    ("drift --current applicants --model credit", "model 'credit' is not registered"),
    ("drift --reference train --current nope", "no variable 'nope' in the notebook"),
    ("drift --reference nope --current applicants", "dataset 'nope' does not exist"),
    ("drift --reference train --current applicants --model credit", "model 'credit' is not registered"),
    ("drift --reference train --current applicants --exclude zzz", "exclude names columns neither"),
])
def test_a_bad_line_is_one_usage_error(notebook, line, words):
    with pytest.raises(UsageError, match=words) as err:
        notebook.run_line_magic("mlops", line)
    assert "\n" not in str(err.value)


def test_drift_with_a_model_and_no_reference_uses_its_training_data(notebook, credit):
    """--model alone: the production version's training dataset is the reference, the report stored."""
    from tests.factories import production_credit_model

    production_credit_model(credit)
    report = notebook.run_line_magic("mlops", "drift --current applicants --model credit")
    assert report.id is not None and "credit_amount" in report.drifted_columns


def test_drift_shows_inline_in_a_kernel(kernel_of_this_python, tmp_path):
    """In a real kernel (nbclient) the report is the cell's rich output: its headline in HTML, text beside it."""
    import nbformat
    from nbclient import NotebookClient

    from tests.conftest import DATA

    cells = [f"%load_ext mlops_nb\n%mlops init --project nb --db sqlite:///{tmp_path / 'k.db'} --user dana",
             f"import pandas as pd\ncredit = pd.read_csv({str(DATA)!r})\ntrain, applicants = credit.iloc[:500], "
             "credit.iloc[500:].assign(credit_amount=lambda d: d.credit_amount * 1.6)",
             "%mlops drift --reference train --current applicants"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name=kernel_of_this_python,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    result = [o for o in nb.cells[2].outputs if o.output_type == "execute_result"]
    assert len(result) == 1
    assert "class='mlops-drift-headline'" in result[0].data["text/html"] and "credit_amount" in result[0].data[
        "text/html"]
    assert result[0].data["text/plain"].startswith("Drift report: ")
