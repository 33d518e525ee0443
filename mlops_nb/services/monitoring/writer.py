"""Writing scoring batches: the profiles, the sample file and the row, off the caller's path.

A monitored model's caller waits only for validation and the prediction; everything a batch row
needs after that (two profiles, a Parquet sample, the INSERTs) is done by one background thread
per store, fed through a bounded queue (a caller blocks only when SCORING_QUEUE batches are
already waiting). The thread writes batches in groups: the next batch and whatever arrives within
GROUP_WAIT_S (up to GROUP_MAX), in one transaction with one sample file, so a stream of one-row
calls (the serving case) costs one commit and one file per group, not per call. A refused batch is
written by the caller before it raises (`write_now`), so the refusal is in the store when the
error is seen.

A write that fails is never silent: the thread warns (BatchWriteWarning naming the batch and the
driver's words) and the next `submit` or `flush` raises StoreUnavailable with the same words.
`flush()` writes what is queued at once and waits for it; at interpreter exit every writer writes
what is queued (`close_all`). The batch's frame is kept by reference until it is written (no copy
on the caller's path): do not modify a frame in place right after scoring it.

A sample file (`scoring/<first batch id>/sample.parquet`) holds, per batch of its group (`_batch`),
one row per scored row up to PREDICTION_ROWS (the first ones): `_row` (position in the batch),
`_index` (the input's index label, as text, for joining outcomes by index; left out of the file for a
default 0..n-1 index, whose labels are `_row`), the predictions
(`_prediction`, or `_proba_<class>` per class), `_sampled` and, for at most SAMPLE_ROWS rows drawn
at random (seeded by the batch id), the input columns (null elsewhere): the bounded sample drift
windows read. A batch's sampled rows come first in the file; batches.read_sample returns one
batch's rows in `_row` order. The file is written with pyarrow directly (no pandas metadata),
snappy-compressed, dictionary-encoded only where values repeat (`_batch`, the inputs): the
predictions, `_row` and `_index` are unique per row, where a dictionary costs time and saves nothing.

The writer's work per batch (benchmarks/bench_scoring.py): the input profile is mostly handed over
by validation (services.data.validation.validate_profiled, exact); the prediction profile, the
sample file and the INSERT are what is left.
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

from sqlalchemy import insert
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
    import pyarrow as pa


SAMPLE_ROWS = 1_000  # input rows kept per batch for drift windows
PREDICTION_ROWS = 100_000  # predictions kept per batch for joining outcomes (the first rows)
SCORING_QUEUE = 256  # batches waiting to be written before a caller blocks
GROUP_MAX = 256  # batches written in one transaction (and one sample file)
TINY_ROWS = 16  # batches up to this many rows are kept as records until their group's file is made
GROUP_WAIT_S = 0.2  # how long the writer gathers batches before writing (a flush does not wait)
SAMPLE_COMPRESSION = "snappy"  # the sample file's Parquet codec


YIELD_COLUMNS = 8  # sample columns converted between two GIL hand-backs (a sleep(0) costs ~50-75 us)


def _yield() -> None:
    """Let the scoring thread have the GIL now (the writer's work comes in steps of well under a
    millisecond; a tiny batch's is not split). Without it a caller whose estimator released the GIL (numpy) waits up to the
    interpreter's switch interval (5 ms) to get it back from the writer: measured, the 10,000-row
    call's median grew by twice the writer's own work. sleep(0) releases the GIL and returns at once."""
    time.sleep(0)


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
    profiled: dict[str, Any] | None = None  # input columns validation already profiled (input_profile's format)


def _prediction_columns(predictions: Any, method: str, classes: list[Any] | None) -> dict[str, Any]:
    """The prediction columns of the sample file: `_prediction`, or `_proba_<class>` per class."""
    import numpy as np
    array = np.asarray(predictions)
    if method == "predict_proba" and array.ndim == 2:
        labels = classes if classes is not None and len(classes) == array.shape[1] else list(range(array.shape[1]))
        return {f"_proba_{label}": array[:, i] for i, label in enumerate(labels)}
    return {"_prediction": array.reshape(-1) if array.ndim > 1 else array}


def sample_table(batch: PendingBatch) -> pa.Table | list[dict[str, Any]] | None:
    """The batch's rows of a sample file (see the module docstring) as an Arrow table, or records
    for a batch of at most TINY_ROWS rows; None when nothing was predicted.

    Built with pyarrow directly (no pandas frame, concat or reindex): the sampled rows come first, so
    only their inputs are converted and the other rows' inputs are one null chunk per column
    (batches.read_sample puts the rows back in `_row` order)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if batch.frame is None or batch.predictions is None:
        return None
    frame = batch.frame
    rows = min(len(frame), PREDICTION_ROWS)
    if rows <= TINY_ROWS:  # the serving case: records, made into one table per group (see _parquet)
        return _records(batch)
    if rows <= SAMPLE_ROWS:
        order, sampled = np.arange(rows), rows
    else:  # the sampled rows (drawn at random, seeded by the batch id) first, in their order, then the rest
        rng = np.random.default_rng(int(batch.id[:8], 16))
        picked = np.zeros(rows, dtype=bool)
        picked[rng.choice(rows, SAMPLE_ROWS, replace=False)] = True
        order, sampled = np.concatenate([np.flatnonzero(picked), np.flatnonzero(~picked)]), SAMPLE_ROWS
    names, arrays = ["_batch", "_row"], [pa.repeat(batch.id, rows), pa.array(order)]
    index = frame.index[:rows]
    if not _positional(index):  # a default index's labels are `_row` as text: read_sample makes them
        names.append("_index")
        arrays.append(pc.cast(pa.array(index.to_numpy()[order]), pa.string()) if index.dtype.kind in "iu"  # str()
                      else pa.array([str(label) for label in index[order]], type=pa.string()))
    for name, values in _prediction_columns(batch.predictions, batch.method, batch.classes).items():
        names.append(name)
        arrays.append(pa.array(np.asarray(values)[:rows][order], from_pandas=True))
    names.append("_sampled")
    arrays.append(pa.array(np.arange(rows) < sampled))
    inputs = frame.iloc[order[:sampled]] if sampled < rows else frame.iloc[:rows]
    for position, (label, series) in enumerate(inputs.items()):  # as pyarrow types pandas' (NaN, None: null)
        column = _arrow(series.to_numpy() if isinstance(series.dtype, np.dtype) else series)
        names.append(str(label))  # the unsampled rows' inputs: one null chunk, nothing copied
        if position % YIELD_COLUMNS == YIELD_COLUMNS - 1:
            _yield()
        arrays.append(column if sampled == rows else pa.chunked_array([column, pa.nulls(rows - sampled, column.type)]))
    return pa.Table.from_arrays(arrays, names=names)  # no pandas metadata: read back as Arrow types


def _missing(value: Any) -> bool:
    """None, NaN, pd.NA or NaT: what a sample keeps as null."""
    import pandas as pd

    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _arrow(values: Any) -> pa.Array:
    """`values` as an Arrow array typed as pandas would have it, or, when pyarrow cannot type them (an
    object column mixing ints and text, a tuple among strings), as text with nulls kept: one odd
    column never costs a batch (or the group written with it) its record."""
    import pyarrow as pa

    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([None if _missing(v) else str(v) for v in values], type=pa.string())


def _positional(index: pd.Index) -> bool:
    """Whether `index` is 0, 1, ..., n-1 (a RangeIndex from 0 by 1): its labels are the positions."""
    import pandas as pd

    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _records(batch: PendingBatch) -> list[dict[str, Any]]:
    """sample_table's rows of a batch of at most TINY_ROWS rows, as records (no per-batch table)."""
    import numpy as np

    assert batch.frame is not None
    frame = batch.frame
    predictions = {name: np.asarray(values).tolist()
                   for name, values in _prediction_columns(batch.predictions, batch.method, batch.classes).items()}
    inputs = frame.to_numpy(dtype=object)
    names = [str(c) for c in frame.columns]
    return [{"_batch": batch.id, "_row": i, "_index": str(label), **{k: v[i] for k, v in predictions.items()},
             "_sampled": True, **dict(zip(names, inputs[i]))} for i, label in enumerate(frame.index)]


def _parquet(parts: list[Any], *, lenient: bool = False) -> bytes:
    """One Parquet file of sample tables and records (tiny batches' rows, made into one table, each
    column typed by pyarrow as pandas would have it: NaN and None null). Columns a part lacks are
    null there; integers meeting floats become floats.

    `lenient` (one batch's own file): a records column pyarrow cannot type is kept as text.

    Raises:
        pyarrow.ArrowInvalid, pyarrow.ArrowTypeError: a column's types clash between parts.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [p for p in parts if isinstance(p, pa.Table)]
    records = [row for p in parts if not isinstance(p, pa.Table) for row in p]
    if records:
        keys = dict.fromkeys(key for row in records for key in row)
        array = _arrow if lenient else (lambda values: pa.array(values, from_pandas=True))
        tables.append(pa.table({key: array([row.get(key) for row in records]) for key in keys}))
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    unique = {"_row", "_index", "_prediction"}  # one value per row: a dictionary would be tried and dropped
    dictionary = [n for n in table.column_names if n not in unique and not n.startswith("_proba_")]
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=SAMPLE_COMPRESSION, use_dictionary=dictionary,
                   write_statistics=False)  # min/max per column: nothing filters on them, costly on text
    return buffer.getvalue()


def sample_files(batches: list[PendingBatch]) -> list[tuple[list[str], bytes]]:
    """[(batch ids, Parquet bytes)]: one file for the batches that predicted, or one per batch when
    their columns do not share a type (a column delivered as numbers in one batch, text in another)."""
    frames = []
    for b in batches:
        try:
            if (f := sample_table(b)) is not None:
                frames.append((b.id, f))
        except Exception:  # noqa: BLE001 - inputs pyarrow cannot hold: this batch is recorded without a sample
            pass
        if b.frame is not None and len(b.frame) > TINY_ROWS:
            _yield()
    if not frames:
        return []
    try:
        return [([i for i, _ in frames], _parquet([f for _, f in frames]))]
    except Exception:  # noqa: BLE001 - pyarrow refuses mixed types in one column: a file each
        files = []
        for i, f in frames:
            try:
                files.append(([i], _parquet([f], lenient=True)))
            except Exception:  # noqa: BLE001 - that batch alone is recorded without a sample file
                pass
        return files


def _row_values(b: PendingBatch) -> dict[str, Any]:
    """The scoring_batch row of `b` but its sample file: the profiles made here (the input profile
    from what validation handed over, the rest read from the frame)."""
    values = {"id": b.id, "model_version_id": b.model_version_id, "stage": b.stage, "method": b.method,
              "status": b.status, "rows": len(b.frame) if b.frame is not None else 0, "latency_ms": b.latency_ms,
              "findings": b.findings, "features": b.features,
              "input_profile": input_profile(b.frame, known=b.profiled) if b.frame is not None else {},
              "prediction_profile": (prediction_profile(b.predictions, b.method, classes=b.classes)
                                     if b.predictions is not None else {}),
              "created_by": b.created_by, "created_at": b.created_at}
    if b.frame is not None and len(b.frame) > TINY_ROWS:
        _yield()
    return values


def write_group(*, engine: Engine, store: ArtifactStore, batches: list[PendingBatch]) -> None:
    """Profile `batches`, store their sample file(s) and insert their rows, in one transaction.

    Raises:
        StoreUnavailable: the database or the artifact store refused the write (nothing is recorded).
    """
    label = batches[0].id if len(batches) == 1 else f"{batches[0].id} and {len(batches) - 1} more"
    try:
        files = sample_files(batches)
        rows = [_row_values(b) for b in batches]
        with session_scope(engine) as session:
            artifact_of: dict[str, int | None] = {}
            for ids, data in files:
                artifact = store_bytes(session=session, store=store, data=data, name=f"scoring/{ids[0]}/sample.parquet")
                artifact_of.update(dict.fromkeys(ids, artifact.id))
            for values in rows:
                values["sample_artifact_id"] = artifact_of.get(values["id"])
            session.execute(insert(ScoringBatch), rows)
    except StoreUnavailable:
        raise
    except MlopsError as err:
        raise StoreUnavailable(f"scoring batch {label} could not be recorded: {err}") from err
    except Exception as err:  # noqa: BLE001 - a driver or file error, named for the user
        named = store_error(err)
        words = str(named) if named is not None else f"{type(err).__name__}: {err}"
        raise StoreUnavailable(f"scoring batch {label} could not be recorded: {words}") from err


def write(*, engine: Engine, store: ArtifactStore, batch: PendingBatch) -> None:
    """Write one batch (write_group of one).

    Raises:
        StoreUnavailable: the write failed (nothing is recorded).
    """
    write_group(engine=engine, store=store, batches=[batch])


class BatchWriter:
    """One background thread writing the batches of one store, in the order they were submitted."""

    def __init__(self, engine: Engine, store: ArtifactStore) -> None:
        """A writer for `engine` and `store`; its thread starts with the first batch.

        What writing imports is imported now: a script that scores and exits has its queue written
        at interpreter exit, when importing pyarrow's pandas layer for the first time fails
        (concurrent.futures cannot register its own exit hook after shutdown began)."""
        import concurrent.futures.thread  # noqa: F401

        import pyarrow.compute  # noqa: F401
        import pyarrow.pandas_compat  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        self.engine, self.store = engine, store
        self._queue: queue.Queue[PendingBatch | None] = queue.Queue(maxsize=SCORING_QUEUE)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error: StoreUnavailable | None = None
        self._hurry = threading.Event()  # set while a flush waits: write what is queued now
        self._wake = threading.Event()  # ends the gathering wait early: a flush, close, or a half-full queue

    def _next_group(self) -> tuple[list[PendingBatch], bool]:
        """The batches to write together: the next one, then whatever arrived within GROUP_WAIT_S
        (none when a flush is waiting; less when the queue fills to half), up to GROUP_MAX; and
        whether close() asked to stop. The thread sleeps through the gathering instead of taking
        each batch as it comes: a caller's submit does not wake it (no thread switch per call)."""
        first = self._queue.get()
        if first is None:
            return [], True
        if not self._hurry.is_set():
            self._wake.wait(GROUP_WAIT_S)
        self._wake.clear()  # before draining: a wake-up asked for from here on ends the next wait
        group = [first]
        while len(group) < GROUP_MAX:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return group, True
            group.append(item)
        return group, False

    def _run(self) -> None:
        stop = False
        while not stop:
            group, stop = self._next_group()
            try:
                if group:
                    write_group(engine=self.engine, store=self.store, batches=group)
            except StoreUnavailable as err:
                with self._lock:
                    self._error = err
                warnings.warn(str(err), BatchWriteWarning, stacklevel=1)
            finally:
                for _ in range(len(group) + (1 if stop else 0)):
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
        if self._queue.qsize() >= GROUP_MAX // 2:  # write now rather than let callers block on a full queue
            self._wake.set()
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
        self._hurry.set()
        self._wake.set()
        try:
            self._queue.join()
        finally:
            self._hurry.clear()
        self.raise_failure()

    def close(self) -> None:
        """Write what is queued, then stop the thread (a later submit starts a new one); failures are warned."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._hurry.set()
            self._wake.set()
            self._queue.put(None)
            thread.join()
            self._hurry.clear()


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


def flush_store(engine: Engine) -> None:
    """Wait for every batch queued for `engine`'s database by any writer of this process: a model
    loaded under an earlier `init` of the same store has its own engine and writer, and its batches
    must be in the store before outcomes are joined to them or the monitor reads them.

    Raises:
        StoreUnavailable: a batch could not be written (the driver's words).
    """
    url = engine.url.render_as_string(hide_password=False)
    with _writers_lock:
        writers = [w for w in _writers.values() if w.engine.url.render_as_string(hide_password=False) == url]
    for writer in writers:
        writer.flush()


def close_all() -> None:
    """Write every queued batch and stop every writer's thread (at interpreter exit, and between
    tests); failures are warned, not raised."""
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        writer.close()


atexit.register(close_all)
