"""The `mlops` command line: the operator's tool for a store.

Every command takes `--db URL` (else MLOPS_DB_URL, else the default SQLite store). Whoever can open
the store's database runs it without further proof, as with `psql`. Errors are one line on stderr
and exit status 1.

    mlops db upgrade
    mlops user add rita --role reviewer --password '...'
    mlops user token rita
    mlops runs --project credit --experiment baseline --filter "metrics.auc > 0.7"
"""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence

from mlops_nb.services.errors import MlopsError

Handler = Callable[[argparse.Namespace], int]


def _engine(args: argparse.Namespace, *, migrate: bool = True):
    from mlops_nb.config import Settings
    from mlops_nb.store.db import get_engine, normalize_url
    from mlops_nb.store.migrate import SchemaMismatch, ensure_schema

    engine = get_engine(normalize_url(args.db or Settings.from_env().db_url))
    if migrate:
        try:
            ensure_schema(engine)
        except SchemaMismatch as err:
            raise MlopsError(str(err)) from err
    return engine


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Migrate the store to the current schema (creating it when new)."""
    from mlops_nb.store.migrate import HEAD, current_revision, upgrade

    engine = _engine(args, migrate=False)
    before = current_revision(engine)
    upgrade(engine, args.revision)
    after = current_revision(engine)
    print(f"store at revision {after} (was {before or 'empty'}); head is {HEAD}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    """Add a user with a role; asks for the password when --password is not given."""
    from mlops_nb.services import audit, auth
    from mlops_nb.store.db import session_scope

    password = args.password
    if password is None and not args.no_password:
        if not sys.stdin.isatty():
            raise MlopsError("no --password given and no terminal to ask on; pass --password or --no-password")
        password = getpass.getpass(f"Password for {args.name}: ")
        if password != getpass.getpass("Repeat: "):
            raise MlopsError("the passwords differ; nothing was changed")
    with session_scope(_engine(args)) as session:
        user = auth.add_user(session=session, name=args.name, role=args.role, password=password)
        audit.record(session=session, actor="cli", action="user.add", entity="user", entity_id=user.name,
                           after={"name": user.name, "role": user.role})
    print(f"added user {args.name} ({args.role})")
    return 0


def cmd_user_token(args: argparse.Namespace) -> int:
    """Print a new API token for NAME, alone on the last line (stored hashed: shown once)."""
    from mlops_nb.services import audit, auth
    from mlops_nb.store.db import session_scope

    with session_scope(_engine(args)) as session:
        token = auth.issue_token(session=session, name=args.name)
        audit.record(session=session, actor="cli", action="user.token", entity="user", entity_id=args.name)
    print(f"# API token for {args.name}; it is shown only now. Use: MLOPS_TOKEN=<token> or mlops.init(token=...)")
    print(token)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """List runs of a project, filtered with MLflow's search syntax."""
    from mlops_nb.services import run_search, tracking
    from mlops_nb.store.db import session_scope

    with session_scope(_engine(args)) as session:
        project = tracking.get_project(session=session, name=args.project)
        table = run_search.search_runs(session=session, project_id=project.id, experiment=args.experiment,
                                     filter=args.filter)
    print(repr(table))
    return 0


class Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line and exit status 1, as every command does."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(1, f"mlops: {message} (see `{self.prog} --help`)\n")


COMMANDS: list[tuple[Sequence[str], Handler, Callable[[argparse.ArgumentParser], None]]] = []


def command(*path: str):
    """Register a handler under a command path; `configure` adds its arguments."""
    def wrap(configure: Callable[[argparse.ArgumentParser], None]):
        def register(handler: Handler) -> Handler:
            COMMANDS.append((path, handler, configure))
            return handler
        return register
    return wrap


def _db_upgrade_args(p):
    p.add_argument("--revision", default="head", help="target revision (default: head)")


def _user_add_args(p):
    from mlops_nb.store.models.identity import ROLES

    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--password", help="the password (asked for when omitted)")
    p.add_argument("--no-password", action="store_true", help="create the user without a password")


def _user_token_args(p):
    p.add_argument("name")


def _runs_args(p):
    p.add_argument("--project", default="default")
    p.add_argument("--experiment")
    p.add_argument("--filter", help="e.g. \"metrics.auc > 0.7 and params.model = 'rf'\"")


command("db", "upgrade")(_db_upgrade_args)(cmd_db_upgrade)
command("user", "add")(_user_add_args)(cmd_user_add)
command("user", "token")(_user_token_args)(cmd_user_token)
command("runs")(_runs_args)(cmd_runs)


def _load_extra_commands() -> None:
    """Commands that live beside their domain (registry, audit, console...) register on import."""
    import importlib

    for module in ("mlops_nb.cli_governance",):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise


def build_parser() -> argparse.ArgumentParser:
    _load_extra_commands()
    parser = Parser(prog="mlops", description="MLOps from the notebook: the operator's command line.")
    parser.add_argument("--db", help="store URL (default: MLOPS_DB_URL, else $MLOPS_HOME/mlops.db)")
    groups: dict[tuple[str, ...], argparse._SubParsersAction] = {}
    top = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    groups[()] = top
    seen: set[tuple[str, ...]] = set()
    for path, handler, configure in COMMANDS:
        if tuple(path) in seen:
            continue
        seen.add(tuple(path))
        for depth in range(1, len(path)):
            prefix = tuple(path[:depth])
            if prefix not in groups:
                sub = groups[prefix[:-1]].add_parser(prefix[-1], help=f"{prefix[-1]} commands")
                groups[prefix] = sub.add_subparsers(dest=f"command_{depth}", metavar="COMMAND", parser_class=Parser)
                sub.set_defaults(_group=sub)
        doc = (handler.__doc__ or "").strip().splitlines()[0] if handler.__doc__ else ""
        leaf = groups[tuple(path[:-1])].add_parser(path[-1], help=doc, description=doc)
        leaf.add_argument("--db", default=argparse.SUPPRESS, help="store URL")
        configure(leaf)
        leaf.set_defaults(_handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "db"):
        args.db = None
    handler = getattr(args, "_handler", None)
    if handler is None:
        (getattr(args, "_group", None) or parser).print_help(sys.stderr)
        return 1
    try:
        return handler(args)
    except MlopsError as err:
        print(f"mlops: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mlops: interrupted", file=sys.stderr)
        return 1
    except Exception as err:  # an unreachable server, an unwritable path: one line, not a traceback
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(err, (OSError, SQLAlchemyError)):
            raise
        cause = getattr(err, "orig", None) or err
        detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        print(f"mlops: cannot use the store: {detail} (check --db or MLOPS_DB_URL)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
