"""Data subcommands: validate a DataFrame of the notebook against a logged dataset version, and measure
its drift against a reference."""
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


@subcommand(
    "drift", "drift of a DataFrame against a reference, per column at evidently's verdicts (stored with --model)",
    "%mlops drift --reference train --current applicants\n"
    "%mlops drift --reference german --current applicants --model credit-risk --exclude id\n"
    "%mlops drift --current applicants --model credit-risk",
    arg("--reference", metavar="VAR",
        help="a DataFrame variable of the notebook, or a dataset name (its newest version) when no variable has "
             "it; left out with --model: the production version's training dataset"),
    arg("--current", required=True, metavar="VAR", help="name of a pandas DataFrame in the notebook"),
    arg("--model", metavar="MODEL", help="store the report against this model's production version"),
    arg("--exclude", nargs="+", default=[], metavar="COLUMN", help="columns left out (ids, a target)"))
def _drift(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%mlops drift`: `mlops.drift_report(reference=..., current=VAR, model=..., exclude=[...])`, the
    report as the cell's output. --reference is a notebook variable, else a dataset name; without it,
    --model's production version's training dataset."""
    from IPython.core.error import UsageError

    from mlops_nb.api.drift import drift_report

    if args.reference is None and args.model is None:
        raise UsageError("%mlops drift: give --reference VAR, or --model MODEL to compare with its production "
                         "version's training data (see %mlops drift --help)")
    namespace = magics.shell.user_ns if magics.shell is not None else {}
    reference = None if args.reference is None else namespace.get(args.reference, args.reference)
    return drift_report(reference=reference, current=magics.user_variable(args.current), model=args.model,
                        exclude=args.exclude)
