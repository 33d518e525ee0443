"""services.artifacts: files copied in with their hash; a changed file is never read."""
from __future__ import annotations

import hashlib

import pytest

from mlops_nb.services import tracking
from mlops_nb.services.errors import Conflict, IntegrityFailure, InvalidInput, NotFound
from mlops_nb.store.artifacts import LocalArtifactStore, uri_to_path
from mlops_nb.store.run_store import run_store


@pytest.fixture()
def store(tmp_path):
    return LocalArtifactStore(tmp_path / "artifacts")


@pytest.fixture()
def run_id(session):
    project = tracking.get_or_create_project(session=session, name="p")
    experiment = tracking.get_or_create_experiment(session=session, project_id=project.id, name="e")
    return tracking.create_run(session=session, experiment_id=experiment.id, name="r", user="dana").id


def test_log_artifact_records_sha256_and_size(session, store, run_id, tmp_path):
    source = tmp_path / "model.txt"
    source.write_bytes(b"weights")
    art = tracking.log_artifact(session=session, store=store, run_id=run_id, path=source)
    assert art.name == "model.txt" and art.size == 7 and art.sha256 == hashlib.sha256(b"weights").hexdigest()
    assert uri_to_path(art.uri).read_bytes() == b"weights"
    assert art.uri.endswith(f"/runs/{run_id}/model.txt")


@pytest.mark.parametrize("name, words", [("../x", "tries to leave the artifact root"),
                                         ("/abs/x", "is an absolute path"), ("", "is empty"),
                                         ("a\x00b", "contains a NUL byte")])
def test_unsafe_names_are_invalid_input(session, store, run_id, tmp_path, name, words):
    source = tmp_path / "f.txt"
    source.write_text("x")
    with pytest.raises(InvalidInput, match=words):
        tracking.log_artifact(session=session, store=store, run_id=run_id, path=source, name=name)
    assert tracking.get_run(session=session, run_id=run_id).artifacts == []


def test_same_name_other_bytes_is_a_conflict(session, store, run_id, tmp_path):
    source = tmp_path / "f.txt"
    source.write_text("one")
    tracking.log_artifact(session=session, store=store, run_id=run_id, path=source)
    source.write_text("two")
    with pytest.raises(Conflict, match="artifact 'f.txt' already exists in run .* with other contents"):
        tracking.log_artifact(session=session, store=store, run_id=run_id, path=source)


def test_logging_to_a_finished_run_is_refused(session, store, run_id, tmp_path):
    source = tmp_path / "f.txt"
    source.write_text("x")
    tracking.end_run(store=run_store(session), run_id=run_id)
    with pytest.raises(InvalidInput, match="is finished; start a new run to log more"):
        tracking.log_artifact(session=session, store=store, run_id=run_id, path=source)


def test_read_verified_refuses_tampered_and_missing_files(session, store):
    artifact = tracking.store_bytes(session=session, store=store, data=b"report", name="reports/r.html")
    assert tracking.read_verified(store=store, artifact=artifact) == b"report"
    uri_to_path(artifact.uri).write_bytes(b"forged")
    with pytest.raises(IntegrityFailure, match="refusing to use it"):
        tracking.read_verified(store=store, artifact=artifact)
    uri_to_path(artifact.uri).unlink()
    with pytest.raises(NotFound, match="is missing from the artifact store"):
        tracking.read_verified(store=store, artifact=artifact)


def test_store_bytes_refuses_unsafe_names(session, store):
    with pytest.raises(InvalidInput, match="tries to leave the artifact root"):
        tracking.store_bytes(session=session, store=store, data=b"x", name="../../etc/x")
