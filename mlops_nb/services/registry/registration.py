"""Registering a model: its skops file and the next version number, with lineage and environment.

Version numbers never collide: registration locks the registered model's row (SELECT ... FOR
UPDATE on PostgreSQL; SQLite transactions are serialised by BEGIN IMMEDIATE) before it numbers, and
reads the highest number only after the lock is held. A model registered for the first time by two
writers at once is created by one of them; the other locks the row the winner made.

A model file may hold only types the loader trusts (SPEC §4, services.registry.allow_list): one
that needs any other type is refused, naming the types, unless they were trusted for the model
before, or a proven ml_engineer or admin trusts them in the same call (`trust_types`, with a
reason; recorded and audited as `model.trust_types`). A class defined in the notebook (`__main__`)
is refused: no other process could load it.

The model is serialised, hashed and written to a staging name before the first query, so the
store's write lock is held only for the few reads and inserts (a rename of the file into place,
version, audit event) that need the new number. Every registration writes an audit
event (`model.register`, and `model.create` for a new model) in the same transaction.

    v = register_model(session=s, store=store, project_id=1, user="dana", model=pipe,
                       name="credit-risk", run_id=run.id, dataset="german", target="creditability")
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from mlops_nb.services.data import features as feature_defs
from mlops_nb.services.errors import Conflict, InvalidInput
from mlops_nb.services.governance import audit
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.registry import allow_list, lineage, model_files, trust
from mlops_nb.services.registry.lookups import public
from mlops_nb.services.registry.results import ModelVersionPublic, TrustedTypePublic
from mlops_nb.services.tracking import environment
from mlops_nb.services.tracking.artifacts import place, staged
from mlops_nb.services.values import check_name
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import ModelVersion, RegisteredModel

# The model's row, locked (FOR UPDATE on PostgreSQL); its highest version is read by a second
# statement, after the lock is held: in one statement, PostgreSQL would evaluate the max in the
# snapshot taken before waiting for a concurrent registrant's lock, and number a duplicate.
_MODEL_FOR_UPDATE = (select(col(RegisteredModel.id))
                     .where(col(RegisteredModel.project_id) == bindparam("project_id"),
                            col(RegisteredModel.name) == bindparam("name"))
                     .with_for_update())
_MAX_VERSION = select(func.max(col(ModelVersion.version))).where(col(ModelVersion.model_id) == bindparam("model_id"))
_INSERT_VERSION = insert(ModelVersion.__table__)  # type: ignore[attr-defined]  # SQLModel's stubs omit __table__


def _lock_model(session: Session, *, project_id: int, name: str, user: str) -> RegisteredModel:
    """The model's row, locked for this transaction (created first if needed; two creators may race).

    Raises:
        Conflict: the row could be neither created nor locked in five tries.
    """
    query = (select(RegisteredModel).where(col(RegisteredModel.project_id) == project_id,
                                           col(RegisteredModel.name) == name)
             .with_for_update())
    for _ in range(5):
        found: RegisteredModel | None = session.execute(query).scalars().first()
        if found is not None:
            return found
        model = RegisteredModel(project_id=project_id, name=name, created_by=user, created_at=time.time())
        try:
            with session.begin_nested():  # a savepoint: losing the race leaves the transaction usable
                session.add(model)
        except IntegrityError:
            continue  # another writer created it first; lock theirs
        audit.record(session=session, actor=user, action="model.create", entity="registered_model",
                     entity_id=name, after={"project_id": project_id})
        return model
    raise Conflict(f"model {name!r} could not be created or locked; try again")


def _needed_types(model: Any, data: bytes, unusual: list[str], wanted: list[str]) -> list[str]:
    """The types of `model`'s file (`data`, whose names beyond skops' defaults are `unusual`) that
    the loader's allow-list does not allow.

    Raises:
        InvalidInput: a class or function defined in the notebook; `wanted` (trust_types) names a
            type the file does not need.
    """
    beyond = allow_list.types_beyond(data, unusual)
    allow_list.refuse_notebook_types(beyond, what=f"the {type(model).__name__} cannot be registered")
    unneeded = sorted(set(wanted) - set(beyond))
    if unneeded:
        raise InvalidInput(f"trust_types names {', '.join(unneeded)}, which this model's file does not need "
                           f"beyond the loader's allow-list; it needs {', '.join(beyond) or 'nothing more'}")
    return beyond


def _missing_hint(model: Any, name: str, missing: list[str]) -> str:
    """The refusal of a model whose file needs `missing`, types nobody trusted, and how to trust them."""
    return (f"the {type(model).__name__} holds types outside the loader's allow-list (scikit-learn, numpy, scipy, "
            f"pandas, mlops_nb) that nobody trusted for model {name!r}: {', '.join(missing)}; their code would run "
            "wherever the model is loaded. If it is yours and safe, a proven ml_engineer or admin can register it "
            f"with trust_types={missing!r}, trust_reason='...' (or first trust them: "
            f"mlops.trust_types({name!r}, {missing!r}, reason='...'))")


def register_model(*, session: Session, store: ArtifactStore, project_id: int, user: str, model: Any, name: str,
                   run_id: str, dataset: Any = None, target: str | None = None, features: Any = None,
                   input_example: Any = None, actor: Identity | None = None,
                   trust_types: Sequence[str] | None = None, trust_reason: str | None = None) -> ModelVersionPublic:
    """Save `model` in skops format as the next version of `name`, with its lineage and environment.

    `run_id` names the run that trained it (of this project); `dataset` is a dataset name, a
    DatasetVersionPublic or None (the run's training dataset, see lineage.training_dataset);
    `target` is left out of the input signature; `features` names the feature definitions it was
    trained with (each the version the run applied, else the newest; None: every definition the run
    applied), stored as refs {"name", "version", "source_hash"}; with any, their functions in this
    process compute the model's inputs on the training dataset's sample, stored as the artifact
    `signature["reference_inputs"]` ({"artifact_id", "sha256"}) that the prediction_distribution
    gate scores;
    `input_example` (a DataFrame or array) gives the signature instead of the dataset. The version
    starts in stage "none"; the audit event `model.register` records its run, sha256 and dataset.

    `trust_types` (with `trust_reason`) trusts types beyond the loader's allow-list for this model,
    as `actor` (default: `user`, declared), who must be a proven ml_engineer or admin.

    Raises:
        InvalidInput: a bad name, target, features or input example; `model` is not a fitted
            scikit-learn estimator or cannot be saved in skops format; the run is of another project;
            the file needs types nobody trusted for the model (named, with how to trust them), or a
            class defined in the notebook; `trust_types` names a type that may never be trusted or
            that the file does not need, or comes without a reason.
        PermissionDenied: `trust_types` from anyone but a proven ml_engineer or admin.
        NotFound: no run `run_id`, no dataset by that name, or no feature definition by a name in
            `features`, or this process does not define a feature it names (bind).
        Conflict: the model's row could not be locked (retry); this process defines a feature with
            another source than the version named (edited since it was applied).
    """
    check_name(name, "model name")
    wanted: list[str] = []
    if trust_types:
        trust.authorise(session=session, actor=actor or Identity(name=user))
        wanted = allow_list.check_trustable(trust_types)
        trust.check_reason(trust_reason)
    if target is not None:
        check_name(target, "target")
    features = lineage.check_features(features)
    data, unusual = model_files.dump(model)
    needed = _needed_types(model, data, unusual, wanted)
    example = lineage.example_rows(input_example, target)
    try:
        outputs = model_files.output_signature(model, example)
    except Exception as err:
        raise InvalidInput(f"input_example does not fit the {type(model).__name__}: {err}") from err
    env, requirements = environment.training_env(unusual)  # a record of the file's names, not an authority

    with staged(store, data=data) as model_file:  # written and hashed before the first statement
        run = lineage.run_in_project(session, run_id=run_id, project_id=project_id)
        trained_on = lineage.training_dataset(session=session, project_id=project_id, run_id=run.id, dataset=dataset)
        lineage.check_target(target, trained_on)
        definitions = feature_defs.for_registration(session=session, project_id=project_id, run_id=run.id,
                                                    names=features)
        reference = lineage.reference_inputs(session=session, store=store, dataset=trained_on, definitions=definitions)
        signature = {"inputs": lineage.input_signature(model, dataset=trained_on, target=target,
                                                       input_example=input_example),
                     "outputs": outputs}
        run_params, metrics = lineage.run_params_and_metrics(session, run_id=run.id)
        params = {**model_files.estimator_params(model), **run_params}

        conn = session.connection()
        model_id = conn.execute(_MODEL_FOR_UPDATE, {"project_id": project_id, "name": name}).scalar()
        if model_id is None:  # a new model: created (or, losing a race, locked) the ORM way
            model_id = _lock_model(session, project_id=project_id, name=name, user=user).id
        assert model_id is not None  # an existing row's id, or one _lock_model flushed
        if needed:
            missing = sorted(set(needed) - set(trust.trusted_names(session=session, model_id=model_id)) - set(wanted))
            if missing:
                raise InvalidInput(_missing_hint(model, name, missing))
        trusted: list[TrustedTypePublic] | None = None  # None: `public` reads the model's trust records
        if wanted:
            trusted = trust.record_trust(session=session, actor=actor or Identity(name=user), model_id=model_id,
                                         model_name=name, types=wanted, reason=trust_reason)
        number = (conn.execute(_MAX_VERSION, {"model_id": model_id}).scalar() or 0) + 1
        artifact = place(session=session, staged_file=model_file, run_id=run.id,
                         name=f"models/{model_id}/v{number}/model.skops")  # from ids, never the typed name
        if reference is not None:  # the model-input sample the prediction_distribution gate scores
            with staged(store, data=reference) as reference_file:
                placed = place(session=session, staged_file=reference_file, run_id=run.id,
                               name=f"models/{model_id}/v{number}/reference_inputs.parquet")
            signature["reference_inputs"] = {"artifact_id": placed.id, "sha256": placed.sha256}
    values = {"model_id": model_id, "version": number, "stage": "none", "run_id": run.id,
              "dataset_version_id": trained_on.id if trained_on else None, "artifact_id": artifact.id,
              "flavor": model_files.FLAVOR, "target": target, "signature": signature, "env": env,
              "requirements": requirements, "params": params, "metrics": metrics,
              "code": lineage.code_reference(run), "features": [d.ref for d in definitions], "created_by": user,
              "created_at": time.time()}
    inserted = conn.execute(_INSERT_VERSION, values).inserted_primary_key
    assert inserted is not None  # an INSERT of one row
    row = SimpleNamespace(id=inserted[0], **values)  # the fields `public` reads, without an ORM object
    audit.record(session=session, actor=user, action="model.register", entity="model_version",
                 entity_id=f"{name}:{number}",
                 after={"run_id": run.id, "sha256": artifact.sha256, "stage": "none",
                        "dataset_version_id": row.dataset_version_id})
    return public(session=session, row=row, model_name=name, artifact=artifact, dataset=trained_on, trust=trusted)
