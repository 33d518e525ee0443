"""The notebook's current context: which store, project and user, and the active run.

`init()` (api/connect.py) sets it; every API call reads it (creating a default one from the
environment when `init()` was never called, as MLflow users expect). Holding the engine and its run
store here means every call reuses one pooled connection (or, on a SQLite file, the fast path's own
connection) instead of reopening the store. This module imports no other API module but
heartbeat.py (which needs none of the others): connect.py and tracking.py build on it, and nothing
here builds on them.
"""
from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from mlops_nb.api.heartbeat import HEARTBEATS
from mlops_nb.config import Settings, redact_url, run_stale_seconds
from mlops_nb.services.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from mlops_nb.services.identity.auth import Identity
    from mlops_nb.services.tracking.results import RunEnded
    from mlops_nb.store.artifacts import ArtifactStore
    from mlops_nb.store.runs import RunStore


@dataclass
class ActiveRun:
    """The run this process is logging to, with what the hot path needs without a query: its id,
    name and experiment, `start_time` (epoch seconds), each metric key's next step, the sources and
    hashes of the cells executed while it runs (api/cells.py; `recorded` is the last cell execution
    recorded, so none is recorded twice; `code_complete` once a `%%mlops run` cell is its whole code),
    and its heartbeat's stop signal."""

    id: str
    name: str
    experiment: str
    start_time: float = 0.0
    next_step: dict[str, int] = field(default_factory=dict)
    cell_hashes: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    recorded: Any = None
    code_complete: bool = False
    stop_heartbeat: threading.Event = field(default_factory=threading.Event)
    heartbeat_thread: threading.Thread | None = None  # the process's shared heartbeat thread
    # set by the heartbeat when another process ended this run explicitly: logging to it is refused
    # then (a run a reader marked killed after a long pause is revived instead, never lost)
    lost: bool = False
    # when this process last wrote the run's heartbeat (epoch seconds; the wall clock, which also
    # runs while a laptop sleeps): much older than that means it was paused (see Context.require_run)
    beat_at: float = field(default_factory=time.time)
    # the run this one is nested in (start_run(nested=True)): active again when this one ends
    parent: ActiveRun | None = None


@dataclass
class Context:
    """What `init()` returns: the store, project and identity every call acts with.

    Who acts is the Identity that identity.identify (services/identity/login.py) issued at `init` (`_identity`): `user`,
    `role`, `proven` and `user_id` are read-only views of it, so no assignment on this object
    makes a session proven or gives it a role (`ctx.proven = True` raises AttributeError). Only a
    successful password or token check in `init` creates proof; a failed one drops it
    (`drop_proof`). The services re-read the role by user id on every call (permissions.current).
    """

    project: str
    project_id: int
    db_url: str
    artifact_root: str
    _identity: Identity = field(repr=False)
    settings: Settings | None = None
    active_run: ActiveRun | None = None
    _engine: Any = field(default=None, repr=False)
    _store: Any = field(default=None, repr=False)
    _runs: Any = field(default=None, repr=False)

    @property
    def user(self) -> str:
        """The acting user's name: the stored user's when proven, else the declared name."""
        return self._identity.name

    @property
    def role(self) -> str | None:
        """The user's role as proven at `init`, else None (the services re-read it on every call)."""
        return self._identity.role

    @property
    def proven(self) -> bool:
        """True when `init` checked a password or token for this user (and no later login failed)."""
        return self._identity.proven

    @property
    def user_id(self) -> int | None:
        """The proven user's id in the store, else None."""
        return self._identity.user_id

    def actor(self) -> Identity:
        """Who this context acts as, for the services: the Identity `init` issued (a proven user's
        name, role and id, or a declared name with none). Every API module passes this."""
        return self._identity

    def drop_proof(self) -> None:
        """Act as a declared name from now on (no role, no proof), e.g. after a failed login."""
        from mlops_nb.services.identity.auth import Identity

        self._identity = Identity(name=self._identity.name)

    @property
    def engine(self) -> Engine:
        """The store's SQLAlchemy engine (one per URL per process)."""
        return cast("Engine", self._engine)

    @property
    def artifacts(self) -> ArtifactStore:
        """Where this context's artifacts are kept (a folder or an fsspec URL)."""
        return cast("ArtifactStore", self._store)

    @property
    def runs(self) -> RunStore:
        """The run store of this context's engine (store.run_store.run_store), chosen on first use."""
        if self._runs is None:
            from mlops_nb.store.run_store import run_store

            self._runs = run_store(self._engine)
        return cast("RunStore", self._runs)

    def require_run(self) -> ActiveRun:
        """The active run.

        When this process has not written the run's heartbeat for over half the stale window (it was
        paused: a closed laptop lid, Ctrl-Z), one heartbeat is written first, which revives the run
        if a reader marked it killed meanwhile; so a paused run's first log call after waking is
        never refused, whichever thread wakes first. Otherwise this costs no query.

        Raises:
            InvalidInput: there is none, or another process ended it explicitly.
        """
        active = self.active_run
        if active is None:
            raise InvalidInput("no active run: start one with mlops.start_run(...) or %mlops start first")
        self.check_liveness(active)
        if active.lost:
            raise InvalidInput(f"run {active.name!r} ({active.id}) is no longer running in the store: another "
                               "process ended it (mlops end_run or %mlops end elsewhere); start a new run "
                               "to log more")
        return active

    def check_liveness(self, active: ActiveRun) -> None:
        """Write `active`'s heartbeat now (reviving it, or finding it lost) when this process has
        not for over half of MLOPS_RUN_STALE_S; nothing otherwise."""
        if not active.lost and time.time() - active.beat_at > run_stale_seconds() / 2:
            HEARTBEATS.beat(self, active)

    def end_active_run(self, status: str = "finished") -> tuple[ActiveRun, RunEnded]:
        """End the active run in the store with `status` (finished, failed or killed), stop its
        heartbeat and make the run it was nested in (if any) active again; returns it and how it
        ended (what the store has when it had ended already).

        A run the store no longer has running (a reader marked it killed, or another process ended
        it) ends here too, keeping how the store ended it, so a lost run never blocks `end_run`,
        `start_run` or `init`.

        Raises:
            InvalidInput: no active run, or an unknown status (nothing changes).
            NotFound: the store no longer has the run.
        """
        from mlops_nb.services import tracking

        active = self.active_run
        if active is None:
            raise InvalidInput("no active run: start one with mlops.start_run(...) or %mlops start first")
        ended = tracking.end_run(store=self.runs, run_id=active.id, status=status)
        HEARTBEATS.remove(active)
        self.active_run = active.parent
        return active, ended

    def end_all_runs(self, status: str = "finished") -> None:
        """End the active run and every run it is nested in, innermost first, with `status`.

        Raises:
            InvalidInput: an unknown status (nothing changes).
            NotFound: the store no longer has one of the runs.
        """
        while self.active_run is not None:
            self.end_active_run(status)

    def __repr__(self) -> str:
        who = f"{self.user} ({self.role}, proven)" if self.proven else f"{self.user} (declared)"
        run = f", run {self.active_run.name} ({self.active_run.id})" if self.active_run else ""
        return f"mlops context: project {self.project!r}, store {redact_url(self.db_url)}, user {who}{run}"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": f"<code>{html.escape(repr(self))}</code>"}


_lock = threading.RLock()
_current: Context | None = None


def current() -> Context | None:
    """The current context, or None before `init()` (never creates one)."""
    return _current


def set_current(context: Context | None) -> None:
    """Make `context` the current one (None: forget it)."""
    global _current
    with _lock:
        _current = context
