"""`mlops scorecard`: the maturity scorecards of the store, on the terminal or as a board pack file.

    mlops scorecard                                   # every project and model, one line each
    mlops scorecard --project credit --model credit-risk
    mlops scorecard --format html --output maturity.html --snapshot
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from mlops_nb.cli.base import command, open_engine
from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.monitoring.scorecard_results import Criterion, Scorecard

FORMATS = ("text", "markdown", "html")


def text_report(cards: list[Scorecard]) -> str:
    """One line per card and model card (phase, counts, ML Test Score), then under each card's name
    the next step of each criterion that does not pass; control characters written as escapes."""
    from mlops_nb.display.scorecard_export import as_of_text, card_heading, every_card
    from mlops_nb.display.scorecards import next_steps, summary_line
    from mlops_nb.services.monitoring.monitor import one_line

    shown = list(every_card(cards))
    if not shown:
        return "no scorecards: the store has no project"
    lines = [f"scorecards as of {as_of_text(shown[0])}"] + [one_line(summary_line(c)) for c in shown]
    todo = [(c, next_steps(c)) for c in shown]
    if any(steps for _, steps in todo):
        lines.append("next steps:")
    for card, steps in todo:
        if steps:
            lines.append(one_line(f"  {card_heading(card)}:"))
            lines += [one_line(f"    {titles} ({status}): {step}") for titles, status, step in _grouped(steps)]
    return "\n".join(lines)


def _grouped(steps: list[Criterion]) -> list[tuple[str, str, str]]:
    """(titles, status, next step) with the criteria that share a status and a next step on one line,
    in phase order: a model with no production version has six criteria whose step is the same
    promotion, and six lines saying it buried the steps that differ."""
    merged: dict[tuple[str, str], list[str]] = {}
    for step in steps:
        merged.setdefault((step.status, step.next_step), []).append(step.title)
    return [("; ".join(titles), status, next_step) for (status, next_step), titles in merged.items()]


def check_output(path: str) -> Path:
    """`path` as a file --output may write: not a directory, in a folder that exists.

    Raises:
        InvalidInput: `path` is a directory, or its folder does not exist.
    """
    target = Path(path)
    if target.is_dir():
        raise InvalidInput(f"--output {path}: is a directory; give a file name, e.g. {target / 'maturity.html'}")
    if not target.parent.is_dir():
        raise InvalidInput(f"--output {path}: folder {target.parent} does not exist")
    return target


def _write(path: str, text: str) -> None:
    """Write `text` (UTF-8) to `path`, replacing a file but never a directory.

    Raises:
        InvalidInput: `path` is a directory, its folder does not exist, or it cannot be written.
    """
    target = check_output(path)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as err:
        raise InvalidInput(f"--output {path}: cannot write it ({err.strerror or err})") from err


def cmd_scorecard(args: argparse.Namespace) -> int:
    """Show maturity scorecards: every project (or --project P, or its --model M) now.

    --format text (default) prints one line per project and model card and the next steps;
    markdown and html give the board pack; --output FILE writes it there instead of printing it.
    --snapshot also stores the cards of --project (its own and every model's, also with --model) or
    of every project in their history, as `mlops monitor run` does.

    Example: mlops scorecard --format html --output maturity.html --snapshot

    Raises:
        InvalidInput: --model without --project; --output is a directory or cannot be written.
        NotFound: no store, no such project, or no such model in it.
    """
    from mlops_nb.display.scorecard_export import to_html, to_markdown
    from mlops_nb.services import tracking
    from mlops_nb.services.identity import OPERATOR_NAME
    from mlops_nb.services.monitoring import scorecards
    from mlops_nb.store.db import session_scope

    if args.model is not None and args.project is None:
        raise InvalidInput(f"--model {args.model} needs --project: model names belong to a project")
    if args.output is not None:  # before any work: a wrong path is said at once
        check_output(args.output)
    engine = open_engine(args, must_exist=True)
    now = time.time()
    project_id = None
    with session_scope(engine) as session:
        if args.project is None:
            cards = scorecards.portfolio(session=session, as_of=now)
        else:
            project_id = tracking.get_project(session=session, name=args.project).id
            assert project_id is not None  # a stored row has its id
            cards = [scorecards.scorecard(session=session, project_id=project_id, model=args.model, as_of=now)]
    title = args.title
    text = (to_markdown(cards, title=title) if args.format == "markdown" else
            to_html(cards, title=title) if args.format == "html" else text_report(cards) + "\n")
    if args.output is None:
        print(text, end="")
    else:
        _write(args.output, text)
        count = sum(1 + len(c.models) for c in cards)
        print(f"wrote {count} scorecard{'s' if count != 1 else ''} ({args.format}) to {args.output}")
    if args.snapshot:
        from mlops_nb.services.monitoring.scorecard_history import take_snapshots

        with session_scope(engine) as session:
            stored = take_snapshots(session=session, taken_by=OPERATOR_NAME, trigger="manual",
                                    project_id=project_id, as_of=now)
        print(f"stored {stored} scorecard snapshot{'s' if stored != 1 else ''}")
    return 0


def _scorecard_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", help="one project (default: every project)")
    p.add_argument("--model", help="one model of --project")
    p.add_argument("--format", choices=FORMATS, default="text", help="text (default), markdown or html")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of printing (replaces a file)")
    p.add_argument("--title", default="MLOps maturity", help="the board pack's title (markdown, html)")
    p.add_argument("--snapshot", action="store_true", help="also store the scorecards in their history")


command("scorecard")(_scorecard_args)(cmd_scorecard)
