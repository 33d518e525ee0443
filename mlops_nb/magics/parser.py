"""The `%mlops` parser: argparse that raises UsageError instead of exiting, and the subcommand table.

Subcommands live in one table, `SUBCOMMANDS`, filled by the `@subcommand` decorator: to add one,
write a handler `(magics, args) -> result` and decorate it with its summary, an example and its
arguments; the parser, `--help`, `%mlops?` and the error handling follow. A two-word name
("log metric") becomes a nested subcommand.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from mlops_nb.magics import MlopsMagics

PROG = "%mlops"


# --- the parser: argparse that reports instead of exiting ------------------------------------------

class _HelpShown(Exception):
    """`--help` was printed; the magic returns None instead of exiting the kernel."""


class MagicArgumentParser(argparse.ArgumentParser):
    """argparse for magics: a bad line is a one-line `UsageError`, `--help` prints and returns.

    Raises:
        UsageError: from `parse_args` and friends, for any line argparse would refuse.
    """

    def error(self, message: str) -> NoReturn:
        """Raise UsageError with the message and where to get help (argparse would exit)."""
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """Raise UsageError for a failure, or _HelpShown after printing help (argparse would exit)."""
        if status:
            raise UsageError(f"{self.prog}: {(message or 'invalid arguments').strip()}")
        if message:
            self._print_message(message)
        raise _HelpShown


@dataclass(frozen=True)
class Arg:
    """One `add_argument` call, kept as data so subcommands can be declared in a table."""

    names: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


def arg(*names: str, **options: Any) -> Arg:
    """One argument of a subcommand, as `add_argument(*names, **options)` takes it, e.g. `arg("--step", type=int)`."""
    return Arg(names, options)


# a subcommand's handler: (the magics object, the parsed line) -> what the magic returns
Handler = Callable[["MlopsMagics", argparse.Namespace], Any]


@dataclass(frozen=True)
class Subcommand:
    """One row of the subcommand table: its name, help texts, arguments and handler."""

    name: str                      # "init", or "log metric" for a nested one
    summary: str                   # one line, shown in the index
    example: str                   # shown under --help; may hold several lines
    args: tuple[Arg, ...]
    handler: Handler
    cell: bool = False             # True: only as `%%mlops NAME`; the body arrives as `args.cell`


SUBCOMMANDS: dict[str, Subcommand] = {}
GROUP_SUMMARIES = {"log": "log params or metrics on the active run: log param ..., log metric ..."}


def subcommand(name: str, summary: str, example: str, *args: Arg, cell: bool = False) -> Callable[[Handler], Handler]:
    """A decorator registering its handler under `name` (see the module docstring).

    Example: `@subcommand("end", "end the active run", "%mlops end", arg("--status"))`.
    """

    def register(handler: Handler) -> Handler:
        SUBCOMMANDS[name] = Subcommand(name, summary, example, args, handler, cell)
        return handler

    return register


def _epilog(example: str) -> str:
    return "example:\n" + "\n".join(f"  {line}" for line in example.strip().splitlines())


def build_parser() -> MagicArgumentParser:
    """The `%mlops` parser, built from SUBCOMMANDS (cheap: no imports, a few dozen objects)."""
    raw = argparse.RawDescriptionHelpFormatter
    index = "\n".join(f"  {s.example.strip().splitlines()[0]}" for s in SUBCOMMANDS.values())
    parser = MagicArgumentParser(
        prog=PROG, formatter_class=raw,
        description="Track runs, datasets and models from the notebook. Every subcommand has --help.",
        epilog="examples:\n" + index + "\n\nsettings: %config MlopsMagics (default_project, "
               "default_experiment, default_db, show_widgets, record_cells)")
    commands = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", title="subcommands", required=True)
    groups: dict[str, argparse._SubParsersAction[MagicArgumentParser]] = {}
    for sub in SUBCOMMANDS.values():
        words = sub.name.split()
        target = commands
        if len(words) == 2:
            group = words[0]
            if group not in groups:
                members = [s for s in SUBCOMMANDS.values() if s.name.split()[0] == group]
                summary = GROUP_SUMMARIES.get(group) or "; ".join(s.summary for s in members)
                group_parser = commands.add_parser(
                    group, help=summary, description=summary, formatter_class=raw,
                    epilog=_epilog("\n".join(s.example for s in members)))
                groups[group] = group_parser.add_subparsers(dest="kind", metavar="KIND", required=True,
                                                            title="kinds")
            target = groups[group]
        prefix = "%%mlops" if sub.cell else PROG
        parser_for = target.add_parser(words[-1], help=sub.summary, description=sub.summary,
                                       epilog=_epilog(sub.example), formatter_class=raw,
                                       prog=f"{prefix} {sub.name}")
        for a in sub.args:
            parser_for.add_argument(*a.names, **a.options)
        parser_for.set_defaults(_subcommand=sub.name)
    return parser


def usage() -> str:
    """The text `%mlops?` and `%mlops --help` show."""
    return build_parser().format_help()


# --- values on the command line --------------------------------------------------------------------

def split_pairs(pairs: list[str]) -> dict[str, str]:
    """`["C=0.5", "penalty=l2"]` -> {"C": "0.5", "penalty": "l2"}.

    Raises:
        UsageError: a pair without `=` or with an empty key, or a key given twice.
    """
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"expected KEY=VALUE, got {pair!r}")
        key = key.strip()
        if key in result:
            raise UsageError(f"{key!r} is given twice")
        result[key] = value
    return result


def param_value(text: str) -> Any:
    """A param read the way Python would write it: int, float, JSON (list, dict, true, null), else text.

    So `%mlops log param C=0.5` stores what `mlops.log_param("C", 0.5)` stores, and the two never
    conflict.
    """
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text[:1] in "[{" or text in ("true", "false", "null"):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def metric_number(key: str, text: str) -> float:
    """A metric value: any float literal, including nan, inf and -inf.

    Raises:
        UsageError: `text` is not a number.
    """
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"metric {key!r} needs a number, got {text!r}") from None
    return value
