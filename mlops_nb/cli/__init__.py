"""The `mlops` command line: the operator's tool for a store.

Every command takes `--db URL` (else MLOPS_DB_URL, else the default SQLite store). Whoever can open
the store's database runs it without further proof, as with `psql`: commands that change something
act as identity.OPERATOR and are audited as "operator (cli)". Errors are one line on stderr and exit
status 1. One module per command group: db, users, runs, audit, policy, monitor, retrain, scorecard_show
(showing and exporting scorecards), scorecards (attestations, settings, history), demo, console.

    mlops db upgrade
    mlops user add rita --role reviewer
    mlops user token rita
    mlops runs --project credit --experiment baseline --filter "metrics.auc > 0.7"
    mlops scorecard --format html --output maturity.html
    mlops demo --db sqlite:///.demo/mlops.db && mlops console --db sqlite:///.demo/mlops.db
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlops_nb.cli import audit, console, db, demo, monitor, policy, retrain, runs, scorecard_show, scorecards, users  # noqa: F401  (each registers its commands)
from mlops_nb.cli.base import COMMANDS, Handler, Parser
from mlops_nb.services.errors import MlopsError


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree of every registered command, each leaf taking `--db` too."""
    parser = Parser(prog="mlops", description="MLOps from the notebook: the operator's command line.")
    parser.add_argument("--db", help="store URL (default: MLOPS_DB_URL, else $MLOPS_HOME/mlops.db)")
    groups: dict[tuple[str, ...], argparse._SubParsersAction[Parser]] = {}
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
    """Run one `mlops` command; its exit status (0, or 1 after a one-line error on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "db"):
        args.db = None
    handler: Handler | None = getattr(args, "_handler", None)
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

        from mlops_nb.services.errors import StoreBusy
        from mlops_nb.services.store_errors import store_error

        named = store_error(err)  # a lock held past the busy timeout says so, and that a retry may do
        if isinstance(named, StoreBusy):
            print(f"mlops: {named}", file=sys.stderr)
            return 1

        if not isinstance(err, (OSError, SQLAlchemyError)):
            raise
        cause = getattr(err, "orig", None) or err
        detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        print(f"mlops: cannot use the store: {detail} (check --db or MLOPS_DB_URL)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
