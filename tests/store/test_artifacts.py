"""The artifact store: atomic writes, hashes, names that cannot leave the root, fsspec roots."""
from __future__ import annotations

import hashlib
import uuid

import pytest

from mlops_nb.store.artifacts import (
    FsspecArtifactStore,
    LocalArtifactStore,
    UnsafeArtifactName,
    artifact_store,
    open_artifact,
    safe_relative_name,
)


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_put_bytes_records_sha256_and_size_and_leaves_no_temp_file(tmp_path):
    store = LocalArtifactStore(tmp_path / "root")
    stored = store.put_bytes(b"hello", "runs/r1/notes.txt")
    assert stored.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert stored.size == 5
    assert stored.uri == f"file://{(tmp_path / 'root' / 'runs' / 'r1' / 'notes.txt').resolve()}"
    assert _files(tmp_path / "root") == ["runs/r1/notes.txt"]
    assert store.read_verified(stored.uri, stored.sha256) == b"hello"


def test_put_file_streams_large_files(tmp_path):
    source = tmp_path / "big.bin"
    data = bytes(range(256)) * 10_000
    source.write_bytes(data)
    stored = LocalArtifactStore(tmp_path / "root").put_file(source, "big.bin")
    assert (stored.sha256, stored.size) == (hashlib.sha256(data).hexdigest(), len(data))
    with open_artifact(stored.uri) as handle:
        assert handle.read() == data


def test_a_failing_write_leaves_nothing_behind(tmp_path):
    store = LocalArtifactStore(tmp_path / "root")

    def chunks():
        yield b"half of the file"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store._write_atomic(store._target("model.bin"), chunks())
    assert _files(tmp_path / "root") == []


def test_a_failing_rewrite_keeps_the_previous_file(tmp_path):
    store = LocalArtifactStore(tmp_path / "root")
    first = store.put_bytes(b"v1", "a.txt")

    def chunks():
        yield b"v2-partial"
        raise OSError("interrupted")

    with pytest.raises(OSError):
        store._write_atomic(store._target("a.txt"), chunks())
    assert store.read_verified(first.uri, first.sha256) == b"v1"
    assert _files(tmp_path / "root") == ["a.txt"]


def test_read_verified_refuses_a_changed_file(tmp_path):
    store = LocalArtifactStore(tmp_path / "root")
    stored = store.put_bytes(b"original", "a.txt")
    (tmp_path / "root" / "a.txt").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="expected"):
        store.read_verified(stored.uri, stored.sha256)


@pytest.mark.parametrize("name, words", [
    ("../outside.txt", "leave the artifact root"),
    ("a/../../outside.txt", "leave the artifact root"),
    ("..", "leave the artifact root"),
    ("/etc/passwd", "absolute path"),
    ("\\\\server\\share", "absolute path"),
    ("C:\\temp\\x", "absolute path"),
    ("", "is empty"),
    ("   ", "is empty"),
    ("a\x00b", "NUL"),
    (".", "does not name a file"),
])
def test_unsafe_names_are_refused(tmp_path, name, words):
    with pytest.raises(UnsafeArtifactName, match=words):
        safe_relative_name(name)
    with pytest.raises(UnsafeArtifactName):
        LocalArtifactStore(tmp_path / "root").put_bytes(b"x", name)
    assert not (tmp_path / "root").exists() or _files(tmp_path / "root") == []


def test_unsafe_name_error_is_a_value_error():
    assert issubclass(UnsafeArtifactName, ValueError)


def test_names_are_normalised_inside_the_root():
    assert safe_relative_name("a/./b//c.txt") == "a/b/c.txt"
    assert safe_relative_name("a\\b.txt") == "a/b.txt"


def test_symlink_out_of_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(UnsafeArtifactName, match="outside the artifact root"):
        LocalArtifactStore(root).put_bytes(b"x", "escape/evil.txt")
    assert not (tmp_path / "evil.txt").exists()


def test_artifact_store_picks_the_implementation(tmp_path):
    assert isinstance(artifact_store(str(tmp_path)), LocalArtifactStore)
    assert isinstance(artifact_store(f"file://{tmp_path}"), LocalArtifactStore)
    assert isinstance(artifact_store("memory://bucket"), FsspecArtifactStore)


def test_memory_fsspec_root_round_trip(tmp_path):
    import fsspec

    root = f"memory://mlops-{uuid.uuid4().hex[:8]}/artifacts"
    store = artifact_store(root)
    stored = store.put_bytes(b"model bytes", "models/m1/model.skops")
    assert stored.uri == f"{root}/models/m1/model.skops"
    assert stored.sha256 == hashlib.sha256(b"model bytes").hexdigest() and stored.size == 11
    assert store.read_verified(stored.uri, stored.sha256) == b"model bytes"
    with open_artifact(stored.uri) as handle:
        assert handle.read() == b"model bytes"
    source = tmp_path / "f.txt"
    source.write_text("file")
    assert store.read_verified(store.put_file(source, "f.txt").uri, hashlib.sha256(b"file").hexdigest()) == b"file"
    fs = fsspec.filesystem("memory")
    leftovers = [p for p in fs.find(root.removeprefix("memory:/")) if ".tmp-" in p]
    assert leftovers == []
    with pytest.raises(UnsafeArtifactName):
        store.put_bytes(b"x", "../escape")


def test_memory_root_works_through_the_api(tmp_path, sqlite_url):
    import mlops_nb as mlops

    root = f"memory://mlops-{uuid.uuid4().hex[:8]}"
    mlops.init(project="p", db_url=sqlite_url, user="dana", artifact_root=root)
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    with mlops.start_run(experiment="e") as run:
        art = mlops.log_artifact(source)
    assert art.uri.startswith(root + "/runs/")
    assert mlops.get_run(run.id).artifacts[0].sha256 == hashlib.sha256(b"hello").hexdigest()
    with open_artifact(art.uri) as handle:
        assert handle.read() == b"hello"
