"""`mlops user ...`: the operator manages users and their API tokens.

    mlops user add rita --role reviewer [--password-stdin | --no-password]
    mlops user list
    mlops user role rita manager            mlops user deactivate rita       mlops user activate rita
    mlops user password rita [--password-stdin]
    mlops user token rita [--expires-days 30]   (the token alone on the last line)
    mlops user tokens rita                  mlops user revoke mlops_1a2b3c4d

The CLI acts as the store's operator (identity.OPERATOR: whoever can open the database could change
it anyway, as with psql; SPEC §4), through the same guarded services as the Python API; every change
is audited with the actor "operator (cli)". Passwords are asked for or read from standard input,
never taken as an argument (cli.passwords).
"""
from __future__ import annotations

import argparse

from mlops_nb.cli.base import command, open_engine
from mlops_nb.cli.passwords import add_password_args, read_password


def cmd_user_add(args: argparse.Namespace) -> int:
    """Add a user with a role; asks for the password (or --password-stdin, --no-password).

    Example: mlops user add rita --role reviewer

    Raises:
        MlopsError: no password on standard input, no terminal to ask on, or the two entries differ.
        InvalidInput: a bad or reserved name, or a password shorter than 8 characters.
        Conflict: the user exists.
    """
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    password = read_password(args, args.name)
    with session_scope(open_engine(args)) as session:
        user = identity.add_user(session=session, actor=identity.OPERATOR, name=args.name, role=args.role,
                                 password=password)
    print(f"added user {user.name} ({user.role})")  # the name as stored (NFKC)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    """List the users: role, active, password set, usable tokens, when added.

    Example: mlops user list
    """
    from mlops_nb.display import present
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        table = identity.list_users(session=session, actor=identity.OPERATOR)
    print(repr(present(table)))
    return 0


def cmd_user_role(args: argparse.Namespace) -> int:
    """Give a user another role.

    Example: mlops user role rita manager

    Raises:
        NotFound: no such user.
        Conflict: the user has that role already.
    """
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args)) as session:
        before = identity.get_user(session=session, name=args.name).role
        user = identity.set_role(session=session, actor=identity.OPERATOR, name=args.name, role=args.role)
    print(f"user {user.name}: role {before} -> {user.role}")
    return 0


def cmd_user_deactivate(args: argparse.Namespace) -> int:
    """Deactivate a user: their password and tokens are refused until reactivated.

    Example: mlops user deactivate rita

    Raises:
        NotFound: no such user.
        Conflict: the user is deactivated already.
    """
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args)) as session:
        identity.deactivate_user(session=session, actor=identity.OPERATOR, name=args.name)
    print(f"deactivated user {args.name}; `mlops user activate {args.name}` undoes it")
    return 0


def cmd_user_activate(args: argparse.Namespace) -> int:
    """Reactivate a deactivated user.

    Example: mlops user activate rita

    Raises:
        NotFound: no such user.
        Conflict: the user is active already.
    """
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args)) as session:
        identity.activate_user(session=session, actor=identity.OPERATOR, name=args.name)
    print(f"activated user {args.name}")
    return 0


def cmd_user_password(args: argparse.Namespace) -> int:
    """Set a user's password; asks for it (or --password-stdin).

    Example: mlops user password rita

    Raises:
        MlopsError: no password on standard input, no terminal to ask on, or the two entries differ.
        InvalidInput: a password shorter than 8 characters.
        NotFound: no such user.
    """
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    password = read_password(args, args.name)
    assert password is not None  # `user password` has no --no-password
    with session_scope(open_engine(args)) as session:
        identity.set_password(session=session, actor=identity.OPERATOR, name=args.name, password=password)
    print(f"password of {args.name} set")
    return 0


def cmd_user_token(args: argparse.Namespace) -> int:
    """Print a new API token for NAME, alone on the last line (stored hashed: shown once).

    Example: mlops user token rita --expires-days 30

    Raises:
        InvalidInput: --expires-days is not from 1 to 3650.
        NotFound: no such user.
    """
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args)) as session:
        token = identity.issue_token(session=session, actor=identity.OPERATOR, name=args.name,
                                     expires_days=args.expires_days)
    print(f"# API token for {args.name}, valid for {args.expires_days} days; it is shown only now. "
          "Use: MLOPS_TOKEN=<token> or mlops.init(token=...)")
    print(token)
    return 0


def cmd_user_tokens(args: argparse.Namespace) -> int:
    """List a user's API tokens: prefix, status (active, expired, revoked), issued, expires.

    Example: mlops user tokens rita

    Raises:
        NotFound: no such user.
    """
    from mlops_nb.display import present
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args, must_exist=True)) as session:
        table = identity.list_tokens(session=session, actor=identity.OPERATOR, name=args.name)
    print(repr(present(table)))
    return 0


def cmd_user_revoke(args: argparse.Namespace) -> int:
    """Revoke an API token by its prefix (as `mlops user tokens NAME` lists it).

    Example: mlops user revoke mlops_1a2b3c4d

    Raises:
        InvalidInput: not a token prefix.
        NotFound: no token has that prefix.
        Conflict: the token is revoked already.
    """
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope

    with session_scope(open_engine(args)) as session:
        token = identity.revoke_token(session=session, actor=identity.OPERATOR, prefix=args.prefix)
    print(f"revoked API token mlops_{token.prefix}_… of {token.user}")
    return 0


def _roles() -> tuple[str, ...]:
    from mlops_nb.services.identity import ROLES

    return ROLES


def _user_add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=_roles())
    add_password_args(p, optional=True)


def _name_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")


def _user_role_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("role", choices=_roles())


def _user_password_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    add_password_args(p, optional=False)


def _user_token_args(p: argparse.ArgumentParser) -> None:
    from mlops_nb.services.identity import MAX_TOKEN_DAYS, TOKEN_DAYS

    p.add_argument("name")
    p.add_argument("--expires-days", type=int, default=TOKEN_DAYS, metavar="N",
                   help=f"days the token is valid (1 to {MAX_TOKEN_DAYS}; default {TOKEN_DAYS})")


def _user_revoke_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("prefix", help="the token's prefix: 1a2b3c4d or mlops_1a2b3c4d")


def _no_args(p: argparse.ArgumentParser) -> None:
    """`user list` takes only --db."""


command("user", "add")(_user_add_args)(cmd_user_add)
command("user", "list")(_no_args)(cmd_user_list)
command("user", "role")(_user_role_args)(cmd_user_role)
command("user", "deactivate")(_name_args)(cmd_user_deactivate)
command("user", "activate")(_name_args)(cmd_user_activate)
command("user", "password")(_user_password_args)(cmd_user_password)
command("user", "token")(_user_token_args)(cmd_user_token)
command("user", "tokens")(_name_args)(cmd_user_tokens)
command("user", "revoke")(_user_revoke_args)(cmd_user_revoke)
