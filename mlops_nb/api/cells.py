"""Which code a run executed: the notebook cells it ran, or outside a notebook the file that started it.

A git commit is not the code of a notebook: the notebook may never have been added to git, may have
changed since, and its cells run in any order. So the run keeps the cells themselves, for every way
of running one (SPEC §4, issue 8 item 14):

- the cell that starts the run (`with mlops.start_run(): ...` in one cell, MLflow's habit;
  `mlops.start_run()` or `%mlops start` on their own) is recorded when the run starts;
- each cell executed while the run is active, when it finishes (IPython's `post_run_cell`);
- the cell that ends or registers from the run (`end_run`, `%mlops end`, `register_model`) before
  it does so; a `%%mlops run` cell is the run's whole code.

A cell is recorded once per execution (run it again and it is recorded again, as executed); cells
run by a magic inside another cell (the body of `%%mlops run`) belong to that cell. Outside IPython,
the file of the code that called `start_run` (the script, or a test module) is recorded instead, with
its text. `%config MlopsMagics.record_cells = False` turns cell recording off.

The hooks are installed on the shell by `start_run` (and `%load_ext mlops_nb`), so recording needs no
extension. A failure to record never breaks the user's cell: the first is a warning, later ones are
silent.
"""
from __future__ import annotations

import hashlib
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_nb.api.connect import get_context
from mlops_nb.store.db import session_scope

if TYPE_CHECKING:
    from mlops_nb.api.context import ActiveRun, Context

MAX_FILE_BYTES = 1 << 20  # a script larger than this (1 MiB) is recorded by path and git state only
_PACKAGE = str(Path(__file__).resolve().parents[1]) + os.sep  # mlops_nb/
_LIBRARIES = tuple({str(Path(p).resolve()) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
_sources: dict[str, tuple[int, int, str | None]] = {}


def shell() -> Any:
    """The running IPython shell, or None (IPython not imported, or no shell made)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()
    except Exception:  # noqa: BLE001 - a half-initialised IPython is no shell
        return None


class Recorder:
    """The shell's pre/post_run_cell hooks: which cells are executing (outermost first), and the
    recording of each finished top-level cell on the active run."""

    def __init__(self, ipython: Any) -> None:
        self.shell = ipython
        self.executing: list[Any] = []
        self.enabled = True
        self.warned = False
        current = getattr(getattr(ipython, "displayhook", None), "exec_result", None)
        if current is not None:  # installed while a cell runs: it is the outermost one
            self.executing.append(current.info)

    def pre_run_cell(self, info: Any) -> None:
        """IPython's pre_run_cell event: `info` starts executing."""
        self.executing.append(info)

    def post_run_cell(self, result: Any) -> None:
        """IPython's post_run_cell event: record the finished cell when it is a top-level one."""
        info = getattr(result, "info", None)
        if self.executing and self.executing[-1] is info:
            self.executing.pop()
        if self.executing or not self.enabled or info is None:
            return  # a cell run inside another cell belongs to that one
        try:
            from mlops_nb.api.context import current

            context = current()
            if context is None or context.active_run is None:
                return
            source = getattr(info, "raw_cell", None)
            if source:
                record_cell(source, key=info)
        except Exception as err:  # noqa: BLE001 - a bookkeeping failure must not break the user's cell
            self.warn(err)

    def warn(self, err: Exception) -> None:
        """The first failure to record, as a RuntimeWarning; later ones silently."""
        if not self.warned:
            self.warned = True
            warnings.warn(f"mlops: could not record the cell on the active run ({type(err).__name__}: "
                          f"{err}); later failures are silent", RuntimeWarning, stacklevel=2)

    def current(self) -> Any:
        """The ExecutionInfo of the top-level cell executing now, or None (none, or a nested one)."""
        result = getattr(getattr(self.shell, "displayhook", None), "exec_result", None)
        if result is None or len(self.executing) > 1 or not self.enabled:
            return None
        return result.info


_recorders: dict[int, Recorder] = {}


def install(ipython: Any) -> Recorder:
    """The shell's recorder, its hooks registered on first use."""
    recorder = _recorders.get(id(ipython))
    if recorder is None or recorder.shell is not ipython:
        recorder = _recorders[id(ipython)] = Recorder(ipython)
        ipython.events.register("pre_run_cell", recorder.pre_run_cell)
        ipython.events.register("post_run_cell", recorder.post_run_cell)
    return recorder


def uninstall(ipython: Any) -> None:
    """Remove the shell's recorder and its hooks (nothing when it has none)."""
    recorder = _recorders.pop(id(ipython), None)
    if recorder is None:
        return
    for event, hook in (("pre_run_cell", recorder.pre_run_cell), ("post_run_cell", recorder.post_run_cell)):
        if hook in ipython.events.callbacks[event]:
            ipython.events.unregister(event, hook)


def set_enabled(ipython: Any, enabled: bool) -> None:
    """Turn cell recording on this shell on or off (`%config MlopsMagics.record_cells`)."""
    install(ipython).enabled = enabled


def current_cell() -> tuple[Any, str] | None:
    """(its ExecutionInfo, its source) of the top-level notebook cell executing now, with the
    recorder installed on its shell; None outside a cell."""
    ipython = shell()
    if ipython is None:
        return None
    recorder = install(ipython)
    info = recorder.current()
    source = getattr(info, "raw_cell", None)
    return (info, source) if info is not None and source else None


def in_ipython_cell() -> bool:
    """Whether a notebook (IPython) cell is executing now, whether or not recording is on."""
    ipython = shell()
    return getattr(getattr(ipython, "displayhook", None), "exec_result", None) is not None


def calling_file() -> str | None:
    """The file of the nearest caller outside this package and installed libraries (the script or
    module that called the API), or None when there is none (an interactive prompt)."""
    frame = sys._getframe(1)
    while frame is not None:
        path = _caller_path(frame.f_code.co_filename)
        if path is not None:
            return path
        frame = frame.f_back  # type: ignore[assignment]
    return None


_caller_paths: dict[str, str | None] = {}  # a frame's file name -> its resolved path, None when not the caller's


def _caller_path(name: str) -> str | None:
    """The resolved path of the file a frame runs, when it is a file outside this package and
    installed libraries; None otherwise. Resolved once per file name (start_run asks on every run)."""
    if name in _caller_paths:
        return _caller_paths[name]
    path: str | None = None
    if not name.startswith("<") and os.path.isfile(name):
        resolved = str(Path(name).resolve())
        if not resolved.startswith(_PACKAGE) and not resolved.startswith(_LIBRARIES):
            path = resolved
    _caller_paths[name] = path
    return path


def file_source(path: str) -> str | None:
    """The text of the file at `path` (None when unreadable, not text, or over MAX_FILE_BYTES);
    read once per version of the file."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    cached = _sources.get(path)
    if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2]
    text: str | None = None
    if stat.st_size <= MAX_FILE_BYTES:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = None
    _sources[path] = (stat.st_mtime_ns, stat.st_size, text)
    return text


# --- the active run's code -------------------------------------------------------------------------

CELL_SEPARATOR = "\n\n# %%\n"  # between cells in `cell_source`: the percent format editors read as cells


def joined(active: ActiveRun) -> str:
    """The run's recorded cells as one text, CELL_SEPARATOR between them."""
    return CELL_SEPARATOR.join(active.cells)


def code_hash(active: ActiveRun) -> str | None:
    """The sha256 (hex) of the run's cell hashes in order, None when none was recorded."""
    return hashlib.sha256("".join(active.cell_hashes).encode()).hexdigest() if active.cell_hashes else None


def starting_code(*, in_cell: bool, code_file: str | None) -> tuple[Any, str] | None:
    """(key, source) of the code a new run starts with: the top-level cell executing now, else the
    text of `code_file` (the script that called start_run); None when there is neither."""
    if in_cell:
        return current_cell()
    text = file_source(code_file) if code_file is not None else None
    return (code_file, text) if text and text.strip() else None


def starting_columns(first: tuple[Any, str] | None) -> dict[str, Any]:
    """The run's code columns (code_hash, cell_hashes, cell_source) for `first`, written with the run
    itself (no second transaction); {} for None."""
    if first is None:
        return {}
    digest = hashlib.sha256(first[1].encode()).hexdigest()
    return {"code_hash": hashlib.sha256(digest.encode()).hexdigest(), "cell_hashes": [digest],
            "cell_source": first[1]}


def adopt(active: ActiveRun, first: tuple[Any, str] | None) -> None:
    """Make `first` (as written by `starting_columns`) the active run's first recorded cell."""
    if first is not None:
        active.recorded, active.cells = first[0], [first[1]]
        active.cell_hashes = [hashlib.sha256(first[1].encode()).hexdigest()]


def _write_code(context: Context, active: ActiveRun) -> None:
    from mlops_nb.services import tracking

    with session_scope(context.engine) as session:
        tracking.set_run_code(session=session, run_id=active.id, cell_source=joined(active),
                              code_hash=code_hash(active), cell_hashes=active.cell_hashes)


def record_cell(source: str, *, key: Any = None) -> None:
    """Add a cell (or a script's text) to the active run's code: its source to `cell_source`, its
    sha256 to `cell_hashes`, and the run's `code_hash` (the sha256 of the cell hashes in order);
    nothing without an active run, for a blank cell, when `key` (the cell's execution: its
    IPython ExecutionInfo, or the script's path) is the one recorded last, or when a `%%mlops run` cell is the run's whole code."""
    context = get_context()
    active = context.active_run
    if active is None or not source.strip() or active.code_complete or (key is not None and key is active.recorded):
        return
    active.recorded = key
    active.cells.append(source)
    active.cell_hashes.append(hashlib.sha256(source.encode()).hexdigest())
    _write_code(context, active)


def record_current_cell() -> None:
    """Record the notebook cell executing now on the active run, unless it is recorded already
    (nothing outside a cell, without an active run, or with cell recording off)."""
    current = current_cell()
    if current is not None:
        record_cell(current[1], key=current[0])


def record_cell_source(source: str) -> None:
    """Make `source` (the body of a `%%mlops run` cell) the active run's whole code: what was
    recorded when the run started (the magic's cell, or the calling file) is replaced by it.

    Raises:
        InvalidInput: no active run.
    """
    context = get_context()
    active = context.require_run()
    active.code_complete = True  # cells the body runs, or that register from it, are this cell
    active.cells = [source]
    active.cell_hashes = [hashlib.sha256(source.encode()).hexdigest()]
    _write_code(context, active)
