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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from mlops_nb.api.heartbeat import HEARTBEATS
from mlops_nb.config import Settings, redact_url
from mlops_nb.services.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

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
    # set by the heartbeat when the store no longer has this run running (a reader marked it
    # killed after a long pause, or another process ended it): logging to it is refused then
    lost: bool = False


@dataclass
class Context:
    """What `init()` returns: the store, project and identity every call acts with."""

    project: str
    project_id: int
    db_url: str
    artifact_root: str
    user: str
    role: str | None = None  # set only when the user proved who they are (password or token)
    proven: bool = False
    settings: Settings | None = None
    active_run: ActiveRun | None = None
    _engine: Any = field(default=None, repr=False)
    _store: Any = field(default=None, repr=False)
    _runs: Any = field(default=None, repr=False)

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

        Raises:
            InvalidInput: there is none, or the store no longer has it running (a reader marked it
                killed, or another process ended it).
        """
        if self.active_run is None:
            raise InvalidInput("no active run: start one with mlops.start_run(...) or %mlops start first")
        if self.active_run.lost:
            raise InvalidInput(f"run {self.active_run.name!r} ({self.active_run.id}) is no longer running in the "
                               "store (marked killed after its heartbeat went stale, or ended elsewhere); "
                               "start a new run to log more")
        return self.active_run

    def end_active_run(self, status: str = "finished") -> tuple[ActiveRun, RunEnded]:
        """End the active run in the store with `status` (finished, failed or killed), stop its
        heartbeat and forget it; returns it and how it ended (what the store has when it had
        ended already).

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
        self.active_run = None
        return active, ended

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
