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


# --- admin ---
# Reads for the Admin page. Each is keyed by the store's stamp; the users and tokens reads also by
# the actor, whose right to see them (manage_users) the service checks on every uncached read.


@st.cache_data(show_spinner=False)
def _acting_as(url: str, stamp_: int, actor: Any) -> Any:
    from mlops_nb.services import identity

    with session() as s:
        return identity.current(session=s, actor=actor)


def acting_as(actor: Any) -> Any:
    """`actor` (an Identity) as the store sees them now: a role changed or a user deactivated since
    the login counts (the role is re-read by user id; a deactivated user is no longer proven)."""
    return _acting_as(store_url(), stamp(), actor)


@st.cache_data(show_spinner=False)
def _users(url: str, stamp_: int, actor: Any) -> list[Any]:
    from mlops_nb.services import identity

    with session() as s:
        return list(identity.list_users(session=s, actor=actor))


def users(actor: Any) -> list[Any]:
    """Every user by name, as `actor` may see them: [UserPublic(name, role, active, password,
    tokens, created_at)] (tokens: how many are usable now; created_at: epoch seconds).

    Raises:
        PermissionDenied: `actor` is not a proven admin now.
    """
    return _users(store_url(), stamp(), actor)


@st.cache_data(show_spinner=False)
def _tokens(url: str, stamp_: int, actor: Any, name: str) -> list[Any]:
    from mlops_nb.services import identity

    with session() as s:
        return list(identity.list_tokens(session=s, actor=actor, name=name))


def tokens(actor: Any, name: str) -> list[Any]:
    """User `name`'s API tokens, newest first: [TokenPublic(user, prefix, status, created_at,
    expires_at)] (status: active, expired or revoked; times in epoch seconds, expires_at may be None).

    Raises:
        PermissionDenied: `actor` is not a proven admin now.
        NotFound: no such user.
    """
    return _tokens(store_url(), stamp(), actor, name)


@st.cache_data(show_spinner=False)
def _model_names(url: str, stamp_: int, project_id: int) -> list[str]:
    from mlops_nb.services import registry

    with session() as s:
        return [row["name"] for row in registry.list_models(session=s, project_id=project_id)]


def model_names(project_id: int) -> list[str]:
    """The names of the models registered in project `project_id`, by name (at most 1,000)."""
    return _model_names(store_url(), stamp(), project_id)


@st.cache_data(show_spinner=False)
def _policy(url: str, stamp_: int, project_id: int, model: str | None) -> Any:
    from mlops_nb.services import governance

    with session() as s:
        return governance.read_policy(session=s, project_id=project_id, model=model)


def policy(project_id: int, model: str | None) -> Any:
    """The promotion policy in force for `model` (None: the project default): PolicyPublic(scope,
    source, rules), source one of model, project, default; rules as governance.policies documents.

    Raises:
        NotFound: `model` is not registered in the project.
        InvalidInput: the stored policy is not a valid policy document.
    """
    return _policy(store_url(), stamp(), project_id, model)
