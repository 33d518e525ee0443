"""Writing scoring batches: the profiles, the sample file and the row, off the caller's path.

A monitored model's caller waits only for validation and the prediction; everything a batch row
needs after that (two profiles, a Parquet sample, one INSERT of the sample's artifact and the
batch) is done by one background thread per store, fed through a bounded queue (a caller blocks
only when SCORING_QUEUE batches are already waiting). A refused batch is written by the caller
before it raises (`write_now`), so the refusal is in the store when the error is seen.

A write that fails is never silent: the thread warns (BatchWriteWarning naming the batch and the
driver's words) and the next `submit` or `flush` raises StoreUnavailable with the same words.
`flush()` waits for every queued batch; at interpreter exit every writer writes what is queued
(`close_all`).

The sample (`scoring/<batch id>/sample.parquet`) holds one row per scored row up to
PREDICTION_ROWS (the first ones): `_row` (position in the batch), `_index` (the input's index
label, as text, for joining outcomes by index), the predictions (`_prediction`, or `_proba_<class>`
per class), `_sampled` and, for at most SAMPLE_ROWS rows drawn at random (seeded by the batch id),
the input columns (null elsewhere): the bounded sample drift windows read.
"""
from __future__ import annotations

import atexit
import io
import queue
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from mlops_nb.services.errors import MlopsError, StoreUnavailable
from mlops_nb.services.monitoring.profiles import input_profile, prediction_profile
from mlops_nb.services.store_errors import store_error
from mlops_nb.services.tracking.artifacts import store_bytes
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.db import session_scope
from mlops_nb.store.models.monitoring import ScoringBatch

if TYPE_CHECKING:
    import pandas as pd


SAMPLE_ROWS = 1_000  # input rows kept per batch for drift windows
PREDICTION_ROWS = 100_000  # predictions kept per batch for joining outcomes (the first rows)
SCORING_QUEUE = 64  # batches waiting to be written before a caller blocks


class BatchWriteWarning(UserWarning):
    """A scoring batch could not be written to the store; the next call or flush raises StoreUnavailable."""


@dataclass
class PendingBatch:
    """A scored (or refused) batch as the caller leaves it: the frame and predictions by reference
    (never copied on the caller's path), the rest plain values for the row."""

    id: str
    model_version_id: int
    stage: str
    method: str
    status: str
    frame: pd.DataFrame | None
    predictions: Any
    classes: list[Any] | None
    latency_ms: float | None
    findings: list[dict[str, Any]]
    features: list[Any]
    created_by: str
    created_at: float = field(default_factory=time.time)


def _prediction_columns(predictions: Any, method: str, classes: list[Any] | None) -> dict[str, Any]:
    """The prediction columns of the sample file: `_prediction`, or `_proba_<class>` per class."""
    import numpy as np
    array = np.asarray(predictions)
    if method == "predict_proba" and array.ndim == 2:
        labels = classes if classes is not None and len(classes) == array.shape[1] else list(range(array.shape[1]))
        return {f"_proba_{label}": array[:, i] for i, label in enumerate(labels)}
    return {"_prediction": array.reshape(-1) if array.ndim > 1 else array}


def sample_bytes(batch: PendingBatch) -> bytes | None:
    """The batch's sample file (see the module docstring), as Parquet bytes; None when nothing was predicted."""
    import numpy as np
    import pandas as pd
    if batch.frame is None or batch.predictions is None:
        return None
    frame = batch.frame
    rows = min(len(frame), PREDICTION_ROWS)
    out = pd.DataFrame({"_row": np.arange(rows), "_index": frame.index[:rows].map(str)})
    for name, values in _prediction_columns(batch.predictions, batch.method, batch.classes).items():
        out[name] = values[:rows]
    if rows <= SAMPLE_ROWS:
        picked = np.ones(rows, dtype=bool)
    else:
        rng = np.random.default_rng(int(batch.id[:8], 16))
        picked = np.zeros(rows, dtype=bool)
        picked[rng.choice(rows, SAMPLE_ROWS, replace=False)] = True
    out["_sampled"] = picked
    inputs = frame.iloc[:rows].reset_index(drop=True)
    for position, name in enumerate(inputs.columns):
        column = inputs.iloc[:, position]
        out[str(name)] = column if picked.all() else column.where(pd.Series(picked))
    buffer = io.BytesIO()
    out.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write(*, engine: Engine, store: ArtifactStore, batch: PendingBatch) -> None:
    """Profile `batch`, store its sample file and insert its row, in one transaction.

    Raises:
        StoreUnavailable: the database or the artifact store refused the write (nothing is recorded).
    """
    try:
        profile_in = input_profile(batch.frame) if batch.frame is not None else {}
        profile_out = (prediction_profile(batch.predictions, batch.method, classes=batch.classes)
                       if batch.predictions is not None else {})
        data = sample_bytes(batch)
        with session_scope(engine) as session:
            artifact_id = None
            if data is not None:
                artifact_id = store_bytes(session=session, store=store, data=data,
                                          name=f"scoring/{batch.id}/sample.parquet").id
            session.add(ScoringBatch(id=batch.id, model_version_id=batch.model_version_id, stage=batch.stage,
                                     method=batch.method, status=batch.status, rows=len(batch.frame)
                                     if batch.frame is not None else 0, latency_ms=batch.latency_ms,
                                     findings=batch.findings, features=batch.features, input_profile=profile_in,
                                     prediction_profile=profile_out, sample_artifact_id=artifact_id,
                                     created_by=batch.created_by, created_at=batch.created_at))
    except StoreUnavailable:
        raise
    except MlopsError as err:
        raise StoreUnavailable(f"scoring batch {batch.id} could not be recorded: {err}") from err
    except Exception as err:  # noqa: BLE001 - a driver or file error, named for the user
        named = store_error(err)
        words = str(named) if named is not None else f"{type(err).__name__}: {err}"
        raise StoreUnavailable(f"scoring batch {batch.id} could not be recorded: {words}") from err


class BatchWriter:
    """One background thread writing the batches of one store, in the order they were submitted."""

    def __init__(self, engine: Engine, store: ArtifactStore) -> None:
        """A writer for `engine` and `store`; its thread starts with the first batch."""
        self.engine, self.store = engine, store
        self._queue: queue.Queue[PendingBatch | None] = queue.Queue(maxsize=SCORING_QUEUE)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error: StoreUnavailable | None = None

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:  # close(): every batch before it is written
                self._queue.task_done()
                return
            try:
                write(engine=self.engine, store=self.store, batch=batch)
            except StoreUnavailable as err:
                with self._lock:
                    self._error = err
                warnings.warn(str(err), BatchWriteWarning, stacklevel=1)
            finally:
                self._queue.task_done()

    def raise_failure(self) -> None:
        """Raise (once) the failure of an earlier background write.

        Raises:
            StoreUnavailable: a batch written in the background could not be recorded (its words).
        """
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise StoreUnavailable(f"an earlier scoring batch was not recorded: {error}") from error

    def submit(self, batch: PendingBatch) -> None:
        """Queue `batch` to be written in the background (blocks while the queue is full).

        Raises:
            StoreUnavailable: an earlier background write failed (this batch is still queued).
        """
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mlops-scoring-writer", daemon=True)
                self._thread.start()
        self._queue.put(batch)
        self.raise_failure()

    def write_now(self, batch: PendingBatch) -> None:
        """Write `batch` on the caller's thread (a refused batch, before its error is raised).

        Raises:
            StoreUnavailable: the write failed.
        """
        write(engine=self.engine, store=self.store, batch=batch)

    def flush(self) -> None:
        """Wait until every queued batch is written.

        Raises:
            StoreUnavailable: a background write failed since the last call or flush.
        """
        self._queue.join()
        self.raise_failure()

    def close(self) -> None:
        """Write what is queued, then stop the thread (a later submit starts a new one); failures are warned."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join()


_writers: dict[tuple[int, int], BatchWriter] = {}
_writers_lock = threading.Lock()


def writer_for(engine: Engine, store: ArtifactStore) -> BatchWriter:
    """The one writer of this engine and artifact store (made on first use)."""
    key = (id(engine), id(store))
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None or writer.engine is not engine or writer.store is not store:
            if writer is not None:  # an engine or store gone, its id reused
                writer.close()
            writer = _writers[key] = BatchWriter(engine, store)
        return writer


def close_all() -> None:
    """Write every queued batch and stop every writer's thread (at interpreter exit, and between
    tests); failures are warned, not raised."""
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        writer.close()


atexit.register(close_all)
