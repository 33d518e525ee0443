"""The model registry: model versions with lineage, model files (skops), and loading a version to score.

Each module below is one job; this package names what the domain offers, so callers write
`from mlops_nb.services import registry` and `registry.<function>(session=..., ...)`.
"""
from __future__ import annotations

from mlops_nb.services.registry.results import (
    MODEL_COLUMNS,
    ModelTable,
    ModelVersionPublic,
    VERSION_COLUMNS,
)
from mlops_nb.services.registry.scoring import (
    ScoringModel,
)
from mlops_nb.services.registry.model_files import (
    FLAVOR,
    check_estimator,
    dump,
    estimator_params,
    output_signature,
)
from mlops_nb.services.registry.models import (
    EXAMPLE_ROWS,
    EnvironmentMismatchWarning,
    LoadPlan,
    PARAM_TEXT_LIMIT,
    env_policy,
    find_version_row,
    get_model,
    get_version,
    get_version_row,
    input_signature,
    list_models,
    load,
    plan_for_row,
    plan_load,
    production_version_row,
    public,
    register_model,
    training_dataset,
)

__all__ = [
    "EXAMPLE_ROWS",
    "EnvironmentMismatchWarning",
    "FLAVOR",
    "LoadPlan",
    "MODEL_COLUMNS",
    "ModelTable",
    "ModelVersionPublic",
    "PARAM_TEXT_LIMIT",
    "ScoringModel",
    "VERSION_COLUMNS",
    "check_estimator",
    "dump",
    "env_policy",
    "estimator_params",
    "find_version_row",
    "get_model",
    "get_version",
    "get_version_row",
    "input_signature",
    "list_models",
    "load",
    "output_signature",
    "plan_for_row",
    "plan_load",
    "production_version_row",
    "public",
    "register_model",
    "training_dataset",
]
