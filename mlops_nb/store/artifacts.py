"""The artifact store: a local folder by default, any fsspec URL otherwise, behind one small interface.

Every write goes to a temporary name and is renamed into place, so a reader never sees half a file
and a process killed mid-write leaves no artifact behind. Writes are not fsync'ed: see
`LocalArtifactStore._write_atomic` (a file torn by a power cut fails its sha256 check). Names are
relative paths that must stay inside the root; anything else is refused before a byte is written.

    >>> store = artifact_store("~/.mlops/artifacts")           # or "s3://bucket/prefix"
    >>> stored = store.put_bytes(b"...", "runs/3f2a/model.skops")
    >>> store.read_verified(stored.uri, stored.sha256)
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

CHUNK = 1 << 20
# what file systems allow: 255 bytes per path component (ext4, XFS, APFS, and NTFS's 255 UTF-16 units
# cover at least 255 UTF-8 bytes of most text; POSIX NAME_MAX), and a whole path of PATH_MAX bytes
# (4,096 on Linux); a name is also at most 1,000 characters, the width of `artifact.name`
MAX_PART_BYTES = 255
MAX_NAME_CHARS = 1000
DEFAULT_PATH_MAX = 4096
_TMP_NAME_BYTES = 16  # ".tmp-" and mkstemp's random part, written beside the target first


class UnsafeArtifactName(ValueError):
    """An artifact name that would leave the artifact root (absolute, `..`, empty parts) or that no
    file system takes (a part over 255 bytes, a path over PATH_MAX, over 1,000 characters)."""


@dataclass(frozen=True)
class StoredArtifact:
    """A file as written: where (`uri`), its sha256 (hex) and its size (bytes)."""

    uri: str
    sha256: str
    size: int


def safe_relative_name(name: str) -> str:
    """`name` normalised to a relative POSIX path inside the root ("a\\b" -> "a/b", "./x" -> "x").

    Raises:
        UnsafeArtifactName: empty, absolute, with NUL, leaving the root through `..`, over 1,000
            characters, or with a part (folder or file name) over 255 bytes in UTF-8.
    """
    if not isinstance(name, str) or not name.strip():
        raise UnsafeArtifactName(f"artifact name {name!r} is empty")
    if "\x00" in name:
        raise UnsafeArtifactName(f"artifact name {name!r} contains a NUL byte")
    candidate = name.replace("\\", "/")
    if candidate.startswith("/") or (len(candidate) > 1 and candidate[1] == ":"):
        raise UnsafeArtifactName(f"artifact name {name!r} is an absolute path; give a relative name")
    parts = candidate.split("/")
    if any(part in ("..",) for part in parts):
        raise UnsafeArtifactName(f"artifact name {name!r} tries to leave the artifact root ('..')")
    normalised = posixpath.normpath(candidate)
    if normalised in (".", "") or normalised.startswith("../"):
        raise UnsafeArtifactName(f"artifact name {name!r} does not name a file inside the root")
    if len(normalised) > MAX_NAME_CHARS:
        raise UnsafeArtifactName(f"artifact name {normalised[:40]!r}… is {len(normalised)} characters; "
                                 f"the limit is {MAX_NAME_CHARS}: give a shorter name")
    for part in normalised.split("/"):
        size = len(part.encode("utf-8", "surrogatepass"))
        if size > MAX_PART_BYTES:
            raise UnsafeArtifactName(
                f"artifact name part {part[:40]!r}… is {size} bytes; file systems allow {MAX_PART_BYTES} "
                "bytes per folder or file name: give a shorter name")
    return normalised


def sha256_of_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(sha256 hex digest, size in bytes) of the file at `path`, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class ArtifactStore:
    """Common interface; use `artifact_store(root)` to get the right implementation."""

    root: str

    def put_file(self, source: str | os.PathLike[str], name: str) -> StoredArtifact:
        """Copy the file at `source` in as `name` (a relative path).

        Raises:
            UnsafeArtifactName: `name` would leave the root.
            OSError: `source` cannot be read, or the store cannot be written.
        """
        raise NotImplementedError

    def put_bytes(self, data: bytes, name: str) -> StoredArtifact:
        """Store `data` as `name` (a relative path).

        Raises:
            UnsafeArtifactName: `name` would leave the root.
        """
        raise NotImplementedError

    def open(self, uri: str) -> BinaryIO:
        """The stored file at `uri`, opened for binary reading.

        Raises:
            FileNotFoundError: nothing is stored there.
        """
        raise NotImplementedError

    def move(self, source: str, name: str) -> str:
        """Move the file stored as `source` to `name` (both relative paths), replacing what `name`
        held; returns its new URI. A rename on a local store: what a writer does inside a short transaction with a file it
        copied in before the transaction began.

        Raises:
            UnsafeArtifactName: either name would leave the root.
            FileNotFoundError: nothing is stored as `source`.
        """
        raise NotImplementedError

    def delete(self, name: str) -> None:
        """Remove the file stored as `name` (a relative path); nothing when there is none. What a
        writer calls for a file it stored before a transaction that then failed.

        Raises:
            UnsafeArtifactName: `name` would leave the root.
        """
        raise NotImplementedError

    def uri_of(self, name: str) -> str:
        """The URI a file stored as `name` has."""
        raise NotImplementedError

    def read_verified(self, uri: str, sha256: str) -> bytes:
        """The artifact's bytes, only if they hash to `sha256` (hex).

        Raises:
            FileNotFoundError: nothing is stored at `uri`.
            ValueError: the bytes hash to something else (the message gives both digests' starts).
        """
        with self.open(uri) as handle:
            data = handle.read()
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise ValueError(f"artifact {uri} has sha256 {actual[:12]}…, expected {sha256[:12]}…")
        return data


class LocalArtifactStore(ArtifactStore):
    """A folder on this machine; artifact URIs are `file://` and an absolute path."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root_path = Path(root).expanduser().resolve()
        self.root = str(self.root_path)

    def _target(self, name: str) -> Path:
        relative = safe_relative_name(name)
        target = (self.root_path / relative).resolve()
        if self.root_path != target and self.root_path not in target.parents:
            raise UnsafeArtifactName(f"artifact name {name!r} resolves outside the artifact root")
        limit = self._path_max()
        if len(os.fsencode(target)) + _TMP_NAME_BYTES >= limit:
            raise UnsafeArtifactName(f"artifact name {name[:40]!r}… makes a path of {len(os.fsencode(target))} "
                                     f"bytes under {self.root}; the file system allows {limit}: give a shorter "
                                     "name (or a shorter artifact root)")
        return target

    def _path_max(self) -> int:
        """The longest path the file system of the root takes, in bytes (PATH_MAX where it says)."""
        folder = self.root_path
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            return int(os.pathconf(folder, "PC_PATH_MAX"))
        except (OSError, ValueError, AttributeError):  # not said (or not POSIX): Linux's
            return DEFAULT_PATH_MAX

    def _write_atomic(self, target: Path, chunks: Iterable[bytes]) -> StoredArtifact:
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            # No fsync (0.5-1 ms a file): the store's SQLite commits with synchronous=NORMAL, so a
            # power cut may lose the last commits too, and a file it leaves empty or torn fails the
            # sha256 check `read_verified` makes before a model file or dataset sample is used
            # (IntegrityFailure), so it is never deserialised. A killed
            # process still leaves no half file under the final name (rename is atomic).
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredArtifact(uri=f"file://{target}", sha256=digest.hexdigest(), size=size)

    def put_file(self, source: str | os.PathLike[str], name: str) -> StoredArtifact:
        """See ArtifactStore.put_file; the copy is streamed in 1 MiB chunks."""
        target = self._target(name)
        with open(source, "rb") as handle:
            return self._write_atomic(target, iter(lambda: handle.read(CHUNK), b""))

    def put_bytes(self, data: bytes, name: str) -> StoredArtifact:
        """See ArtifactStore.put_bytes."""
        return self._write_atomic(self._target(name), [data])

    def open(self, uri: str) -> BinaryIO:
        """See ArtifactStore.open."""
        return open(uri_to_path(uri), "rb")

    def move(self, source: str, name: str) -> str:
        """See ArtifactStore.move (an atomic rename)."""
        origin, target = self._target(source), self._target(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(origin, target)
        return f"file://{target}"

    def delete(self, name: str) -> None:
        """See ArtifactStore.delete."""
        self._target(name).unlink(missing_ok=True)

    def uri_of(self, name: str) -> str:
        """See ArtifactStore.uri_of."""
        return f"file://{self._target(name)}"


class FsspecArtifactStore(ArtifactStore):
    """Any fsspec filesystem (s3://, gs://, memory://...): write to a temporary key, then move."""

    def __init__(self, root: str) -> None:
        import fsspec

        self.fs: Any
        self.fs, path = fsspec.core.url_to_fs(root)
        self.root = root.rstrip("/")
        self.base = path.rstrip("/")

    def _key(self, name: str) -> str:
        return f"{self.base}/{safe_relative_name(name)}"

    def put_bytes(self, data: bytes, name: str) -> StoredArtifact:
        """See ArtifactStore.put_bytes."""
        key = self._key(name)
        tmp = f"{posixpath.dirname(key)}/.tmp-{uuid.uuid4().hex}"
        self.fs.pipe_file(tmp, data)
        try:
            self.fs.mv(tmp, key)
        except BaseException:
            self.fs.rm(tmp)
            raise
        return StoredArtifact(uri=f"{self.root}/{safe_relative_name(name)}",
                              sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    def put_file(self, source: str | os.PathLike[str], name: str) -> StoredArtifact:
        """See ArtifactStore.put_file (read whole, then written as one object)."""
        return self.put_bytes(Path(source).read_bytes(), name)

    def open(self, uri: str) -> BinaryIO:
        """See ArtifactStore.open."""
        import fsspec

        return cast(BinaryIO, fsspec.open(uri, "rb").open())

    def move(self, source: str, name: str) -> str:
        """See ArtifactStore.move (the file system's move)."""
        self.fs.mv(self._key(source), self._key(name))
        return self.uri_of(name)

    def delete(self, name: str) -> None:
        """See ArtifactStore.delete."""
        key = self._key(name)
        if self.fs.exists(key):
            self.fs.rm(key)

    def uri_of(self, name: str) -> str:
        """See ArtifactStore.uri_of."""
        return f"{self.root}/{safe_relative_name(name)}"


def uri_to_path(uri: str) -> Path:
    """`file:///abs/path` (as this store writes them) or a plain path."""
    return Path(uri.removeprefix("file://"))


def artifact_store(root: str) -> ArtifactStore:
    """A local store for plain paths and file:// URLs, fsspec for every other protocol."""
    if "://" not in root:
        return LocalArtifactStore(root)
    if root.startswith("file://"):
        return LocalArtifactStore(uri_to_path(root))
    return FsspecArtifactStore(root)


def open_artifact(uri: str) -> BinaryIO:
    """Open a stored artifact by its URI, whatever store wrote it."""
    if "://" not in uri or uri.startswith("file://"):
        return open(uri_to_path(uri), "rb")
    import fsspec

    return cast(BinaryIO, fsspec.open(uri, "rb").open())
