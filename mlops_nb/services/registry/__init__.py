"""The model registry: model versions with lineage, model files (skops), and loading a version to score.

Each module below is one job; this package names what the domain offers, so callers write
`from mlops_nb.services import registry` and `registry.<function>(session=..., ...)`:

- lookups: find a model or a version (by number or stage) and read it with its lineage;
- lineage: what a version records of its run, training dataset and signature;
- registration: the next version of a model, numbered under a lock, audited;
- model_files: skops files, and the types they may hold;
- loading and scoring: a version's file checked and loaded, then scored against its signature.
"""
from __future__ import annotations

from mlops_nb.services.registry.lineage import (
    EXAMPLE_ROWS,
    code_reference,
    code_verdict,
    input_signature,
    training_dataset,
)
from mlops_nb.services.registry.loading import (
    EnvironmentMismatchWarning,
    LoadPlan,
    env_policy,
    load,
    plan_for_row,
    plan_load,
)
from mlops_nb.services.registry.lookups import (
    find_version_row,
    get_model,
    get_version,
    get_version_row,
    list_models,
    production_version_row,
    public,
)
from mlops_nb.services.registry.model_files import (
    FLAVOR,
    PARAM_TEXT_LIMIT,
    check_estimator,
    dump,
    estimator_params,
    output_signature,
)
from mlops_nb.services.registry.registration import (
    register_model,
)
from mlops_nb.services.registry.results import (
    MODEL_COLUMNS,
    VERSION_COLUMNS,
    ModelTable,
    ModelVersionPublic,
)
from mlops_nb.services.registry.scoring import (
    ScoringModel,
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
    "code_reference",
    "code_verdict",
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
