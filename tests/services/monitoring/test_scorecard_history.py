"""Scorecard snapshots: one per project card and model card, read back oldest first on SQLite and
PostgreSQL; only_if_changed stores a point a day plus every change; `mlops monitor run` takes them at
its end, and a snapshot that fails does not fail the run."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mlops_nb.services import identity
from mlops_nb.services.errors import InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.monitoring import attestations, monitor, scorecards
from mlops_nb.services.monitoring.scorecard_history import HISTORY_ROWS, scorecard_history, take_snapshots
from mlops_nb.store.artifacts import artifact_store
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.models import ScorecardSnapshot
from tests import factories

DAY = 86_400.0


def _portfolio(engine) -> int:
    """Project 'credit': 'credit-risk' v1 in production, 'churn' v1 registered; its id."""
    with session_scope(engine) as session:
        project_id = factories.project(session, "credit")
        factories.version(session, factories.model(session, project_id, "credit-risk"), stage="production")
        factories.version(session, factories.model(session, project_id, "churn"))
        return project_id


@pytest.fixture()
def sqlite_engine(sqlite_url):
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    return engine


def _rows(engine, **where) -> int:
    with session_scope(engine) as session:
        query = select(func.count()).select_from(ScorecardSnapshot)
        for key, value in where.items():
            query = query.where(getattr(ScorecardSnapshot, key) == value)
        return session.execute(query).scalar_one()


def test_snapshots_round_trip_what_the_cards_say(engine):
    project_id = _portfolio(engine)
    with session_scope(engine) as session:
        assert take_snapshots(session=session, taken_by="operator (cli)", project_id=project_id) == 3
        card = scorecards.scorecard(session=session, project_id=project_id)
    with session_scope(engine) as session:  # each card equals its newest snapshot (the model card's NULL-safe match too)
        assert take_snapshots(session=session, taken_by="cron", trigger="monitor", only_if_changed=True) == 0
    with session_scope(engine) as session:
        [point] = scorecard_history(session=session, project_id=project_id)
        [model_point] = scorecard_history(session=session, project_id=project_id, model="credit-risk")
        with pytest.raises(NotFound, match="model 'nope' is not registered"):
            scorecard_history(session=session, project_id=project_id, model="nope")
    assert set(point) == {"taken_at", "as_of", "phase", "passed", "partial", "failed", "statuses", "test_score",
                          "sections", "trigger", "model"}
    statuses = {c.name: c.status for c in card.criteria}
    assert (point["phase"], point["statuses"], point["test_score"], point["trigger"], point["model"]) == (
        card.phase, statuses, card.ml_test_score.final, "manual", None)
    assert point["sections"] == card.ml_test_score.sections
    assert (point["passed"], point["partial"], point["failed"]) == tuple(
        list(statuses.values()).count(s) for s in ("pass", "partial", "fail"))
    model_card = card.models[0]
    assert (model_card.model, model_point["model"]) == ("credit-risk", "credit-risk")
    assert model_point["statuses"] == {c.name: c.status for c in model_card.criteria}


def test_only_if_changed_stores_a_point_a_day_plus_every_change(sqlite_engine):
    project_id = _portfolio(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        first = take_snapshots(session=session, taken_by="cron", trigger="monitor", only_if_changed=True)
        start = session.execute(select(func.max(ScorecardSnapshot.taken_at))).scalar_one()
    assert first == 3

    def again(hours: float) -> int:
        with session_scope(sqlite_engine) as session:
            return take_snapshots(session=session, taken_by="cron", trigger="monitor", only_if_changed=True,
                                  taken_at=start + hours * 3600)

    assert again(1) == 0 and again(23) == 0  # unchanged and less than a day old
    with session_scope(sqlite_engine) as session:  # a change: data.2 attested for the project
        attestations.attest(session=session, actor=identity.OPERATOR, project_id=project_id, test="data.2",
                            note="ablation study, wiki/ML-12")
    assert again(23.5) == 3  # the project's card and both model cards: their data section went up by 0.5
    assert again(24) == 0
    assert again(23.5 + 24.5) == 3  # unchanged, but its newest snapshot is a day old
    with session_scope(sqlite_engine) as session:
        history = scorecard_history(session=session, project_id=project_id)
    assert [h["sections"]["data"] for h in history] == [0.0, 0.5, 0.5]
    assert [round((h["taken_at"] - start) / 3600, 1) for h in history] == [0.0, 23.5, 48.0]


def test_history_is_bounded_and_since_filters(sqlite_engine):
    project_id = _portfolio(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        base = {k: v for k, v in vars(ScorecardSnapshot(project_id=project_id, taken_at=0, as_of=0, phase=0,
                                                         passed=0, partial=0, failed=12, test_score=0.0,
                                                         taken_by="x")).items() if not k.startswith("_")}
        session.execute(ScorecardSnapshot.__table__.insert(), [
            {**base, "taken_at": float(i), "as_of": float(i), "statuses": {}, "sections": {}, "trigger": "demo",
             "model_id": None} for i in range(HISTORY_ROWS + 5)])
    with session_scope(sqlite_engine) as session:
        history = scorecard_history(session=session, project_id=project_id)
        recent = scorecard_history(session=session, project_id=project_id, since=HISTORY_ROWS + 2)
        with pytest.raises(InvalidInput, match="since must be a finite time"):
            scorecard_history(session=session, project_id=project_id, since=float("nan"))
    assert len(history) == HISTORY_ROWS and (history[0]["taken_at"], history[-1]["taken_at"]) == (5.0, HISTORY_ROWS + 4)
    assert [h["taken_at"] for h in recent] == [HISTORY_ROWS + 2, HISTORY_ROWS + 3, HISTORY_ROWS + 4]


@pytest.mark.parametrize(("options", "error", "words"), [
    ({"trigger": "cron"}, InvalidInput, "snapshot trigger 'cron' is not one of manual, monitor, demo"),
    ({"taken_by": ""}, InvalidInput, "taken_by must not be empty"),
    ({"taken_at": float("inf")}, InvalidInput, "taken_at must be a finite time"),
    ({"project_id": 999}, NotFound, "project 999 does not exist"),
    ({"actor": identity.Identity(name="dana")}, PermissionDenied, "scorecard thresholds and windows"),
])
def test_bad_snapshot_requests_write_nothing(sqlite_engine, options, error, words):
    _portfolio(sqlite_engine)
    with session_scope(sqlite_engine) as session, pytest.raises(error, match=words):
        take_snapshots(session=session, **{"taken_by": "x", **options})
    assert _rows(sqlite_engine) == 0


def test_the_monitor_snapshots_the_projects_it_ran_on_and_survives_a_failing_snapshot(sqlite_engine, tmp_path,
                                                                                       monkeypatch):
    project_id = _portfolio(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        other = factories.project(session, "other")

    def run(**options):
        return monitor.run_monitor(engine=sqlite_engine, store=artifact_store(str(tmp_path / "a")),
                                   actor=identity.OPERATOR, **options)

    first = run(project_id=project_id)
    assert (first.ok, first.snapshots, first.lines) == (True, 3, [])
    assert _rows(sqlite_engine, trigger="monitor", taken_by="operator (cli)") == 3 and _rows(sqlite_engine,
                                                                                             project_id=other) == 0
    assert run(project_id=project_id).snapshots == 0  # nothing changed within the day

    def broken(**_):
        raise OSError("disk full")

    monkeypatch.setattr(monitor, "take_snapshots", broken)
    failed = run()
    assert failed.ok and failed.snapshots == 0
    assert failed.lines == ["warning: scorecard snapshot not taken: OSError: disk full"]
