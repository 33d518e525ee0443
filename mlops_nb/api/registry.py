"""The registry verbs of the Python API: register, list, look up and load model versions.

Each opens one transaction on the context's store and calls services.registry (SPEC §4, Registry).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.registry.results import ModelTable, ModelVersionPublic, TrustList
from mlops_nb.store.db import session_scope

if TYPE_CHECKING:
    from mlops_nb.services.monitoring.scoring import MonitoredModel


@store_errors
def register_model(model: Any, *, name: str, dataset: Any = None, target: str | None = None,
                   features: list[str] | None = None, input_example: Any = None,
                   run_id: str | None = None, trust_types: Sequence[str] | None = None,
                   trust_reason: str | None = None) -> ModelVersionPublic:
    """Register a fitted scikit-learn estimator or pipeline as the next version of model `name`.

    >>> with mlops.start_run(experiment="credit"):
    ...     mlops.log_dataset(train, name="german", role="train")
    ...     v = mlops.register_model(pipe, name="credit-risk", dataset="german", target="creditability")
    >>> v.version, v.sha256[:12], v.env["packages"]["scikit-learn"]

    Saved in skops format (not pickle) with its sha256, the run's params and metrics, the training
    dataset version, the code and the environment. Needs an active run or `run_id`.

    The file may hold only types the loader trusts: those of scikit-learn, numpy, scipy, pandas and
    mlops_nb (docs/governance.md, "Model files"), and those trusted for the model before. A model
    with your own class needs a proven ml_engineer or admin to trust it, in this call or with
    `trust_types`:

    >>> mlops.init(project="credit", user="eve", password="...")           # a proven ml_engineer
    >>> mlops.register_model(pipe, name="credit-risk", trust_types=["credit_features.Binner"],
    ...                      trust_reason="our binning step, reviewed in PR 42")

    Raises:
        InvalidInput: no active run and no `run_id`; a bad name, target, dataset or input example;
            `model` is not a fitted scikit-learn estimator; it needs types nobody trusted for the
            model (the message names them), or holds a class defined in the notebook (`__main__`:
            move it to an importable module); `trust_types` without a reason, naming a type the
            model does not need, or one nobody may trust (`os.system`, `builtins.eval`, ...).
        PermissionDenied: `trust_types` and you are not a proven ml_engineer or admin.
        NotFound: no such run or dataset.
    """
    from mlops_nb.services import registry

    context = get_context()
    if run_id is None:
        if context.active_run is None:
            raise InvalidInput("register_model needs an active run or run_id: start one with "
                               "mlops.start_run(...), or pass run_id= of the run that trained the model")
        run_id = context.active_run.id
    if context.active_run is not None and context.active_run.id == run_id:
        from mlops_nb.api.cells import record_current_cell

        record_current_cell()  # the cell registering the model is part of the code that made it
    from mlops_nb.services.registry import feature_inputs, lineage

    checked = lineage.check_features(features)
    with session_scope(context.engine) as session:  # a short read: which definitions, which sample
        prepared = feature_inputs.prepare(session=session, project_id=context.project_id, run_id=run_id,
                                          dataset=dataset, names=checked)
    prepared = feature_inputs.computed(prepared, store=context.artifacts)  # feature code, no transaction open
    with session_scope(context.engine) as session:
        return present(registry.register_model(session=session, store=context.artifacts, project_id=context.project_id,
                                       user=context.user, model=model, name=name, run_id=run_id,
                                       dataset=dataset, target=target, features=prepared,
                                       input_example=input_example, actor=context.actor(),
                                       trust_types=trust_types, trust_reason=trust_reason))


@store_errors
def models(name: str | None = None) -> ModelTable:
    """The project's registered models, or the versions of one.

    >>> mlops.models()                      # name, versions, latest, production, staging
    >>> mlops.models("credit-risk").to_frame()

    Raises:
        NotFound: `name` is not a registered model of the project.
    """
    from mlops_nb.services import registry

    context = get_context()
    with session_scope(context.engine) as session:
        return present(registry.list_models(session=session, project_id=context.project_id, name=name))


@store_errors
def get_model_version(name: str, version: int | None = None, stage: str | None = None) -> ModelVersionPublic:
    """A model version by number or stage (the newest version when neither is given).

    >>> mlops.get_model_version("credit-risk", stage="production").metrics

    Raises:
        InvalidInput: both `version` and `stage`, or an unknown stage.
        NotFound: no such model, version, or version in `stage` (the message lists what there is).
    """
    from mlops_nb.services import registry

    context = get_context()
    with session_scope(context.engine) as session:
        return present(registry.get_version(session=session, project_id=context.project_id, name=name,
                                    version=version, stage=stage))


@store_errors
def load_model(name: str, *, version: int | None = None, stage: str | None = None, monitor: bool = True,
               run_stored_features: bool = False) -> MonitoredModel:
    """Load a model version for scoring, by number or stage (the newest version when neither is given).

    >>> live = mlops.load_model("credit-risk", stage="production")
    >>> live.predict_proba(applicants)[:, 1]
    >>> live.last_batch_id                  # the batch just recorded: mlops.log_outcomes(..., predictions_id=)

    The file's sha256 is checked before it is deserialised; a training environment other than this
    one is named in an EnvironmentMismatchWarning, or refused by policy.

    Every predict/predict_proba call is a monitored batch (docs/api.md, "Monitored scoring"): the
    frame is validated against the training dataset's schema and profile; under the model's policy
    `scoring.on_invalid = "refuse"` a batch with an error finding is recorded as refused and
    ValidationFailed is raised, under "warn" (the default) a ScoringWarning names the findings; the
    version's feature definitions are applied; the batch (rows, latency, input and prediction
    profiles, a bounded sample) is recorded against the version in the background (`.flush()` waits).
    `monitor=False` gives the same model with no validation and no records (offline evaluation).
    `run_stored_features=True` runs a feature definition's stored source when this process does not
    define it.

    Raises:
        InvalidInput, NotFound: as get_model_version.
        IntegrityFailure: the file changed since registration.
        PermissionDenied: the file holds types nobody trusted for the model (named; nothing runs).
        InvalidInput: the file holds a class defined in a notebook (`__main__`).
        NotFound: a trusted class cannot be imported in this process (its module is named); a
            feature definition of the version is not defined here (and run_stored_features is False).
        Conflict: the environment differs and the model's policy says `env_mismatch: refuse`; a
            feature definition was edited since training.
    """
    from mlops_nb.services import monitoring

    for flag, value in (("monitor", monitor), ("run_stored_features", run_stored_features)):
        if not isinstance(value, bool):
            raise InvalidInput(f"{flag} must be True or False, got {value!r}")

    context = get_context()
    with session_scope(context.engine) as session:
        plan = monitoring.plan_monitored(session=session, project_id=context.project_id, name=name,
                                         version=version, stage=stage)
    return present(monitoring.load_monitored(plan, engine=context.engine, store=context.artifacts, user=context.user,
                                             monitor=monitor, run_stored_features=run_stored_features))


def trust_types(name: str, types: Sequence[str], *, reason: str) -> TrustList:
    """Trust `types` (classes or functions beyond the loader's allow-list) for every version of model
    `name`: their code runs wherever the model is loaded, so it takes a proven ml_engineer or admin.

    >>> mlops.init(project="credit", user="eve", password="...")
    >>> mlops.trust_types("credit-risk", ["credit_features.Binner"], reason="our binning step, PR 42")

    For a version registered before trust was recorded (its file names the type in
    `env["trusted_types"]`), this is how it becomes loadable again. Recorded with who, why and
    when, audited as `model.trust_types`, shown in the version's lineage. Trusting a type already
    trusted changes nothing.

    Raises:
        PermissionDenied: you are not a proven ml_engineer or admin.
        InvalidInput: no reason; a name that is not `module.Name`, is defined in a notebook, or may
            never be trusted (`os`, `builtins`, `subprocess`, ...).
        NotFound: `name` is not a registered model of the project.
    """
    from mlops_nb.services import registry

    context = get_context()
    with session_scope(context.engine) as session:
        return present(registry.trust_types(session=session, actor=context.actor(), project_id=context.project_id,
                                            model=name, types=types, reason=reason))


def trusted_types(name: str) -> TrustList:
    """The types trusted for model `name`'s files beyond the loader's allow-list: who, why, when.

    >>> mlops.trusted_types("credit-risk").types
    ['credit_features.Binner']

    Raises:
        NotFound: `name` is not a registered model of the project.
    """
    from mlops_nb.services import registry

    context = get_context()
    with session_scope(context.engine) as session:
        return present(registry.trusted_for(session=session, project_id=context.project_id, model=name))
