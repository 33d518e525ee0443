"""Tracking subcommands: init, start, end, log param|metric, dataset, %%mlops run, runs, panel."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from mlops_nb.magics.parser import arg, metric_number, param_value, split_pairs, subcommand

if TYPE_CHECKING:
    from mlops_nb.magics import MlopsMagics


@subcommand(
    "init", "open a store, choose the project and say who you are",
    "%mlops init --project credit --user dana\n"
    "%mlops init --project credit --db postgresql://db.example/mlops --user rita --login",
    arg("--project", metavar="NAME", help="project to work in (default: MlopsMagics.default_project)"),
    arg("--db", metavar="URL", help="SQLAlchemy URL of the store (default: MlopsMagics.default_db, "
                                    "then MLOPS_DB_URL, then $MLOPS_HOME/mlops.db)"),
    arg("--user", metavar="NAME", help="who you are (default: MLOPS_USER, then your login name)"),
    arg("--login", action="store_true",
        help="ask for your password, to act with your role (promote, approve, reject, rollback)"))
def _init(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%mlops init`: `mlops.init(...)`, asking for the password with --login. A failed login (a
    wrong or empty password) leaves the current session unproven, as `mlops.init` does."""
    from mlops_nb.api.connect import init

    password = None
    if args.login:
        import getpass

        from IPython.core.error import StdinNotImplementedError

        from mlops_nb.config import Settings

        who = args.user or Settings.from_env().user
        try:
            password = getpass.getpass(f"password for {who}: ")
        except (StdinNotImplementedError, EOFError) as err:  # nbclient, papermill, a closed stdin
            raise UsageError(
                "--login cannot ask for a password here (this kernel has no input: it runs unattended); "
                "use mlops.init(user=..., password=...) or mlops.init(user=..., token=...), or set "
                "MLOPS_TOKEN before starting the kernel; nothing was changed") from err
        if not password:
            from mlops_nb.api.context import current

            previous = current()
            if previous is not None:  # a login that failed leaves no proof behind, as in mlops.init
                previous.drop_proof()
            raise UsageError("--login: no password given; the current session now acts as a declared name")
    return init(args.project or magics.default_project, db_url=args.db or magics.default_db or None,
                      user=args.user, password=password)


_TAG = arg("--tag", metavar="KEY=VALUE", action="append", default=[], help="a tag on the run (repeatable)")


_NESTED = arg("--nested", action="store_true",
              help="start it inside the active run (tag mlops.parentRunId); without it, an active run "
                   "is refused")


@subcommand(
    "start", "start a run and make it the active run (inside the active one with --nested)",
    "%mlops start --experiment baseline --name lr-1\n%mlops start --name fold-1 --nested",
    arg("--experiment", metavar="NAME", help="experiment (default: MlopsMagics.default_experiment)"),
    arg("--name", metavar="RUN", help="run name (default: a generated one)"),
    _TAG, _NESTED)
def _start(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%mlops start`: `mlops.start_run(...)`."""
    from mlops_nb.api.tracking import start_run

    return start_run(args.experiment or magics.default_experiment, name=args.name,
                     tags=split_pairs(args.tag) or None, nested=args.nested)


@subcommand(
    "end", "end the active run",
    "%mlops end\n%mlops end --status failed",
    arg("--status", default="finished", choices=("finished", "failed", "killed"),
        help="how the run ended (default: finished)"))
def _end(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%mlops end`: `mlops.end_run(status)`, then the run panel when `show_widgets` is on."""
    from mlops_nb.api.tracking import end_run

    run = end_run(args.status)
    magics.show_panel(run.id)
    return run


@subcommand(
    "log param", "log params on the active run: values are read as int, float or JSON, else text",
    "%mlops log param C=0.5 penalty=l2 layers=[64,32] cfg={\"a\": 1, \"b\": [1, 2]}",
    arg("pairs", nargs="+", metavar="KEY=VALUE"))
def _log_param(magics: MlopsMagics, args: argparse.Namespace) -> None:
    """`%mlops log param`: `mlops.log_params(...)` with each value read as Python would write it."""
    from mlops_nb.api.tracking import log_params

    log_params({k: param_value(v) for k, v in split_pairs(args.pairs).items()})


@subcommand(
    "log metric", "log metrics on the active run: numbers (nan and inf allowed), at the next step or --step",
    "%mlops log metric roc_auc=0.78 loss=0.41 --step 3",
    arg("pairs", nargs="+", metavar="KEY=VALUE"),
    arg("--step", type=int, metavar="N", help="step of every value (default: each key's next step)"))
def _log_metric(magics: MlopsMagics, args: argparse.Namespace) -> None:
    """`%mlops log metric`: `mlops.log_metrics(...)` at --step or each key's next step."""
    from mlops_nb.api.tracking import log_metrics

    metrics = {k: metric_number(k, v) for k, v in split_pairs(args.pairs).items()}
    log_metrics(metrics, step=args.step)


@subcommand(
    "dataset", "version a DataFrame of the notebook and link it to the active run",
    "%mlops dataset train_df --name german-credit --role train",
    arg("var", metavar="VAR", help="name of a pandas DataFrame in the notebook"),
    arg("--name", required=True, metavar="NAME", help="dataset name"),
    arg("--role", default="train", metavar="ROLE",
        help="train, validation, test, serving or reference (default: train)"))
def _dataset(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%mlops dataset`: `mlops.log_dataset(...)` of a DataFrame of the notebook."""
    from mlops_nb.api.tracking import log_dataset

    return log_dataset(magics.user_variable(args.var), name=args.name, role=args.role)


@subcommand(
    "run", "run the cell inside a new run: its source is kept; an error fails the run, an interrupt kills it",
    "%%mlops run --experiment baseline --name lr-1\n"
    "model.fit(X_train, y_train)\n"
    "mlops.log_metric(\"roc_auc\", roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))",
    arg("--experiment", metavar="NAME", help="experiment (default: MlopsMagics.default_experiment)"),
    arg("--name", metavar="RUN", help="run name (default: a generated one)"),
    _TAG, _NESTED,
    cell=True)
def _run(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%%mlops run`: the cell inside a new run, ended as `with mlops.start_run():` ends it (finished,
    killed by an interrupt, failed by any other error, which also fails the magic)."""
    from mlops_nb.api.cells import record_cell_source
    from mlops_nb.api.tracking import end_run_of_block, start_run
    from mlops_nb.services.tracking import ending_status

    shell: Any = magics.shell  # IPython's InteractiveShell is not annotated
    if shell is None:
        raise UsageError("%%mlops run needs an IPython shell")
    run = start_run(args.experiment or magics.default_experiment, name=args.name,
                    tags=split_pairs(args.tag) or None, nested=args.nested)
    try:
        record_cell_source(args.cell)
        result = shell.run_cell(args.cell, store_history=False)
    except BaseException as err:
        end_run_of_block(run.id, ending_status(err))
        raise
    error = result.error_before_exec or result.error_in_exec
    ended = end_run_of_block(run.id, ending_status(error))
    if error is None:
        magics.show_panel(ended.id)
        return ended
    # the cell's traceback is already shown; this line makes the cell fail, so "Run all" stops here
    raise UsageError(f"the cell raised {type(error).__name__}: {error}; "
                     f"run {ended.name!r} ({ended.id}) ended {ended.status}")


@subcommand(
    "runs", "list the project's runs, newest first, optionally filtered (MLflow search syntax)",
    "%mlops runs --experiment baseline\n"
    "%mlops runs --filter \"metrics.roc_auc > 0.75 and params.penalty = 'l2'\"",
    arg("--experiment", metavar="NAME", help="only this experiment"),
    arg("--filter", nargs="+", metavar="EXPR",
        help="e.g. \"metrics.auc > 0.7 and attributes.status = 'finished'\" (quote it)"))
def _runs(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%mlops runs`: `mlops.runs(experiment, filter=...)`, a table that displays itself."""
    from mlops_nb.api.tracking import runs

    return runs(args.experiment, filter=" ".join(args.filter) if args.filter else None)


@subcommand(
    "panel", "a live panel of a run: params, metric curves and a Refresh button",
    "%mlops panel\n%mlops panel 3f2a9c0d\n%mlops panel --embed-plotly      (offline: no CDN for plotly.js)",
    arg("run_id", nargs="?", metavar="RUN_ID", help="a run id (default: the active run)"),
    arg("--embed-plotly", action="store_true",
        help="put plotly.js in the page (~3.5 MB) instead of loading it from its CDN; for offline machines "
             "(or set %%config MlopsMagics.plotlyjs = 'embed')"))
def _panel(magics: MlopsMagics, args: argparse.Namespace) -> Any:
    """`%mlops panel`: the run panel widget of a run (default: the active one)."""
    from mlops_nb.display.widgets import run_panel

    return run_panel(args.run_id, plotlyjs="embed" if args.embed_plotly else magics.plotlyjs)
