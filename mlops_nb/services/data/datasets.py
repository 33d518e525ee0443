"""Dataset versions: a content fingerprint, schema, profile and a stored sample for drift reference.

SPEC §3: a dataset version is known by what it holds, not by its file. The same data logged twice
(another copy, another file name) is one version: the fingerprint hashes the values, column names
and dtypes, never where the data came from. The schema and profile are what validation, the
`data_validated` gate and drift reports compare against later; the sample (at most SAMPLE_ROWS
rows, Parquet, sha256-checked when read) is what evidently's own drift report and a model's
reference predictions are built on. The drift reference itself (every row's values, profiled for
the drift tests) is stored beside it by `mlops.log_dataset` (services.monitoring.drift_store: this
module cannot import monitoring, which imports it).

Version numbers never collide: SQLite serialises writers (BEGIN IMMEDIATE), PostgreSQL takes an
advisory lock on the dataset's name until the transaction ends.

Heavy work never holds that lock: the fingerprint, schema, profile and sample of a million-row
frame take seconds, and SQLite has one write lock for the whole file, so every other notebook's
`log_metric` would wait (past the busy timeout, fail). `log_dataset` computes all of it and writes
the sample to a staging name before its first statement; the transaction only reads, numbers,
renames the sample into place and inserts (tests/services/data/test_dataset_lock.py).

    v = log_dataset(session=s, store=store, project_id=1, df=train, name="german", run_id=run.id, user="dana")
    v.version, v.fingerprint[:12], v.rows
"""
from __future__ import annotations

import hashlib
import io
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select
from sqlmodel import Session, col

from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.tracking.artifacts import place, read_verified, staged
from mlops_nb.services.tracking.runs import require_running
from mlops_nb.services.values import check_name
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import Artifact, DatasetVersion, FeatureDefinition, RunInput

if TYPE_CHECKING:
    import pandas as pd

ROLES = ("train", "validation", "test", "serving", "reference")  # how a run used a dataset version
SAMPLE_ROWS = 10_000  # rows kept as the drift reference (a seeded random sample of larger frames)
MAX_CATEGORIES = 1_000  # a categorical column with more distinct values keeps no category list
TOP_VALUES = 50  # most frequent values kept in a categorical column's profile


def check_frame(df: Any, what: str = "df", no_rows: str = "log a dataset with at least one row") -> pd.DataFrame:
    """`df` itself, or a copy whose column labels are strings: a non-empty DataFrame, unique names.
    `no_rows` is the advice after "{what} has no rows; ".

    Raises:
        InvalidInput: not a DataFrame, no columns, no rows, a column name that is not valid text (a
            lone surrogate) or duplicate column names (`what` names it).
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise InvalidInput(f"{what} has no columns")
    if len(df) == 0:
        raise InvalidInput(f"{what} has no rows; {no_rows}")
    names = [str(c) for c in df.columns]
    for name in names:  # a lone surrogate (text decoded with surrogateescape) is no UTF-8: every store write fails
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"{what} has a column name that is not valid text: {name!r} holds a lone surrogate "
                               "(bytes decoded with errors='surrogateescape'?); rename it") from None
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInput(f"{what} has duplicate column names: {', '.join(duplicates)}; rename them first")
    frame: pd.DataFrame = df if names == list(df.columns) else df.set_axis(names, axis=1)
    return frame


def column_kind(series: pd.Series) -> str:
    """'numerical', 'categorical' (also booleans) or 'datetime': how validation and drift treat the column."""
    from pandas.api import types

    if types.is_bool_dtype(series):
        return "categorical"
    if types.is_numeric_dtype(series):
        return "numerical"
    if types.is_datetime64_any_dtype(series):
        return "datetime"
    return "categorical"


def fingerprint(df: pd.DataFrame) -> str:
    """The content's sha256 (64 hex characters) over column names, dtypes and the row hashes of the
    values (row order matters; the index and where the data came from do not)."""
    import pandas as pd

    digest = hashlib.sha256()
    for name, dtype in df.dtypes.items():
        digest.update(f"{name}\x1f{dtype}\x1e".encode())
    try:
        digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, dicts): hash their text
        digest.update(pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _clean(value: Any) -> Any:
    """JSON-safe scalars: numpy to Python, NaN/inf to None (JSON has neither)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def schema_and_profile(df: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    """({"columns": [{name, dtype, kind, nullable, categories?}]}, {column: statistics}).

    Every column's statistics hold count, nulls and null_rate (a share, 0-1); numerical ones min, max,
    mean, std and the 5/25/50/75/95% quantiles of the finite values (and `infinite`, a count, when
    any); datetime ones the first and last date (`min`, `max`, as text); categorical ones `unique`
    and the TOP_VALUES most frequent values with their counts. A categorical column with at most
    MAX_CATEGORIES values lists them, sorted, in the schema.
    """
    columns: list[dict[str, Any]] = []
    profile: dict[str, Any] = {}
    for name in df.columns:
        series = df[name]
        kind = column_kind(series)
        column: dict[str, Any] = {"name": name, "dtype": str(series.dtype), "kind": kind,
                                  "nullable": bool(series.isna().any())}
        nulls = int(series.isna().sum())
        stats: dict[str, Any] = {"count": int(len(series) - nulls), "nulls": nulls,
                                 "null_rate": nulls / len(series)}
        if kind == "numerical":
            values = series.dropna()
            infinite = values.isin([float("inf"), float("-inf")])
            if infinite.any():  # profiled on the finite values, the infinities counted apart
                stats["infinite"] = int(infinite.sum())
                values = values[~infinite]
            if len(values):
                q = values.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).tolist()
                stats.update(min=_clean(values.min()), max=_clean(values.max()), mean=_clean(values.mean()),
                             std=_clean(values.std()) if len(values) > 1 else 0.0,
                             quantiles=[_clean(v) for v in q])
        elif kind == "datetime":  # the first and last date, as text (JSON has no dates): validation's range
            values = series.dropna()
            if len(values):
                stats.update(min=str(values.min()), max=str(values.max()))
        elif kind == "categorical":
            counts = series.astype("object").dropna().map(str).value_counts()
            stats["unique"] = int(len(counts))
            stats["top"] = {str(k): int(v) for k, v in counts.head(TOP_VALUES).items()}
            if len(counts) <= MAX_CATEGORIES:
                column["categories"] = sorted(counts.index.tolist())
        columns.append(column)
        profile[name] = stats
    return {"columns": columns}, profile


def _sample_bytes(df: pd.DataFrame) -> bytes:
    sample = (df if len(df) <= SAMPLE_ROWS else df.sample(SAMPLE_ROWS, random_state=0)).reset_index(drop=True)
    buffer = io.BytesIO()
    try:
        sample.to_parquet(buffer, index=False)
    except (ValueError, TypeError):  # pyarrow refuses object columns mixing types (1 and "x"): keep them as text
        texts = {c: sample[c].where(sample[c].isna(), sample[c].astype(str))
                 for c in sample.columns if sample[c].dtype == object}
        buffer = io.BytesIO()
        sample.assign(**texts).to_parquet(buffer, index=False)
    return buffer.getvalue()


# The columns `public_row` maps, in its order: a query selecting them (joined to the sample's
# artifact) reads a dataset version in one round trip, without building ORM objects.
PUBLIC_COLUMNS = (col(DatasetVersion.id), col(DatasetVersion.name), col(DatasetVersion.version),
                  col(DatasetVersion.fingerprint), col(DatasetVersion.rows), col(DatasetVersion.columns),
                  col(DatasetVersion.schema_), col(DatasetVersion.profile), col(DatasetVersion.created_by),
                  col(DatasetVersion.created_at), col(Artifact.uri), col(Artifact.sha256))


def public_row(row: Sequence[Any]) -> DatasetVersionPublic:
    """The read model of a dataset version from the values of `PUBLIC_COLUMNS`, in that order (the
    sample's uri and sha256 None when it has no stored sample)."""
    (id_, name, version, fingerprint, rows, columns, schema, profile, created_by, created_at, uri, sha) = row
    return DatasetVersionPublic(id=id_, name=name, version=version, fingerprint=fingerprint, rows=rows,
                                columns=columns, schema=schema, profile=profile, created_by=created_by,
                                created_at=created_at, sample_uri=uri, sample_sha256=sha)


def public(version: DatasetVersion, sample: Artifact | None = None) -> DatasetVersionPublic:
    """The read model of dataset version row `version`, with its stored sample's artifact if it has one."""
    return public_row((version.id, version.name, version.version, version.fingerprint, version.rows, version.columns,
                       version.schema_, version.profile, version.created_by, version.created_at,
                       sample.uri if sample else None, sample.sha256 if sample else None))


def serialise_versions_of(session: Session, kind: str, project_id: int, name: str) -> None:
    """Two processes numbering a new version of one `kind` of thing ("dataset", "feature") named
    `name` at once must not both take N+1. SQLite write transactions are already serialised (BEGIN
    IMMEDIATE); PostgreSQL takes an advisory lock on (kind, project, name) until the transaction ends."""
    if session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    key = int.from_bytes(hashlib.sha256(f"{kind}\x1f{project_id}\x1f{name}".encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def log_dataset(*, session: Session, store: ArtifactStore, project_id: int, df: Any, name: str,
                role: str = "train", run_id: str | None = None, user: str) -> DatasetVersionPublic:
    """Record `df` as a version of dataset `name` (new only if its content is new) and link it to run
    `run_id` with `role` (one of ROLES).

    A new version stores its schema, profile and a sample (at most SAMPLE_ROWS rows, Parquet) in the
    artifact store; the same content logged again returns the version that holds it. All of it is
    computed (and the sample written to a staging name) before the first statement on `session`,
    so a caller whose transaction has not begun holds the store's write lock only for the inserts.

    Raises:
        InvalidInput: a bad name or role, or `df` is not a non-empty DataFrame with unique columns.
        NotFound, InvalidInput: `run_id` is not a running run (services.tracking.require_running).
    """
    check_name(name, "dataset name")
    if role not in ROLES:
        raise InvalidInput(f"dataset role {role!r} is not one of {', '.join(ROLES)}")
    df = check_frame(df)
    # the heavy part, before the session's first statement takes the write lock
    print_ = fingerprint(df)
    schema, profile = schema_and_profile(df)
    with staged(store, data=_sample_bytes(df)) as sample_file:
        if run_id is not None:
            require_running(session=session, run_id=run_id)
        serialise_versions_of(session, "dataset", project_id, name)
        version: DatasetVersion | None = session.execute(select(DatasetVersion).where(
            col(DatasetVersion.project_id) == project_id, col(DatasetVersion.name) == name,
            col(DatasetVersion.fingerprint) == print_)).scalars().first()
        sample: Artifact | None
        if version is None:
            number = (session.execute(select(func.max(col(DatasetVersion.version))).where(
                col(DatasetVersion.project_id) == project_id, col(DatasetVersion.name) == name)).scalar() or 0) + 1
            version = DatasetVersion(project_id=project_id, name=name, version=number, fingerprint=print_,
                                     rows=len(df), columns=df.shape[1], schema_=schema, profile=profile,
                                     created_by=user, created_at=time.time())
            session.add(version)
            session.flush()
            # the sample's path is built from the version's id, never from the name a user typed, so
            # two names that a file system reads as one path ("german", "german/") cannot share a file
            sample = place(session=session, staged_file=sample_file, name=f"datasets/{version.id}/sample.parquet")
            version.sample_artifact_id = sample.id
            session.add(version)
            session.flush()
        else:  # the same content again: the staged sample is removed on leaving the block
            sample = session.get(Artifact, version.sample_artifact_id) if version.sample_artifact_id else None
        assert version.id is not None  # a stored row has its id
        if run_id is not None and session.get(RunInput, (run_id, version.id, role)) is None:
            session.add(RunInput(run_id=run_id, dataset_version_id=version.id, role=role, created_at=time.time()))
            session.flush()
    return public(version, sample)


Row = TypeVar("Row", DatasetVersion, FeatureDefinition)


def versioned_row(session: Session, table: type[Row], project_id: int, name: str, version: int | None, *,
                  what: str, missing: str) -> Row:
    """Version `version` of the `table` row named `name` in the project (the newest when None): a
    dataset version or a feature definition, numbered per name.

    Raises:
        NotFound: no row of that name ("{what} 'x' {missing}"), or no such version (the versions listed).
    """
    query = select(table).where(col(table.project_id) == project_id, col(table.name) == name)
    query = query.where(col(table.version) == version) if version is not None else query.order_by(
        col(table.version).desc())
    found: Row | None = session.execute(query.limit(1)).scalars().first()
    if found is None:
        versions = session.execute(select(col(table.version)).where(
            col(table.project_id) == project_id, col(table.name) == name)).scalars().all()
        if versions:
            raise NotFound(f"{what} {name!r} has no version {version}; versions: {', '.join(map(str, sorted(versions)))}")
        raise NotFound(f"{what} {name!r} {missing}")
    return found


def get_dataset(*, session: Session, project_id: int, name: str, version: int | None = None) -> DatasetVersionPublic:
    """Version `version` of dataset `name` in the project (the newest when `version` is None).

    Raises:
        NotFound: no such dataset (log it first), or no such version (the message lists them).
    """
    found = versioned_row(session, DatasetVersion, project_id, name, version, what="dataset",
                          missing="does not exist in this project; log it with mlops.log_dataset(df, name=...)")
    sample = session.get(Artifact, found.sample_artifact_id) if found.sample_artifact_id else None
    return public(found, sample)


def load_sample(*, session: Session, store: ArtifactStore, dataset_version_id: int) -> pd.DataFrame:
    """The stored sample of dataset version `dataset_version_id` (at most SAMPLE_ROWS rows), its
    sha256 checked before it is read, as a DataFrame.

    Raises:
        NotFound: no such version, or it has no stored sample.
        IntegrityFailure: the sample's bytes do not hash to the recorded sha256.
    """
    import pandas as pd

    version = session.get(DatasetVersion, dataset_version_id)
    artifact = session.get(Artifact, version.sample_artifact_id) if version and version.sample_artifact_id else None
    if artifact is None:
        raise NotFound(f"dataset version {dataset_version_id} has no stored sample")
    frame: pd.DataFrame = pd.read_parquet(io.BytesIO(read_verified(store=store, artifact=artifact)))
    return frame
