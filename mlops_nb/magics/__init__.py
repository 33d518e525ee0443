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
The parser and the subcommand table are in magics/parser.py; the subcommands, by domain, in
magics/tracking.py, magics/registry.py, magics/data.py and magics/monitoring.py (importing them
registers them). The API, pandas and SQLAlchemy are imported inside the handlers, so
`%load_ext mlops_nb` stays fast.
"""
from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, CaselessStrEnum, Unicode, observe

from mlops_nb.magics import data as _data_subcommands  # noqa: F401  (registers them)
from mlops_nb.magics import monitoring as _monitoring_subcommands  # noqa: F401  (registers them)
from mlops_nb.magics import registry as _registry_subcommands  # noqa: F401  (registers them)
from mlops_nb.magics import tracking as _tracking_subcommands  # noqa: F401  (registers them)
from mlops_nb.magics.parser import (  # noqa: F401  (re-exported for tests and extensions)
    PROG,
    SUBCOMMANDS,
    _HelpShown,
    arg,
    build_parser,
    expand_variables,
    metric_number,
    param_value,
    split_line,
    split_pairs,
    subcommand,
    usage,
)
from mlops_nb.services.errors import MlopsError


@magics_class
class MlopsMagics(Magics):
    """`%mlops` and `%%mlops`; settings through `%config MlopsMagics.<name> = value`.

        %config MlopsMagics.default_project = "credit"
    """

    default_project = Unicode("default", help="project `%mlops init` opens without --project").tag(config=True)
    default_experiment = Unicode("default", help="experiment of `%mlops start` and `%%mlops run` "
                                                 "without --experiment").tag(config=True)
    default_db = Unicode("", help="store URL of `%mlops init` without --db; empty: MLOPS_DB_URL, "
                                  "then $MLOPS_HOME/mlops.db").tag(config=True)
    show_widgets = Bool(False, help="also show the run panel after `%%mlops run` and `%mlops end`").tag(config=True)
    record_cells = Bool(True, help="keep the source and hash of every cell executed while a run is active "
                                   "(api/cells.py)").tag(config=True)
    plotlyjs = CaselessStrEnum(["cdn", "embed"], default_value="cdn",
                               help="how run panels get plotly.js: 'cdn' (needs internet) or 'embed' "
                                    "(~3.5 MB per chart, works offline)").tag(config=True)

    @observe("record_cells")
    def _record_cells_changed(self, change: Any) -> None:
        from mlops_nb.api import cells

        if self.shell is not None:
            cells.set_enabled(self.shell, bool(change["new"]))

    @no_var_expand  # IPython's `{expr}` expansion would eat JSON values: `$name` is expanded below
    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None) -> Any:
        """`%mlops SUBCOMMAND ...` (replaced by the generated usage() in load_ipython_extension).

        The line is read by `split_line` after `expand_variables` (only `$name`; braces stay).

        Raises:
            UsageError: a line that cannot be parsed, or any error of the API (its message, no traceback).
        """
        parser = build_parser()
        namespace = self.shell.user_ns if self.shell is not None else {}
        words = split_line(expand_variables(line, namespace))
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
        """The value of variable `name` in the notebook's namespace.

        Raises:
            UsageError: no such variable (the message says how to define it).
        """
        namespace = self.shell.user_ns if self.shell is not None else {}
        if name not in namespace:
            if not name.isidentifier():  # an expression (batch.iloc[:10], df[['a']]): the magic takes a name
                raise UsageError(f"{name!r} is not a variable name; the magic takes the name of a variable: "
                                 f"assign it first, e.g. batch = {name}")
            raise UsageError(f"no variable {name!r} in the notebook; define it first, e.g. {name} = pd.read_csv(...)")
        return namespace[name]

    def show_panel(self, run_id: str) -> None:
        """Display the run panel when `show_widgets` is on (a convenience: never fails the magic)."""
        if not self.show_widgets:
            return
        from IPython.display import display

        from mlops_nb.display.widgets import run_panel

        show: Any = display  # IPython's display() is not annotated
        show(run_panel(run_id, plotlyjs=self.plotlyjs))


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext mlops_nb`: register `%mlops`/`%%mlops` and the cell recorder (api/cells.py)."""
    from mlops_nb.api import cells

    MlopsMagics.mlops.__doc__ = usage()
    magics = MlopsMagics(shell=ipython)
    ipython.register_magics(magics)
    cells.set_enabled(ipython, magics.record_cells)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext mlops_nb`: remove the magics, their settings and the cell recorder."""
    magics = ipython.magics_manager.registry.pop(MlopsMagics.__name__, None)
    if magics is None:
        return
    from mlops_nb.api import cells

    cells.uninstall(ipython)  # the next start_run installs it again
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("mlops", None)
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
