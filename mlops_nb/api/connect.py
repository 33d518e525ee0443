"""`init()`: open (and if needed create or migrate) a store, pick a project, say who acts; and the
helper every other API module uses to reach it, `get_context()`.

Imports go one way: the verbs (tracking, registry, promotion, ...) import this module, and this
module imports only api/context.py beneath it, never a verb.
"""
from __future__ import annotations

from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.context import Context, current, set_current
from mlops_nb.config import Settings
from mlops_nb.services.errors import Conflict, InvalidInput


def open_store(db_url: str) -> Any:
    """The engine of the store at `db_url` (a SQLAlchemy URL), created at the current schema when new
    and migrated when older; what `init` and the `mlops` command line both open a store with.

    Raises:
        Conflict: the database holds tables of ours without a version, or a revision this code does
            not know (a newer release made it).
    """
    from mlops_nb.store.db import get_engine
    from mlops_nb.store.migrate import SchemaMismatch, ensure_schema

    engine = get_engine(db_url)
    try:
        ensure_schema(engine)
    except SchemaMismatch as err:
        raise Conflict(str(err)) from err
    return engine


@store_errors
def init(project: str = "default", *, db_url: str | None = None, user: str | None = None,
         password: str | None = None, token: str | None = None, artifact_root: str | None = None) -> Context:
    """Open the store and set the project and user every later call acts with.

    >>> import mlops_nb as mlops
    >>> ctx = mlops.init(project="credit", user="dana")            # default SQLite store
    >>> ctx = mlops.init(project="credit", db_url="postgresql://...", user="rita", password="...")

    A declared name may track, register and request promotion; approving, rejecting and rolling
    back need proof (the user's password or an API token). A run still active in the previous
    context is ended (finished) first.

    Raises:
        InvalidInput: `project` is not a valid name.
        PermissionDenied: a wrong password or token, or a token of another user than the one declared.
        Conflict: the store's schema is newer than this code, or not one this code made.
    """
    from mlops_nb.services import identity, tracking
    from mlops_nb.store.artifacts import artifact_store
    from mlops_nb.store.db import normalize_url, session_scope

    if not isinstance(project, str):
        raise InvalidInput(f"project must be a string, got {type(project).__name__}")
    settings = Settings.from_env()
    url = normalize_url(db_url or settings.db_url)
    engine = open_store(url)
    root = artifact_root or settings.artifact_root
    token = token if token is not None else (settings.token if password is None else None)
    declared = user or settings.declared_user
    with session_scope(engine) as session:
        who = identity.identify(session=session, declared=declared, fallback=settings.user,
                                password=password, token=token)
        project_id = tracking.get_or_create_project(session=session, name=project).id
        assert project_id is not None  # a stored row has its id
    previous = current()
    if previous is not None and previous.active_run is not None:
        previous.end_active_run("finished")
    context = Context(project=project, project_id=project_id, db_url=url, artifact_root=root,
                      user=who.name, role=who.role, proven=who.proven, settings=settings,
                      _engine=engine, _store=artifact_store(root))
    set_current(context)
    return context


def get_context() -> Context:
    """The current context, created from the environment (as `init()` with no arguments) on first use.

    >>> mlops.get_context().project
    'default'
    """
    context = current()
    if context is None:
        context = init()
    return context
