"""Data: dataset versions with their fingerprint, schema, profile and sample; feature definitions.

This package names what the domain offers, so callers write `from mlops_nb.services import data`
and `data.<function>(session=..., ...)`: datasets logs and reads dataset versions (the training
data the registry links versions to, the reference drift is measured against); results holds the
plain record it returns; validation checks a frame against a dataset version (its contract) and
records the result. Feature definitions live in their own modules, imported by name:
`features` (versioned definitions, applications, the refs a model version names),
`feature_pipeline` (bind and compute), `skew` (the training/serving skew check), `feature_results`; `catalog`
(the project's dataset versions, their validations and its features, for the console's Data page).
"""
from __future__ import annotations

from mlops_nb.services.data.datasets import (
    MAX_CATEGORIES,
    ROLES,
    SAMPLE_ROWS,
    TOP_VALUES,
    check_frame,
    column_kind,
    fingerprint,
    get_dataset,
    load_sample,
    log_dataset,
    public,
    schema_and_profile,
)
from mlops_nb.services.data.feature_pipeline import FeaturePipeline, bind
from mlops_nb.services.data.feature_results import FeatureDefinitionPublic, FeatureTable, SkewResult
from mlops_nb.services.data.features import feature_refs_for_version
from mlops_nb.services.data.results import (
    DatasetVersionPublic,
    Finding,
    ValidationResult,
)
from mlops_nb.services.data.validation import (
    contract_columns,
    contract_label,
    latest_validation,
    record_validation,
    resolve_contract,
    validate_against,
    validate_frame,
    validate_version,
    without,
)

__all__ = [
    "DatasetVersionPublic",
    "Finding",
    "ValidationResult",
    "FeatureDefinitionPublic",
    "FeaturePipeline",
    "FeatureTable",
    "SkewResult",
    "bind",
    "feature_refs_for_version",
    "MAX_CATEGORIES",
    "ROLES",
    "SAMPLE_ROWS",
    "TOP_VALUES",
    "check_frame",
    "column_kind",
    "contract_columns",
    "contract_label",
    "fingerprint",
    "get_dataset",
    "latest_validation",
    "load_sample",
    "log_dataset",
    "public",
    "record_validation",
    "resolve_contract",
    "schema_and_profile",
    "validate_against",
    "validate_frame",
    "validate_version",
    "without",
]
