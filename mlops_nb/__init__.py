"""mlops_nb: MLOps from the notebook.

    import mlops_nb as mlops
    mlops.init(project="credit", user="dana")
    with mlops.start_run(experiment="baseline", name="lr-1"):
        mlops.log_params({"C": 0.5})
        mlops.log_metric("auc", 0.78)
    mlops.runs("baseline")

In IPython: `%load_ext mlops_nb`, then `%mlops --help`. The API functions live in mlops_nb.api.*
and are loaded on first use (PEP 562), so importing this package costs almost nothing; the
TYPE_CHECKING imports below name the same functions for type checkers and editors
(tests/test_init.py keeps the two lists equal).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlops_nb.services.errors import Conflict as Conflict
from mlops_nb.services.errors import GateFailed as GateFailed
from mlops_nb.services.errors import IntegrityFailure as IntegrityFailure
from mlops_nb.services.errors import InvalidInput as InvalidInput
from mlops_nb.services.errors import MlopsError as MlopsError
from mlops_nb.services.errors import NotFound as NotFound
from mlops_nb.services.errors import PermissionDenied as PermissionDenied
from mlops_nb.services.errors import StoreBusy as StoreBusy
from mlops_nb.services.errors import StoreUnavailable as StoreUnavailable
from mlops_nb.services.errors import ValidationFailed as ValidationFailed

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from mlops_nb.api.alerts import acknowledge_alert as acknowledge_alert
    from mlops_nb.api.alerts import add_alert_rule as add_alert_rule
    from mlops_nb.api.alerts import alert_rules as alert_rules
    from mlops_nb.api.alerts import alerts as alerts
    from mlops_nb.api.alerts import monitor as monitor
    from mlops_nb.api.alerts import on_alert as on_alert
    from mlops_nb.api.attestations import attest as attest
    from mlops_nb.api.attestations import attestations as attestations
    from mlops_nb.api.attestations import withdraw_attestation as withdraw_attestation
    from mlops_nb.api.audit import audit_trail as audit_trail
    from mlops_nb.api.autolog import autolog as autolog
    from mlops_nb.api.connect import get_context as get_context
    from mlops_nb.api.connect import init as init
    from mlops_nb.api.data import validate as validate
    from mlops_nb.api.drift import drift_history as drift_history
    from mlops_nb.api.drift import drift_html as drift_html
    from mlops_nb.api.drift import drift_report as drift_report
    from mlops_nb.api.features import feature as feature
    from mlops_nb.api.features import features as features
    from mlops_nb.api.features import skew_check as skew_check
    from mlops_nb.api.monitoring import batches as batches
    from mlops_nb.api.monitoring import log_outcomes as log_outcomes
    from mlops_nb.api.monitoring import outcomes as outcomes
    from mlops_nb.api.promotion import approve as approve
    from mlops_nb.api.promotion import cancel as cancel
    from mlops_nb.api.promotion import get_policy as get_policy
    from mlops_nb.api.promotion import preview_gates as preview_gates
    from mlops_nb.api.promotion import reject as reject
    from mlops_nb.api.promotion import request_promotion as request_promotion
    from mlops_nb.api.promotion import requests as requests
    from mlops_nb.api.promotion import rollback as rollback
    from mlops_nb.api.promotion import set_policy as set_policy
    from mlops_nb.api.registry import get_model_version as get_model_version
    from mlops_nb.api.registry import load_model as load_model
    from mlops_nb.api.registry import models as models
    from mlops_nb.api.registry import register_model as register_model
    from mlops_nb.api.registry import trust_types as trust_types
    from mlops_nb.api.registry import trusted_types as trusted_types
    from mlops_nb.api.retraining import retrain as retrain
    from mlops_nb.api.retraining import retraining_runs as retraining_runs
    from mlops_nb.api.retraining import set_retraining as set_retraining
    from mlops_nb.api.scorecard_history import scorecard_history as scorecard_history
    from mlops_nb.api.scorecard_history import scorecard_settings as scorecard_settings
    from mlops_nb.api.scorecard_history import set_scorecard_settings as set_scorecard_settings
    from mlops_nb.api.scorecard_history import snapshot_scorecards as snapshot_scorecards
    from mlops_nb.api.scorecards import scorecard as scorecard
    from mlops_nb.api.tracking import active_run as active_run
    from mlops_nb.api.tracking import end_run as end_run
    from mlops_nb.api.tracking import get_dataset as get_dataset
    from mlops_nb.api.tracking import get_metric_history as get_metric_history
    from mlops_nb.api.tracking import get_run as get_run
    from mlops_nb.api.tracking import log_artifact as log_artifact
    from mlops_nb.api.tracking import log_dataset as log_dataset
    from mlops_nb.api.tracking import log_metric as log_metric
    from mlops_nb.api.tracking import log_metric_history as log_metric_history
    from mlops_nb.api.tracking import log_metrics as log_metrics
    from mlops_nb.api.tracking import log_param as log_param
    from mlops_nb.api.tracking import log_params as log_params
    from mlops_nb.api.tracking import runs as runs
    from mlops_nb.api.tracking import set_tag as set_tag
    from mlops_nb.api.tracking import set_tags as set_tags
    from mlops_nb.api.tracking import start_run as start_run
    from mlops_nb.api.users import activate_user as activate_user
    from mlops_nb.api.users import add_user as add_user
    from mlops_nb.api.users import deactivate_user as deactivate_user
    from mlops_nb.api.users import issue_token as issue_token
    from mlops_nb.api.users import revoke_token as revoke_token
    from mlops_nb.api.users import set_password as set_password
    from mlops_nb.api.users import set_role as set_role
    from mlops_nb.api.users import tokens as tokens
    from mlops_nb.api.users import users as users

__version__ = "0.1.0"

_API = {
    "mlops_nb.api.connect": ["init", "get_context"],
    "mlops_nb.api.tracking": ["start_run", "end_run", "active_run", "log_param", "log_params", "log_metric",
                              "log_metrics", "log_metric_history", "get_metric_history", "set_tag", "set_tags",
                              "log_artifact", "log_dataset", "get_dataset", "runs", "get_run"],
    "mlops_nb.api.autolog": ["autolog"],
    "mlops_nb.api.data": ["validate"],
    "mlops_nb.api.drift": ["drift_report", "drift_history", "drift_html"],
    "mlops_nb.api.features": ["feature", "features", "skew_check"],
    "mlops_nb.api.audit": ["audit_trail"],
    "mlops_nb.api.alerts": ["add_alert_rule", "alert_rules", "alerts", "acknowledge_alert", "monitor", "on_alert"],
    "mlops_nb.api.monitoring": ["log_outcomes", "batches", "outcomes"],
    "mlops_nb.api.promotion": ["request_promotion", "approve", "reject", "cancel", "requests", "rollback",
                               "set_policy", "get_policy", "preview_gates"],
    "mlops_nb.api.registry": ["register_model", "models", "get_model_version", "load_model", "trust_types",
                              "trusted_types"],
    "mlops_nb.api.retraining": ["set_retraining", "retrain", "retraining_runs"],
    "mlops_nb.api.attestations": ["attest", "withdraw_attestation", "attestations"],
    "mlops_nb.api.scorecard_history": ["snapshot_scorecards", "scorecard_history", "scorecard_settings",
                                       "set_scorecard_settings"],
    "mlops_nb.api.scorecards": ["scorecard"],
    "mlops_nb.api.users": ["users", "add_user", "set_role", "deactivate_user", "activate_user", "set_password",
                           "issue_token", "tokens", "revoke_token"],
}
_LOCATION = {name: module for module, names in _API.items() for name in names}

__all__ = sorted(_LOCATION) + ["Conflict", "GateFailed", "IntegrityFailure", "InvalidInput", "MlopsError",
                               "NotFound", "PermissionDenied", "StoreBusy", "StoreUnavailable", "ValidationFailed",
                               "load_ipython_extension"]


def __getattr__(name: str) -> Any:
    """The API function `name`, imported from its mlops_nb.api module on first use (PEP 562).

    Raises:
        AttributeError: `name` is not part of the API.
    """
    module = _LOCATION.get(name)
    if module is None:
        raise AttributeError(f"module 'mlops_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The package's names, including the API functions not loaded yet."""
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """`%load_ext mlops_nb`: registers the %mlops line and cell magics."""
    from mlops_nb.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """`%unload_ext mlops_nb`: removes the %mlops magics and stops recording cells."""
    from mlops_nb.magics import unload_ipython_extension as unload

    unload(ipython)
