"""evidently's own report for a stored drift report: built once on a bounded sample, stored, read back."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

import mlops_nb as mlops
from mlops_nb.services.monitoring import drift, drift_evidently
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import Artifact, DriftRecord
from tests.factories import production_credit_model


def _html(ctx, report_id) -> bytes:
    with session_scope(ctx.engine) as session:
        return drift.evidently_html(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                    report_id=report_id)


def _artifacts(ctx) -> int:
    with session_scope(ctx.engine) as session:
        return session.execute(select(func.count()).select_from(Artifact)).scalar_one()


def test_evidently_report_is_built_once_on_a_sample_and_says_so(ctx, production, monkeypatch):
    X = production
    report = mlops.drift_report(current=X.assign(credit_amount=X.credit_amount * 2), model="credit")
    monkeypatch.setattr(drift_evidently, "EVIDENTLY_ROWS", 300)
    before = _artifacts(ctx)
    page = _html(ctx, report.id).decode()
    assert page.lstrip().lower().startswith("<!doctype html>") and "credit_amount" in page
    assert (f"evidently's report, built on a sample: 300 reference rows and 300 current rows. The verdicts of "
            f"drift report {report.id}") in page
    assert _artifacts(ctx) == before + 1
    with session_scope(ctx.engine) as session:
        assert session.get(DriftRecord, report.id).html_artifact_id is not None

    def fail(*args, **kwargs):
        raise AssertionError("built twice")

    monkeypatch.setattr(drift_evidently, "build_html", fail)
    assert _html(ctx, report.id).decode() == page and _artifacts(ctx) == before + 1
    assert mlops.drift_html(report.id).decode() == page


def test_a_report_against_a_frame_has_no_evidently_report(ctx, production):
    X = production
    report = mlops.drift_report(reference=X, current=X, model="credit")
    with pytest.raises(mlops.NotFound, match=f"drift report {report.id} has no stored reference sample"):
        _html(ctx, report.id)
    with pytest.raises(mlops.NotFound, match="drift report 404 does not exist in this project"):
        _html(ctx, 404)


def test_the_api_runs_evidently_without_holding_the_write_lock(sqlite_url, tmp_path, credit, monkeypatch):
    from pathlib import Path

    from tests.api.test_store_lock import _lock_is_free

    mlops.init(project="lock", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "artifacts"))
    X = production_credit_model(credit)
    report = mlops.drift_report(current=X, model="credit")
    monkeypatch.setattr(drift_evidently, "EVIDENTLY_ROWS", 200)
    seen, build = [], drift_evidently.build_html

    def probe(inputs):
        seen.append(_lock_is_free(Path(sqlite_url.removeprefix("sqlite:///"))))
        return build(inputs)

    monkeypatch.setattr(drift_evidently, "build_html", probe)
    assert b"built on a sample: 200 reference rows" in mlops.drift_html(report.id)
    assert seen == [True]


def test_markup_in_column_names_and_values_cannot_end_evidentlys_script_block():
    """evidently writes names and categories raw into a <script>: a `</script>` in either would run as
    markup wherever the stored page is opened."""
    import pandas as pd

    from mlops_nb.services.monitoring.drift_evidently import EvidentlyInputs, build_html

    attack = "</script><img src=x onerror=alert(1)>"
    frame = pd.DataFrame({attack: [1.0, 2.0, 3.0, 4.0] * 25, "kind": (["a", attack] * 50)})
    page = build_html(EvidentlyInputs(report_id=1, reference=frame, current=frame.assign(**{attack: frame[attack] * 2}),
                                      reference_rows=100, current_rows=100)).decode()
    assert attack not in page and "< /script><img src=x onerror=alert(1)>" in page  # stays inside the script
