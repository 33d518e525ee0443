"""`mlops audit verify` and `mlops audit log`: check the audit chain and read the newest events.

    mlops audit verify                  "audit chain intact: N events", or exit 1 naming the first broken event
                                        (or the missing head row, or the emptied trail); needs the audit key
    mlops audit log [--entity E] [--id ID] [--action A] [--limit N]   the newest events
"""
from __future__ import annotations

import argparse
import sys

from mlops_nb.cli.base import command, open_engine
from mlops_nb.services.errors import IntegrityFailure, InvalidInput


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Recompute the audit chain with the store's audit key; exit 1 naming the first broken event, or
    what else is broken (a missing or changed head row, an emptied trail). Events from before the
    keyed chain (a store upgraded from an unkeyed release) are checked with sha256 and a warning is
    printed on stderr.

    Example: mlops audit verify --db postgresql://mlops@db/mlops

    Raises:
        IntegrityFailure: the chain is broken, or the key file is unusable (main prints the message
            and exits with status 1).
        NotFound: no audit key where it is looked for (MLOPS_AUDIT_KEY_FILE, else beside a SQLite file,
            else MLOPS_HOME/audit-keys/); the message names the path.
    """
    from mlops_nb.services import governance
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        result = governance.verify(session=session)
        head = governance.head_hash(session=session) if args.head else None
    if not result.ok:
        raise IntegrityFailure(str(result))
    print(str(result))
    if result.warning:
        print(result.warning, file=sys.stderr)
    if head is not None:
        print(f"head hash: {head}")
    return 0


def _audit_verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--head", action="store_true",
                   help="also print the newest event's hash (keep it outside the store to detect a rewritten chain)")


def cmd_audit_log(args: argparse.Namespace) -> int:
    """Print the newest audit events (optionally one entity's or one action's), chain verified.

    Example: mlops audit log --entity model_version --id credit-risk:3 --limit 20

    Raises:
        InvalidInput: --limit below 1.
    """
    from mlops_nb.display import present
    from mlops_nb.services import governance
    from mlops_nb.store.db import session_scope

    if args.limit < 1:  # named as the flag; the service's own check would name `limit`
        raise InvalidInput(f"--limit must be at least 1, got {args.limit}")
    with session_scope(open_engine(args, must_exist=True)) as session:
        table = governance.trail(session=session, entity=args.entity, entity_id=args.entity_id, action=args.action,
                                 limit=args.limit)
    print(repr(present(table)))
    return 0


def _audit_log_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--entity", help="model_version, promotion_request, policy, user, ...")
    p.add_argument("--id", dest="entity_id", help="one entity, e.g. credit-risk:3")
    p.add_argument("--action", help="e.g. promotion.decide")
    p.add_argument("--limit", type=int, default=50, help="how many events (default 50)")


command("audit", "verify")(_audit_verify_args)(cmd_audit_verify)
command("audit", "log")(_audit_log_args)(cmd_audit_log)
