"""`run_monitor`: the rules of each production model evaluated over the batches since its cursor,
SPEC §4's defaults with no rules, alerts fired once with evidence, the cursor moved on commit only.

The tests here write batch rows as the scorer would (refused and warned batches with findings, no
sample file); test_monitor_drift.py scores a real model and drifts its inputs."""
from __future__ import annotations

import time
import uuid

import pytest
from sqlmodel import select

from mlops_nb.services import identity
from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.services.monitoring import actions, monitor, monitor_lock, rules
from mlops_nb.store.artifacts import artifact_store
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import MonitorCursor, Outcome, ScoringBatch, StageChange
from tests import factories

REENCODED = {"column": "purpose", "rule": "new_categories", "severity": "error",
             "message": "new categories not seen in training: 'A40', 'A41'", "examples": ["A40", "A41"]}
OUT_OF_RANGE = {"column": "age", "rule": "out_of_range", "severity": "warning",
                "message": "2 values outside the training range 19-75", "examples": [99]}


@pytest.fixture()
def live(engine):
    """Project 'p' with model 'credit' v1 in production; (project_id, version row id)."""
    with session_scope(engine) as session:
        project_id = factories.project(session, "p")
        row = factories.version(session, factories.model(session, project_id, "credit"), stage="production")
        return project_id, row.id


def _batch(engine, version_id, *, status="warned", findings=(), latency_ms=10.0, at=None):
    with session_scope(engine) as session:
        batch = ScoringBatch(id=uuid.uuid4().hex, model_version_id=version_id, stage="production", method="predict",
                             status=status, rows=100, latency_ms=latency_ms, findings=list(findings),
                             created_by="dana", created_at=at or time.time())
        session.add(batch)
        return batch.id


def _run(engine, tmp_path, **kwargs):
    return monitor.run_monitor(engine=engine, store=artifact_store(str(tmp_path / "a")), actor=identity.OPERATOR,
                               **kwargs)


def _rule(engine, project_id, name, kind, **kwargs):
    with session_scope(engine) as session:
        return rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name=name, kind=kind,
                              **kwargs)


def test_defaults_name_each_error_finding_once_and_nothing_when_fine(engine, tmp_path, live):
    project_id, version_id = live
    first = _batch(engine, version_id, status="refused", findings=[REENCODED, OUT_OF_RANGE])
    second = _batch(engine, version_id, status="refused", findings=[REENCODED])
    result = _run(engine, tmp_path)
    [line] = result.lines
    assert line.startswith("critical: credit v1 column 'purpose' [rule 'validation (default)'] new_categories (error)")
    assert "in 2 batches, 2 refused" in line
    [alert] = result.alerts
    assert alert.evidence["batch_ids"] == [first, second] and alert.column == "purpose"
    assert [(a.type, a.status) for a in result.actions] == [("notify", "sent")]
    assert _run(engine, tmp_path).lines == []  # nothing new: nothing printed, nothing fired
    _batch(engine, version_id, status="accepted")
    again = _run(engine, tmp_path)
    assert again.lines == [] and again.alerts == [] and again.evaluated == [("credit v1", 1)]


def test_non_finite_predictions_fire_under_the_validation_defaults(engine, tmp_path, live):
    """ML Test Score monitoring 5: prediction profiles count NaN/inf, and the monitor alerts on them."""
    version_id = live[1]
    fine = _batch(engine, version_id, status="accepted")
    bad = _batch(engine, version_id, status="accepted")
    with session_scope(engine) as session:
        session.get(ScoringBatch, fine).prediction_profile = {"rows": 100, "nan": 0, "inf": 0}
        session.get(ScoringBatch, bad).prediction_profile = {"rows": 100, "nan": 3, "inf": 1}
    result = _run(engine, tmp_path)
    [line] = result.lines
    assert line == ("critical: credit v1 [rule 'validation (default)'] non_finite_predictions (error) in 1 batch: "
                    "3 NaN and 1 infinite predictions of 100 rows (alert 1)")
    [alert] = result.alerts
    assert alert.evidence["batch_ids"] == [bad] and alert.evidence["finding"] == "non_finite_predictions"


def test_warnings_are_printed_with_include_warnings_only(engine, tmp_path, live):
    _batch(engine, live[1], findings=[OUT_OF_RANGE])
    assert _run(engine, tmp_path, include_warnings=True).lines == [
        "warning: credit v1 column 'age' [rule 'validation'] out_of_range in 1 batches: "
        "2 values outside the training range 19-75"]


def test_control_characters_from_the_data_cannot_break_or_rewrite_the_printed_line(engine, tmp_path, live):
    """A finding's message carries the data's values and column names; an ESC or a newline in one was
    printed raw to the terminal or cron log that `mlops monitor run` writes to."""
    hostile = {**OUT_OF_RANGE, "message": "2 values outside\nerror: forged line \x1b]0;owned\x07\x1b[2J"}
    _batch(engine, live[1], findings=[hostile])
    [line] = _run(engine, tmp_path, include_warnings=True).lines
    assert line.endswith("2 values outside\\nerror: forged line \\x1b]0;owned\\x07\\x1b[2J")
    assert line.isprintable()


def test_the_same_evidence_fires_once_even_when_the_cursor_did_not_move(engine, tmp_path, live):
    _batch(engine, live[1], status="refused", findings=[REENCODED])
    assert len(_run(engine, tmp_path).alerts) == 1
    with session_scope(engine) as session:  # as if the cursor had not moved (a run killed after firing)
        session.delete(session.get(MonitorCursor, live[1]))
    assert _run(engine, tmp_path).alerts == []


def test_latency_outcome_and_age_rules_fire_with_their_evidence(engine, tmp_path, live):
    project_id, version_id = live
    _rule(engine, project_id, "sla", "latency_p95", params={"sla_ms": 50}, severity="critical")
    _rule(engine, project_id, "default rate", "outcome_metric",
          params={"metric": "default_rate", "expected": 0.05, "tolerance": 0.02})
    _rule(engine, project_id, "auc", "outcome_metric", params={"metric": "roc_auc", "min": 0.7})
    _rule(engine, project_id, "age", "model_age", params={"max_days": 90})
    for latency in [10.0] * 18 + [80.0, 90.0]:
        _batch(engine, version_id, status="accepted", latency_ms=latency)
    with session_scope(engine) as session:
        ok = Outcome(model_version_id=version_id, rows=500, business={"default_rate": 0.06}, metrics={"roc_auc": 0.75},
                     created_by="dana", created_at=time.time())
        bad = Outcome(model_version_id=version_id, rows=500, business={"default_rate": 0.09}, metrics={"roc_auc": 0.62},
                      created_by="dana", created_at=time.time())
        session.add_all([ok, bad])
        change = session.exec(select(StageChange).where(StageChange.model_version_id == version_id,
                                                        StageChange.to_stage == "production")).one()
        change.created_at = time.time() - 100 * 86400
        session.flush()
        bad_id = bad.id
    result = _run(engine, tmp_path)
    fired = {a.rule: a for a in result.alerts}
    assert sorted(fired) == ["age", "auc", "default rate", "sla"]
    assert fired["sla"].evidence["p95_ms"] > 50 and fired["sla"].evidence["batches"] == 20
    assert fired["default rate"].evidence["outcome_id"] == bad_id and "default_rate 0.09" in fired["default rate"].message
    assert fired["auc"].evidence["outcome_id"] == bad_id
    assert "in production for 100 days" in fired["age"].message
    assert len(result.lines) == 4
    assert _run(engine, tmp_path).alerts == []  # the same outcomes and the same entry date fire once


def test_rules_replace_the_defaults_and_watch_only_their_model(engine, tmp_path, live):
    project_id, version_id = live
    with session_scope(engine) as session:
        other = factories.version(session, factories.model(session, project_id, "other"), stage="production")
    _rule(engine, project_id, "other only", "validation", model="other")
    _batch(engine, version_id, status="refused", findings=[REENCODED])
    _batch(engine, other.id, status="refused", findings=[REENCODED])
    result = _run(engine, tmp_path)
    assert [a.model for a in result.alerts] == ["other"]
    assert [line.split(" [rule")[0] for line in result.lines] == ["error: credit v1 column 'purpose'",
                                                                  "warning: other v1 column 'purpose'"]
    assert _run(engine, tmp_path, model="other").evaluated == [("other v1", 0)]
    with pytest.raises(NotFound, match="model 'nope' has no production version"):
        _run(engine, tmp_path, model="nope")


def test_a_disabled_rule_is_not_evaluated_and_the_defaults_stay_off(engine, tmp_path, live):
    project_id, version_id = live
    _rule(engine, project_id, "v", "validation")
    with session_scope(engine) as session:
        rules.set_rule_enabled(session=session, project_id=project_id, actor=identity.OPERATOR, name="v", enabled=False)
    _batch(engine, version_id, status="refused", findings=[REENCODED])
    result = _run(engine, tmp_path)
    assert result.alerts == [] and [line.split(" [")[0] for line in result.lines] == ["error: credit v1 column 'purpose'"]


def test_a_rules_actions_run_after_the_alert_is_recorded(engine, tmp_path, live):
    project_id, version_id = live
    seen = []
    actions.register_action("collect", seen.append)
    try:
        _rule(engine, project_id, "v", "validation", actions=[{"type": "callable", "name": "collect"}])
        _batch(engine, version_id, status="refused", findings=[REENCODED])
        result = _run(engine, tmp_path)
    finally:
        actions.unregister_action("collect")
    assert [a.id for a in seen] == [a.id for a in result.alerts] and seen[0].rule == "v"


def test_a_second_run_is_refused_while_one_holds_the_lock(engine, tmp_path, live):
    with monitor_lock.hold_lock(engine):
        with pytest.raises(Conflict, match="another monitor run holds the monitor lock"):
            _run(engine, tmp_path)
    assert _run(engine, tmp_path).lines == []


def test_a_failed_evaluation_leaves_the_cursor_and_the_next_run_sees_the_same_batches(engine, tmp_path, live,
                                                                                       monkeypatch):
    _batch(engine, live[1], status="refused", findings=[REENCODED])
    real = monitor.fire_alert

    def broken(**kwargs):
        real(**kwargs)  # written, then the evaluation fails: all of it rolls back
        raise InvalidInput("the store said no")

    monkeypatch.setattr(monitor, "fire_alert", broken)
    failed = _run(engine, tmp_path)
    assert not failed.ok and failed.failed == [("credit v1", "the store said no")]
    assert failed.lines == ["error: credit v1 not evaluated: the store said no"]
    with session_scope(engine) as session:
        assert session.get(MonitorCursor, live[1]) is None
    monkeypatch.setattr(monitor, "fire_alert", real)
    again = _run(engine, tmp_path)
    assert again.ok and len(again.alerts) == 1 and again.evaluated == [("credit v1", 1)]


def test_a_batch_stored_after_a_run_with_an_earlier_time_is_evaluated_by_the_next(engine, tmp_path, live):
    """A scorer's writer stores a batch a moment after it was scored (or a backfill dates it in the
    past): it is not skipped because a run already looked at later batches."""
    _batch(engine, live[1])
    assert _run(engine, tmp_path).evaluated == [("credit v1", 1)]
    _batch(engine, live[1], status="refused", findings=[REENCODED], at=time.time() - 3600)  # stored late
    late = _run(engine, tmp_path)
    assert late.evaluated == [("credit v1", 1)] and len(late.alerts) == 1
    assert _run(engine, tmp_path).evaluated == [("credit v1", 0)]  # each batch evaluated once
