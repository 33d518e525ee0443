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
from typing import Any, cast

from sqlalchemy import select, update
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.tracking.artifacts import read_verified, store_bytes
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import Artifact, DriftColumn, DriftRecord

EVIDENTLY_ROWS = 5_000  # rows per side evidently's report is built on (its cost grows with them)

# fixed words and numbers only (no user text), so the note needs no escaping
NOTE = ("<div style=\"font-family:sans-serif;padding:8px 12px;margin:0 0 8px 0;background:#fff4ce;"
        "border:1px solid #e0c060\">evidently's report, built on a sample: {reference:,} reference rows and "
        "{current:,} current rows. The verdicts of drift report {report} (and its alerts) come from "
        "mlops_nb's computation on all {reference_rows:,} reference and {current_rows:,} current rows; "
        "statistics here may differ from them.</div>")


def evidently_html(*, session: Session, store: ArtifactStore, project_id: int, report_id: int) -> bytes:
    """evidently's HTML report (UTF-8 bytes) for stored drift report `report_id`: built on at most
    EVIDENTLY_ROWS rows per side of the tested feature columns the first time (seconds), then read
    back from its artifact (sha256 checked).

    Raises:
        NotFound: no such report in the project; its reference was a frame (no stored sample to
            build on); a sample file is missing.
        InvalidInput: evidently could not build a report on this data (its words).
        IntegrityFailure: a stored file changed after it was written.
    """
    record = session.get(DriftRecord, report_id) if isinstance(report_id, int) else None
    if record is None or record.project_id != project_id:
        raise NotFound(f"drift report {report_id!r} does not exist in this project")
    if record.html_artifact_id is not None:
        return _read(session, store, record.html_artifact_id)
    if record.reference_dataset_version_id is None or record.current_sample_artifact_id is None:
        raise NotFound(f"drift report {report_id} has no stored reference sample (its reference was a frame); "
                       "evidently's report is built only for reports against a logged dataset")
    html = _build(session, store, record)
    artifact = store_bytes(session=session, store=store, data=html,
                           name=f"drift/{record.id}/evidently-{uuid.uuid4().hex[:12]}.html")
    # another caller may have built it at the same moment: the first stored one is kept
    won = cast(Any, session.execute(update(DriftRecord).where(col(DriftRecord.id) == record.id,
                                                    col(DriftRecord.html_artifact_id).is_(None))
                          .values(html_artifact_id=artifact.id))).rowcount
    if not won:
        session.expire(record)
        refreshed = session.get(DriftRecord, report_id)
        assert refreshed is not None and refreshed.html_artifact_id is not None
        return _read(session, store, refreshed.html_artifact_id)
    session.expire(record)
    return html


def _read(session: Session, store: ArtifactStore, artifact_id: int) -> bytes:
    artifact = session.get(Artifact, artifact_id)
    assert artifact is not None  # a foreign key
    return read_verified(store=store, artifact=artifact)


def _build(session: Session, store: ArtifactStore, record: DriftRecord) -> bytes:
    import pandas as pd

    from mlops_nb.services.data.datasets import load_sample

    assert record.reference_dataset_version_id is not None and record.current_sample_artifact_id is not None
    features = list(session.execute(select(col(DriftColumn.column)).where(
        col(DriftColumn.report_id) == record.id, col(DriftColumn.role) == "feature").order_by(
        col(DriftColumn.position))).scalars())
    reference = load_sample(session=session, store=store, dataset_version_id=record.reference_dataset_version_id)
    current = pd.read_parquet(io.BytesIO(_read(session, store, record.current_sample_artifact_id)))
    columns = [c for c in features if c in reference.columns and c in current.columns]
    if not columns:
        raise InvalidInput(f"drift report {record.id} tested no column both samples hold; nothing to show")
    reference = reference[columns].sample(min(len(reference), EVIDENTLY_ROWS), random_state=0)
    current = current[columns].sample(min(len(current), EVIDENTLY_ROWS), random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # evidently's own dependencies' deprecation notices are not the user's
            from evidently import Report
            from evidently.presets import DataDriftPreset

            snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
            page = str(snapshot.get_html_str(as_iframe=False))
    except Exception as err:  # evidently's own failures on data it cannot read (RULES.md: bad input)
        raise InvalidInput(f"evidently could not build its report for drift report {record.id}: "
                           f"{type(err).__name__}: {err}") from err
    note = NOTE.format(reference=len(reference), current=len(current), report=record.id,
                       reference_rows=record.reference_rows, current_rows=record.current_rows)
    at = page.find("<body")
    at = page.find(">", at) + 1 if at >= 0 else 0
    return (page[:at] + note + page[at:]).encode()
