"""A model's stage history: every move newest first, and who was champion (in production) when."""
from __future__ import annotations

import pytest

from mlops_nb.services import governance
from mlops_nb.services.errors import InvalidInput, NotFound
from tests import factories as g


def _three_champions_and_a_rollback(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    for _ in range(3):
        g.version(session, m, stage="production")
    governance.rollback(session=session, actor=people["ml_engineer"], model_id=m.id, reason="v3 drifts")
    return m, people


def test_stage_history_lists_every_move_newest_first_with_who_and_why(db_url, session):
    m, people = _three_champions_and_a_rollback(session)
    history = governance.stage_history(session=session, model_id=m.id)
    assert [(c.version, c.from_stage, c.to_stage) for c in history[:2]] == [
        (2, "archived", "production"), (3, "production", "archived")]
    assert history[0].actor == people["ml_engineer"].name and history[0].reason == "v3 drifts"
    assert history[0].rollback and history[1].reason == "rolled back: v3 drifts"
    assert [c.id for c in history] == sorted((c.id for c in history), reverse=True)
    assert len(history) == 2 + 2 + 3 + 3  # v1: 2 moves; v2, v3: staging, archive the champion, production
    assert (history[-1].version, history[-1].to_stage, history[-1].actor) == (1, "staging", "setup")
    assert len(governance.stage_history(session=session, model_id=m.id, limit=3)) == 3


def test_production_periods_say_who_was_champion_when(session):
    m, people = _three_champions_and_a_rollback(session)
    periods = governance.production_periods(governance.stage_history(session=session, model_id=m.id))
    assert [(p.version, p.by_rollback) for p in periods] == [(2, True), (3, False), (2, False), (1, False)]
    now, v3, v2_first = periods[0], periods[1], periods[2]
    assert now.until is None and now.entered_by == people["ml_engineer"].name and now.reason == "v3 drifts"
    assert v3.until is not None and v3.ended_by == people["ml_engineer"].name
    assert v3.ended_reason == "rolled back: v3 drifts"
    assert v2_first.ended_reason == "replaced by version 3" and v2_first.since <= v2_first.until


def test_a_model_that_never_moved_has_no_history(session):
    m = g.model(session, g.project(session))
    g.version(session, m)
    assert governance.stage_history(session=session, model_id=m.id) == []
    assert governance.production_periods([]) == []


def test_stage_history_of_an_unknown_model_is_not_found(session):
    with pytest.raises(NotFound, match="registered model 999 does not exist"):
        governance.stage_history(session=session, model_id=999)
    with pytest.raises(InvalidInput, match="limit must be a whole number of at least 1, got 0"):
        governance.stage_history(session=session, model_id=999, limit=0)


def test_last_stage_changes_name_each_moved_model(session):
    pid = g.project(session)
    moved, still = g.model(session, pid, "moved"), g.model(session, pid, "still")
    g.version(session, moved, stage="staging")
    g.version(session, still)
    changes = governance.last_stage_changes(session=session, project_id=pid)
    assert list(changes) == ["moved"] and changes["moved"] > 0


def test_rollback_target_names_the_version_a_rollback_restores(session):
    people = g.add_users(session)
    m = g.model(session, g.project(session))
    for _ in range(3):
        g.version(session, m, stage="production")

    def target():
        return governance.rollback_target(governance.stage_history(session=session, model_id=m.id))

    assert target() == 2
    for expected_next in (1, None):
        restored = governance.rollback(session=session, actor=people["admin"], model_id=m.id, reason="r")
        assert restored.version == (2 if expected_next == 1 else 1) and target() == expected_next
