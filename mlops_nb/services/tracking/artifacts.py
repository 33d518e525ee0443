"""Run artifacts: files copied into the artifact store with their sha256 and size recorded.

Rules that never bend: a recorded sha256 always describes the file behind it (the same name logged
again with other bytes is a Conflict), and a file whose bytes no longer match it is never read
(IntegrityFailure). Other domains (datasets, the registry) store their files through `store_bytes`
or `staged` + `place`, and read them through `read_verified`.

Heavy work never holds the store's write lock (SQLite has one for the whole file): a file is copied
and hashed into a unique staging name (`staged`) before the caller's transaction begins, and inside
it only renamed into place (`place`) and recorded. A staged file is removed when the work fails; a
commit that fails after the rename leaves a file no row names, which the next writer given the same
name replaces.

    >>> art = tracking.log_artifact(session=session, store=store, run_id=run_id, path="confusion.png")
    >>> art.sha256, art.size
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlmodel import Session, select

from mlops_nb.services.errors import Conflict, IntegrityFailure, InvalidInput, NotFound
from mlops_nb.services.tracking.results import ArtifactPublic
from mlops_nb.services.tracking.runs import require_running
from mlops_nb.store.artifacts import (
    ArtifactStore,
    StoredArtifact,
    UnsafeArtifactName,
    safe_relative_name,
)
from mlops_nb.store.models import Artifact

_INSERT_ARTIFACT = insert(Artifact)
T = TypeVar("T")


def checked_name(name: str) -> str:
    """`name` normalised to a relative POSIX path inside the artifact root.

    Raises:
        InvalidInput: an empty or absolute name, one that leaves the root (`..`), one over 1,000
            characters, or one with a part (folder or file name) over 255 bytes in UTF-8.
    """
    try:
        return safe_relative_name(name)
    except UnsafeArtifactName as err:
        raise InvalidInput(str(err)) from err


def _written(store: ArtifactStore, name: str, write: Callable[[], T]) -> T:
    """`write()` (a copy into the artifact store, or a read of the file to copy), with what the file
    system refuses named: no raw OSError reaches a user, and nothing is recorded (the store writes
    to a temporary name first, so no partial file is left either).

    Raises:
        InvalidInput: a name the file system cannot take, a source that cannot be read, or an
            artifact root that cannot be written (full, read-only, no permission).
    """
    try:
        return write()
    except UnsafeArtifactName as err:
        raise InvalidInput(str(err)) from err
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise InvalidInput(f"artifact {name!r} could not be stored under {store.root} ({reason}"
                           f"{': ' + str(err.filename) if err.filename else ''}); check that the file is "
                           "readable and the artifact root writable (mlops.init(artifact_root=...) or "
                           "MLOPS_ARTIFACT_ROOT)") from err


def public(artifact: Artifact) -> ArtifactPublic:
    """The record callers see of an artifact row (name, URI, sha256, size in bytes, run)."""
    return ArtifactPublic(name=artifact.name, uri=artifact.uri, sha256=artifact.sha256,
                          size=artifact.size, run_id=artifact.run_id)


def log_artifact(*, session: Session, store: ArtifactStore, run_id: str, path: str | os.PathLike[str],
                 name: str | None = None) -> ArtifactPublic:
    """Copy the file at `path` into the run's artifacts as `name` (default: the file's name).

    The same name logged again with the same bytes returns the stored artifact; other bytes are a
    Conflict, so a recorded sha256 always describes the file behind it.

    Raises:
        InvalidInput: a bad name (leaving the root, or too long for a file system: a part over 255
            bytes, over 1,000 characters), `path` not a readable file, the run has ended, or the
            artifact root cannot be written. Nothing is recorded, and no file is left.
        NotFound: no such run.
        Conflict: the run has an artifact of that name with other contents.
    """
    source = Path(path)
    relative = checked_name(name if name is not None else source.name)
    if not source.is_file():
        raise InvalidInput(f"artifact path {str(path)!r} is not a readable file")
    # a name the file system can take (checked before any copy, like a source it cannot read)
    _written(store, relative, lambda: store.uri_of(f"runs/{run_id}/{relative}"))
    with staged(store, path=source, label=relative) as copy:  # copied and hashed before the first statement
        require_running(session=session, run_id=run_id)
        existing: Artifact | None = session.exec(
            select(Artifact).where(Artifact.run_id == run_id, Artifact.name == relative)).first()
        if existing is not None:
            if copy.stored.sha256 == existing.sha256:
                return public(existing)
            raise Conflict(f"artifact {relative!r} already exists in run {run_id} with other contents; "
                           "log it under another name")
        artifact = place(session=session, staged_file=copy, name=f"runs/{run_id}/{relative}", run_id=run_id,
                         record_name=relative)
    return public(artifact)


@dataclass
class StagedFile:
    """A file in the artifact store under a unique staging name (`name`), as stored (`stored`: its
    staging URI, sha256 and size), waiting to be placed inside a transaction."""

    store: ArtifactStore
    name: str
    stored: StoredArtifact


@contextmanager
def staged(store: ArtifactStore, *, data: bytes | None = None, path: str | os.PathLike[str] | None = None,
           label: str | None = None) -> Iterator[StagedFile]:
    """`data` (or the file at `path`) written and hashed under `.staging/<uuid>` before any
    transaction; removed on leaving the block unless `place` moved it into place.

    >>> with staged(store, data=sample) as file:
    ...     artifact = place(session=session, staged_file=file, name=f"datasets/{id}/sample.parquet")

    Raises:
        InvalidInput: `path` cannot be read, or the store cannot be written (the OSError named).
    """
    name = f".staging/{uuid.uuid4().hex}"
    stored = _written(store, label or (str(path) if path is not None else "the data"),
                      lambda: store.put_bytes(data, name) if data is not None else store.put_file(path or "", name))
    try:
        yield StagedFile(store=store, name=name, stored=stored)
    finally:
        store.delete(name)  # nothing there once placed


def place(*, session: Session, staged_file: StagedFile, name: str, run_id: str | None = None,
          record_name: str | None = None) -> Artifact:
    """Move a staged file to `name` (a rename on a local store: no copy, no hashing) and record it
    in the session's transaction as `record_name` (default `name`); the Artifact returned carries
    its id and values but is not attached to the session.

    Raises:
        InvalidInput: a bad name.
    """
    uri = _written(staged_file.store, name, lambda: staged_file.store.move(staged_file.name, checked_name(name)))
    return _record(session, run_id=run_id, name=record_name or name, uri=uri, sha256=staged_file.stored.sha256,
                   size=staged_file.stored.size)


def _record(session: Session, **values: Any) -> Artifact:
    """One artifact row, written with a Core INSERT in the session's transaction."""
    values["created_at"] = time.time()
    key = session.connection().execute(_INSERT_ARTIFACT, values).inserted_primary_key
    assert key is not None  # an INSERT of one row always has it
    return Artifact(id=key[0], **values)


def store_bytes(*, session: Session, store: ArtifactStore, data: bytes, name: str,
                run_id: str | None = None) -> Artifact:
    """Store generated bytes (a dataset sample, a model file, a report) and record them.

    The row is written with one Core INSERT in the session's transaction (no unit-of-work flush); the
    Artifact returned carries its id and values but is not attached to the session. `run_id` None
    for files that belong to no run (registry model files).

    Raises:
        InvalidInput: a bad name, or the artifact store cannot be written (nothing is recorded).
    """
    relative = checked_name(name)
    stored = _written(store, relative, lambda: store.put_bytes(data, relative))
    return _record(session, run_id=run_id, name=name, uri=stored.uri, sha256=stored.sha256, size=stored.size)


def read_verified(*, store: ArtifactStore, artifact: Artifact) -> bytes:
    """The artifact's bytes, only when they still hash to the recorded sha256.

    Raises:
        NotFound: the file is missing from the artifact store.
        IntegrityFailure: the file's bytes changed after they were recorded.
    """
    try:
        return store.read_verified(artifact.uri, artifact.sha256)
    except FileNotFoundError as err:
        raise NotFound(f"artifact file {artifact.uri} is missing from the artifact store") from err
    except ValueError as err:
        raise IntegrityFailure(f"{err}: the file was changed after it was recorded; refusing to use it") from err
