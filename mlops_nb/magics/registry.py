"""Registry and promotion subcommands: register, promote, models, requests, approve, reject, cancel,
rollback, registry (the panel)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mlops_nb.magics.parser import arg, subcommand

if TYPE_CHECKING:
    from mlops_nb.magics import MlopsMagics


def _text(words: list[str] | None) -> str:
    """`--reason beats v1 on AUC` or `--reason "beats v1 on AUC"`: the words as one text ("" when absent)."""
    return " ".join(words) if words is not None else ""


@subcommand(
    "register", "register a fitted model of the notebook as the next version of MODEL (needs an active run)",
    "%mlops register model --name credit-risk --dataset german-credit --target creditability",
    arg("var", metavar="VAR", help="name of a fitted scikit-learn estimator or pipeline in the notebook"),
    arg("--name", required=True, metavar="MODEL", help="registered model name"),
    arg("--dataset", metavar="NAME", help="training dataset (default: the run's training dataset)"),
    arg("--target", metavar="COL", help="target column, left out of the input signature"))
def _register(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    model = magics.user_variable(args.var)
    return mlops.register_model(model, name=args.name, dataset=args.dataset, target=args.target)


@subcommand(
    "promote", "ask for a model version to enter staging or production; the gates run now",
    "%mlops promote credit-risk --version 3 --to staging --reason \"beats v2 on AUC\"",
    arg("model", metavar="MODEL", help="registered model name"),
    arg("--version", required=True, type=int, metavar="N", help="version number"),
    arg("--to", required=True, choices=("staging", "production"), help="target stage"),
    arg("--reason", required=True, nargs="+", metavar="TEXT", help="why (quote it, or the rest of the line)"))
def _promote(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.request_promotion(args.model, version=args.version, to=args.to, reason=_text(args.reason))


@subcommand(
    "models", "list registered models, or the versions of one",
    "%mlops models\n%mlops models credit-risk",
    arg("model", nargs="?", metavar="MODEL", help="one model's versions (default: all models)"))
def _models(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.models(args.model)


@subcommand(
    "requests", "list promotion requests, newest first",
    "%mlops requests --status pending\n%mlops requests credit-risk",
    arg("model", nargs="?", metavar="MODEL", help="one model's requests (default: all)"),
    arg("--status", metavar="STATUS",
        help="pending, approved, rejected, cancelled or superseded (default: all)"))
def _requests(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.requests(args.model, status=args.status)


@subcommand(
    "approve", "approve a pending request (needs --login; never your own)",
    "%mlops approve 12 --comment \"validated on the Q3 holdout\"",
    arg("request_id", type=int, metavar="ID", help="promotion request id (see %%mlops requests)"),
    arg("--comment", nargs="+", metavar="TEXT", help="a note kept with the approval"))
def _approve(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.approve(args.request_id, comment=_text(args.comment))


@subcommand(
    "reject", "reject a pending request, saying why (needs --login)",
    "%mlops reject 12 --comment \"AUC on the 2024 cohort is below production\"",
    arg("request_id", type=int, metavar="ID", help="promotion request id (see %%mlops requests)"),
    arg("--comment", required=True, nargs="+", metavar="TEXT", help="why (required)"))
def _reject(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.reject(args.request_id, comment=_text(args.comment))


@subcommand(
    "cancel", "withdraw a pending request (your own, or any as a proven ml_engineer or admin)",
    "%mlops cancel 12 --reason \"retraining with more data\"",
    arg("request_id", type=int, metavar="ID", help="promotion request id (see %%mlops requests)"),
    arg("--reason", nargs="+", metavar="TEXT", help="why"))
def _cancel(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.cancel(args.request_id, reason=_text(args.reason))


@subcommand(
    "rollback", "return production to the version that held it before (needs --login)",
    "%mlops rollback credit-risk --reason \"default rate doubled since Monday\"",
    arg("model", metavar="MODEL", help="registered model name"),
    arg("--reason", required=True, nargs="+", metavar="TEXT", help="why (required)"))
def _rollback(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.rollback(args.model, reason=_text(args.reason))


@subcommand(
    "registry", "a registry panel: pick a version, see its lineage and gates, request promotion",
    "%mlops registry\n%mlops registry credit-risk",
    arg("model", nargs="?", metavar="MODEL", help="model shown first (default: the first one)"))
def _registry(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    from mlops_nb.display.widgets import registry_panel

    return registry_panel(args.model)


@subcommand(
    "audit", "the audit trail, newest first, with the hash chain verified",
    "%mlops audit\n%mlops audit --entity model_version --id credit-risk:3\n%mlops audit --action promotion.decide",
    arg("--entity", metavar="KIND", help="model_version, promotion_request, policy, user, ..."),
    arg("--id", dest="entity_id", metavar="ID", help="one entity, e.g. credit-risk:3 or a request id"),
    arg("--action", metavar="ACTION", help="e.g. model.register, promotion.request, promotion.decide"),
    arg("--limit", type=int, default=50, metavar="N", help="how many events (default 50)"))
def _audit(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.audit_trail(entity=args.entity, entity_id=args.entity_id, action=args.action, limit=args.limit)
