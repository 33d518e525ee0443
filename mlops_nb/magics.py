"""The `%mlops` line and `%%mlops` cell magics: the notebook's front end to the Python API.

    %load_ext mlops_nb
    %mlops init --project credit --user dana
    %mlops start --experiment baseline --name lr-1
    %mlops log param C=0.5 penalty=l2
    %mlops log metric roc_auc=0.78
    %mlops end
    %mlops register model --name credit-risk --target creditability   (inside a run)
    %mlops promote credit-risk --version 1 --to staging --reason "beats the baseline"

Magics are thin (STYLE.md habit 6): parse the line, call `mlops_nb`'s API, return its result object.
Subcommands live in one table, `SUBCOMMANDS`, filled by the `@subcommand` decorator: to add one,
write a handler `(magics, args) -> result` and decorate it with its summary, an example and its
arguments; the parser, `--help`, `%mlops?` and the error handling follow. A two-word name
("log metric") becomes a nested subcommand. The API, pandas and SQLAlchemy are imported inside the
handlers, so `%load_ext mlops_nb` stays fast.
"""
from __future__ import annotations

import argparse
import json
import shlex
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Unicode

from mlops_nb.services.errors import MlopsError

PROG = "%mlops"


# --- the parser: argparse that reports instead of exiting ------------------------------------------

class _HelpShown(Exception):
    """`--help` was printed; the magic returns None instead of exiting the kernel."""


class MagicArgumentParser(argparse.ArgumentParser):
    """argparse for magics: a bad line is a one-line `UsageError`, `--help` prints and returns."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
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
    return Arg(names, options)


@dataclass(frozen=True)
class Subcommand:
    name: str                      # "init", or "log metric" for a nested one
    summary: str                   # one line, shown in the index
    example: str                   # shown under --help; may hold several lines
    args: tuple[Arg, ...]
    handler: Callable[["MlopsMagics", argparse.Namespace], Any]
    cell: bool = False             # True: only as `%%mlops NAME`; the body arrives as `args.cell`


SUBCOMMANDS: dict[str, Subcommand] = {}
GROUP_SUMMARIES = {"log": "log params or metrics on the active run: log param ..., log metric ..."}


def subcommand(name: str, summary: str, example: str, *args: Arg, cell: bool = False):
    """Register a handler under `name` (see the module docstring)."""

    def register(handler: Callable[["MlopsMagics", argparse.Namespace], Any]):
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
    groups: dict[str, argparse._SubParsersAction] = {}
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
    """`["C=0.5", "penalty=l2"]` -> {"C": "0.5", "penalty": "l2"}; a malformed or repeated key is refused."""
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
    """A metric value: any float literal, including nan, inf and -inf."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"metric {key!r} needs a number, got {text!r}") from None
    return value


# --- subcommands -----------------------------------------------------------------------------------

@subcommand(
    "init", "open a store, choose the project and say who you are",
    "%mlops init --project credit --user dana\n"
    "%mlops init --project credit --db postgresql://db.example/mlops --user rita --login",
    arg("--project", metavar="NAME", help="project to work in (default: MlopsMagics.default_project)"),
    arg("--db", metavar="URL", help="SQLAlchemy URL of the store (default: MlopsMagics.default_db, "
                                    "then MLOPS_DB_URL, then $MLOPS_HOME/mlops.db)"),
    arg("--user", metavar="NAME", help="who you are (default: MLOPS_USER, then your login name)"),
    arg("--login", action="store_true",
        help="ask for your password, to act with your role (approve, reject, rollback)"))
def _init(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    password = None
    if args.login:
        import getpass

        from mlops_nb.config import Settings

        who = args.user or Settings.from_env().user
        password = getpass.getpass(f"password for {who}: ")
        if not password:
            raise UsageError("--login: no password given")
    return mlops.init(args.project or magics.default_project, db_url=args.db or magics.default_db or None,
                      user=args.user, password=password)


_TAG = arg("--tag", metavar="KEY=VALUE", action="append", default=[], help="a tag on the run (repeatable)")


@subcommand(
    "start", "start a run (ending the active one) and make it the active run",
    "%mlops start --experiment baseline --name lr-1",
    arg("--experiment", metavar="NAME", help="experiment (default: MlopsMagics.default_experiment)"),
    arg("--name", metavar="RUN", help="run name (default: a generated one)"),
    _TAG)
def _start(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.start_run(args.experiment or magics.default_experiment, name=args.name,
                           tags=split_pairs(args.tag) or None)


@subcommand(
    "end", "end the active run",
    "%mlops end\n%mlops end --status failed",
    arg("--status", default="finished", choices=("finished", "failed", "killed"),
        help="how the run ended (default: finished)"))
def _end(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    run = mlops.end_run(args.status)
    magics.show_panel(run.id)
    return run


@subcommand(
    "log param", "log params on the active run: values are read as int, float or JSON, else text",
    "%mlops log param C=0.5 penalty=l2 layers=[64,32]",
    arg("pairs", nargs="+", metavar="KEY=VALUE"))
def _log_param(magics: "MlopsMagics", args: argparse.Namespace) -> None:
    import mlops_nb as mlops

    mlops.log_params({k: param_value(v) for k, v in split_pairs(args.pairs).items()})


@subcommand(
    "log metric", "log metrics on the active run: numbers (nan and inf allowed), at the next step or --step",
    "%mlops log metric roc_auc=0.78 loss=0.41 --step 3",
    arg("pairs", nargs="+", metavar="KEY=VALUE"),
    arg("--step", type=int, metavar="N", help="step of every value (default: each key's next step)"))
def _log_metric(magics: "MlopsMagics", args: argparse.Namespace) -> None:
    import mlops_nb as mlops

    metrics = {k: metric_number(k, v) for k, v in split_pairs(args.pairs).items()}
    mlops.log_metrics(metrics, step=args.step)


@subcommand(
    "dataset", "version a DataFrame of the notebook and link it to the active run",
    "%mlops dataset train_df --name german-credit --role train",
    arg("var", metavar="VAR", help="name of a pandas DataFrame in the notebook"),
    arg("--name", required=True, metavar="NAME", help="dataset name"),
    arg("--role", default="train", metavar="ROLE",
        help="train, validation, test, serving or reference (default: train)"))
def _dataset(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.log_dataset(magics.user_variable(args.var), name=args.name, role=args.role)


@subcommand(
    "run", "run the cell inside a new run: its source is kept, an error marks the run failed",
    "%%mlops run --experiment baseline --name lr-1\n"
    "model.fit(X_train, y_train)\n"
    "mlops.log_metric(\"roc_auc\", roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))",
    arg("--experiment", metavar="NAME", help="experiment (default: MlopsMagics.default_experiment)"),
    arg("--name", metavar="RUN", help="run name (default: a generated one)"),
    _TAG,
    cell=True)
def _run(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops
    from mlops_nb.api.context import current
    from mlops_nb.api.tracking import record_cell_source

    run = mlops.start_run(args.experiment or magics.default_experiment, name=args.name,
                          tags=split_pairs(args.tag) or None)

    def end(status: str):
        context = current()
        if context is not None and context.active_run is not None and context.active_run.id == run.id:
            return mlops.end_run(status)
        return mlops.get_run(run.id)  # the cell ended (or replaced) the run itself

    try:
        record_cell_source(args.cell)
        result = magics.shell.run_cell(args.cell, store_history=False)
    except BaseException:
        end("failed")
        raise
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        ended = end("finished")
        magics.show_panel(ended.id)
        return ended
    ended = end("killed" if isinstance(error, KeyboardInterrupt) else "failed")
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
def _runs(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.runs(args.experiment, filter=" ".join(args.filter) if args.filter else None)


@subcommand(
    "panel", "a live panel of a run: params, metric curves and a Refresh button",
    "%mlops panel\n%mlops panel 3f2a9c0d",
    arg("run_id", nargs="?", metavar="RUN_ID", help="a run id (default: the active run)"))
def _panel(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    from mlops_nb.widgets import run_panel

    return run_panel(args.run_id)


# --- registry and promotion ------------------------------------------------------------------------

def _text(words: list[str] | None) -> str | None:
    """`--reason beats v1 on AUC` or `--reason "beats v1 on AUC"`: the words as one text."""
    return " ".join(words) if words is not None else None


@subcommand(
    "register", "register a fitted model of the notebook as the next version of MODEL (needs an active run)",
    "%mlops register model --name credit-risk --dataset german-credit --target creditability",
    arg("var", metavar="VAR", help="name of a fitted scikit-learn estimator or pipeline in the notebook"),
    arg("--name", required=True, metavar="MODEL", help="registered model name"),
    arg("--dataset", metavar="NAME", help="training dataset (default: the run's training dataset)"),
    arg("--target", metavar="COL", help="target column, left out of the input signature"))
def _register(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
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
def _promote(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.request_promotion(args.model, version=args.version, to=args.to, reason=_text(args.reason))


@subcommand(
    "models", "list registered models, or the versions of one",
    "%mlops models\n%mlops models credit-risk",
    arg("model", nargs="?", metavar="MODEL", help="one model's versions (default: all models)"))
def _models(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.models(args.model)


@subcommand(
    "requests", "list promotion requests, newest first",
    "%mlops requests --status pending\n%mlops requests credit-risk",
    arg("model", nargs="?", metavar="MODEL", help="one model's requests (default: all)"),
    arg("--status", metavar="STATUS",
        help="pending, approved, rejected, cancelled or superseded (default: all)"))
def _requests(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.requests(args.model, status=args.status)


@subcommand(
    "approve", "approve a pending request (needs --login; never your own)",
    "%mlops approve 12 --comment \"validated on the Q3 holdout\"",
    arg("request_id", type=int, metavar="ID", help="promotion request id (see %%mlops requests)"),
    arg("--comment", nargs="+", metavar="TEXT", help="a note kept with the approval"))
def _approve(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.approve(args.request_id, comment=_text(args.comment) or "")


@subcommand(
    "reject", "reject a pending request, saying why (needs --login)",
    "%mlops reject 12 --comment \"AUC on the 2024 cohort is below production\"",
    arg("request_id", type=int, metavar="ID", help="promotion request id (see %%mlops requests)"),
    arg("--comment", required=True, nargs="+", metavar="TEXT", help="why (required)"))
def _reject(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.reject(args.request_id, comment=_text(args.comment))


@subcommand(
    "cancel", "withdraw a pending request (your own, or any as a proven ml_engineer or admin)",
    "%mlops cancel 12 --reason \"retraining with more data\"",
    arg("request_id", type=int, metavar="ID", help="promotion request id (see %%mlops requests)"),
    arg("--reason", nargs="+", metavar="TEXT", help="why"))
def _cancel(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.cancel(args.request_id, reason=_text(args.reason) or "")


@subcommand(
    "rollback", "return production to the version that held it before (needs --login)",
    "%mlops rollback credit-risk --reason \"default rate doubled since Monday\"",
    arg("model", metavar="MODEL", help="registered model name"),
    arg("--reason", required=True, nargs="+", metavar="TEXT", help="why (required)"))
def _rollback(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    import mlops_nb as mlops

    return mlops.rollback(args.model, reason=_text(args.reason))


@subcommand(
    "registry", "a registry panel: pick a version, see its lineage and gates, request promotion",
    "%mlops registry\n%mlops registry credit-risk",
    arg("model", nargs="?", metavar="MODEL", help="model shown first (default: the first one)"))
def _registry(magics: "MlopsMagics", args: argparse.Namespace) -> Any:
    from mlops_nb.widgets import registry_panel

    return registry_panel(args.model)


# --- the magics ------------------------------------------------------------------------------------

@magics_class
class MlopsMagics(Magics):
    """`%mlops` and `%%mlops`; settings through `%config MlopsMagics.<name> = value`."""

    default_project = Unicode("default", help="project `%mlops init` opens without --project").tag(config=True)
    default_experiment = Unicode("default", help="experiment of `%mlops start` and `%%mlops run` "
                                                 "without --experiment").tag(config=True)
    default_db = Unicode("", help="store URL of `%mlops init` without --db; empty: MLOPS_DB_URL, "
                                  "then $MLOPS_HOME/mlops.db").tag(config=True)
    show_widgets = Bool(False, help="also show the run panel after `%%mlops run` and `%mlops end`").tag(config=True)
    record_cells = Bool(True, help="keep a hash of every cell executed while a run is active").tag(config=True)

    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None) -> Any:
        # the docstring is replaced by the generated usage() in load_ipython_extension
        parser = build_parser()
        try:
            words = shlex.split(line)
        except ValueError as err:
            raise UsageError(f"{PROG}: cannot read the line ({err})") from err
        if not words:
            parser.print_help()
            return None
        try:
            args, extra = parser.parse_known_args(words)
        except _HelpShown:
            return None
        sub = SUBCOMMANDS[args._subcommand]
        if extra:
            prog = f"{'%%mlops' if sub.cell else PROG} {sub.name}"
            raise UsageError(f"{prog}: unrecognized arguments: {' '.join(extra)} (see {prog} --help)")
        if cell is not None and not sub.cell:
            raise UsageError(f"%%mlops {sub.name} does not take a cell: use `{PROG} {sub.name} ...` on one "
                             "line (only `%%mlops run` takes a cell)")
        if cell is None and sub.cell:
            raise UsageError(f"{sub.name} runs a cell: put `%%mlops {line.strip()}` on the first line of the cell")
        args.cell = cell
        try:
            return sub.handler(self, args)
        except MlopsError as err:
            raise UsageError(str(err)) from err

    def user_variable(self, name: str) -> Any:
        """A variable of the notebook, or a UsageError naming it."""
        namespace = self.shell.user_ns if self.shell is not None else {}
        if name not in namespace:
            raise UsageError(f"no variable {name!r} in the notebook; define it first, e.g. {name} = pd.read_csv(...)")
        return namespace[name]

    def show_panel(self, run_id: str) -> None:
        """Display the run panel when `show_widgets` is on (a convenience: never fails the magic)."""
        if not self.show_widgets:
            return
        from IPython.display import display

        from mlops_nb.widgets import run_panel

        display(run_panel(run_id))


class CellRecorder:
    """The `post_run_cell` hook: a hash of each executed cell goes on the active run.

    Cheap without an active run (an attribute check); it never raises into the user's cell: the
    first failure is a warning, later ones are silent.
    """

    def __init__(self, magics: MlopsMagics) -> None:
        self.magics = magics
        self.warned = False

    def __call__(self, result: Any) -> None:
        try:
            if not self.magics.record_cells:
                return
            from mlops_nb.api.context import current

            context = current()
            if context is None or context.active_run is None:
                return
            source = getattr(getattr(result, "info", None), "raw_cell", None)
            if not source:
                return
            from mlops_nb.api.tracking import record_cell

            record_cell(source)
        except Exception as err:  # noqa: BLE001 - a bookkeeping failure must not break the user's cell
            if not self.warned:
                self.warned = True
                warnings.warn(f"mlops: could not record the cell on the active run ({type(err).__name__}: "
                              f"{err}); later failures are silent", RuntimeWarning, stacklevel=2)


def load_ipython_extension(ipython) -> None:
    """`%load_ext mlops_nb`: register `%mlops`/`%%mlops` and the cell recorder."""
    MlopsMagics.mlops.__doc__ = usage()
    magics = MlopsMagics(shell=ipython)
    ipython.register_magics(magics)
    magics.cell_recorder = CellRecorder(magics)
    ipython.events.register("post_run_cell", magics.cell_recorder)


def unload_ipython_extension(ipython) -> None:
    """`%unload_ext mlops_nb`: remove the magics, their settings and the cell recorder."""
    magics = ipython.magics_manager.registry.pop(MlopsMagics.__name__, None)
    if magics is None:
        return
    recorder = getattr(magics, "cell_recorder", None)
    if recorder is not None and recorder in ipython.events.callbacks["post_run_cell"]:
        ipython.events.unregister("post_run_cell", recorder)
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("mlops", None)
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
