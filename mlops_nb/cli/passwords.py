"""How the CLI takes a password: from a prompt, or one line of standard input; never from argv.

A password given as a command-line argument shows in `ps`, in /proc/PID/cmdline and in the shell
history (SPEC §4), so `--password VALUE` is refused with what to do instead, before anything runs
and without repeating the value:

    mlops user add rita --role reviewer                           # asks twice, on the terminal
    printf '%s\n' "$RITA_PW" | mlops user add rita --role reviewer --password-stdin
"""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import Any

from mlops_nb.services.errors import MlopsError

REFUSED = ("--password is not accepted: a password on the command line shows in `ps` and the shell history; "
           "pipe it with --password-stdin (one line), or leave both out to be asked on the terminal")


class _RefusePassword(argparse.Action):
    """`--password [VALUE]`: a usage error naming the safe ways; the value is never echoed."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        parser.error(REFUSED)


def add_password_args(p: argparse.ArgumentParser, *, optional: bool) -> None:
    """`--password-stdin`, `--no-password` when the password is `optional`, and the refused `--password`
    (declared so that argparse does not read it as an abbreviation of --password-stdin)."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of standard input (for scripts)")
    if optional:
        group.add_argument("--no-password", action="store_true",
                           help="no password: the user proves who they are with a token (`mlops user token`)")
    p.add_argument("--password", nargs="?", action=_RefusePassword, help=argparse.SUPPRESS)


def read_password(args: argparse.Namespace, name: str) -> str | None:
    """The password the command was given: None with --no-password, the first line of standard input
    with --password-stdin, else asked twice on the terminal.

    Raises:
        MlopsError: standard input was empty, there is no terminal to ask on, or the two entries differ.
    """
    if getattr(args, "no_password", False):
        return None
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise MlopsError("--password-stdin read no password (standard input was empty); nothing was changed")
        return line
    if not sys.stdin.isatty():
        others = ", or --no-password" if hasattr(args, "no_password") else ""
        raise MlopsError("no terminal to ask for the password on; pipe it with --password-stdin" + others)
    password = getpass.getpass(f"Password for {name}: ")
    if password != getpass.getpass("Repeat: "):
        raise MlopsError("the passwords differ; nothing was changed")
    return password
