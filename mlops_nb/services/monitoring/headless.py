"""Running a notebook headless with papermill, in a kernel of this Python, for a retraining run.

papermill (the standard for parameterised notebooks) injects the parameters as a new cell after the
cell tagged `parameters` and executes every cell with nbclient; the executed notebook, outputs and
tracebacks included, is what the retraining run keeps as its evidence. This module adds what a
service needs around it:

- the notebook is checked before it is ever approved (`check_notebook`: it parses with nbformat and
  has a code cell tagged `parameters`, or the message says how to tag one);
- the kernel runs this Python (sys.executable with ipykernel, whatever kernels the machine has
  installed), started in its own temporary folder with the environment given, so the store and
  proof of identity reach it as environment variables, never as parameters that the executed
  notebook would keep;
- every way it can end is one `Execution`: completed, or failed with the cell (number and first
  line) and the exception it raised, a cell past the timeout, or a kernel that died.

    execution = execute(notebook_bytes, parameters={"C": 0.5}, environment=env, timeout_s=600)
    execution.error          # None, or "the executed notebook's cell 5 (`model.fit(X, y)`) raised ValueError: ..."
    execution.notebook       # the executed notebook (.ipynb bytes)
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mlops_nb.services.errors import InvalidInput

PARAMETERS_TAG = "parameters"  # papermill's tag for the cell the parameters are injected after
KERNEL_NAME = "python3"  # papermill picks its Python translator by this name; the kernel is always this Python
DEFAULT_TIMEOUT_S = 3600  # per cell, in seconds
HOW_TO_TAG = ("tag the cell that sets the defaults 'parameters' (JupyterLab: the property inspector's "
              "Cell Tags; VS Code: Add Cell Tag; or add \"tags\": [\"parameters\"] to the cell's metadata), "
              "as papermill documents")


class _UnknownParameters(logging.Filter):
    """Drops papermill's "Passed unknown parameter" warnings: a retraining injects model_name,
    project, window_start, window_end and retraining_run_id whether or not the notebook's
    parameters cell names them, as intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Passed unknown parameter")


@dataclass(frozen=True)
class Execution:
    """How a headless run ended: `notebook` the executed notebook as .ipynb bytes (as far as it
    ran; None when the kernel never started), `error` None when every cell ran, else what went
    wrong in one line (the cell and the exception, the timeout, the dead kernel)."""

    notebook: bytes | None
    error: str | None


def check_notebook(data: bytes, *, source: str) -> Any:
    """The notebook in `data` (from `source`, named in messages) as an nbformat node, once it parses
    as a notebook (version 4) and has a code cell tagged `parameters`.

    Raises:
        InvalidInput: it is not a notebook nbformat can read, or no code cell is tagged `parameters`
            (the message says how to tag one).
    """
    import nbformat

    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)  # type: ignore[no-untyped-call]
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises JSON, Unicode and validation errors of several kinds
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise InvalidInput(f"{source} is not a notebook nbformat can read ({reason})") from err
    tagged = [cell for cell in nb.cells
              if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise InvalidInput(f"{source} has no code cell tagged {PARAMETERS_TAG!r}, so papermill cannot inject the "
                           f"retraining's parameters: {HOW_TO_TAG}")
    return nb


def _kernel_class(environment: dict[str, str], log: IO[bytes]) -> type:
    """A kernel manager class whose kernels run this Python's ipykernel with `environment` (the
    whole environment of the kernel process), writing the kernel process's own stdout and stderr
    (its log, not the cells' output, which the notebook keeps) to `log`."""
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    spec = get_kernel_dict()
    this_python = KernelSpec(argv=spec["argv"], display_name=spec["display_name"], language=spec["language"])

    class RetrainingKernel(AsyncKernelManager):
        """This Python's ipykernel (not whatever `python3` kernel is installed), with the environment given."""

        @property
        def kernel_spec(self) -> KernelSpec:
            return this_python

        # AsyncKernelManager's start_kernel is a coroutine; jupyter_client types it as KernelManager's
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw["env"] = dict(environment)
            kw["stdout"] = kw["stderr"] = log
            await super().start_kernel(**kw)

    return RetrainingKernel


def _last_words(log: IO[bytes]) -> str:
    """The last line the kernel process wrote to its log, as "; the kernel said: ...", or ""."""
    log.flush()
    try:
        lines = Path(log.name).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f"; the kernel said: {lines[-1].strip()[:300]}" if lines else ""


def _cell_error(err: Any) -> str:
    """papermill's error as one line: the cell's number in the executed notebook (papermill's injected
    parameters cell counts), its first source line, and the exception."""
    first = next((line.strip() for line in str(err.source).splitlines() if line.strip()), "")
    shown = first if len(first) <= 80 else first[:77] + "..."
    number = err.exec_count if err.exec_count is not None else err.cell_index + 1
    cell = f"the executed notebook's cell {number}"
    value = str(err.evalue).strip().splitlines()
    return f"{cell} (`{shown}`) raised {err.ename}" + (f": {value[0]}" if value else "")


def execute(notebook: bytes, *, parameters: dict[str, Any], environment: dict[str, str],
            timeout_s: float = DEFAULT_TIMEOUT_S, start_timeout_s: float = 120) -> Execution:
    """Execute `notebook` (.ipynb bytes with a cell tagged `parameters`) with papermill: `parameters`
    injected after that cell, in a kernel of this Python whose environment is `environment`, in a
    temporary working folder (removed afterwards); each cell may take `timeout_s` seconds, the kernel
    `start_timeout_s` to start. Never raises for what happens inside the notebook: that is the
    Execution's `error`.

    Raises:
        InvalidInput: the notebook cannot be read or has no parameters cell (see `check_notebook`).
    """
    import nbformat
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    nb = check_notebook(notebook, source="the retraining notebook")
    with tempfile.TemporaryDirectory(prefix="mlops-retraining-") as folder:
        source, executed = Path(folder) / "notebook.ipynb", Path(folder) / "executed.ipynb"
        nbformat.write(nb, str(source))  # type: ignore[no-untyped-call]
        error: str | None = None
        quiet = _UnknownParameters()
        logging.getLogger("papermill").addFilter(quiet)
        log = open(Path(folder) / "kernel.log", "wb")  # noqa: SIM115  # closed below, after the kernel is gone
        try:
            papermill.execute_notebook(str(source), str(executed), parameters=parameters, kernel_name=KERNEL_NAME,
                                       language="python", progress_bar=False, start_timeout=int(start_timeout_s),
                                       execution_timeout=max(int(timeout_s), 1),
                                       kernel_manager_class=_kernel_class(environment, log),
                                       resources={"metadata": {"path": folder}})
        except PapermillExecutionError as err:
            error = _cell_error(err)
        except CellTimeoutError as err:
            error = f"a cell ran past the timeout of {timeout_s:g} s and was stopped ({str(err).splitlines()[0]})"
        except DeadKernelError as err:
            error = f"the kernel died ({(str(err).strip().splitlines() or ['no reason given'])[0]}){_last_words(log)}"
        except Exception as err:  # the kernel did not start, a cell could not be sent: the run failed all the same
            error = (f"the notebook could not be run: {type(err).__name__}: "
                     f"{(str(err).strip().splitlines() or [''])[0]}{_last_words(log)}")
        finally:
            logging.getLogger("papermill").removeFilter(quiet)
            log.close()
        result = executed.read_bytes() if executed.exists() else None
    return Execution(notebook=result, error=error)
