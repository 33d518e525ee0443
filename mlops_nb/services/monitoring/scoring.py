"""Monitored scoring: what `mlops.load_model` returns validates, applies features, predicts, records.

Each `predict` / `predict_proba` call is one scoring batch (SPEC §3, Monitoring):

1. the frame is validated against the training dataset version's schema and profile
   (services.data.validation.validate_frame), restricted to the raw input columns (the signature's
   columns less the feature outputs; the target is not an input);
2. error findings under the model's policy `scoring.on_invalid = "refuse"`: the batch is written
   as `refused` with its findings and ValidationFailed names the columns and rules; under "warn"
   (the default) a ScoringWarning names the findings and scoring goes on (status `warned`);
3. the version's feature definitions compute the model's input (FeaturePipeline.compute; a
   feature_skew error counts as a validation error);
4. the estimator predicts, through the registry's signature check;
5. the batch (id a uuid4 hex, `.last_batch_id` right away) goes to the store's writer thread
   (services.monitoring.writer): profiles, a bounded sample and the row are written off the
   caller's path. A call that fails after validation is recorded as `failed` with its findings.

The caller waits for 1, 3 and 4 only (benchmarks/bench_scoring.py). Loading is two steps like the
registry's: `plan_monitored` reads in one short transaction, `load_monitored` needs no session.

    with session_scope(engine) as s:
        plan = plan_monitored(session=s, project_id=1, name="credit-risk", stage="production")
    live = load_monitored(plan, engine=engine, store=store, user="dana")
    live.predict_proba(applicants); live.last_batch_id; live.flush()
"""
from __future__ import annotations

import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mlops_nb.services.data.feature_pipeline import bind
from mlops_nb.services.data.features import feature_refs_for_version
from mlops_nb.services.data.results import Finding, ValidationResult
from mlops_nb.services.data.validation import validate_profiled
from mlops_nb.services.errors import InvalidInput, MlopsError, ValidationFailed
from mlops_nb.services.governance.policies import get_effective_policy
from mlops_nb.services.monitoring.writer import BatchWriter, PendingBatch, writer_for
from mlops_nb.services.registry.loading import LoadPlan, load, plan_load
from mlops_nb.services.registry.scoring import ScoringModel
from mlops_nb.services.values import epoch_seconds
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import ModelVersion

if TYPE_CHECKING:
    import pandas as pd

ON_INVALID = ("warn", "refuse")


class ScoringWarning(UserWarning):
    """A scoring batch broke its training contract and was scored anyway (policy `warn`, or only
    warnings under `refuse`); names the findings."""


def _why_scored(on_invalid: str) -> str:
    """Why a batch with findings was scored: the policy lets errors through, or there were none."""
    if on_invalid == "refuse":
        return "warnings only; policy scoring.on_invalid = 'refuse' refuses errors"
    return "policy scoring.on_invalid = 'warn'"


@dataclass
class MonitorPlan:
    """What a monitored model needs from the store: the registry's LoadPlan, the `scoring.on_invalid`
    policy, the training contract (schema, profile, its name) and the raw input columns, and the
    version's feature definitions."""

    load: LoadPlan
    on_invalid: str
    schema: dict[str, Any] | None
    profile: dict[str, Any] | None
    contract: str
    input_columns: list[str] | None
    definitions: list[Any] = field(default_factory=list)


def scoring_policy(rules: dict[str, Any]) -> str:
    """'warn' or 'refuse': the `scoring.on_invalid` setting of an effective policy's rules."""
    value = (rules.get("scoring") or {}).get("on_invalid", "warn")
    return "refuse" if value == "refuse" else "warn"


def plan_monitored(*, session: Session, project_id: int, name: str, version: int | None = None,
                   stage: str | None = None) -> MonitorPlan:
    """What loading model `name` for monitored scoring needs (registry.plan_load plus the contract).

    Raises:
        InvalidInput: both `version` and `stage`, a bad stage, or a stored policy that is not valid.
        NotFound: no such model or version; a feature definition the version names is gone.
    """
    plan = plan_load(session=session, project_id=project_id, name=name, version=version, stage=stage)
    info = plan.version
    rules = get_effective_policy(session=session, project_id=project_id, model_id=info.model_id).rules
    row = session.get(ModelVersion, info.id)
    assert row is not None  # plan_load read it
    definitions = list(feature_refs_for_version(session=session, version_row=row))
    dataset = info.dataset
    # a feature output that is also a column of the training data (log(credit_amount) kept under its
    # name) replaces a raw input: the batch carries it raw, validated as such, not as a served feature
    trained_on = {str(c["name"]) for c in (dataset.schema.get("columns", []) if dataset else [])}
    outputs = {str(o) for d in definitions for o in (getattr(d, "outputs", None) or [])} - trained_on
    columns = info.input_columns
    raw = [c for c in columns if c not in outputs] if columns is not None else None
    return MonitorPlan(load=plan, on_invalid=scoring_policy(rules),
                       schema=dataset.schema if dataset else None, profile=dataset.profile if dataset else None,
                       contract=f"{dataset.name} v{dataset.version}" if dataset else "", input_columns=raw,
                       definitions=definitions)


def load_monitored(plan: MonitorPlan, *, engine: Engine, store: ArtifactStore, user: str, monitor: bool = True,
                   run_stored_features: bool = False) -> MonitoredModel:
    """The version's monitored model (registry.load's checks first: sha256, environment, trusted types).

    `monitor=False`: the same model with no validation and no batch recorded (offline evaluation);
    the feature definitions are still applied.

    Raises:
        as registry.load; NotFound or Conflict: a feature definition is not defined in this process
        (or was edited since training) and `run_stored_features` is False.
    """
    scorer = load(plan.load, store=store)
    pipeline = bind(plan.definitions, run_stored_source=run_stored_features)
    validate = None
    if monitor and plan.schema is not None:
        validate = ContractCheck(schema=plan.schema, profile=plan.profile or {}, contract=plan.contract,
                                 columns=plan.input_columns)
    return MonitoredModel(scorer, validate=validate, pipeline=pipeline, on_invalid=plan.on_invalid,
                          writer=writer_for(engine, store) if monitor else None, user=user,
                          input_columns=plan.input_columns)


@dataclass(frozen=True)
class ContractCheck:
    """validate_profiled bound to a training contract: `check(frame)` is validate_frame's result;
    `check(frame, stats=d)` also fills `d` with the batch profile of the columns it read (so the
    writer does not read them again)."""

    schema: dict[str, Any]
    profile: dict[str, Any]
    contract: str
    columns: list[str] | None

    def __call__(self, frame: pd.DataFrame, stats: dict[str, dict[str, Any]] | None = None) -> ValidationResult:
        """The frame checked against the contract (validation.validate_profiled).

        Raises:
            InvalidInput: a frame validation cannot read (as validate_frame).
        """
        return validate_profiled(frame, schema=self.schema, profile=self.profile, contract=self.contract,
                                 columns=self.columns, stats=stats)


def _summary(findings: list[Finding], limit: int = 6) -> str:
    """'credit_amount: dtype_changed (...); purpose: new_categories (...)', the first `limit`."""
    shown = [f"{f.column or 'the frame'}: {f.rule} ({f.message})" for f in findings[:limit]]
    more = f"; and {len(findings) - limit} more" if len(findings) > limit else ""
    return "; ".join(shown) + more


class MonitoredModel(ScoringModel):
    """A loaded model version whose every predict/predict_proba call is validated and recorded.

    `.last_batch_id` is the id of this thread's last batch (each thread sees its own); `.flush()`
    waits until every batch is in the store; `.monitored` is False for `load_model(monitor=False)`.
    """

    def __init__(self, scorer: ScoringModel, *, validate: Callable[[pd.DataFrame], ValidationResult] | None,
                 pipeline: Any, on_invalid: str = "warn", writer: BatchWriter | None = None, user: str = "",
                 input_columns: list[str] | None = None) -> None:
        """Monitor `scorer`: `validate` checks a raw frame (a ContractCheck also hands the writer the
        columns it profiled), `pipeline` computes features (`.compute`, `.refs`), `writer` records
        batches (None: nothing is recorded), as `user`."""
        if on_invalid not in ON_INVALID:
            raise InvalidInput(f"scoring.on_invalid must be 'warn' or 'refuse', got {on_invalid!r}")
        super().__init__(scorer.info, scorer.estimator, scorer.env_mismatches)
        self.validate, self.pipeline, self.on_invalid = validate, pipeline, on_invalid
        self.writer, self.user, self.input_columns = writer, user, input_columns
        self._local = threading.local()
        classes = getattr(scorer.estimator, "classes_", None)
        if classes is None:
            classes = ((self.info.signature or {}).get("outputs") or {}).get("classes")
        self.classes = list(classes) if classes is not None else None

    @property
    def monitored(self) -> bool:
        """Whether calls are validated and recorded."""
        return self.writer is not None

    @property
    def last_batch_id(self) -> str | None:
        """The id of the last batch this thread scored (or had refused), None before the first."""
        last: str | None = getattr(self._local, "batch_id", None)
        return last

    @contextmanager
    def recorded_at(self, when: Any) -> Iterator[None]:
        """Batches this thread scores inside the block are recorded as scored at `when` (a date, a
        datetime, ISO 8601 text or epoch seconds; naive times are UTC): for backfilling the history
        of batches scored before monitoring existed (replaying last year's applications month by
        month, as the demo does), so drift and latency over time fall in the months they belong to.

        >>> with live.recorded_at("2024-05-31"):
        ...     live.predict_proba(may_applicants)

        Raises:
            InvalidInput: `when` is not a time, or lies in the future.
        """
        at = epoch_seconds(when, "recorded_at")
        before = getattr(self._local, "recorded_at", None)
        self._local.recorded_at = at
        try:
            yield
        finally:
            self._local.recorded_at = before

    def flush(self) -> None:
        """Wait until every batch scored so far is in the store.

        Raises:
            StoreUnavailable: a batch could not be written (the driver's words).
        """
        if self.writer is not None:
            self.writer.flush()

    def _frame(self, X: Any) -> pd.DataFrame:
        """X as a DataFrame: a frame as it is, a 2-D array named by the raw input columns."""
        import numpy as np
        import pandas as pd

        if isinstance(X, pd.DataFrame):
            return X
        columns = self.input_columns
        array = np.asarray(X) if not hasattr(X, "shape") else X
        if getattr(array, "ndim", 0) != 2 or columns is None or array.shape[1] != len(columns):
            width = array.shape[1] if getattr(array, "ndim", 0) == 2 else None
            expected = f"{len(columns)} columns ({', '.join(columns)})" if columns else "named columns"
            raise InvalidInput(f"model {self.name!r} v{self.version} scores a DataFrame, or a 2-D array of "
                               f"{expected}; got {type(X).__name__}"
                               + (f" with {width} columns" if width is not None else ""))
        return pd.DataFrame(array, columns=columns).infer_objects()  # an object array: each column its own type

    def _pending(self, batch_id: str, method: str, status: str, frame: pd.DataFrame | None, predictions: Any,
                 latency_ms: float | None, findings: list[Finding],
                 profiled: dict[str, Any] | None = None) -> PendingBatch:
        assert self.info.id is not None
        return PendingBatch(id=batch_id, model_version_id=self.info.id, stage=self.stage, method=method,
                            status=status, frame=frame, predictions=predictions, classes=self.classes,
                            latency_ms=latency_ms, findings=[f.to_dict() for f in findings],
                            features=list(getattr(self.pipeline, "refs", []) or []), created_by=self.user,
                            profiled=profiled, created_at=getattr(self._local, "recorded_at", None) or time.time())

    def _refuse(self, batch_id: str, method: str, frame: pd.DataFrame, findings: list[Finding],
                report: Any) -> ValidationFailed:
        assert self.writer is not None
        self.writer.write_now(self._pending(batch_id, method, "refused", frame, None, None, findings))
        errors = [f for f in findings if f.severity == "error"]
        return ValidationFailed(f"model {self.name!r} v{self.version} refused the batch of {len(frame)} row(s) "
                                f"(batch {batch_id}, recorded as refused): {_summary(errors)}; fix the input, or "
                                "set the model's policy scoring.on_invalid to 'warn'", report)

    def _fail(self, batch_id: str, method: str, frame: pd.DataFrame, findings: list[Finding],
              started: float) -> None:
        assert self.writer is not None
        self.writer.submit(self._pending(batch_id, method, "failed", frame, None,
                                         (time.perf_counter() - started) * 1000.0, findings))

    def _score(self, method: str, X: Any) -> Any:
        import pandas as pd

        bare = getattr(ScoringModel, method)
        if self.writer is None:  # monitor=False: features applied, nothing validated or recorded
            frame = X if not isinstance(X, pd.DataFrame) else self.pipeline.compute(X)[0]
            return bare(self, frame)
        started = time.perf_counter()
        frame = self._frame(X)
        batch_id = uuid.uuid4().hex
        self._local.batch_id = batch_id
        if len(frame) == 0:
            empty = Finding(None, "empty_batch", "error", "the batch has no rows; there is nothing to score")
            raise self._refuse(batch_id, method, frame, [empty], None)
        profiled: dict[str, Any] = {}  # the columns validation profiled on its way (the writer does the rest)
        try:
            if isinstance(self.validate, ContractCheck):
                result: ValidationResult | None = self.validate(frame, stats=profiled)
            else:
                result = self.validate(frame) if self.validate is not None else None
        except InvalidInput as err:  # a frame validation cannot read (e.g. a repeated column name)
            raise self._refuse(batch_id, method, frame, [Finding(None, "invalid_frame", "error", str(err))],
                               None) from err
        findings = list(result.findings) if result is not None else []
        if self.on_invalid == "refuse" and any(f.severity == "error" for f in findings):
            raise self._refuse(batch_id, method, frame, findings, result)
        try:
            model_frame, skew = self.pipeline.compute(frame, inputs=self.input_columns or ())
        except MlopsError as err:
            self._fail(batch_id, method, frame, findings + [Finding(None, "feature_error", "error", str(err))],
                       started)
            raise
        findings += list(skew)
        if skew and self.on_invalid == "refuse" and any(f.severity == "error" for f in skew):
            raise self._refuse(batch_id, method, frame, findings, result)
        if findings:
            warnings.warn(f"model {self.name!r} v{self.version}, batch {batch_id} of {len(frame)} row(s) breaks "
                          f"its training contract {result.contract if result else ''}: {_summary(findings)}; "
                          f"scored anyway ({_why_scored(self.on_invalid)})", ScoringWarning, stacklevel=3)
        try:
            predictions = bare(self, model_frame)
        except MlopsError as err:
            self._fail(batch_id, method, frame, findings + [Finding(None, "scoring_error", "error", str(err))],
                       started)
            raise
        except Exception as err:  # noqa: BLE001 - the estimator's own error, named for the user
            full = f"{type(err).__name__}: {err}"
            words = full.splitlines()[0] if full.strip() else type(err).__name__  # the first line names it
            self._fail(batch_id, method, frame, findings + [Finding(None, "scoring_error", "error", full)], started)
            found = f"; validation found: {_summary(findings)}" if findings else ""
            raise InvalidInput(f"model {self.name!r} v{self.version} could not score batch {batch_id} ({words})"
                               f"{found}") from err
        latency_ms = (time.perf_counter() - started) * 1000.0
        self.writer.submit(self._pending(batch_id, method, "warned" if findings else "accepted", frame,
                                         predictions, latency_ms, findings, profiled))
        return predictions

    def predict(self, X: Any) -> Any:
        """Predictions for the batch X (a DataFrame of the raw input columns), validated and recorded.

        Raises:
            ValidationFailed: policy `refuse` and an error finding, or an empty batch (recorded as refused).
            InvalidInput: the model could not score X (recorded as failed, the reason named).
            StoreUnavailable: an earlier batch could not be recorded.
        """
        return self._score("predict", X)

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities (rows x classes) for X, validated and recorded as `predict`.

        Raises:
            ValidationFailed, InvalidInput, StoreUnavailable: as predict; InvalidInput also when the
            estimator has no predict_proba.
        """
        if not hasattr(self.estimator, "predict_proba"):
            raise InvalidInput(f"model {self.name!r} v{self.version} ({type(self.estimator).__name__}) has no "
                               "predict_proba; use predict")
        return self._score("predict_proba", X)
