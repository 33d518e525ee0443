"""Data validation: a frame checked against a dataset version's schema and profile (its contract).

The schema `log_dataset` captured (columns, dtypes, categories) and its profile (null rates,
finite min and max, the most frequent categories with their counts) are the contract. SPEC §4's
rules, each finding naming column, rule, severity, a message and at most EXAMPLES of the most
frequent offending values (JSON-safe):

| rule                | default  | when                                                                  |
|---------------------|----------|-----------------------------------------------------------------------|
| missing_column      | error    | a contract column is not in the frame                                 |
| extra_column        | warning  | a frame column the contract (or `columns=`) does not name             |
| dtype_changed       | error    | numbers delivered as text (say whether they parse), categories as     |
|                     |          | numbers (a re-encoded categorical: the inferred `mapping` of codes)   |
| new_categories      | error    | levels the contract never saw (a renamed level: `mapping` new -> old) |
| vanished_categories | warning  | levels the frame should hold (expected >= MIN_EXPECTED times) but lacks|
| out_of_range        | warning  | finite values outside the contract's min and max; +-inf in a numeric  |
|                     |          | column is named here too (`details["non_finite"]`), unless the        |
|                     |          | contract itself held infinities                                       |
| null_rate           | warning  | the null share up by more than NULL_RATE_SLACK over the contract's    |

Columns are matched by name: reordered columns are not a finding. A column that is entirely null
has no dtype to speak of: it is named by null_rate only. The rules per column are in
services/data/checks.py, vectorised (numpy and pandas hash tables, one pass per column); small
frames take plain-Python paths, because the scorer runs
`validate_frame` on every batch (benchmarks/bench_validate.py measures 1 row, 10,000 x 20 and
1,000,000 x 50). pandera was measured for the same job (docs/benchmarks.md) and is not used: it
cannot infer a re-encoding, relate null rates to the contract's, or rank examples by frequency.

    result = validate_frame(batch, schema=v.schema, profile=v.profile, contract="german v2")
    result.ok, [(f.column, f.rule) for f in result.errors]
    validate_against(session=s, project_id=1, df=batch, against="german", user="dana")   # recorded
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.data import checks
from mlops_nb.services.data.results import DatasetVersionPublic, Finding, ValidationResult
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.store.models import DatasetVersion, ValidationRecord


def validate_frame(df: Any, *, schema: dict[str, Any], profile: dict[str, Any], contract: str,
                   columns: Sequence[str] | None = None) -> ValidationResult:
    """`df` checked against a dataset version's `schema` and `profile` (the contract named `contract`,
    e.g. "german v2"): one Finding per column and rule broken (module docstring), in the contract's
    column order, then the extra columns. Pure (no store) and vectorised: it runs on every scoring batch.

    `columns` restricts the contract to those names (a model's input columns, so the target is not
    missing); the frame's columns outside them are still extra_column. A frame of one row works.

        validate_frame(batch, schema=v.schema, profile=v.profile, contract="german v2").ok

    Raises:
        InvalidInput: `df` is not a DataFrame, has no rows (an empty frame shows nothing to check: it
            is refused, not reported as findings) or no columns, or repeats a column name; the
            schema has no column list.
    """
    return validate_profiled(df, schema=schema, profile=profile, contract=contract, columns=columns, stats=None)


def validate_profiled(df: Any, *, schema: dict[str, Any], profile: dict[str, Any], contract: str,
                      columns: Sequence[str] | None = None,
                      stats: dict[str, dict[str, Any]] | None = None) -> ValidationResult:
    """validate_frame, also handing back the batch profile of what it read (the scorer's path).

    `stats` (optional, filled in): {column: statistics} in monitoring.profiles.input_profile's
    format for the contract columns whose checks read the values anyway (text and categorical
    columns: count, nulls, unique, top levels; numpy numeric columns: count, nulls, mean, min, max,
    infinite), exact, so the scorer's writer profiles only the columns missing from it (extra
    columns, a changed dtype, nullable numbers, datetimes). Left as it was when this raises.

        stats = {}
        validate_profiled(batch, schema=v.schema, profile=v.profile, contract="german v2", stats=stats)

    Raises:
        as validate_frame.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise InvalidInput("df has no columns: nothing to validate")
    rows = len(df)
    if rows == 0:
        raise InvalidInput(f"df has no rows: nothing to validate against {contract} (its {df.shape[1]} columns "
                           "have no values to check); pass at least one row")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"df has duplicate column names: {', '.join(repeated)}; rename them first")
    expected = checks.contract_columns(schema, profile, columns)
    by_name = dict(zip(names, (series for _, series in df.items())))  # items(): the cheapest column access
    findings: list[Finding] = []
    found: dict[str, dict[str, Any]] | None = {} if stats is not None else None
    for c in expected:
        series = by_name.get(c.name)
        if series is None:
            findings.append(checks.finding(c.name, "missing_column", f"column {c.name!r} ({c.dtype}) of the contract is not "
                                     f"in the frame", expected=c.dtype))
            continue
        findings += checks.check_column(c, series, rows, found)
    known = {c.name for c in expected}
    for name in names:
        if name not in known:
            series = by_name[name]
            findings.append(checks.finding(name, "extra_column", f"column {name!r} ({series.dtype}) is not in the contract",
                                     checks.top(series.dropna().to_numpy()[:10_000], 3), found=str(series.dtype)))
    if stats is not None and found:
        stats.update(found)
    ok = not any(f.severity == "error" for f in findings)
    return ValidationResult(ok=ok, findings=findings, contract=contract, rows=rows)


# --- recording and the service the API uses ---------------------------------------------------------

def contract_label(version: DatasetVersionPublic | DatasetVersion) -> str:
    """'german v2': how a report names its contract."""
    return f"{version.name} v{version.version}"


def record_validation(*, session: Session, project_id: int, contract_version_id: int, result: ValidationResult,
                      subject: str, user: str, subject_dataset_version_id: int | None = None,
                      model_version_id: int | None = None) -> int:
    """Store `result` as a validation_report row (findings as JSON, error and warning counts) and
    return its id, also set on `result.id`. `subject` says what was validated ("frame", "dataset
    german v3").

    Raises:
        NotFound: `contract_version_id` is not a dataset version of the project.
    """
    contract = session.get(DatasetVersion, contract_version_id)
    if contract is None or contract.project_id != project_id:
        raise NotFound(f"dataset version {contract_version_id} is not in this project; validate against a dataset "
                       "logged here")
    row = ValidationRecord(project_id=project_id, dataset_version_id=contract_version_id, subject=subject[:250],
                           subject_dataset_version_id=subject_dataset_version_id, model_version_id=model_version_id,
                           rows=result.rows, ok=result.ok, errors=len(result.errors), warnings=len(result.warnings),
                           findings=[f.to_dict() for f in result.findings], created_by=user, created_at=time.time())
    session.add(row)
    session.flush()
    assert row.id is not None  # flushed
    result.id = row.id
    return row.id


def resolve_contract(*, session: Session, project_id: int, against: Any) -> DatasetVersionPublic:
    """The dataset version `against` names: a name (its newest version; "name:N" for version N when
    no dataset is called that), a (name, version) pair, or a DatasetVersion the API returned (it
    must be of this project).

    Raises:
        NotFound: no such dataset or version (the message lists the versions).
        InvalidInput: `against` is none of these.
    """
    from mlops_nb.services.data.datasets import get_dataset, public

    if isinstance(against, DatasetVersionPublic):
        row = session.get(DatasetVersion, against.id)
        if row is None or row.project_id != project_id or row.fingerprint != against.fingerprint:
            raise NotFound(f"dataset {against.name!r} v{against.version} is not in this project's store; "
                           "validate against a dataset logged here (mlops.get_dataset(name))")
        return public(row)
    if isinstance(against, tuple) and len(against) == 2:
        name, version = against
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidInput(f"against=(name, version) needs an integer version, got {version!r}")
        return get_dataset(session=session, project_id=project_id, name=str(name), version=version)
    if isinstance(against, str) and against.strip():
        try:
            return get_dataset(session=session, project_id=project_id, name=against)
        except NotFound:
            name, sep, number = against.rpartition(":")
            if not (sep and number.isdigit() and name):
                raise
            return get_dataset(session=session, project_id=project_id, name=name, version=int(number))
    raise InvalidInput(f"against must be a dataset name, 'name:version', (name, version) or a DatasetVersion, got "
                       f"{type(against).__name__} {against!r}")


def contract_columns(schema: dict[str, Any], exclude: Sequence[str] = ()) -> list[str] | None:
    """The contract's column names less `exclude` (None when nothing is excluded: the whole contract).

    Raises:
        InvalidInput: `exclude` is a single string, or names a column the contract does not hold.
    """
    if isinstance(exclude, str):
        raise InvalidInput(f"exclude must be a list of column names, e.g. [{exclude!r}]")
    if not exclude:
        return None
    names = [str(c["name"]) for c in schema.get("columns", [])]
    unknown = [str(c) for c in exclude if str(c) not in names]
    if unknown:
        raise InvalidInput(f"exclude names column(s) the contract does not hold: {', '.join(unknown)}; "
                           f"its columns: {', '.join(names)}")
    dropped = {str(c) for c in exclude}
    return [n for n in names if n not in dropped]


def without(df: Any, exclude: Sequence[str]) -> Any:
    """`df` less the excluded columns it holds (`df` itself when there are none to drop)."""
    present = [c for c in exclude if hasattr(df, "columns") and c in df.columns]
    return df.drop(columns=present) if present else df


def validate_against(*, session: Session, project_id: int, df: Any, against: Any, user: str,
                     record: bool = True, subject: str = "frame", exclude: Sequence[str] = ()) -> ValidationResult:
    """`df` validated against the dataset version `against` names (resolve_contract), recorded as a
    validation_report row when `record` (the result's `id`). The frame is checked before anything
    is written: a refused frame changes nothing. `exclude`: contract columns the frame need not hold
    (contract_columns).

        validate_against(session=s, project_id=1, df=batch, against="german", user="dana").ok

    Raises:
        InvalidInput: a frame validate_frame refuses (no rows, no columns, repeated names), a bad
            `against`, or `exclude` naming a column the contract does not hold.
        NotFound: no such dataset or version.
    """
    version = resolve_contract(session=session, project_id=project_id, against=against)
    result = validate_frame(without(df, exclude), schema=version.schema, profile=version.profile,
                            contract=contract_label(version), columns=contract_columns(version.schema, exclude))
    if record:
        record_validation(session=session, project_id=project_id, contract_version_id=version.id, result=result,
                          subject=subject, user=user)
    return result


def validate_version(*, session: Session, store: Any, project_id: int, subject_version_id: int,
                     contract_version_id: int, user: str, record: bool = True,
                     model_version_id: int | None = None) -> ValidationResult:
    """Dataset version `subject_version_id` validated, by its stored sample (at most SAMPLE_ROWS rows,
    sha256-checked), against dataset version `contract_version_id`; recorded when `record`.

    Raises:
        NotFound: either version is missing, or the subject has no stored sample.
        IntegrityFailure: the sample's bytes do not match their sha256.
    """
    from mlops_nb.services.data.datasets import load_sample

    contract = session.get(DatasetVersion, contract_version_id)
    subject = session.get(DatasetVersion, subject_version_id)
    if contract is None or subject is None:
        raise NotFound(f"dataset version {contract_version_id if contract is None else subject_version_id} does not exist")
    sample = load_sample(session=session, store=store, dataset_version_id=subject_version_id)
    result = validate_frame(sample, schema=contract.schema_, profile=contract.profile, contract=contract_label(contract))
    if record:
        record_validation(session=session, project_id=project_id, contract_version_id=contract_version_id,
                          result=result, subject=f"dataset {contract_label(subject)}",
                          subject_dataset_version_id=subject_version_id, model_version_id=model_version_id, user=user)
    return result


def latest_validation(*, session: Session, subject_version_id: int, contract_version_id: int) -> ValidationRecord | None:
    """The newest recorded validation of dataset version `subject_version_id` against `contract_version_id`."""
    row: ValidationRecord | None = session.execute(
        select(ValidationRecord).where(col(ValidationRecord.subject_dataset_version_id) == subject_version_id,
                                       col(ValidationRecord.dataset_version_id) == contract_version_id)
        .order_by(col(ValidationRecord.created_at).desc(), col(ValidationRecord.id).desc()).limit(1)).scalars().first()
    return row


def result_of(row: ValidationRecord, contract: str) -> ValidationResult:
    """The ValidationResult a stored validation_report row holds."""
    findings = [Finding.from_dict(f) for f in row.findings]
    return ValidationResult(ok=row.ok, findings=findings, contract=contract, rows=row.rows, id=row.id)
