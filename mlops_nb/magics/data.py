"""Data subcommands: validate a DataFrame of the notebook against a logged dataset version."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mlops_nb.magics.parser import arg, subcommand

if TYPE_CHECKING:
    from mlops_nb.magics import MlopsMagics


@subcommand(
    "validate", "check a DataFrame of the notebook against a logged dataset (schema, categories, ranges, nulls)",
    "%mlops validate batch --against german\n%mlops validate batch --against german:2 --exclude creditability",
    arg("var", metavar="VAR", help="name of a pandas DataFrame in the notebook"),
    arg("--against", required=True, metavar="NAME",
        help="dataset name (its newest version), or NAME:VERSION for another version"),
    arg("--exclude", nargs="+", default=[], metavar="COLUMN",
        help="contract columns the frame need not hold (a scoring batch has no target column)"))
def _validate(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%mlops validate`: `mlops.validate(VAR, against=NAME, exclude=[...])`, the report as the cell's output."""
    from mlops_nb.api.data import validate

    return validate(magics.user_variable(args.var), against=args.against, exclude=args.exclude)
