"""What every `mlops` command shares: the one-line-error parser, the command table, and the store.

A command module registers its handlers with `@command(...)`; `mlops_nb.cli.build_parser` builds the
argparse tree from the table. Interfaces get a session from the store and everything else from
services: no command reads a table itself.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

Handler = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]
COMMANDS: list[tuple[Sequence[str], Handler, Configure]] = []


def open_engine(args: argparse.Namespace, *, migrate: bool = True, must_exist: bool = False) -> Any:
    """The engine of `--db` (else MLOPS_DB_URL, else the default store), opened as `mlops.init` opens
    it (created or migrated to head), or as it is when `migrate` is False. With `must_exist` (the
    commands that only read), a store that is not there is an error, and nothing is created: a
    mistyped `--db` must not leave a new empty store behind.

    Raises:
        NotFound: `must_exist` and no SQLite file at the URL's path, or a database without our tables.
        Conflict: the store's schema is newer than this code, or otherwise does not match.
    """
    from mlops_nb.api.connect import open_store
    from mlops_nb.config import Settings, redact_url
    from mlops_nb.services.errors import NotFound
    from mlops_nb.store.db import get_engine, normalize_url, sqlite_path
    from mlops_nb.store.migrate import current_revision

    url = normalize_url(args.db or Settings.from_env().db_url)
    if must_exist:
        path = sqlite_path(url) if url.startswith("sqlite") else None
        if path is not None and not path.exists():
            raise NotFound(f"no store at {path} (check --db or MLOPS_DB_URL; `mlops db upgrade` creates one)")
        if current_revision(get_engine(url)) is None:
            raise NotFound(f"the database at {redact_url(url)} holds no mlops store (check --db or MLOPS_DB_URL; "
                           "`mlops db upgrade` creates one)")
    return open_store(url) if migrate else get_engine(url)


class Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line and exit status 1, as every command does."""

    def error(self, message: str) -> NoReturn:
        """Print `mlops: MESSAGE (see `PROG --help`)` on stderr and exit with status 1."""
        self.exit(1, f"mlops: {message} (see `{self.prog} --help`)\n")


def command(*path: str) -> Callable[[Configure], Callable[[Handler], Handler]]:
    """Register a handler under a command path; `configure` adds its arguments.

    Example: `command("audit", "verify")(_args)(cmd_audit_verify)`.
    """
    def wrap(configure: Configure) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            COMMANDS.append((path, handler, configure))
            return handler
        return register
    return wrap
