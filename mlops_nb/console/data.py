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
    """A login the console refuses; its message says why, without telling which part was wrong
    (except for a locked account, which is told until when)."""


def log_in(name: str, password: str) -> Any:
    """The proven Identity of `name` when `password` is theirs; audited as `user.login`. Wrong
    passwords are counted and lock the user after too many (services.identity.login).

    Raises:
        LoginRefused: an empty field, an unknown or deactivated user, a wrong password, a locked
            user (the message says until when), or a store that cannot record the login (the
            message names the problem, e.g. a broken audit chain).
    """
    from mlops_nb.console.ui import when
    from mlops_nb.services import identity
    from mlops_nb.services.errors import InvalidInput, MlopsError, PermissionDenied

    if not name.strip() or not password:
        raise LoginRefused("Enter your username and password.")
    try:
        with session() as s:
            return identity.log_in(session=s, name=name, password=password)
    except identity.AccountLocked as err:
        raise LoginRefused(f"This account is locked until {when(err.until)} after too many wrong passwords; "
                           "try again then, or ask an admin to unlock it.") from None
    except (PermissionDenied, InvalidInput):
        raise LoginRefused("Wrong username or password.") from None
    except MlopsError as err:
        raise LoginRefused(f"The login could not be recorded: {err}") from None
    finally:
        st.cache_data.clear()  # the login is audited: the stamp moved


# --- Experiments ---

@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _run_page(url: str, project_id: int, filter_text: str, experiments: tuple[str, ...],
              statuses: tuple[str, ...], order_by: str, descending: bool, offset: int, limit: int) -> Any:
    from mlops_nb.config import run_stale_seconds
    from mlops_nb.services import tracking
    from mlops_nb.store.run_store import run_store

    store = run_store(engine())
    tracking.mark_stale_runs(store=store, stale_s=run_stale_seconds())
    return tracking.search_run_page(store=store, project_id=project_id, filter=filter_text or None,
                                    experiments=experiments, statuses=statuses, order_by=order_by,
                                    descending=descending, offset=offset, limit=limit)


def run_page(project_id: int, *, filter_text: str = "", experiments: tuple[str, ...] = (),
             statuses: tuple[str, ...] = (), order_by: str = "start_time", descending: bool = True,
             offset: int = 0, limit: int = 50) -> Any:
    """One page of the project's runs (tracking.RunPage: .rows, .total, .page, .pages), as
    tracking.search_run_page reads it; running runs with a stale heartbeat are marked killed first.

    Raises:
        InvalidInput: a filter, order or page the service refuses (its message says what to write).
        StoreUnavailable: the database could not run the search.
    """
    return _run_page(store_url(), project_id, filter_text, tuple(experiments), tuple(statuses), order_by,
                     descending, offset, limit)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _run_choices(url: str, project_id: int) -> dict[str, list[str]]:
    from mlops_nb.services import tracking

    with session() as s:
        return {"experiments": tracking.list_experiments(session=s, project_id=project_id),
                **tracking.run_keys(session=s, project_id=project_id)}


def run_choices(project_id: int) -> dict[str, list[str]]:
    """What the runs of a project can be filtered and ordered by: {"experiments": [names],
    "metrics": [keys], "params": [keys]}, each by name."""
    return _run_choices(store_url(), project_id)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _metric_histories(url: str, run_ids: tuple[str, ...], key: str) -> dict[str, list[tuple[int, float]]]:
    from mlops_nb.services import tracking

    with session() as s:
        return {rid: [(p.step, p.value) for p in tracking.metric_history(session=s, run_id=rid, key=key)]
                for rid in run_ids}


def metric_histories(run_ids: tuple[str, ...], key: str) -> dict[str, list[tuple[int, float]]]:
    """Each run's points of metric `key`: {run_id: [(step, value), ...]} by step ([] when the run
    never logged it; NaN as float('nan')).

    Raises:
        NotFound: a run that does not exist (deleted since the table was read).
    """
    return _metric_histories(store_url(), tuple(run_ids), key)


# --- login ---
def log_in_external(claims: dict[str, Any]) -> Any:
    """The proven Identity of the active user an OIDC provider's `claims` (st.user) name, audited as
    `user.login` via oidc (services.identity.log_in_external).

    Raises:
        LoginRefused: no active user has the email or preferred username the provider gave.
    """
    from mlops_nb.services import identity
    from mlops_nb.services.errors import MlopsError

    provider = str(claims.get("iss") or "the identity provider")
    try:
        return write(lambda s: identity.log_in_external(session=s, provider=provider, claims=claims))
    except MlopsError as err:
        raise LoginRefused(str(err)) from None


def log_out(who: Any, reason: str) -> None:
    """Audit the end of `who`'s console session (`user.logout`); a store that cannot record it
    does not keep anyone logged in, so a refusal here is swallowed."""
    from mlops_nb.services import identity
    from mlops_nb.services.errors import MlopsError

    try:
        write(lambda s: identity.log_out(session=s, actor=who, reason=reason))
    except MlopsError:
        pass


@st.cache_data(show_spinner=False)
def _current_user(url: str, stamp_: int, user_id: int) -> tuple[str, str] | None:
    from mlops_nb.services import identity

    with session() as s:
        now = identity.current(session=s, actor=identity.Identity(name="", role=None, proven=True, user_id=user_id))
    return (now.name, now.role) if now.proven and now.role else None


def current_user(who: Any) -> Any:
    """`who` as the store sees them now (name and role re-read by id), or None when they were
    deactivated or removed. Cached until the store changes (every user change is audited)."""
    import dataclasses

    found = _current_user(store_url(), stamp(), who.user_id)
    if found is None:
        return None
    return dataclasses.replace(who, name=found[0], role=found[1])


# --- admin ---
# Reads for the Admin page. Each is keyed by the store's stamp; the users and tokens reads also by
# the actor, whose right to see them (manage_users) the service checks on every uncached read.


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


# --- Registry ---

@st.cache_data(show_spinner=False)
def _models(url: str, stamp_: int, project_id: int) -> list[dict[str, Any]]:
    from mlops_nb.services import governance, registry

    with session() as s:
        rows = registry.list_models(session=s, project_id=project_id).rows
        moved = governance.last_stage_changes(session=s, project_id=project_id)
    return [{**row, "changed_at": max(row["updated_at"] or 0.0, moved.get(row["name"], 0.0))} for row in rows]


def models(project_id: int) -> list[dict[str, Any]]:
    """The project's models, by name: [{"name", "versions", "latest", "production", "staging",
    "created_by", "updated_at", "changed_at"}], versions as numbers (None when no version holds the
    stage), times epoch seconds; `changed_at` is the newest registration or stage move."""
    return _models(store_url(), stamp(), project_id)


@st.cache_data(show_spinner=False)
def _versions(url: str, stamp_: int, project_id: int, name: str) -> list[dict[str, Any]]:
    from mlops_nb.services import registry

    with session() as s:
        return registry.list_models(session=s, project_id=project_id, name=name).rows


def versions(project_id: int, name: str) -> list[dict[str, Any]]:
    """Model `name`'s versions, newest first: [{"version", "stage", "run_id", "dataset", "sha256",
    "created_by", "created_at", "metrics.<key>"...}].

    Raises:
        NotFound: no such model in the project.
    """
    return _versions(store_url(), stamp(), project_id, name)


@st.cache_data(show_spinner=False)
def _lineage(url: str, stamp_: int, project_id: int, name: str, version: int) -> dict[str, Any]:
    from mlops_nb.services import registry, tracking
    from mlops_nb.services.errors import NotFound

    with session() as s:
        found = registry.get_version(session=s, project_id=project_id, name=name, version=version)
        run = None
        if found.run_id is not None:
            try:
                run = tracking.get_run(session=s, run_id=found.run_id)
            except NotFound:
                run = None
    recorded, words = registry.code_verdict(found.code)
    return {"version": found, "run": run, "code_recorded": recorded, "code_words": words}


def lineage(project_id: int, name: str, version: int) -> dict[str, Any]:
    """Version `version` of model `name` with its lineage: {"version": ModelVersionPublic, "run":
    RunPublic or None (no run, or gone), "code_recorded": bool, "code_words": str (what code made it)}.

    Raises:
        NotFound: no such model or version.
    """
    return _lineage(store_url(), stamp(), project_id, name, version)


@st.cache_data(show_spinner=False)
def _stage_history(url: str, stamp_: int, project_id: int, name: str) -> dict[str, Any]:
    from mlops_nb.services import governance, registry

    with session() as s:
        model = registry.get_model(session=s, project_id=project_id, name=name)
        assert model.id is not None  # a row read from the store
        history = governance.stage_history(session=s, model_id=model.id)
    return {"moves": history, "champions": governance.production_periods(history),
            "rollback_to": governance.rollback_target(history)}


def stage_history(project_id: int, name: str) -> dict[str, Any]:
    """Model `name`'s stage history: {"moves": its stage moves, newest first (StageChangePublic),
    "champions": who was in production when, newest first (ProductionPeriod), "rollback_to": the
    version a rollback would restore, or None}.

    Raises:
        NotFound: no such model.
    """
    return _stage_history(store_url(), stamp(), project_id, name)


def may(identity: Any, action: str) -> bool:
    """Whether the services would let `identity` do `action` (permissions.MATRIX), to offer a button
    or not; the service still checks when it is clicked."""
    from mlops_nb.services.identity import permissions

    return permissions.allowed(identity, action)


def rollback(identity: Any, project_id: int, name: str, reason: str) -> Any:
    """Return model `name`'s production to the version that held it before, as `identity`, with
    `reason`; the restored version (ModelVersionPublic).

    Raises:
        PermissionDenied, InvalidInput, NotFound: as governance.rollback.
    """
    from mlops_nb.services import governance, registry

    def action(s: Session) -> Any:
        model = registry.get_model(session=s, project_id=project_id, name=name)
        assert model.id is not None  # a row read from the store
        row = governance.rollback(session=s, actor=identity, model_id=model.id, reason=reason)
        return registry.public(session=s, row=row, model_name=model.name)

    return write(action)


# --- Audit ---

AUDIT_VERIFY_TTL_S = 60  # a verdict is served this long at most: a row edited in place does not move the stamp
AUDIT_CSV_LIMIT = 100_000  # events at most in one CSV export


@st.cache_data(show_spinner=False, ttl=AUDIT_VERIFY_TTL_S)
def _audit_verdict(url: str, stamp_: int) -> dict[str, Any]:
    import time

    from mlops_nb.services import governance
    from mlops_nb.services.errors import IntegrityFailure, NotFound

    with session() as s:
        try:
            result = governance.verify(session=s)
        except (NotFound, IntegrityFailure) as err:
            return {"ok": False, "verified": False, "events": 0, "broken_event_id": None, "problem": str(err),
                    "warning": "", "checked_at": time.time()}
    return {"ok": result.ok, "verified": True, "events": result.events, "broken_event_id": result.broken_event_id,
            "problem": result.problem, "warning": result.warning, "checked_at": time.time()}


def audit_verdict() -> dict[str, Any]:
    """The chain verified (cached per stamp, for AUDIT_VERIFY_TTL_S at most): {"ok": bool, "verified":
    False when no usable key let it be checked, "events": int, "broken_event_id": int or None,
    "problem": str, "warning": str (events from before the keyed chain), "checked_at": epoch seconds}."""
    return _audit_verdict(store_url(), stamp())


def audit_verify_again() -> None:
    """Forget the cached verdict, so the next `audit_verdict` walks the chain again."""
    _audit_verdict.clear()


@st.cache_data(show_spinner=False)
def _audit_facets(url: str, stamp_: int) -> dict[str, list[str]]:
    from mlops_nb.services import governance

    with session() as s:
        return governance.event_facets(session=s)


def audit_facets() -> dict[str, list[str]]:
    """The trail's distinct {"actors", "actions", "entities"}, sorted: the filters' choices."""
    return _audit_facets(store_url(), stamp())


def _event_row(e: Any) -> dict[str, Any]:
    return {"id": e.id, "ts": e.ts, "actor": e.actor, "action": e.action, "entity": e.entity,
            "entity_id": e.entity_id, "before": e.before, "after": e.after, "hash": e.hash}


@st.cache_data(show_spinner=False)
def _audit_page(url: str, stamp_: int, filters: dict[str, Any], page: int, size: int) -> list[dict[str, Any]]:
    from mlops_nb.services import governance

    with session() as s:
        found = governance.events(session=s, limit=size, offset=(page - 1) * size, **filters)
    return [_event_row(e) for e in found]


def audit_page(filters: dict[str, Any], page: int, size: int) -> list[dict[str, Any]]:
    """Page `page` (from 1) of `size` events matching `filters` (governance.events' actor,
    action_prefix, entity, entity_id, since, until), newest first (`audit_count` says how many match
    in all). Each event: {"id", "ts" (epoch seconds), "actor", "action", "entity", "entity_id",
    "before", "after", "hash"}.

    Raises:
        InvalidInput: a filter of the wrong kind.
    """
    return _audit_page(store_url(), stamp(), filters, page, size)


@st.cache_data(show_spinner=False)
def _audit_count(url: str, stamp_: int, filters: dict[str, Any]) -> int:
    from mlops_nb.services import governance

    with session() as s:
        return governance.count_events(session=s, **filters)


def audit_count(filters: dict[str, Any]) -> int:
    """How many events match `filters` (as `audit_page` takes them).

    Raises:
        InvalidInput: a filter of the wrong kind.
    """
    return _audit_count(store_url(), stamp(), filters)


def audit_csv(filters: dict[str, Any]) -> bytes:
    """The events matching `filters`, newest first (AUDIT_CSV_LIMIT at most), as UTF-8 CSV with a
    header: id, time (ISO 8601 UTC), actor, action, entity, entity_id, before and after (JSON), hash."""
    import csv
    import datetime as dt
    import io
    import json

    from mlops_nb.services import governance

    with session() as s:
        found = governance.events(session=s, limit=AUDIT_CSV_LIMIT, **filters)
        rows = [_event_row(e) for e in found]
    def cell(text: str) -> str:  # a spreadsheet runs a cell that starts like a formula: keep it text
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "time", "actor", "action", "entity", "entity_id", "before", "after", "hash"])
    for r in rows:
        when = dt.datetime.fromtimestamp(r["ts"], dt.UTC).isoformat()
        writer.writerow([r["id"], when, cell(r["actor"]), cell(r["action"]), cell(r["entity"]), cell(r["entity_id"]),
                         json.dumps(r["before"], ensure_ascii=False), json.dumps(r["after"], ensure_ascii=False),
                         r["hash"]])
    return out.getvalue().encode()


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


SESSION_ACTIONS = ("user.login", "user.logout", "user.login_failed")  # on the Audit page, not in the activity


@st.cache_data(show_spinner=False)
def _activity(url: str, stamp_: int, limit: int) -> list[dict[str, Any]]:
    from mlops_nb.services import governance

    with session() as s:
        found = [e for e in governance.events(session=s, limit=limit * 5) if e.action not in SESSION_ACTIONS]
    return [{"ts": e.ts, "actor": e.actor, "action": e.action, "entity": e.entity, "entity_id": e.entity_id}
            for e in found[:limit]]


def recent_activity(limit: int = 10) -> list[dict[str, Any]]:
    """The newest `limit` audit events of the store that change something (logins and logouts, which
    the Audit page lists, are left out; of the newest 5 x `limit` events): [{"ts" (epoch s), "actor",
    "action", "entity", "entity_id"}]."""
    return _activity(store_url(), stamp(), limit)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _run_count(url: str, project_id: int) -> int:
    from mlops_nb.services import tracking

    with session() as s:
        return tracking.count_runs(session=s, project_id=project_id)


def run_count(project_id: int) -> int:
    """How many runs the project holds (read again after RUNS_TTL_S seconds: runs are not audited)."""
    return _run_count(store_url(), project_id)


# --- Data ---
# Datasets, validations, feature definitions, batches and outcomes are data, not governance: they
# are not audited, so these reads carry the runs' short time-to-live as well as the stamp.

@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _dataset_versions(url: str, stamp_: int, project_id: int) -> list[dict[str, Any]]:
    from mlops_nb.services.data import catalog

    with session() as s:
        return catalog.dataset_versions(session=s, project_id=project_id)


def dataset_versions(project_id: int) -> list[dict[str, Any]]:
    """The project's latest 200 dataset versions, newest first: [{"id", "name", "version", "rows",
    "columns", "fingerprint", "created_by", "created_at", "validations"}] (catalog.dataset_versions)."""
    return _dataset_versions(store_url(), stamp(), project_id)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _dataset_detail(url: str, stamp_: int, project_id: int, dataset_version_id: int) -> dict[str, Any]:
    from mlops_nb.services.data import catalog

    with session() as s:
        return {"version": catalog.dataset_version(session=s, project_id=project_id,
                                                   dataset_version_id=dataset_version_id),
                "validations": catalog.validations_of(session=s, project_id=project_id,
                                                      dataset_version_id=dataset_version_id)}


def dataset_detail(project_id: int, dataset_version_id: int) -> dict[str, Any]:
    """{"version": DatasetVersionPublic (schema, profile), "validations": the latest 50 reports recorded
    against it, newest first (catalog.validations_of)}.

    Raises:
        NotFound: no such dataset version in the project.
    """
    return _dataset_detail(store_url(), stamp(), project_id, dataset_version_id)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _feature_catalog(url: str, stamp_: int, project_id: int) -> list[dict[str, Any]]:
    from mlops_nb.services.data import catalog

    with session() as s:
        return catalog.feature_catalog(session=s, project_id=project_id)


def feature_catalog(project_id: int) -> list[dict[str, Any]]:
    """The project's features by name: [{"name", "versions" (FeatureDefinitionPublic, oldest first),
    "newest", "used_by": {version: ["model vN"]}}] (catalog.feature_catalog). Source is text only."""
    return _feature_catalog(store_url(), stamp(), project_id)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _project_batches(url: str, stamp_: int, project_id: int, model: str | None, status: str | None,
                     limit: int) -> list[dict[str, Any]]:
    from mlops_nb.services.monitoring import project_batches

    with session() as s:
        return project_batches.project_batches(session=s, project_id=project_id, model=model, status=status,
                                               limit=limit)


def project_batches(project_id: int, *, model: str | None = None, status: str | None = None,
                    limit: int = 100) -> list[dict[str, Any]]:
    """The project's latest scoring batches, newest first, of `model` and with `status` when given
    (monitoring.project_batches.project_batches rows).

    Raises:
        NotFound: no such model in the project.
        InvalidInput: an unknown status.
    """
    return _project_batches(store_url(), stamp(), project_id, model, status, limit)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _batch_detail(url: str, stamp_: int, project_id: int, batch_id: str) -> dict[str, Any]:
    from mlops_nb.services.monitoring import project_batches

    with session() as s:
        return project_batches.batch_detail(session=s, project_id=project_id, batch_id=batch_id)


def batch_detail(project_id: int, batch_id: str) -> dict[str, Any]:
    """One batch with its findings, profiles and outcomes (monitoring.project_batches.batch_detail).

    Raises:
        NotFound: no such batch in the project.
    """
    return _batch_detail(store_url(), stamp(), project_id, batch_id)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _version_summaries(url: str, stamp_: int, project_id: int, model: str | None) -> list[dict[str, Any]]:
    from mlops_nb.services.monitoring import project_batches

    with session() as s:
        return project_batches.version_summaries(session=s, project_id=project_id, model=model)


def version_summaries(project_id: int, model: str | None = None) -> list[dict[str, Any]]:
    """Per model version that scored: batches, rows, refused share, latency p50/p95, last outcome
    (monitoring.project_batches.version_summaries).

    Raises:
        NotFound: no such model in the project.
    """
    return _version_summaries(store_url(), stamp(), project_id, model)
