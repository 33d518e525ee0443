"""mlops_nb: MLOps from the notebook.

    import mlops_nb as mlops
    mlops.init(project="credit", user="dana")
    with mlops.start_run(experiment="baseline", name="lr-1"):
        mlops.log_params({"C": 0.5})
        mlops.log_metric("auc", 0.78)
    mlops.runs("baseline")

In IPython: `%load_ext mlops_nb`, then `%mlops --help`. The API functions live in mlops_nb.api.*
and are loaded on first use (PEP 562), so importing this package costs almost nothing.
"""
from __future__ import annotations

import importlib
from typing import Any

from mlops_nb.services.errors import (
    Conflict,
    GateFailed,
    IntegrityFailure,
    InvalidInput,
    MlopsError,
    NotFound,
    PermissionDenied,
)

__version__ = "0.1.0"

_API = {
    "mlops_nb.api.connect": ["init", "get_context"],
    "mlops_nb.api.tracking": ["start_run", "end_run", "active_run", "log_param", "log_params", "log_metric",
                              "log_metrics", "log_metric_history", "get_metric_history", "set_tag", "set_tags",
                              "log_artifact", "log_dataset", "get_dataset", "runs", "get_run"],
    "mlops_nb.api.autolog": ["autolog"],
    "mlops_nb.api.audit": ["audit_trail"],
    "mlops_nb.api.promotion": ["request_promotion", "approve", "reject", "cancel", "requests", "rollback",
                               "set_policy", "get_policy", "preview_gates"],
    "mlops_nb.api.registry": ["register_model", "models", "get_model_version", "load_model"],
}
_LOCATION = {name: module for module, names in _API.items() for name in names}

__all__ = sorted(_LOCATION) + ["Conflict", "GateFailed", "IntegrityFailure", "InvalidInput", "MlopsError",
                               "NotFound", "PermissionDenied", "load_ipython_extension"]


def __getattr__(name: str) -> Any:
    module = _LOCATION.get(name)
    if module is None:
        raise AttributeError(f"module 'mlops_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython) -> None:
    """`%load_ext mlops_nb`: registers the %mlops line and cell magics."""
    from mlops_nb.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from mlops_nb.magics import unload_ipython_extension as unload

    unload(ipython)
