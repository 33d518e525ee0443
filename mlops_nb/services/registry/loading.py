"""Loading a registered version to score: the file's sha256 first, then the environment, then skops.

SPEC §2 and §4: a file whose hash does not match is never loaded, and model files load only the
types the loader trusts: skops' defaults, the loader's allow-list (registry.allow_list) and the
types a proven ml_engineer or admin trusted for the model (registry.trust), never the file's own
list nor `env["trusted_types"]`. The gates and the registry panel's preview load candidates through
`plan_for_row` and `load` too, so scoring a candidate never runs a type nobody trusted. A training
environment other than this one is named in an EnvironmentMismatchWarning, or refused with
Conflict when the model's effective policy says `env_mismatch: refuse` (services.governance.policies).

Loading is two steps so that no transaction stays open while a file is read and deserialised:
`plan_load` reads what is needed in one short transaction; `load` needs only the artifact store.

    with session_scope(engine) as s:
        plan = plan_load(session=s, project_id=1, name="credit-risk", stage="production")
    live = load(plan, store=store)
    live.predict_proba(applicants)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

from sqlmodel import Session

from mlops_nb.services.errors import Conflict
from mlops_nb.services.governance.policies import get_effective_policy
from mlops_nb.services.registry import model_files
from mlops_nb.services.registry.lookups import find_version_row, get_model, public
from mlops_nb.services.registry.results import ModelVersionPublic
from mlops_nb.services.registry.scoring import ScoringModel
from mlops_nb.services.tracking import environment
from mlops_nb.services.tracking.artifacts import read_verified
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import Artifact, ModelVersion


class EnvironmentMismatchWarning(UserWarning):
    """A model is loaded in an environment other than the one it was trained in."""


def env_policy(*, session: Session, project_id: int, model_id: int) -> str:
    """'refuse' or 'warn': the `env_mismatch` rule of the model's effective policy (its own, else the
    project default, else the default rules: warn), as governance.get_effective_policy reads it.

    Raises:
        InvalidInput: the stored policy is not a valid policy document.
    """
    policy = get_effective_policy(session=session, project_id=project_id, model_id=model_id)
    return "refuse" if policy.rules["env_mismatch"] == "refuse" else "warn"


@dataclass
class LoadPlan:
    """What loading a version needs from the store, read in one short transaction: the version's
    read model, its file's artifact row, the types trusted for its model (the trust table), and
    'warn' or 'refuse'."""

    version: ModelVersionPublic
    artifact: Artifact
    trusted: list[str]
    env_policy: str


def plan_load(*, session: Session, project_id: int, name: str, version: int | None = None,
              stage: str | None = None) -> LoadPlan:
    """What loading model `name` (version by number or stage, else the newest) needs, under its env policy.

    Raises:
        InvalidInput: both `version` and `stage`, a bad stage, or a policy that is not valid.
        NotFound: no such model, version, or version in `stage`.
    """
    model = get_model(session=session, project_id=project_id, name=name)
    assert model.id is not None  # a row read from the store
    row = find_version_row(session=session, model=model, version=version, stage=stage)
    return plan_for_row(session=session, row=row, model_name=model.name,
                        env_policy=env_policy(session=session, project_id=project_id, model_id=model.id))


def plan_for_row(*, session: Session, row: ModelVersion, model_name: str | None = None,
                 env_policy: str = "warn") -> LoadPlan:
    """A LoadPlan for a version row already in hand (the gates load candidates this way), trusting
    the types trusted for its model in the trust table (never `row.env["trusted_types"]`, the
    file's own list)."""
    artifact = session.get(Artifact, row.artifact_id)
    assert artifact is not None  # model_version.artifact_id is a foreign key
    info = public(session=session, row=row, model_name=model_name)
    return LoadPlan(version=info, artifact=artifact, trusted=[t.type for t in info.trust], env_policy=env_policy)


def load(plan: LoadPlan, *, store: ArtifactStore) -> ScoringModel:
    """The version's estimator, ready to score: sha256 checked first, then the environment, then skops.

    An environment mismatch warns (EnvironmentMismatchWarning naming each difference) unless the
    plan's policy is 'refuse'.

    Raises:
        IntegrityFailure: the file does not hash to the recorded sha256 (nothing is deserialised).
        PermissionDenied: the file holds types nobody trusted for this model (nothing is deserialised).
        InvalidInput: the file holds a class defined in a notebook (`__main__`).
        NotFound: a trusted class cannot be imported in this process.
        Conflict: the environment differs and the model's policy refuses to load it.
    """
    info = plan.version
    data = read_verified(store=store, artifact=plan.artifact)
    mismatches = environment.env_mismatches(info.env)
    if mismatches:
        listed = "; ".join(mismatches)
        if plan.env_policy == "refuse":
            raise Conflict(f"model {info.name!r} v{info.version} was trained in another environment ({listed}) "
                           "and its policy refuses to load it; install its requirements "
                           "(get_model_version(...).requirements) and try again")
        warnings.warn(f"model {info.name!r} v{info.version} was trained in another environment: {listed}; "
                      "predictions may differ (install its requirements to match)",
                      EnvironmentMismatchWarning, stacklevel=3)
    estimator = model_files.load(data, trusted=plan.trusted, label=f"model {info.name!r} v{info.version}",
                                 model=info.name)
    return ScoringModel(info, estimator, mismatches)
