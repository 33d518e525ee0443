"""Monitoring: monitored scoring, the batches it records, and the outcomes logged for them later.

This package names what the domain offers, so callers write `from mlops_nb.services import monitoring`
and `monitoring.<function>(session=..., ...)`: scoring builds the model `load_model` returns (it
validates, applies features, predicts and records each batch); writer writes batches off the
caller's path; profiles summarises a batch's input and predictions; batches reads recorded batches;
outcomes joins true outcomes to predictions and records business metrics; results holds the plain
records returned; project_batches (imported by name) reads batches across a project's models for the
console's Data page.
"""
from __future__ import annotations

from mlops_nb.services.monitoring.batches import get_batch, read_sample, recent_batches
from mlops_nb.services.monitoring.outcomes import check_business, list_outcomes, log_outcomes, realised_metrics
from mlops_nb.services.monitoring.profiles import input_profile, prediction_profile
from mlops_nb.services.monitoring.results import BatchTable, OutcomePublic, OutcomeTable
from mlops_nb.services.monitoring.scoring import (
    MonitoredModel,
    MonitorPlan,
    ScoringWarning,
    load_monitored,
    plan_monitored,
    scoring_policy,
)
from mlops_nb.services.monitoring.writer import (
    PREDICTION_ROWS,
    SAMPLE_ROWS,
    BatchWriter,
    BatchWriteWarning,
    PendingBatch,
    close_all,
    flush_store,
    writer_for,
)

__all__ = [
    "PREDICTION_ROWS",
    "SAMPLE_ROWS",
    "BatchTable",
    "BatchWriteWarning",
    "BatchWriter",
    "MonitorPlan",
    "MonitoredModel",
    "OutcomePublic",
    "OutcomeTable",
    "PendingBatch",
    "ScoringWarning",
    "check_business",
    "close_all",
    "flush_store",
    "get_batch",
    "input_profile",
    "list_outcomes",
    "load_monitored",
    "log_outcomes",
    "plan_monitored",
    "prediction_profile",
    "read_sample",
    "realised_metrics",
    "recent_batches",
    "scoring_policy",
    "writer_for",
]
