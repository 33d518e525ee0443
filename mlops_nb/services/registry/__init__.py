"""The model registry: model versions with lineage, model files (skops), and loading a version to score.

Each module below is one job; this package names what the domain offers, so callers write
`from mlops_nb.services import registry` and `registry.<function>(session=..., ...)`:

- lookups: find a model or a version (by number or stage) and read it with its lineage;
- lineage: what a version records of its run, training dataset and signature;
- registration: the next version of a model, numbered under a lock, audited;
- model_files: skops files, and the types they may hold;
- allow_list: the types the loader trusts by itself (scikit-learn, numpy, scipy, pandas, mlops_nb);
- trust: the types a proven ml_engineer or admin trusted for a model, recorded and audited;
- loading and scoring: a version's file checked and loaded, then scored against its signature.
"""
from __future__ import annotations

from mlops_nb.services.registry.allow_list import (
    ALLOWED_PACKAGES,
    NEVER_TRUSTED,
    types_beyond,
)
from mlops_nb.services.registry.lineage import (
    EXAMPLE_ROWS,
    code_reference,
    code_verdict,
    input_signature,
    training_dataset,
    version_code,
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
    trust_records,
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
    TrustedTypePublic,
    TrustList,
)
from mlops_nb.services.registry.scoring import (
    ScoringModel,
)
from mlops_nb.services.registry.trust import (
    trust_types,
    trusted_for,
    trusted_names,
)

__all__ = [
    "ALLOWED_PACKAGES",
    "EXAMPLE_ROWS",
    "EnvironmentMismatchWarning",
    "FLAVOR",
    "LoadPlan",
    "MODEL_COLUMNS",
    "ModelTable",
    "ModelVersionPublic",
    "NEVER_TRUSTED",
    "PARAM_TEXT_LIMIT",
    "ScoringModel",
    "TrustList",
    "TrustedTypePublic",
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
    "trust_records",
    "trust_types",
    "trusted_for",
    "trusted_names",
    "types_beyond",
    "version_code",
]
