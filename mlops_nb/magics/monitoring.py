"""Monitoring subcommands: the maturity scorecard of the project or of one model."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mlops_nb.magics.parser import arg, subcommand

if TYPE_CHECKING:
    from mlops_nb.magics import MlopsMagics


@subcommand(
    "scorecard", "the maturity scorecard (three phases, ML Test Score) of the project or of one model",
    "%mlops scorecard\n%mlops scorecard --model credit-risk\n%mlops scorecard --project fraud",
    arg("--model", metavar="MODEL", help="one registered model's card instead of the project's"),
    arg("--project", metavar="PROJECT", help="another project of the store, by name (default: the current one)"))
def _scorecard(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%mlops scorecard`: `mlops.scorecard(project=..., model=...)`, the card as the cell's output."""
    from mlops_nb.api.scorecards import scorecard

    return scorecard(project=args.project, model=args.model)
