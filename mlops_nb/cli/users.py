"""`mlops user add` and `mlops user token`: the operator manages who may prove who they are."""
from __future__ import annotations

import argparse
import getpass
import sys

from mlops_nb.cli.base import CLI_ACTOR, command, open_engine
from mlops_nb.services.errors import MlopsError


def cmd_user_add(args: argparse.Namespace) -> int:
    """Add a user with a role; asks for the password when --password is not given.

    Audited as the operator (`cli`).

    Example: mlops user add rita --role reviewer

    Raises:
        MlopsError: no terminal to ask for the password on, or the two entries differ.
        InvalidInput: a bad name or role, or a password shorter than 8 characters.
        Conflict: the user exists.
    """
    from mlops_nb.services import governance, identity
    from mlops_nb.store.db import session_scope

    password = args.password
    if password is None and not args.no_password:
        if not sys.stdin.isatty():
            raise MlopsError("no --password given and no terminal to ask on; pass --password or --no-password")
        password = getpass.getpass(f"Password for {args.name}: ")
        if password != getpass.getpass("Repeat: "):
            raise MlopsError("the passwords differ; nothing was changed")
    with session_scope(open_engine(args)) as session:
        user = identity.add_user(session=session, name=args.name, role=args.role, password=password)
        governance.record(session=session, actor=CLI_ACTOR, action="user.add", entity="user", entity_id=user.name,
                           after={"name": user.name, "role": user.role})
    print(f"added user {user.name} ({user.role})")  # the name as stored (NFKC)
    return 0


def cmd_user_token(args: argparse.Namespace) -> int:
    """Print a new API token for NAME, alone on the last line (stored hashed: shown once).

    Audited as the operator (`cli`).

    Example: mlops user token rita

    Raises:
        NotFound: no such user.
    """
    from mlops_nb.services import governance, identity
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args)) as session:
        token = identity.issue_token(session=session, name=args.name)
        governance.record(session=session, actor=CLI_ACTOR, action="user.token", entity="user", entity_id=args.name)
    print(f"# API token for {args.name}; it is shown only now. Use: MLOPS_TOKEN=<token> or mlops.init(token=...)")
    print(token)
    return 0


def _user_add_args(p: argparse.ArgumentParser) -> None:
    from mlops_nb.services.identity import ROLES

    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--password", help="the password (asked for when omitted)")
    p.add_argument("--no-password", action="store_true", help="create the user without a password")


def _user_token_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")


command("user", "add")(_user_add_args)(cmd_user_add)
command("user", "token")(_user_token_args)(cmd_user_token)
