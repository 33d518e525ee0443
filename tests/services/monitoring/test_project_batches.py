"""Scoring batches across a project: recent batches filtered by model and status, one batch with its
findings, profiles and outcomes, and the per-version summary."""
from __future__ import annotations

import pytest

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.monitoring import project_batches as pb
from mlops_nb.store.db import session_scope
from tests import data_story


@pytest.fixture()
def story(ctx, credit):
    return data_story.build(credit)


def test_recent_batches_of_the_project_newest_first_and_filtered(ctx, story):
    with session_scope(ctx.engine) as s:
        rows = pb.project_batches(session=s, project_id=ctx.project_id)
        refused = pb.project_batches(session=s, project_id=ctx.project_id, status="refused")
        of_model = pb.project_batches(session=s, project_id=ctx.project_id, model="credit-risk", limit=1)
    assert [(r["model"], r["version"], r["status"], r["rows"]) for r in rows] == [
        ("credit-risk", 1, "refused", 20), ("credit-risk", 1, "warned", 50), ("credit-risk", 1, "accepted", 400)]
    assert [r["id"] for r in refused] == [story["batches"]["refused"]] and refused[0]["errors"] >= 1
    assert [r["id"] for r in of_model] == [story["batches"]["refused"]]


def test_bad_filters_are_named(ctx, story):
    with session_scope(ctx.engine) as s:
        with pytest.raises(InvalidInput, match="batch status 'done' is not one of accepted, warned, refused, failed"):
            pb.project_batches(session=s, project_id=ctx.project_id, status="done")
        with pytest.raises(NotFound, match="nope"):
            pb.project_batches(session=s, project_id=ctx.project_id, model="nope")
        with pytest.raises(NotFound, match="no scoring batch 'abc' in this project"):
            pb.batch_detail(session=s, project_id=ctx.project_id, batch_id="abc")
        with pytest.raises(NotFound, match="in this project"):
            pb.batch_detail(session=s, project_id=ctx.project_id + 1, batch_id=story["batches"]["accepted"])


def test_a_batch_shows_its_findings_profiles_and_outcomes(ctx, story):
    with session_scope(ctx.engine) as s:
        accepted = pb.batch_detail(session=s, project_id=ctx.project_id, batch_id=story["batches"]["accepted"])
        warned = pb.batch_detail(session=s, project_id=ctx.project_id, batch_id=story["batches"]["warned"])
    assert accepted["status"] == "accepted" and accepted["findings_list"] == []
    assert accepted["input_profile"]["credit_amount"]["count"] == 400
    assert sum(accepted["prediction_profile"]["histogram"]) == 400
    [outcome] = accepted["outcomes"]
    assert outcome["rows"] == 400 and "roc_auc" in outcome["metrics"] and outcome["business"] == {"default_rate": 0.065}
    assert {(f["column"], f["rule"]) for f in warned["findings_list"]} >= {("age_in_years", "out_of_range")}
    assert warned["outcomes"] == []


def test_the_summary_per_version_counts_refusals_and_latency(ctx, story):
    with session_scope(ctx.engine) as s:
        [summary] = pb.version_summaries(session=s, project_id=ctx.project_id)
    assert (summary["model"], summary["version"], summary["batches"], summary["rows"], summary["refused"]) == (
        "credit-risk", 1, 3, 470, 1)
    assert summary["refused_share"] == pytest.approx(1 / 3)
    assert 0 < summary["latency_p50_ms"] <= summary["latency_p95_ms"]
    assert summary["last_outcome"]["business"] == {"default_rate": 0.065}


def test_percentiles_interpolate_between_values():
    assert pb._percentile([], 50) is None
    assert pb._percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert pb._percentile([1.0, 2.0, 3.0], 95) == pytest.approx(2.9)
