"""`init()`: open (and if needed create or migrate) a store, pick a project, say who acts; and the
helper every other API module uses to reach it, `get_context()`.

Imports go one way: the verbs (tracking, registry, promotion, ...) import this module, and this
module imports only api/context.py beneath it, never a verb.
"""
from __future__ import annotations

from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.context import Context, current, set_current
from mlops_nb.config import Settings, redact_url
from mlops_nb.services.errors import Conflict, InvalidInput


def open_store(db_url: str) -> Any:
    """The engine of the store at `db_url` (a SQLAlchemy URL), created at the current schema when new
    and migrated when older; what `init` and the `mlops` command line both open a store with.

    Raises:
        Conflict: the database holds tables of ours without a version, or a revision this code does
            not know (a newer release made it).
        InvalidInput: not a URL of a database this installation can open, or the store cannot be
            opened or created there (a folder that cannot be made or
            written, a file that is not a database, a server that does not answer): the message
            names the URL (password hidden) and the driver's reason; nothing is created.
    """
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from mlops_nb.store.db import get_engine
    from mlops_nb.store.migrate import SchemaMismatch, ensure_schema

    try:
        engine = get_engine(db_url)
        ensure_schema(engine)
    except SchemaMismatch as err:
        raise Conflict(str(err)) from err
    except ArgumentError as err:  # also an unknown dialect or driver (NoSuchModuleError)
        raise InvalidInput(f"{redact_url(db_url)} is not a store URL this installation can open ({err}); "
                           "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB") from err
    except (DBAPIError, OSError) as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise InvalidInput(f"cannot open the store at {redact_url(db_url)} ({reason}); check the URL "
                           "(db_url=, %mlops init --db, MLOPS_DB_URL): a SQLite file needs a folder this "
                           "user can write, a server must be running and reachable") from err
    return engine


@store_errors
def init(project: str = "default", *, db_url: str | None = None, user: str | None = None,
         password: str | None = None, token: str | None = None, artifact_root: str | None = None) -> Context:
    """Open the store and set the project and user every later call acts with.

    >>> import mlops_nb as mlops
    >>> ctx = mlops.init(project="credit", user="dana")            # default SQLite store
    >>> ctx = mlops.init(project="credit", db_url="postgresql://...", user="rita", password="...")

    A declared name may track and register; requesting promotion, approving, rejecting and rolling
    back need proof (the user's password or an API token). Only a successful check proves who you
    are; a failed one (wrong password or token, a token of another user, a bad user name) also
    drops the proof of the current context, so the next decision is refused instead of being
    recorded as whoever logged in before. A run still active in the previous context is ended
    (finished) first.

    Raises:
        InvalidInput: `project` is not a valid name; the user name is not valid (surrounding spaces,
            control characters: services.values.user_name).
        PermissionDenied: a wrong password or token, or a token of another user than the one declared.
        Conflict: the store's schema is newer than this code, or not one this code made.
    """
    from mlops_nb.services import identity, tracking
    from mlops_nb.services.errors import MlopsError
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
        try:
            who = identity.identify(session=session, declared=declared, fallback=settings.user,
                                    password=password, token=token)
        except MlopsError:
            previous = current()
            if previous is not None:
                previous.drop_proof()
            raise
        project_id = tracking.get_or_create_project(session=session, name=project).id
        assert project_id is not None  # a stored row has its id
    previous = current()
    if previous is not None and previous.active_run is not None:
        previous.end_all_runs("finished")
    context = Context(project=project, project_id=project_id, db_url=url, artifact_root=root, _identity=who,
                      settings=settings, _engine=engine, _store=artifact_store(root))
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
