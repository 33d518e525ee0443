"""Where a model version comes from: its run (code, params, metrics), training dataset and signature.

SPEC §3 asks every registered version to link to its dataset, code and params; the
`lineage_complete` gate and the maturity scorecard read what registration stores from here. The
reads are Core statements built once (a registration runs about ten statements, and building and
ORM-executing each anew cost more than the SQL itself).

    run = run_in_project(session, run_id="3f2a...", project_id=1)      # raises unless it is there
    data = training_dataset(session=s, project_id=1, run_id=run.id, dataset="german")
    inputs = input_signature(model, dataset=data, target="creditability")
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Float, Text, bindparam, literal, null, select, union_all
from sqlmodel import Session, col

from mlops_nb.services.data import datasets
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.values import check_name
from mlops_nb.store.models import Artifact, DatasetVersion, Experiment, LatestMetric, Param, Run, RunInput

EXAMPLE_ROWS = 5  # rows of `input_example` the output signature is computed on

_RUN_FOR_MODEL = (select(col(Run.id), col(Run.name), col(Run.git_commit), col(Run.git_dirty), col(Run.code_hash),
                         col(Run.cell_source), col(Run.cell_hashes), col(Run.notebook_path), col(Run.code_status),
                         col(Experiment.project_id))
                  .join(Experiment, col(Experiment.id) == Run.experiment_id).where(col(Run.id) == bindparam("run_id")))
# The run's params (text) and latest metrics (float) in one round trip, each kind in its own column.
_RUN_PARAMS_AND_METRICS = union_all(
    select(literal("param").label("kind"), col(Param.key), col(Param.value).label("text"),
           null().cast(Float).label("number"))
    .where(col(Param.run_id) == bindparam("run_id")),
    select(literal("metric"), col(LatestMetric.key), null().cast(Text), col(LatestMetric.value))
    .where(col(LatestMetric.run_id) == bindparam("run_id")))
# A dataset by name: the version the run used (its train input first, then the newest input), else the
# newest version (the order of training_dataset's two queries, in one).
_RUN_INPUT_OF = RunInput.__table__.alias("used")  # type: ignore[attr-defined]  # SQLModel's stubs omit __table__
_DATASET_BY_NAME = (select(*datasets.PUBLIC_COLUMNS)
                    .outerjoin(Artifact, col(Artifact.id) == DatasetVersion.sample_artifact_id)
                    .outerjoin(_RUN_INPUT_OF, (_RUN_INPUT_OF.c.dataset_version_id == DatasetVersion.id)
                               & (_RUN_INPUT_OF.c.run_id == bindparam("run_id")))
                    .where(col(DatasetVersion.project_id) == bindparam("project_id"),
                           col(DatasetVersion.name) == bindparam("name"))
                    .order_by(_RUN_INPUT_OF.c.run_id.is_not(None).desc(), (_RUN_INPUT_OF.c.role == "train").desc(),
                              _RUN_INPUT_OF.c.created_at.desc(), col(DatasetVersion.version).desc())
                    .limit(1))
_RUN_TRAINING_DATASET = (select(*datasets.PUBLIC_COLUMNS)
                         .join(RunInput, col(RunInput.dataset_version_id) == DatasetVersion.id)
                         .outerjoin(Artifact, col(Artifact.id) == DatasetVersion.sample_artifact_id)
                         .where(col(RunInput.run_id) == bindparam("run_id"), col(RunInput.role) == "train")
                         .order_by(col(RunInput.created_at).desc()).limit(1))


def run_in_project(session: Session, *, run_id: str, project_id: int) -> Any:
    """The run's id, name, git_commit, git_dirty, code_hash, cell_source, cell_hashes, notebook_path,
    code_status and project_id (a SQLAlchemy row): what registration reads of the run that trained a model.

    Raises:
        NotFound: no run `run_id`.
        InvalidInput: the run belongs to another project.
    """
    found = session.connection().execute(_RUN_FOR_MODEL, {"run_id": run_id}).first() \
        if isinstance(run_id, str) else None
    if found is None:
        raise NotFound(f"run {run_id!r} does not exist; list runs with mlops.runs()")
    if found.project_id != project_id:
        raise InvalidInput(f"run {found.name!r} ({run_id}) belongs to another project; register from a run of this one")
    return found


def run_params_and_metrics(session: Session, *, run_id: str) -> tuple[dict[str, str], dict[str, float | str]]:
    """The run's params ({key: text}) and the latest value of each of its metrics, JSON-ready (NaN and
    +-inf as the text 'nan', 'inf', '-inf'; a NULL value, which is how NaN is stored, as 'nan')."""
    params: dict[str, str] = {}
    metrics: dict[str, float | str] = {}
    for kind, key, text, number in session.connection().execute(_RUN_PARAMS_AND_METRICS, {"run_id": run_id}):
        if kind == "param":
            params[key] = text
        else:
            metrics[key] = _json_float(number)
    return params, metrics


def _json_float(value: float | None) -> float | str:
    """Metrics as JSON: NaN and +-inf as text ('nan', 'inf', '-inf'), read back as floats."""
    if value is None:
        return "nan"
    return value if math.isfinite(value) else repr(float(value))


def code_reference(run: Any) -> dict[str, Any]:
    """The code a run executed: {git_commit, git_dirty, code_hash, notebook_path, code_status, cells}.
    `code_hash` is the run's hash of its recorded cells (api/cells.py), else the sha256 (hex) of its
    cell source, else None; `notebook_path` the notebook or, outside one, the script; `code_status`
    where that file stands in git (services.tracking.environment.CODE_STATUSES; None for runs
    recorded before it was kept); `cells` how many cells (or script texts) were recorded."""
    code_hash = run.code_hash
    if code_hash is None and run.cell_source:
        code_hash = hashlib.sha256(run.cell_source.encode()).hexdigest()
    cells = len(run.cell_hashes or []) or (1 if run.cell_source else 0)
    return {"git_commit": run.git_commit, "git_dirty": run.git_dirty, "code_hash": code_hash,
            "notebook_path": run.notebook_path, "code_status": run.code_status, "cells": cells}


def version_code(run: Any, recorded: Mapping[str, Any] | None) -> dict[str, Any]:
    """The code that made a version: its run's code_reference, overridden by what the version's own
    record (kept at registration) holds, key by key; `run` None: the record alone."""
    base = code_reference(run) if run is not None else {}
    return {**base, **{k: val for k, val in (recorded or {}).items() if val is not None}}


def code_verdict(code: Mapping[str, Any]) -> tuple[bool, str]:
    """(recorded, why): whether `code` (a code_reference) names the code that made a model, and in words.

    The recorded cells (or script text) are the code: with them the code is recorded, whatever git
    says (an untracked or modified notebook is named as a warning: the cells are its only copy).
    Without them, only a git commit holding the code file unchanged (`committed`) names the code; a
    run recorded before code status was kept (`code_status` None) with a clean commit is taken at
    its word. Anything else (no commit, a notebook not in git or changed since, no file known) is
    not recorded code."""
    commit, status, path = code.get("git_commit"), code.get("code_status"), code.get("notebook_path")
    where = f"{path!r}" if path else "the code file"
    if code.get("code_hash"):
        cells = code.get("cells") or 1
        words = f"{cells} cell{'s' if cells != 1 else ''} recorded (code hash {str(code['code_hash'])[:12]})"
        if status in ("untracked", "modified"):
            words += f"; warning: {where} is {status} in git, so the recorded cells are its only copy"
        return True, words
    if commit and (status == "committed" or (status is None and code.get("git_dirty") is not True)):
        return True, f"git commit {str(commit)[:12]}" + (f" of {where}" if path else "")
    if status in ("untracked", "modified"):
        reason = f"{where} is {status} in git (commit {str(commit)[:12]} does not hold it)" if commit else \
            f"{where} is {status} in git"
    elif status == "no_git":
        reason = f"{where} is in no git repository"
    elif commit and code.get("git_dirty"):
        reason = f"commit {str(commit)[:12]} had uncommitted changes"
    else:
        reason = "no code file is known and no git commit holds it"
    return False, f"no code recorded: no cells were recorded and {reason}"


def training_dataset(*, session: Session, project_id: int, run_id: str, dataset: Any) -> DatasetVersionPublic | None:
    """The dataset version a model was trained on.

    `dataset` None: the run's training dataset (None if it logged none). A name: the version of that
    dataset the run used, else its newest version. A DatasetVersionPublic: that version, read again.

    Raises:
        InvalidInput: `dataset` is neither a name nor a DatasetVersionPublic.
        NotFound: no dataset of that name (or version) in the project.
    """
    if dataset is None:
        row = session.connection().execute(_RUN_TRAINING_DATASET, {"run_id": run_id}).first()
        return datasets.public_row(row) if row is not None else None
    if isinstance(dataset, DatasetVersionPublic):
        return datasets.get_dataset(session=session, project_id=project_id, name=dataset.name,
                                    version=dataset.version)
    if not isinstance(dataset, str):
        raise InvalidInput(f"dataset must be a dataset name or a DatasetVersion, got {type(dataset).__name__}; "
                           "log a DataFrame first with mlops.log_dataset(df, name=...)")
    row = session.connection().execute(_DATASET_BY_NAME, {"run_id": run_id, "project_id": project_id,
                                                          "name": dataset}).first()
    if row is None:  # no such dataset: get_dataset names what there is
        return datasets.get_dataset(session=session, project_id=project_id, name=dataset)
    return datasets.public_row(row)


def check_target(target: str | None, dataset: DatasetVersionPublic | None) -> None:
    """Nothing, when `target` is None, there is no dataset, or it is a column of `dataset`.

    Raises:
        InvalidInput: `target` is not a column of the training dataset (the message lists up to 30).
    """
    if target is None or dataset is None:
        return
    columns = [c["name"] for c in dataset.schema.get("columns", [])]
    if target not in columns:
        raise InvalidInput(f"target {target!r} is not a column of dataset {dataset.name!r} "
                           f"v{dataset.version}; its columns: {', '.join(columns[:30])}")


def check_features(features: Any) -> list[str] | None:
    """The feature definition names a version was trained with, checked: None (the definitions its
    run applied) or a list of names ([] for none at all).

    Raises:
        InvalidInput: `features` is a single string, or holds a non-string or an invalid name.
    """
    if features is None:
        return None
    if isinstance(features, str) or not all(isinstance(f, str) for f in features):
        raise InvalidInput("features must be a list of feature definition names, e.g. ['income_ratio']")
    return [check_name(f, "feature name") for f in features]


def reference_inputs(*, session: Session, store: Any, dataset: DatasetVersionPublic | None,
                     definitions: list[Any]) -> bytes | None:
    """The model's input frame on the training dataset's stored sample (the sample plus each
    feature's columns, computed by this process's functions of `definitions`), as Parquet bytes;
    None when there are no definitions or no stored sample. The prediction_distribution gate
    scores this frame, so no feature code ever runs in a reviewer's process.

    Raises:
        Conflict, NotFound: this process does not define a feature with the source it names (bind).
        InvalidInput: a feature function fails on the sample (the rows named).
        IntegrityFailure: the sample's bytes changed.
    """
    if not definitions or dataset is None or dataset.sample_uri is None:
        return None
    from mlops_nb.services.data.feature_pipeline import bind

    pipeline = bind(definitions)  # never the stored source: the registering process has the functions
    sample = datasets.load_sample(session=session, store=store, dataset_version_id=dataset.id)
    inputs, _ = pipeline.compute(sample)
    return datasets._sample_bytes(inputs)  # noqa: SLF001 - the same Parquet writing as the dataset's sample


def example_rows(input_example: Any, target: str | None) -> Any:
    """The first EXAMPLE_ROWS rows of `input_example` (DataFrame or array) without the `target` column,
    or None: what the output signature is computed on."""
    if input_example is None:
        return None
    head = input_example[:EXAMPLE_ROWS] if not hasattr(input_example, "head") else input_example.head(EXAMPLE_ROWS)
    if target is not None and hasattr(head, "columns") and target in head.columns:
        head = head.drop(columns=target)
    return head


def input_signature(model: Any, *, dataset: DatasetVersionPublic | None, target: str | None,
                    input_example: Any = None) -> dict[str, Any] | None:
    """Columns and dtypes the model takes: from the example, else the training data less `target`.

    A DataFrame gives {"type": "dataframe", "columns": [{"name", "dtype"}, ...]}, an array
    {"type": "ndarray", "dtype", "shape": [-1, ...]}; None when nothing says what the input is.
    When the estimator knows the columns it was fitted on (`feature_names_in_`), the dataset's
    columns are narrowed to those, in that order, so scoring does not demand columns it ignores.

    Raises:
        InvalidInput: `input_example` is neither a DataFrame nor an array.
    """
    if input_example is not None:
        if hasattr(input_example, "dtypes") and hasattr(input_example, "columns"):
            return {"type": "dataframe", "columns": [{"name": str(c), "dtype": str(t)}
                                                     for c, t in input_example.dtypes.items() if str(c) != target]}
        shape = getattr(input_example, "shape", None)
        if shape is not None:
            return {"type": "ndarray", "dtype": str(getattr(input_example, "dtype", "")), "shape": [-1, *shape[1:]]}
        raise InvalidInput(f"input_example must be a DataFrame or an array, got {type(input_example).__name__}")
    fitted = getattr(model, "feature_names_in_", None)
    fitted = [str(c) for c in fitted] if fitted is not None else None
    if dataset is not None:
        columns = [{"name": c["name"], "dtype": c["dtype"]} for c in dataset.schema.get("columns", [])
                   if c["name"] != target]
        if fitted is not None:
            by_name = {c["name"]: c for c in columns}
            columns = [by_name.get(n, {"name": n, "dtype": None}) for n in fitted]
        return {"type": "dataframe", "columns": columns}
    if fitted is not None:
        return {"type": "dataframe", "columns": [{"name": n, "dtype": None} for n in fitted]}
    return None
