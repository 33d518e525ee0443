"""Experiment tracking: projects, experiments, runs, params, metrics, tags, artifacts, run search
with MLflow's filter syntax, the captured environment, and scikit-learn autologging.

Each module below is one job; this package names what the domain offers, so callers write
`from mlops_nb.services import tracking` and `tracking.<function>(...)`. Functions that read or
join a caller's transaction take its `session`; the run writes and the search take a run store
(`mlops_nb.store.run_store.run_store(engine)`, or `run_store(session)` inside a session), which on a
SQLite file is the raw-sqlite3 fast path and elsewhere SQLAlchemy: the same calls either way.
"""
from __future__ import annotations

from mlops_nb.services.tracking.artifacts import (
    checked_name,
    log_artifact,
    public,
    read_verified,
    store_bytes,
)
from mlops_nb.services.tracking.autolog import (
    TRUNCATED,
    AutologWarning,
    Sink,
    estimator_classes,
    estimator_params,
    estimator_tags,
    is_patched,
    param_value,
    patch,
    training_metrics,
    unpatch,
)
from mlops_nb.services.tracking.environment import (
    ENV_PACKAGES,
    GIT_CACHE_S,
    KEY_PACKAGES,
    KNOWN_ROOTS,
    capture,
    env_mismatches,
    git_state,
    notebook_path,
    package_versions,
    training_env,
)
from mlops_nb.services.tracking.filters import Condition, parse_filter
from mlops_nb.services.tracking.metrics import (
    history_points,
    log_metrics,
    metric_history,
    metric_points,
    read_next_steps,
    write_metric_points,
)
from mlops_nb.services.tracking.projects import (
    get_experiment,
    get_or_create_experiment,
    get_or_create_project,
    get_project,
)
from mlops_nb.services.tracking.results import (
    RUN_TABLE_FIXED,
    ArtifactPublic,
    MetricPoint,
    RunEnded,
    RunPublic,
    RunStarted,
    RunTable,
)
from mlops_nb.services.tracking.runs import (
    CONTEXT_COLUMNS,
    END_STATUSES,
    create_run,
    end_run,
    get_run,
    get_run_row,
    heartbeat,
    log_params,
    mark_stale_runs,
    require_running,
    set_run_code,
    set_tags,
    start_run,
    tag_values,
)
from mlops_nb.services.tracking.search import count_runs, read_runs, search_runs

__all__ = [
    "read_runs",
    "CONTEXT_COLUMNS",
    "END_STATUSES",
    "ENV_PACKAGES",
    "GIT_CACHE_S",
    "KEY_PACKAGES",
    "KNOWN_ROOTS",
    "RUN_TABLE_FIXED",
    "TRUNCATED",
    "ArtifactPublic",
    "AutologWarning",
    "Condition",
    "MetricPoint",
    "RunEnded",
    "RunPublic",
    "RunStarted",
    "RunTable",
    "Sink",
    "capture",
    "checked_name",
    "count_runs",
    "create_run",
    "end_run",
    "env_mismatches",
    "estimator_classes",
    "estimator_params",
    "estimator_tags",
    "get_experiment",
    "get_or_create_experiment",
    "get_or_create_project",
    "get_project",
    "get_run",
    "get_run_row",
    "git_state",
    "heartbeat",
    "history_points",
    "is_patched",
    "log_artifact",
    "log_metrics",
    "log_params",
    "mark_stale_runs",
    "metric_history",
    "metric_points",
    "notebook_path",
    "package_versions",
    "param_value",
    "parse_filter",
    "patch",
    "public",
    "read_next_steps",
    "read_verified",
    "require_running",
    "search_runs",
    "set_run_code",
    "set_tags",
    "start_run",
    "store_bytes",
    "tag_values",
    "training_env",
    "training_metrics",
    "unpatch",
    "write_metric_points",
]
