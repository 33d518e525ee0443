"""Captured context: git commit and dirty flag, package versions, notebook path."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from mlops_nb.services import tracking

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                   check=True, capture_output=True)


@pytest.fixture(autouse=True)
def no_git_cache(monkeypatch):
    if hasattr(tracking.environment, "_git_cache"):
        monkeypatch.setattr(tracking.environment, "_git_cache", {})


@needs_git
def test_git_commit_and_dirty_flag_inside_a_repository(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "train.py").write_text("print(1)\n")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "first")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert tracking.git_state(repo) == (head, False)
    (repo / "train.py").write_text("print(2)\n")
    monkeypatch.setattr(tracking.environment, "_git_cache", {}, raising=False)
    assert tracking.git_state(repo) == (head, True)
    monkeypatch.chdir(repo)
    captured = tracking.capture()
    assert captured["git_commit"] == head and captured["git_dirty"] is True


@needs_git
def test_a_repository_without_commits_has_no_commit(tmp_path):
    _git(tmp_path, "init", "-q")
    assert tracking.git_state(tmp_path) == (None, False)


def test_outside_a_repository_git_state_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert tracking.git_state(tmp_path) == (None, None)


def test_without_git_installed_git_state_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert tracking.git_state(tmp_path) == (None, None)


def test_package_versions_include_numpy_and_pandas():
    import numpy
    import pandas

    versions = tracking.package_versions()
    assert versions["numpy"] == numpy.__version__ and versions["pandas"] == pandas.__version__


def test_capture_names_host_python_and_notebook(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_NOTEBOOK_PATH", str(tmp_path / "train.ipynb"))
    captured = tracking.capture(tmp_path)
    assert captured["notebook_path"] == str(tmp_path / "train.ipynb")
    assert captured["host"] and captured["pid"] and captured["python_version"].count(".") == 2
    assert set(captured) == {"host", "pid", "git_commit", "git_dirty", "notebook_path", "code_status",
                             "python_version", "packages"}
    assert captured["code_status"] == "unknown"  # the front end named a notebook that is not on disk


def test_notebook_path_comes_from_vs_codes_kernel_variable_when_the_environment_is_silent(shell, tmp_path):
    assert tracking.notebook_path() is None
    shell.user_ns["__vsc_ipynb_file__"] = str(tmp_path / "train.ipynb")
    try:
        assert tracking.notebook_path() == str(tmp_path / "train.ipynb")
    finally:
        del shell.user_ns["__vsc_ipynb_file__"]


def test_outside_a_kernel_the_notebook_path_is_looked_for_without_importing_ipython(tmp_path):
    code = ("import sys; from mlops_nb.services.tracking import environment; "
            "print(environment.notebook_path(), 'IPython' in sys.modules)")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLOPS_NOTEBOOK_PATH", "JPY_SESSION_NAME", "__vsc_ipynb_file__")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["None", "False"]


def test_code_file_status_says_where_the_code_file_stands_in_git(tmp_path):
    import subprocess

    from mlops_nb.services.tracking import environment

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    assert environment.code_file_status(outside) == "no_git"
    git("init", "-q")
    git("config", "user.email", "d@example.com")
    git("config", "user.name", "d")
    (tmp_path / ".gitignore").write_text("ignored.ipynb\n")
    for name in ("train.ipynb", "staged.ipynb", "ignored.ipynb"):
        (tmp_path / name).write_text("{}\n")
    git("add", "train.ipynb", ".gitignore")
    git("commit", "-q", "-m", "train")
    git("add", "staged.ipynb")  # in the index, not in HEAD
    environment._status_cache.clear()
    assert environment.code_file_status(tmp_path / "train.ipynb") == "committed"
    assert environment.code_file_status(tmp_path / "staged.ipynb") == "untracked"
    assert environment.code_file_status(tmp_path / "ignored.ipynb") == "untracked"
    assert environment.code_file_status(tmp_path / "outside.py") == "untracked"
    (tmp_path / "train.ipynb").write_text('{"changed": 1}\n')
    environment._status_cache.clear()
    assert environment.code_file_status(tmp_path / "train.ipynb") == "modified"
    assert environment.code_file_status(tmp_path / "missing.ipynb") == "unknown"
    assert environment.code_file_status(None) == "unknown"
