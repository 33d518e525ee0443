"""evidently's own report for a stored drift report: built once on a bounded sample, stored, read back."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

import mlops_nb as mlops
from mlops_nb.services.monitoring import drift, drift_evidently
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import Artifact, DriftRecord, ModelVersion
from tests.factories import move_stage, register_credit_model


@pytest.fixture()
def production(ctx, credit):
    X = register_credit_model(credit)
    with session_scope(ctx.engine) as session:
        row = session.execute(select(ModelVersion)).scalars().one()
        move_stage(session, row, "staging")
        move_stage(session, row, "production")
    return X


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

    monkeypatch.setattr(drift_evidently, "_build", fail)
    assert _html(ctx, report.id).decode() == page and _artifacts(ctx) == before + 1
    assert mlops.drift_html(report.id).decode() == page


def test_a_report_against_a_frame_has_no_evidently_report(ctx, production):
    X = production
    report = mlops.drift_report(reference=X, current=X, model="credit")
    with pytest.raises(mlops.NotFound, match=f"drift report {report.id} has no stored reference sample"):
        _html(ctx, report.id)
    with pytest.raises(mlops.NotFound, match="drift report 404 does not exist in this project"):
        _html(ctx, 404)
