"""evidently's own drift report for a stored drift report, built once on a bounded sample.

The issue's design: the verdicts and alerts come from our vectorised computation on every row
(services.monitoring.drift_rules); evidently's `Report([DataDriftPreset()])` is what people know
and like to read, but costs 15-19 s for 100,000 x 30 rows, so it is built only when asked for,
on at most EVIDENTLY_ROWS rows per side (the training dataset's stored sample and the report's
stored current sample), stored as an artifact once (`html_artifact_id`) and read back after. Its
page opens with a note saying so: its statistics on the sample may differ from the report's.

    html = evidently_html(session=s, store=store, project_id=1, report_id=12)   # bytes, UTF-8
"""
from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.tracking.artifacts import read_verified, store_bytes
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import Artifact, DriftColumn, DriftRecord

if TYPE_CHECKING:
    import pandas as pd

EVIDENTLY_ROWS = 5_000  # rows per side evidently's report is built on (its cost grows with them)

# fixed words and numbers only (no user text), so the note needs no escaping
NOTE = ("<div style=\"font-family:sans-serif;padding:8px 12px;margin:0 0 8px 0;background:#fff4ce;"
        "border:1px solid #e0c060\">evidently's report, built on a sample: {reference:,} reference rows and "
        "{current:,} current rows. The verdicts of drift report {report} (and its alerts) come from "
        "mlops_nb's computation on all {reference_rows:,} reference and {current_rows:,} current rows; "
        "statistics here may differ from them.</div>")


@dataclass
class EvidentlyInputs:
    """What evidently's report is built on, read from the store: the samples of each side (the tested
    feature columns, at most EVIDENTLY_ROWS rows) and the report's own row counts for the note."""

    report_id: int
    reference: pd.DataFrame
    current: pd.DataFrame
    reference_rows: int
    current_rows: int


def _record(session: Session, project_id: int, report_id: int) -> DriftRecord:
    record = session.get(DriftRecord, report_id) if isinstance(report_id, int) else None
    if record is None or record.project_id != project_id:
        raise NotFound(f"drift report {report_id!r} does not exist in this project")
    return record


def evidently_inputs(*, session: Session, store: ArtifactStore, project_id: int,
                     report_id: int) -> bytes | EvidentlyInputs:
    """The stored HTML (bytes) when it was built already, else what building it needs.

    Raises:
        NotFound: no such report; its reference was a frame; a sample file is missing.
        InvalidInput: the samples share no tested column.
        IntegrityFailure: a stored file changed after it was written.
    """
    import pandas as pd

    from mlops_nb.services.data.datasets import load_sample

    record = _record(session, project_id, report_id)
    if record.html_artifact_id is not None:
        return _read(session, store, record.html_artifact_id)
    if record.reference_dataset_version_id is None or record.current_sample_artifact_id is None:
        raise NotFound(f"drift report {report_id} has no stored reference sample (its reference was a frame); "
                       "evidently's report is built only for reports against a logged dataset")
    features = list(session.execute(select(col(DriftColumn.column)).where(
        col(DriftColumn.report_id) == report_id, col(DriftColumn.role) == "feature").order_by(
        col(DriftColumn.position))).scalars())
    reference = load_sample(session=session, store=store, dataset_version_id=record.reference_dataset_version_id)
    current = pd.read_parquet(io.BytesIO(_read(session, store, record.current_sample_artifact_id)))
    columns = [c for c in features if c in reference.columns and c in current.columns]
    if not columns:
        raise InvalidInput(f"drift report {report_id} tested no column both samples hold; nothing to show")
    return EvidentlyInputs(report_id=report_id,
                           reference=reference[columns].sample(min(len(reference), EVIDENTLY_ROWS), random_state=0),
                           current=current[columns].sample(min(len(current), EVIDENTLY_ROWS), random_state=0),
                           reference_rows=record.reference_rows, current_rows=record.current_rows)


SCRIPT_BREAKS = ("</", "<!--")  # what ends or confuses a <script> block when written into it raw


def _defused(text: str) -> str:
    for sequence in SCRIPT_BREAKS:
        text = text.replace(sequence, sequence[0] + " " + sequence[1:])
    return text


def defused(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with "</" and "<!--" in column names and text values written "< /" and "< !--".

    evidently 0.7.23 writes column names and category values raw into a <script> block of its page:
    a column named `</script><img src=x onerror=...>` would end the block and run as markup wherever
    the page is opened (the console frames it in a sandbox; a user may also open the stored file).
    Only values holding those sequences change, and only in the page, never in verdicts or the store.
    """
    renamed = {c: _defused(str(c)) for c in frame.columns if any(b in str(c) for b in SCRIPT_BREAKS)}
    out = frame.rename(columns=renamed) if renamed else frame
    for name in out.columns:
        column = out[name]
        if column.dtype != object:
            continue
        risky = column.map(lambda v: isinstance(v, str) and any(b in v for b in SCRIPT_BREAKS))
        if risky.any():
            out = out.assign(**{str(name): column.where(~risky, column.map(
                lambda v: _defused(v) if isinstance(v, str) else v))})
    return out


def build_html(inputs: EvidentlyInputs) -> bytes:
    """evidently's `Report([DataDriftPreset()])` on the inputs (`defused`), as a UTF-8 page that opens
    with NOTE (no store; seconds: evidently renders every column's plots).

    Raises:
        InvalidInput: evidently could not build a report on this data (its words).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # evidently's own dependencies' deprecation notices are not the user's
            from evidently import Report
            from evidently.presets import DataDriftPreset

            snapshot = Report([DataDriftPreset()]).run(current_data=defused(inputs.current),
                                                       reference_data=defused(inputs.reference))
            page = str(snapshot.get_html_str(as_iframe=False))
    except Exception as err:  # evidently's own failures on data it cannot read (RULES.md: bad input)
        raise InvalidInput(f"evidently could not build its report for drift report {inputs.report_id}: "
                           f"{type(err).__name__}: {err}") from err
    note = NOTE.format(reference=len(inputs.reference), current=len(inputs.current), report=inputs.report_id,
                       reference_rows=inputs.reference_rows, current_rows=inputs.current_rows)
    at = page.find("<body")
    at = page.find(">", at) + 1 if at >= 0 else 0
    return (page[:at] + note + page[at:]).encode()


def keep_html(*, session: Session, store: ArtifactStore, project_id: int, report_id: int, html: bytes) -> bytes:
    """Store `html` as the report's evidently page, unless another caller stored one first: the page
    kept (the first stored) is returned.

    Raises:
        NotFound: no such report.
        InvalidInput: the artifact store cannot be written.
    """
    record = _record(session, project_id, report_id)
    if record.html_artifact_id is not None:
        return _read(session, store, record.html_artifact_id)
    artifact = store_bytes(session=session, store=store, data=html,
                           name=f"drift/{report_id}/evidently-{uuid.uuid4().hex[:12]}.html")
    won = cast(Any, session.execute(update(DriftRecord).where(
        col(DriftRecord.id) == report_id, col(DriftRecord.html_artifact_id).is_(None))
        .values(html_artifact_id=artifact.id))).rowcount
    session.expire(record)
    if not won:
        refreshed = _record(session, project_id, report_id)
        assert refreshed.html_artifact_id is not None
        return _read(session, store, refreshed.html_artifact_id)
    return html


def evidently_html(*, session: Session, store: ArtifactStore, project_id: int, report_id: int) -> bytes:
    """evidently's HTML report (UTF-8 bytes) for stored drift report `report_id`: built on at most
    EVIDENTLY_ROWS rows per side of the tested feature columns the first time (seconds), then read
    back from its artifact (sha256 checked). In the caller's one transaction (which, on SQLite,
    holds the write lock while evidently runs): `evidently_html_in_steps` does not.

    Raises:
        NotFound: no such report in the project; its reference was a frame (no stored sample to
            build on); a sample file is missing.
        InvalidInput: evidently could not build a report on this data (its words).
        IntegrityFailure: a stored file changed after it was written.
    """
    inputs = evidently_inputs(session=session, store=store, project_id=project_id, report_id=report_id)
    if isinstance(inputs, bytes):
        return inputs
    return keep_html(session=session, store=store, project_id=project_id, report_id=report_id,
                     html=build_html(inputs))


def evidently_html_in_steps(*, engine: Engine, store: ArtifactStore, project_id: int, report_id: int) -> bytes:
    """`evidently_html` with evidently run between two transactions of its own (the read of the
    samples, the write of the page), so the store stays writable for others meanwhile.

    Raises:
        as evidently_html.
    """
    with session_scope(engine) as session:
        inputs = evidently_inputs(session=session, store=store, project_id=project_id, report_id=report_id)
    if isinstance(inputs, bytes):
        return inputs
    html = build_html(inputs)
    with session_scope(engine) as session:
        return keep_html(session=session, store=store, project_id=project_id, report_id=report_id, html=html)


def _read(session: Session, store: ArtifactStore, artifact_id: int) -> bytes:
    artifact = session.get(Artifact, artifact_id)
    assert artifact is not None  # a foreign key
    return read_verified(store=store, artifact=artifact)
