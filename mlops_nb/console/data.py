"""The console's one way to the store: the engine, cached reads over the services, and writes.

- The engine is a `st.cache_resource` per store URL (`MLOPS_DB_URL`, else the default store), opened
  as every front end opens it (created or migrated to the current schema).
- Reads are `st.cache_data` functions keyed by their arguments and the store's *stamp*, the id of
  the newest audit event: every change a service makes is audited, so a decision taken by another
  reviewer, in the console or a notebook, changes the stamp and shows on the next rerun. Reads of
  runs, which are not audited, carry a short time-to-live instead (RUNS_TTL_S).
- Writes go through `write`, which runs a service in one transaction and clears every cached read.

Pages call the functions here; no page opens a session or runs SQL.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import streamlit as st
from sqlmodel import Session

from mlops_nb.config import Settings

T = TypeVar("T")
RUNS_TTL_S = 5  # seconds a cached read of runs is served before it is read again


def store_url() -> str:
    """The URL of the store the console shows, read from the environment on every rerun."""
    from mlops_nb.store.db import normalize_url

    return normalize_url(Settings.from_env().db_url)


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Any:
    from mlops_nb.api.connect import open_store

    return open_store(url)


def engine() -> Any:
    """The engine of the store (one per URL for the server's life)."""
    return _engine(store_url())


@contextmanager
def session() -> Iterator[Session]:
    """One transaction on the store: committed when the block ends, rolled back if it raises."""
    from mlops_nb.store.db import session_scope

    with session_scope(engine()) as s:
        yield s


def stamp() -> int:
    """The id of the newest audit event (0 for none): what every cached read is keyed by."""
    from mlops_nb.services import governance

    with session() as s:
        return governance.latest_event_id(session=s)


def write(action: Callable[[Session], T]) -> T:
    """Run `action(session)` in one transaction, then clear every cached read so the next rerun
    shows the change. A refusal (MlopsError) propagates and nothing is stored."""
    try:
        with session() as s:
            return action(s)
    finally:
        st.cache_data.clear()


@st.cache_data(show_spinner=False)
def _projects(url: str, stamp_: int) -> list[dict[str, Any]]:
    from mlops_nb.services import tracking

    with session() as s:
        return [{"id": pid, "name": name} for pid, name in tracking.list_projects(session=s)]


def projects() -> list[dict[str, Any]]:
    """Every project of the store: [{"id": int, "name": str}], by name."""
    return _projects(store_url(), stamp())


def project() -> dict[str, Any] | None:
    """The project chosen in the sidebar (the first by name when none is chosen), or None."""
    found = projects()
    if not found:
        return None
    chosen = st.session_state.get("project")
    return next((p for p in found if p["name"] == chosen), found[0])


class LoginRefused(Exception):
    """A login the console refuses; its message says why, without telling which part was wrong."""


def log_in(name: str, password: str) -> Any:
    """The proven Identity of `name` when `password` is theirs.

    Raises:
        LoginRefused: an empty field, an unknown or deactivated user, or a wrong password.
    """
    from mlops_nb.services import identity
    from mlops_nb.services.errors import MlopsError

    if not name.strip() or not password:
        raise LoginRefused("Enter your username and password.")
    try:
        with session() as s:
            return identity.identify(session=s, declared=name, fallback=name, password=password)
    except MlopsError as err:
        raise LoginRefused("Wrong username or password.") from err


# --- Approvals and Overview ---

QUEUE_LIMIT = 200  # pending requests the queue reads (newest first); the page says when there are more
HISTORY_LIMIT = 200  # requests the decision history reads, newest first


@st.cache_resource(show_spinner=False)
def _artifacts(root: str) -> Any:
    from mlops_nb.store.artifacts import artifact_store

    return artifact_store(root)


def artifacts() -> Any:
    """The artifact store (`MLOPS_ARTIFACT_ROOT`, else the default): the gates that score a version's
    reference sample read it, at a review and at the decision."""
    return _artifacts(Settings.from_env().artifact_root)


@st.cache_data(show_spinner=False)
def _requests(url: str, stamp_: int, project_id: int, status: str | None, limit: int) -> list[Any]:
    from mlops_nb.services import governance

    with session() as s:
        return list(governance.list_requests(session=s, project_id=project_id, status=status, limit=limit))


def pending_requests(project_id: int) -> list[Any]:
    """The project's pending requests (PromotionRequestPublic), newest first, at most QUEUE_LIMIT."""
    return _requests(store_url(), stamp(), project_id, "pending", QUEUE_LIMIT)


def decided_requests(project_id: int) -> list[Any]:
    """The project's decided requests (approved, rejected, superseded, cancelled) among its
    HISTORY_LIMIT newest requests, the latest decision first."""
    decided = [r for r in _requests(store_url(), stamp(), project_id, None, HISTORY_LIMIT) if r.status != "pending"]
    return sorted(decided, key=lambda r: (r.decided_at or 0.0, r.id), reverse=True)


@st.cache_data(show_spinner=False)
def _review(url: str, stamp_: int, request_id: int, actor: Any) -> Any:
    from mlops_nb.services import governance

    with session() as s:
        return governance.review(session=s, request_id=request_id, actor=actor, store=artifacts())


def review(request_id: int, actor: Any) -> Any:
    """Request `request_id` as `actor` (the logged-in Identity) reads it: governance.Review (lineage,
    gates now, why they may not approve or reject).

    Raises:
        NotFound: no such request (decided and gone is still found).
    """
    return _review(store_url(), stamp(), request_id, actor)


@st.cache_data(show_spinner=False)
def _waiting(url: str, stamp_: int, project_id: int, actor: Any) -> list[Any]:
    from mlops_nb.services import governance

    with session() as s:
        ids = set(governance.waiting_for(session=s, actor=actor, project_id=project_id, store=artifacts(),
                                         limit=QUEUE_LIMIT))
    return [r for r in pending_requests(project_id) if r.id in ids]


def waiting_for(project_id: int, actor: Any) -> list[Any]:
    """The project's pending requests `actor` may approve now (governance.waiting_for: no decision
    blockers), newest first."""
    return _waiting(store_url(), stamp(), project_id, actor)


def approve(request_id: int, comment: str, actor: Any, project_id: int) -> str:
    """Approve as `actor`; the request's status after it (approved, or pending while other roles' approvals
    are due).

    Raises:
        MlopsError: the service's refusal (four eyes, role, gates, already decided); nothing is stored.
    """
    from mlops_nb.services import governance

    return write(lambda s: governance.approve(session=s, actor=actor, request_id=request_id, comment=comment,
                                              project_id=project_id, store=artifacts()).status)


def reject(request_id: int, comment: str, actor: Any, project_id: int) -> str:
    """Reject as `actor` with `comment` (required by the service); the request's status after it.

    Raises:
        MlopsError: the service's refusal (no comment, four eyes, role, already decided); nothing is stored.
    """
    from mlops_nb.services import governance

    return write(lambda s: governance.reject(session=s, actor=actor, request_id=request_id, comment=comment,
                                             project_id=project_id).status)


@st.cache_data(show_spinner=False)
def _production(url: str, stamp_: int, project_id: int) -> list[dict[str, Any]]:
    from mlops_nb.services import governance

    with session() as s:
        return governance.production_models(session=s, project_id=project_id)


def production_models(project_id: int) -> list[dict[str, Any]]:
    """The project's models in production: governance.production_models' rows."""
    return _production(store_url(), stamp(), project_id)


@st.cache_data(show_spinner=False)
def _activity(url: str, stamp_: int, limit: int) -> list[dict[str, Any]]:
    from mlops_nb.services import governance

    with session() as s:
        return [{"ts": e.ts, "actor": e.actor, "action": e.action, "entity": e.entity, "entity_id": e.entity_id}
                for e in governance.events(session=s, limit=limit)]


def recent_activity(limit: int = 10) -> list[dict[str, Any]]:
    """The newest `limit` audit events of the store: [{"ts" (epoch s), "actor", "action", "entity", "entity_id"}]."""
    return _activity(store_url(), stamp(), limit)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _run_count(url: str, project_id: int) -> int:
    from mlops_nb.services import tracking

    with session() as s:
        return tracking.count_runs(session=s, project_id=project_id)


def run_count(project_id: int) -> int:
    """How many runs the project holds (read again after RUNS_TTL_S seconds: runs are not audited)."""
    return _run_count(store_url(), project_id)
