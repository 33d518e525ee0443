"""The `%mlops` parser: argparse that raises UsageError instead of exiting, and the subcommand table.

Subcommands live in one table, `SUBCOMMANDS`, filled by the `@subcommand` decorator: to add one,
write a handler `(magics, args) -> result` and decorate it with its summary, an example and its
arguments; the parser, `--help`, `%mlops?` and the error handling follow. A two-word name
("log metric") becomes a nested subcommand.
"""
from __future__ import annotations

import argparse
import json
import shlex
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


# --- reading a line: words as a shell splits them, but KEY=VALUE values kept as typed ---------------

_QUOTES = "'\""
_OPEN = {"[": "]", "{": "}"}
_QUOTING_HINT = ("quote a value with spaces whole, e.g. cfg='{\"a\": 1, \"b\": [1, 2]}' or "
                 "name=\"two words\"")


def _is_pair(word: str) -> bool:
    """A KEY=VALUE word: a bare key (no quote, bracket or leading dash) before its first `=`."""
    key, sep, _ = word.partition("=")
    return bool(sep and key) and not key.startswith("-") and not any(c in key for c in "'\"[]{} \\")


def _pair_value(value: str) -> str:
    """A KEY=VALUE value: when it is one quoted string, its text (quotes removed as a shell would);
    else exactly as typed (quotes and brackets kept, so `{"a": 1}` stays JSON)."""
    if len(value) >= 2 and value[0] in _QUOTES:
        try:
            words = shlex.split(value)
        except ValueError:
            return value
        if len(words) == 1 and _closing_quote(value, 0) == len(value) - 1:
            return words[0]
    return value


def _closing_quote(text: str, start: int) -> int:
    """Where the quote opened at `text[start]` closes (a backslash escapes inside double quotes), or -1."""
    quote, i = text[start], start + 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1


def split_line(line: str) -> list[str]:
    """The words of a magic line.

    Words are split at spaces as a shell splits them (quotes group and are removed:
    `--filter "metrics.auc > 0.7"` is two words), except the value of a KEY=VALUE word, which is
    kept as typed: quotes inside it stay, and spaces inside its quotes or brackets do not split it,
    so `cfg={"a": 1, "b": [1, 2]}` is one word and its value is that JSON. A value that is one
    quoted string (`cfg='{"a": 1}'`, `name="two words"`) loses its outer quotes.

    >>> split_line('log param cfg={"a": 1, "b": [1, 2]} penalty=l2 --tag "team=risk"')
    ['log', 'param', 'cfg={"a": 1, "b": [1, 2]}', 'penalty=l2', '--tag', 'team=risk']

    Raises:
        UsageError: an unclosed quote or bracket (the message says how to quote).
    """
    words: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        start, closers = i, list[str]()
        pair = _is_pair(line[i:].split(None, 1)[0])
        while i < n and (closers or not line[i].isspace()):
            char = line[i]
            if char == "\\" and i + 1 < n:
                i += 2
                continue
            if char in _QUOTES:
                end = _closing_quote(line, i)
                if end < 0:
                    raise UsageError(f"{PROG}: cannot read the line: unclosed {char} in {line[start:].strip()!r}; {_QUOTING_HINT}")
                i = end + 1
                continue
            if pair and char in _OPEN:
                closers.append(_OPEN[char])
            elif pair and closers and char == closers[-1]:
                closers.pop()
            i += 1
        if closers:
            raise UsageError(f"{PROG}: cannot read the line: {''.join(reversed(closers))!r} is missing at the end of "
                             f"{line[start:].strip()!r}; {_QUOTING_HINT}")
        word = line[start:i]
        if pair:
            key, _, value = word.partition("=")
            words.append(f"{key}={_pair_value(value)}")
        else:
            try:
                words.extend(shlex.split(word))
            except ValueError as err:
                raise UsageError(f"{PROG}: cannot read the line: {word!r} ({err}); {_QUOTING_HINT}") from err
    return words


def expand_variables(line: str, namespace: dict[str, Any]) -> str:
    """`$name` and `$name.attr` replaced by the value of that notebook variable, as IPython does for
    other magics; `$$` is a literal `$`, and a `$` inside single quotes stays. `{expr}` is NOT
    expanded (IPython's other form), because braces are JSON in `cfg={"a": 1}`.

    >>> expand_variables("approve $request.id", {"request": request})      # 'approve 17'

    Raises:
        UsageError: `$name` names no variable of the notebook, or an attribute it lacks.
    """
    if "$" not in line:
        return line
    from IPython.utils.text import DollarFormatter

    escaped = line.replace("{", "{{").replace("}", "}}")  # braces are text here, only $ expands
    try:
        return str(DollarFormatter().vformat(escaped, [], namespace))
    except Exception as err:  # noqa: BLE001 - evaluating `$a.b` may raise anything; the line is refused
        raise UsageError(f"{PROG}: cannot expand a $variable in the line ({type(err).__name__}: {err}); "
                         "define it first, or write $$ for a literal $") from err


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
