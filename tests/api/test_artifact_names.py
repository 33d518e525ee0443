"""Artifact names a file system cannot take are refused by name, before anything is written: no row,
no file, no folder (before: a raw OSError ENAMETOOLONG from deep inside the copy)."""
from __future__ import annotations

import os

import pytest

import mlops_nb as mlops


def _files_under(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "report.txt"
    path.write_text("auc 0.8\n")
    return path


def _init(url, root):
    return mlops.init(project="p", db_url=url, user="dana", artifact_root=str(root))


@pytest.mark.parametrize("name, words", [
    ("x" * 256 + ".txt", "is 260 bytes; file systems allow 255 bytes per folder or file name"),
    ("plots/" + "é" * 128 + "/roc.png", "is 256 bytes; file systems allow 255"),
    ("ab/" * 334 + "c", "characters; the limit is 1000"),
])
def test_a_name_too_long_for_a_file_system_is_invalid_input_and_nothing_is_stored(db_url, tmp_path, source,
                                                                                   name, words):
    root = tmp_path / "artifacts"
    _init(db_url, root)
    with mlops.start_run(experiment="e") as run:
        with pytest.raises(mlops.InvalidInput, match=words):
            mlops.log_artifact(source, name=name)
        mlops.log_artifact(source, name="ok.txt")
    assert [a.name for a in mlops.get_run(run.id).artifacts] == ["ok.txt"]
    assert _files_under(root) == [f"runs/{run.id}/ok.txt"]
    assert sorted(os.listdir(root / "runs" / run.id)) == ["ok.txt"]  # no folder of the refused name


def test_a_name_making_the_path_longer_than_path_max_is_invalid_input(sqlite_url, tmp_path, source):
    root = tmp_path.joinpath(*["d" * 200] * 17)  # a deep artifact root: ~3,500 bytes already
    root.mkdir(parents=True)
    _init(sqlite_url, root)
    with mlops.start_run(experiment="e") as run:
        with pytest.raises(mlops.InvalidInput, match=r"makes a path of \d+ bytes under .*; the file system "
                                                     r"allows \d+: give a shorter name"):
            mlops.log_artifact(source, name="/".join(["p" * 250] * 3))
    assert mlops.get_run(run.id).artifacts == [] and _files_under(root) == []


def test_an_artifact_root_that_cannot_be_written_is_invalid_input_naming_it(sqlite_url, tmp_path, source):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the artifact root should be")
    _init(sqlite_url, blocker)
    with mlops.start_run(experiment="e") as run:
        with pytest.raises(mlops.InvalidInput, match=r"artifact 'report.txt' could not be stored under .*"
                                                     r"not-a-folder .*artifact root writable"):
            mlops.log_artifact(source)
    assert mlops.get_run(run.id).artifacts == []
    assert blocker.read_text() == "a file where the artifact root should be"
