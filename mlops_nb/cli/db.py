"""`mlops db upgrade`: migrate a store to the current schema."""
from __future__ import annotations

import argparse

from mlops_nb.cli.base import command, open_engine


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Migrate the store to the current schema (creating it when new, with its audit key: the path is
    printed; writers and `mlops audit verify` need that file, see docs/governance.md).

    Example: `mlops db upgrade --db postgresql://db.example/mlops` (or `--revision 0001` to stop there).
    """
    from mlops_nb.store.audit_key import key_path
    from mlops_nb.store.migrate import HEAD, current_revision, upgrade

    engine = open_engine(args, migrate=False)
    before = current_revision(engine)
    upgrade(engine, args.revision)
    after = current_revision(engine)
    print(f"store at revision {after} (was {before or 'empty'}); head is {HEAD}")
    path = key_path(engine.url)
    if path.exists():
        print(f"audit key: {path} (keep it readable by its owner only, and back it up apart from the database)")
    return 0


def _db_upgrade_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--revision", default="head", help="target revision (default: head)")


command("db", "upgrade")(_db_upgrade_args)(cmd_db_upgrade)
