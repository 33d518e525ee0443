"""Code lineage in a real kernel: every way of running records the cells it ran, and a notebook that
was never added to git is recorded as such, not as a clean checkout of HEAD (issue 8, item 14)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlops_nb as mlops

ROOT = Path(__file__).resolve().parents[1]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path) -> Path:
    """A git repository with one commit (a README); nothing else is in git."""
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dana@example.com")
    _git(repo, "config", "user.name", "dana")
    (repo / "README.md").write_text("credit model\n")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "readme")
    return repo


CELLS = [
    "import mlops_nb as mlops\nmlops.init(project='lineage', user='dana')",
    "with mlops.start_run(experiment='nb', name='one-cell'):\n    mlops.log_param('C', 1)\n    x = 41 + 1",
    "mlops.start_run(experiment='nb', name='across')",
    "y = x * 2",
    "mlops.end_run()",
    "%load_ext mlops_nb",
    "%mlops start --experiment nb --name magic",
    "z = 3",
    "%mlops end",
    "%%mlops run --experiment nb --name cell\nw = 5",
]


def test_every_way_of_running_records_its_cells_and_an_untracked_notebook_says_so(
        repo, monkeypatch, kernel_of_this_python):
    import nbformat
    from nbclient import NotebookClient

    notebook = repo / "train.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbformat.write(nb, notebook)  # on disk, never added to git
    monkeypatch.setenv("MLOPS_NOTEBOOK_PATH", str(notebook))  # as JupyterLab's JPY_SESSION_NAME says it
    NotebookClient(nb, timeout=120, kernel_name=kernel_of_this_python,
                   resources={"metadata": {"path": str(repo)}}).execute()

    mlops.init(project="lineage", user="dana")  # the kernel's store, from MLOPS_HOME
    runs = {row["name"]: mlops.get_run(row["run_id"]) for row in mlops.runs("nb")}
    head = _git(repo, "rev-parse", "HEAD")
    expected = {"one-cell": [CELLS[1]], "across": CELLS[2:5], "magic": CELLS[6:9], "cell": ["w = 5\n"]}  # a magic's body keeps its newline
    for name, cells in expected.items():
        context = runs[name].context
        assert context["cell_source"] == "\n\n# %%\n".join(cells), name
        assert len(context["cell_hashes"]) == len(cells) and context["code_hash"], name
        # the commit is HEAD, but the notebook is not in it: untracked, so the checkout is not clean
        assert (context["git_commit"], context["git_dirty"], context["code_status"]) == (head, True, "untracked")
        assert context["notebook_path"] == str(notebook)


def test_a_script_outside_git_records_its_text_and_the_lineage_gate_names_it(repo, tmp_path, credit):
    script = repo / "train.py"
    store = f"sqlite:///{tmp_path / 'store.db'}"
    script.write_text(textwrap.dedent(f"""
        import pandas as pd
        import mlops_nb as mlops
        from tests.factories import fit_credit_model

        mlops.init(project="lineage", db_url={store!r}, user="dana", artifact_root={str(tmp_path / 'art')!r})
        credit = pd.read_csv({str(ROOT / 'mlops_nb' / 'data' / 'german_credit.csv')!r})
        with mlops.start_run(experiment="script", name="train"):
            mlops.log_dataset(credit, name="german")
            mlops.register_model(fit_credit_model(credit)[0], name="credit", target="creditability")
    """))
    subprocess.run([sys.executable, str(script)], cwd=repo, check=True, env={**__import__("os").environ,
                   "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    mlops.init(project="lineage", db_url=store, user="dana", artifact_root=str(tmp_path / "art"))
    (row,) = mlops.runs("script").rows
    context = mlops.get_run(row["run_id"]).context
    assert context["cell_source"] == script.read_text() and context["notebook_path"] == str(script)
    assert context["code_status"] == "untracked" and context["git_dirty"] is True
    version = mlops.get_model_version("credit", 1)
    assert version.code["code_status"] == "untracked" and version.code["cells"] == 1
    (gate,) = [g for g in mlops.preview_gates("credit", version=1, to="staging") if g["name"] == "lineage_complete"]
    assert gate["passed"] and "is untracked in git, so the recorded cells are its only copy" in gate["detail"]
