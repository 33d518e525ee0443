"""`autolog()`: scikit-learn fits recorded into the active run (or a run of their own), opt-in.

The patching and what a fit records live in services.autolog; this module is the sink that sends
it to the current context's store through the tracking API.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.services.tracking import autolog as service


class _RunSink:
    """Records into the active run; with none, starts one named after the estimator and ends it."""

    def __init__(self, *, log_models: bool) -> None:
        self.log_models = log_models

    def begin(self, estimator: Any) -> str | None:
        from mlops_nb.api.connect import get_context
        from mlops_nb.api.tracking import start_run

        if get_context().active_run is not None:
            return None
        return start_run(experiment="default", name=type(estimator).__name__).id

    def record(self, *, estimator: Any, params: dict[str, str], metrics: dict[str, float],
               tags: dict[str, str]) -> None:
        from mlops_nb.api import tracking
        from mlops_nb.services.errors import Conflict

        tracking.set_tags(tags)
        if params:
            try:
                tracking.log_params(params)
            except Conflict as err:  # a second fit in the same run with other params: keep its metrics
                warnings.warn(f"mlops autolog: {err}", service.AutologWarning, stacklevel=2)
        if metrics:
            tracking.log_metrics(metrics)
        if self.log_models:
            self._log_model(estimator)

    def _log_model(self, estimator: Any) -> None:
        from mlops_nb.api.tracking import log_artifact

        try:
            import skops.io as sio
        except ImportError as err:  # pragma: no cover - skops is a dependency
            warnings.warn(f"mlops autolog: log_models needs skops ({err})", service.AutologWarning, stacklevel=2)
            return
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.skops")
            sio.dump(estimator, path)
            log_artifact(path, name=f"model/{type(estimator).__name__}.skops")

    def end(self, token: str | None, *, error: BaseException | None) -> None:
        from mlops_nb.api.connect import get_context
        from mlops_nb.api.tracking import end_run
        from mlops_nb.services.tracking import ending_status

        active = get_context().active_run
        if token is not None and active is not None and active.id == token:
            end_run(ending_status(error))


@store_errors
def autolog(*, disable: bool = False, log_models: bool = False) -> None:
    """Record every scikit-learn fit: params, training metrics and the estimator's class.

    >>> import mlops_nb as mlops
    >>> mlops.autolog()
    >>> with mlops.start_run(experiment="credit", name="rf"):
    ...     RandomForestClassifier(n_estimators=50).fit(X, y)   # params + training_* metrics
    >>> LogisticRegression().fit(X, y)      # no active run: a run named "LogisticRegression"
    >>> mlops.autolog(disable=True)

    Only the outermost fit is recorded (a Pipeline's steps are not logged on their own). Params
    are `get_params(deep=True)` as text (estimators by class name, cut at 6,000 characters);
    metrics are `training_score`, and `training_accuracy` / `training_roc_auc` (binary) for
    classifiers, `training_r2` / `training_mse` for regressors. With `log_models=True` the fitted
    estimator is also stored as a skops artifact. A failure to record warns and never breaks the fit.
    """
    if disable:
        service.unpatch()
        return
    service.patch(_RunSink(log_models=log_models))
