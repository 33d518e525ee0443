"""The audit key: a secret kept outside the database that keys the audit chain (HMAC-SHA256).

Without it, whoever can write the database could recompute an unkeyed hash chain after rewriting
events; with it, a rewrite by someone who holds the database but not the key is detected by
`mlops audit verify` (docs/governance.md, "Threat model" and "Audit key custody").

Where the key lives: `MLOPS_AUDIT_KEY_FILE` when set; else beside a SQLite file (`<db file>.audit-key`);
else (PostgreSQL) `MLOPS_HOME/audit-keys/<host>-<port>-<database>.key`. It is created when this
package first creates or migrates the store (migration 0006), as 32 random bytes written in hex,
mode 0600 in a folder of its own made 0700 where we make it. A key file that group or others may
read is refused, as ssh refuses such a private key.

    path = key_path(engine.url)
    key = load_key(engine.url)            # bytes; AuditKeyError naming the path when unusable
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import column, table, update
from sqlalchemy.engine import URL, Connection, make_url

from mlops_nb.config import audit_key_file, mlops_home
from mlops_nb.store.models.audit import GENESIS_HASH

KEY_BYTES = 32
# the head row's columns as migration 0006 leaves them (not the model's: later schemas may add more)
_HEAD_TABLE = table("audit_head", column("id"), column("last_event_id"), column("last_hash"), column("key_id"),
                    column("keyed_from"), column("mac"))


class AuditKeyError(RuntimeError):
    """The audit key cannot be used: missing, unreadable, readable by others, or malformed. The
    message names the path and what to do; services turn it into a domain error."""


class AuditKeyMissing(AuditKeyError):
    """No key file where the store's key is looked for."""


def key_path(url: str | URL) -> Path:
    """Where the key of the store at `url` is looked for (see the module docstring)."""
    override = audit_key_file()
    if override is not None:
        return override
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            path = Path(database).expanduser().resolve()
            return path.with_name(path.name + ".audit-key")
        return mlops_home() / "audit-keys" / "sqlite-memory.key"
    name = f"{parsed.host or 'localhost'}-{parsed.port or 5432}-{parsed.database or ''}"
    return mlops_home() / "audit-keys" / (re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".key")


def _missing(path: Path) -> AuditKeyMissing:
    return AuditKeyMissing(
        f"no audit key at {path}: the audit chain is keyed with a file kept outside the database. Copy the "
        "store's key there from whoever created the store (mode 0600), or set MLOPS_AUDIT_KEY_FILE to it")


def read_key(path: Path) -> bytes:
    """The key held by the file at `path`.

    Raises:
        AuditKeyError: no such file, not readable, readable by group or others, or not a key.
    """
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise _missing(path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise AuditKeyError(f"cannot read the audit key at {path} ({type(err).__name__}: "
                            f"{getattr(err, 'strerror', None) or err})") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(f"the audit key at {path} is open to group or others (mode "
                            f"{stat.S_IMODE(info.st_mode):04o}); make it readable by its owner only: chmod 600 {path}")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise AuditKeyError(f"the file at {path} is not an audit key ({KEY_BYTES * 2} hex characters expected)")
    return key


def load_key(url: str | URL) -> bytes:
    """The key of the store at `url`.

    Raises:
        AuditKeyError: see `read_key`; the message names where the key was looked for.
    """
    return read_key(key_path(url))


def create_key(url: str | URL) -> tuple[bytes, Path]:
    """The key of the store at `url` and its path, created (0600, from `secrets`) when absent; an
    existing key file is kept and read, so a retried migration never replaces a key in use.

    Raises:
        AuditKeyError: the file or its folder cannot be made, or an existing one is unusable.
    """
    path = key_path(url)
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key(path), path
    except OSError as err:
        raise AuditKeyError(f"cannot create the audit key at {path} ({err.strerror}); "
                            "set MLOPS_AUDIT_KEY_FILE to a writable place") from None
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    os.chmod(path, 0o600)  # whatever the umask did
    return key, path


def key_id(key: bytes) -> str:
    """A short public name of `key` (16 hex characters), kept in the head row, so a wrong key file is
    told apart from a changed chain. It reveals nothing of the key (an HMAC of a fixed text)."""
    return hmac.new(key, b"mlops audit key id", hashlib.sha256).hexdigest()[:16]


def head_mac(key: bytes, *, key_name: str, keyed_from: int, last_event_id: int, last_hash: str) -> str:
    """The HMAC-SHA256 (64 hex characters) that authenticates the head row: which key, where the keyed
    chain begins, and the newest event's id and hash. Someone without the key cannot move the head
    (to hide deleted events) or make a fresh one (to pass off an emptied trail)."""
    message = f"mlops-audit-head|{key_name}|{keyed_from}|{last_event_id}|{last_hash}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def begin_keyed_chain(connection: Connection) -> Path:
    """Create (or read) the store's key and mark in the head row where the keyed chain begins: the
    next event. Events before it keep their unkeyed sha256 hashes and are verified as such, with a
    warning. Run by migration 0006 on the connection it migrates; returns the key's path.

    Raises:
        AuditKeyError: the key cannot be created or read.
    """
    key, path = create_key(connection.engine.url)
    head: Any = connection.execute(_HEAD_TABLE.select().where(_HEAD_TABLE.c.id == 1)).first()
    if head is None:  # every store made by 0002 has the row; one without it gets a fresh one
        connection.execute(_HEAD_TABLE.insert(), {"id": 1, "last_event_id": 0, "last_hash": GENESIS_HASH})
        last_id, last_hash = 0, GENESIS_HASH
    else:
        last_id, last_hash = head.last_event_id, head.last_hash
    name = key_id(key)
    mac = head_mac(key, key_name=name, keyed_from=last_id + 1, last_event_id=last_id, last_hash=last_hash)
    connection.execute(update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == 1)
                       .values(key_id=name, keyed_from=last_id + 1, mac=mac))
    return path
