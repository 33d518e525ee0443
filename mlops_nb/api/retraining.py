"""The retraining verbs of the Python API: name a model's training notebook, run it headless, read the runs.

SPEC §3 (Alerts and retraining triggers). Each call acts as the context's identity; the services
check the role and proof (a proven ml_engineer or admin sets and starts retraining). The notebook
runs in a kernel of its own, which proves who it is with MLOPS_TOKEN from this process's
environment (docs/retraining.md): it is that user who requests the new version's promotion.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.monitoring.retraining_results import (
    RetrainingConfigPublic,
    RetrainingRunPublic,
    RetrainingRunTable,
)
from mlops_nb.store.db import session_scope


def kernel_identity() -> dict[str, str]:
    """The identity variables of this process's environment (MLOPS_TOKEN, MLOPS_USER) that are set:
    what a retraining kernel proves itself with."""
    from mlops_nb.config import Settings

    settings = Settings.from_env()
    env = {"MLOPS_TOKEN": settings.token, "MLOPS_USER": settings.declared_user}
    return {key: value for key, value in env.items() if value}


@store_errors
def set_retraining(model: str, *, notebook: str | os.PathLike[str],
                   parameters: Mapping[str, Any] | None = None) -> RetrainingConfigPublic:
    """Name the notebook that retrains `model`, and the parameters its `parameters` cell gets.

    >>> mlops.set_retraining("credit-risk", notebook="mlops_nb/demo/credit_retraining.ipynb",
    ...                      parameters={"C": 0.5})

    A copy of the notebook is stored: later retrainings run that copy, not whatever the path holds
    then. Setting it again replaces notebook and parameters. The notebook needs a code cell tagged
    `parameters` (papermill's convention); model_name, project, window_start, window_end and
    retraining_run_id are injected by each run.

    Raises:
        PermissionDenied: you are not a proven ml_engineer or admin.
        NotFound: no such model.
        InvalidInput: the notebook cannot be read, is not a notebook or has no `parameters` cell (the
            message says how to tag one); parameters that are not JSON values under Python names.
    """
    from mlops_nb.services.monitoring import retraining

    context = get_context()
    with session_scope(context.engine) as session:
        return present(retraining.set_retraining(session=session, store=context.artifacts,
                                                 project_id=context.project_id, actor=context.actor(), model=model,
                                                 notebook=notebook, parameters=parameters))


@store_errors
def retrain(model: str, *, parameters: Mapping[str, Any] | None = None, window: Any = None,
            timeout_s: float | None = None) -> RetrainingRunPublic:
    """Run `model`'s training notebook headless now, and wait for it: the run, what it produced, or why it failed.

    >>> run = mlops.retrain("credit-risk", window=("2024-05-01", "2024-07-31"))
    >>> run.status, run.model_version, run.request_id        # "succeeded", 4, 17: the request waits for review
    >>> mlops.retrain("credit-risk", parameters={"C": 0.1})   # overrides the parameters set with it

    The kernel gets this process's MLOPS_TOKEN (and MLOPS_USER) when set: whoever it proves is who
    the notebook logs, registers and requests promotion as. A failed run (a cell raised, a cell ran
    past `timeout_s`, nothing registered) is returned with its error, and has fired a critical
    alert; its executed notebook is kept either way.

    Raises:
        PermissionDenied: you are not a proven ml_engineer or admin.
        NotFound: no such model, or no retraining notebook set for it.
        InvalidInput: a bad window (two ISO dates, start first) or parameters.
        Conflict: a retraining of the model is running.
    """
    from mlops_nb.services.monitoring import headless, retraining

    context = get_context()
    return present(retraining.start_retraining(
        engine=context.engine, store=context.artifacts, project_id=context.project_id, actor=context.actor(),
        model=model, window=window, parameters=parameters, env=kernel_identity(),
        timeout_s=headless.DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s))


@store_errors
def retraining_runs(model: str | None = None, *, limit: int = 50) -> RetrainingRunTable:
    """The project's retraining runs (of `model` when given), newest first.

    >>> mlops.retraining_runs("credit-risk").to_frame()

    Raises:
        NotFound: no such model.
        InvalidInput: `limit` is not a whole number from 1 to 1,000.
    """
    from mlops_nb.services.monitoring import retraining

    context = get_context()
    with session_scope(context.engine) as session:
        runs = retraining.retraining_runs(session=session, project_id=context.project_id, model=model, limit=limit)
    return present(RetrainingRunTable(model=model, runs=runs))
