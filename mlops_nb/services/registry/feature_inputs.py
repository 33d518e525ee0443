"""The feature definitions a new model version names, and the model-input sample they compute,
prepared before registration's write transaction.

Registration holds the store's write lock (SQLite: BEGIN IMMEDIATE, one lock for the whole file)
only for its few reads and inserts. Computing a version's reference inputs (reading the training
sample, running the feature functions on up to 10,000 rows, writing Parquet) takes ~0.1 s, so the
Python API does it in two steps: `prepare` reads, in one short transaction, which definitions the
version will name and where the training sample is; `computed` runs the functions with no
transaction open. register_model takes the result as `features=` and only places the bytes.

    with session_scope(engine) as s:
        inputs = prepare(session=s, project_id=1, run_id=run.id, dataset=None, names=None)
    inputs = computed(inputs, store=store)
    register_model(..., features=inputs)
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from mlops_nb.services.data import datasets
from mlops_nb.services.data import features as feature_defs
from mlops_nb.services.data.feature_results import FeatureDefinitionPublic
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.registry import lineage
from mlops_nb.store.artifacts import ArtifactStore


@dataclass
class FeatureInputs:
    """The definitions a version names (`definitions`), for training dataset version
    `dataset_version_id` (None: none), its stored sample's uri and sha256, and once `computed`, the
    model-input sample as Parquet bytes (`reference`; None without definitions or sample)."""

    definitions: list[FeatureDefinitionPublic]
    dataset_version_id: int | None
    sample_uri: str | None = None
    sample_sha256: str | None = None
    reference: bytes | None = field(default=None, repr=False)
    done: bool = False


def prepare(*, session: Session, project_id: int, run_id: str, dataset: Any,
            names: list[str] | None) -> FeatureInputs:
    """What registering from run `run_id` with `dataset` and feature `names` will name (reads only).

    Raises:
        NotFound: no run, dataset or feature definition by those names.
        InvalidInput: a bad dataset argument, or the run is of another project.
    """
    run = lineage.run_in_project(session, run_id=run_id, project_id=project_id)
    trained_on = lineage.training_dataset(session=session, project_id=project_id, run_id=run.id, dataset=dataset)
    definitions = feature_defs.for_registration(session=session, project_id=project_id, run_id=run.id, names=names)
    return FeatureInputs(definitions=definitions, dataset_version_id=trained_on.id if trained_on else None,
                         sample_uri=trained_on.sample_uri if trained_on else None,
                         sample_sha256=trained_on.sample_sha256 if trained_on else None)


def computed(inputs: FeatureInputs, *, store: ArtifactStore) -> FeatureInputs:
    """`inputs` with `reference`: the training sample (sha256 checked) plus each feature's columns,
    computed by this process's functions of the definitions (never their stored source), as Parquet.

    Raises:
        Conflict, NotFound: this process does not define a feature with the source named (bind).
        InvalidInput: a feature function fails on the sample (the rows named).
        IntegrityFailure: the sample's bytes changed.
    """
    if not inputs.definitions or inputs.sample_uri is None or inputs.sample_sha256 is None:
        return FeatureInputs(**{**vars(inputs), "done": True})
    import pandas as pd

    from mlops_nb.services.data.feature_pipeline import bind
    from mlops_nb.services.tracking.artifacts import read_verified
    from mlops_nb.store.models import Artifact

    pipeline = bind(inputs.definitions)  # the registering process has the functions
    sample = pd.read_parquet(io.BytesIO(read_verified(store=store, artifact=Artifact(
        uri=inputs.sample_uri, sha256=inputs.sample_sha256, name="sample", size=0, created_at=0.0))))
    frame, _ = pipeline.compute(sample)
    return FeatureInputs(**{**vars(inputs), "reference": datasets._sample_bytes(frame), "done": True})  # noqa: SLF001


def resolve(*, session: Session, store: ArtifactStore, project_id: int, run_id: str,
            dataset: DatasetVersionPublic | None, features: Any) -> FeatureInputs:
    """The FeatureInputs registration uses: `features` itself when it is computed FeatureInputs for
    the same training dataset version, else prepared and computed here, inside the caller's
    transaction (a caller of the services that passed names).

    Raises:
        as prepare and computed.
    """
    dataset_id = dataset.id if dataset else None
    if isinstance(features, FeatureInputs) and features.done and features.dataset_version_id == dataset_id:
        return features
    names = [d.name for d in features.definitions] if isinstance(features, FeatureInputs) else features
    definitions = feature_defs.for_registration(session=session, project_id=project_id, run_id=run_id, names=names)
    inputs = FeatureInputs(definitions=definitions, dataset_version_id=dataset_id,
                           sample_uri=dataset.sample_uri if dataset else None,
                           sample_sha256=dataset.sample_sha256 if dataset else None)
    return computed(inputs, store=store)
