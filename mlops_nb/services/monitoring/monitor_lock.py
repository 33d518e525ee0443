"""The lock that keeps two `mlops monitor run` apart (issue 11 item 6: safe from cron).

A row of `monitor_lock` named "monitor": taking it is an INSERT (the primary key lets one of two
simultaneous takers win, on SQLite and PostgreSQL alike), or, when its holder is past `expires_at`
(presumed dead: killed, its machine gone), an UPDATE conditioned on the old holder and expiry, so
two takers of a stale lock cannot both win. The holder refreshes the expiry while it runs and
deletes the row when done. A database lock held for the whole run would block every writer
(SQLite) for minutes; a row does not.

    with hold_lock(engine, ttl_s=600) as lock:
        ...            # lock.refresh() between long steps
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from mlops_nb.services.errors import Conflict
from mlops_nb.store.db import session_scope
from mlops_nb.store.models.alerts import MonitorLock

LOCK_NAME = "monitor"
LOCK_TTL_S = 600.0  # a holder silent for this long is presumed dead


def holder_name() -> str:
    """Who this process is, as the lock row and the error name it: host, pid and a random tag."""
    return f"{socket.gethostname()} pid {os.getpid()} ({uuid.uuid4().hex[:6]})"


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class MonitorLease:
    """A taken lock: `holder`, `name`, `expires_at` (epoch seconds); `refresh()` and `release()`."""

    engine: Any
    name: str
    holder: str
    ttl_s: float
    expires_at: float

    def refresh(self) -> None:
        """Push the expiry `ttl_s` on from now.

        Raises:
            Conflict: the lock was taken over (this holder was silent past its expiry).
        """
        expires = time.time() + self.ttl_s
        with session_scope(self.engine) as session:
            done = session.execute(update(MonitorLock).where(col(MonitorLock.name) == self.name,
                                                             col(MonitorLock.holder) == self.holder)
                                   .values(expires_at=expires)).rowcount  # type: ignore[attr-defined]
        if not done:
            raise Conflict(f"the {self.name} lock was taken over by another run after {self.holder} was silent "
                           f"for over {self.ttl_s:g} s; this run stops")
        self.expires_at = expires

    def release(self) -> None:
        """Delete the lock row if this holder still has it."""
        with session_scope(self.engine) as session:
            session.execute(delete(MonitorLock).where(col(MonitorLock.name) == self.name,
                                                      col(MonitorLock.holder) == self.holder))


def take_lock(engine: Any, *, name: str = LOCK_NAME, holder: str | None = None,
              ttl_s: float = LOCK_TTL_S) -> MonitorLease:
    """Take lock `name` for `holder` (default: this host and process) for `ttl_s` seconds.

    Raises:
        Conflict: another holder has it and is not past its expiry; the message names the holder
            and since when it holds it.
    """
    holder = holder or holder_name()
    now = time.time()
    try:
        with session_scope(engine) as session:
            session.add(MonitorLock(name=name, holder=holder, acquired_at=now, expires_at=now + ttl_s))
        return MonitorLease(engine=engine, name=name, holder=holder, ttl_s=ttl_s, expires_at=now + ttl_s)
    except IntegrityError:
        pass
    with session_scope(engine) as session:
        row = session.execute(select(col(MonitorLock.holder), col(MonitorLock.acquired_at),
                                     col(MonitorLock.expires_at)).where(col(MonitorLock.name) == name)).first()
        if row is None:  # released between our insert and this read: try once more
            session.add(MonitorLock(name=name, holder=holder, acquired_at=now, expires_at=now + ttl_s))
            session.flush()
            return MonitorLease(engine=engine, name=name, holder=holder, ttl_s=ttl_s, expires_at=now + ttl_s)
        other, since, expires = row
        if expires > now:
            raise Conflict(f"another monitor run holds the {name} lock: {other}, since {_when(since)} "
                           f"(it expires at {_when(expires)} unless refreshed)")
        taken = session.execute(update(MonitorLock).where(col(MonitorLock.name) == name,
                                                          col(MonitorLock.holder) == other,
                                                          col(MonitorLock.expires_at) == expires)
                                .values(holder=holder, acquired_at=now, expires_at=now + ttl_s)
                                ).rowcount  # type: ignore[attr-defined]
    if not taken:
        raise Conflict(f"another monitor run took over the stale {name} lock of {other} at this moment")
    return MonitorLease(engine=engine, name=name, holder=holder, ttl_s=ttl_s, expires_at=now + ttl_s)


@contextmanager
def hold_lock(engine: Any, *, name: str = LOCK_NAME, ttl_s: float = LOCK_TTL_S) -> Iterator[MonitorLease]:
    """Take lock `name` (see take_lock), yield it, release it however the block ends.

    Raises:
        Conflict: another live holder has it.
    """
    lease = take_lock(engine, name=name, ttl_s=ttl_s)
    try:
        yield lease
    finally:
        lease.release()
