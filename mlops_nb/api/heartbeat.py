"""Liveness of the runs this process logs to: a heartbeat written from one daemon thread.

SPEC §4: a live run writes a heartbeat at least every 5 seconds, also while idle, so a reader can
mark a run whose process died as killed once its heartbeat is stale. A process that was only paused
(a closed laptop lid, Ctrl-Z) finds its run marked so when it wakes: its next beat revives it
(services.tracking.revive_run), since only the owner can tell a pause from a death.
"""
from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from mlops_nb.config import DEFAULT_HEARTBEAT_S

if TYPE_CHECKING:  # only for annotations: api/context.py imports this module
    from mlops_nb.api.context import ActiveRun, Context


class Heartbeats:
    """One daemon thread per process that writes the heartbeat of every live run of this process
    (normally the one active run, and the runs it is nested in) every `heartbeat_s`, also while the
    notebook is idle; starting a run registers it, ending it (or setting its `stop_heartbeat`) drops
    it. A run a reader marked killed while this process was paused is revived (see `beat`); a run
    another process ended is marked `lost`."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.pid = os.getpid()
        self.cond = threading.Condition()
        self.beating = threading.Lock()  # held while a beat writes (see `beat`)
        self.runs: dict[int, list[Any]] = {}  # id(ActiveRun) -> [context, run, interval, next due]
        self.thread: threading.Thread | None = None
        self.wake_at: float | None = None  # when the sleeping thread wakes next (None: when told)

    def add(self, context: Context, run: ActiveRun) -> None:
        """Beat for `run` every `context.settings.heartbeat_s` seconds (5 without settings) from now
        on, starting the thread if needed."""
        if self.pid != os.getpid():  # after a fork: the parent's thread and lock are not ours
            self._reset()
        interval = context.settings.heartbeat_s if context.settings else DEFAULT_HEARTBEAT_S
        due = time.monotonic() + interval
        with self.cond:
            self.runs[id(run)] = [context, run, interval, due]
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="mlops-heartbeat", daemon=True)
                self.thread.start()
            elif self.wake_at is None or due < self.wake_at:  # else it wakes in time on its own
                self.cond.notify()
        run.heartbeat_thread = self.thread

    def remove(self, run: ActiveRun) -> None:
        """Stop beating for `run` (also signalled to anyone waiting on its `stop_heartbeat`)."""
        run.stop_heartbeat.set()
        if self.pid == os.getpid():
            with self.cond:
                self.runs.pop(id(run), None)

    def _due(self) -> list[tuple[Context, ActiveRun]]:
        with self.cond:
            while True:
                now = time.monotonic()
                for key, entry in list(self.runs.items()):
                    if entry[1].stop_heartbeat.is_set():
                        del self.runs[key]
                due = [entry for entry in self.runs.values() if entry[3] <= now]
                if due:
                    for entry in due:
                        entry[3] = now + entry[2]
                    return [(entry[0], entry[1]) for entry in due]
                self.wake_at = min((entry[3] for entry in self.runs.values()), default=None)
                self.cond.wait(None if self.wake_at is None else max(self.wake_at - now, 0.001))
                self.wake_at = None

    def beat(self, context: Context, run: ActiveRun) -> None:
        """One heartbeat of `run`, now, from the calling thread: refresh it when running, revive it
        when a reader marked it killed for a stale heartbeat (this process was paused, not dead),
        and mark it `lost` (and stop beating for it) when it was ended explicitly elsewhere. A busy
        or unreachable store changes nothing (the next beat retries); never raises."""
        from mlops_nb.services import tracking
        from mlops_nb.store.db import session_scope

        try:
            with self.beating, session_scope(context.engine) as session:  # one beat at a time: the
                # heartbeat thread and a log call after a pause may both find the run marked
                alive = (tracking.heartbeat(session=session, run_id=run.id)
                         or tracking.revive_run(session=session, run_id=run.id))
        except Exception:  # noqa: BLE001 - a busy or unreachable store must not break the notebook
            return
        if alive:
            run.beat_at = time.time()
        elif not run.stop_heartbeat.is_set():
            run.lost = True
            self.remove(run)

    def _loop(self) -> None:
        while True:
            for context, run in self._due():
                self.beat(context, run)


# the process's one registry: api.tracking adds the run it starts, Context.end_active_run removes it
HEARTBEATS = Heartbeats()
