"""The portfolio reads its evidence in a fixed number of statements: more projects, models and runs
per model do not add queries (issue 12's speed bar), on SQLite and PostgreSQL."""
from __future__ import annotations

import time
import uuid

from sqlalchemy import event

from mlops_nb.services.monitoring import scorecards
from mlops_nb.store.models import LatestMetric, Param, Run, Tag
from mlops_nb.store.models.alerts import AlertRule, RetrainingConfig, RetrainingRun
from mlops_nb.store.models.monitoring import DriftRecord, Outcome, ScoringBatch
from mlops_nb.store.models.scorecards import Attestation
from tests import factories as f


def _runs(session, version_row, count: int) -> None:
    """`count` more finished runs with a param and a metric in the version's experiment, as rows."""
    experiment_id = session.get(Run, version_row.run_id).experiment_id
    now = time.time()
    for i in range(count):
        rid = uuid.uuid4().hex
        session.add(Run(id=rid, experiment_id=experiment_id, name=f"sweep-{i}", status="finished", user="dana",
                        start_time=now - i, heartbeat_at=now))
        session.flush()
        session.add(Param(run_id=rid, key="C", value=str(i)))
        session.add(LatestMetric(run_id=rid, key="auc", value=0.7, step=0, timestamp=now))
        session.add(Tag(run_id=rid, key="baseline", value="true" if i == 0 else "false"))
    session.flush()


def _project(session, name: str, *, models: int, runs_per_model: int) -> int:
    """A project with `models` production models, each with runs, batches, a drift report, an outcome,
    a retraining run and rules: every kind of evidence the scorecard reads."""
    pid = f.project(session, name)
    now = time.time()
    for m in range(models):
        registered = f.model(session, pid, f"{name}-m{m}")
        f.version(session, registered, stage="production")
        v2 = f.version(session, registered, stage="production")
        _runs(session, v2, runs_per_model)
        for stage in ("staging", "production"):
            session.add(ScoringBatch(id=uuid.uuid4().hex, model_version_id=v2.id, stage=stage, method="predict",
                                     status="accepted", rows=10, latency_ms=5.0, prediction_profile={"rows": 10, "nan": 0},
                                     created_by="dana", created_at=now - 60, monitored_at=now))
        session.add(DriftRecord(project_id=pid, model_version_id=v2.id, reference="d", current="c", reference_rows=1,
                                current_rows=1, tested=1, drifted=0, share=0, drift_share=0.5, dataset_drift=False,
                                trigger="monitor", created_by="monitor", created_at=now - 60))
        session.add(Outcome(model_version_id=v2.id, rows=5, metrics={"auc": 0.7}, created_by="dana", created_at=now))
        session.add(RetrainingConfig(model_id=registered.id, notebook_artifact_id=v2.artifact_id, notebook_path="t.ipynb",
                                     set_by="dana", set_at=now))
        session.add(RetrainingRun(model_id=registered.id, trigger="manual", status="succeeded", started_by="dana",
                                  started_at=now))
    session.add(AlertRule(project_id=pid, name="sla", kind="latency_p95", params={"sla_ms": 100}, created_by="dana",
                          created_at=now))
    session.add(Attestation(project_id=pid, test="data.2", note="reviewed", attested_by="eve", role="reviewer",
                            attested_at=now - 10, expires_at=now + 1000))
    session.flush()
    return pid


def _statements(engine, call) -> tuple[int, object]:
    count = 0

    def _count(_conn, _cursor, statement, *_args) -> None:
        nonlocal count
        # the transaction's own statements (a session opens one on its first read) are not evidence queries
        count += not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA", "SET "))

    event.listen(engine, "before_cursor_execute", _count)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    return count, result


def test_portfolio_statements_do_not_grow_with_projects_models_or_runs(engine, session):
    small = [_project(session, f"a{i}", models=1, runs_per_model=1) for i in range(2)]
    big = [_project(session, f"b{i}", models=2, runs_per_model=4) for i in range(6)]
    session.commit()
    few, cards = _statements(engine, lambda: scorecards.portfolio(session=session, project_ids=small))
    assert [c.project for c in cards] == ["a0", "a1"]
    many, cards = _statements(engine, lambda: scorecards.portfolio(session=session, project_ids=big))
    assert [c.project for c in cards] == [f"b{i}" for i in range(6)]
    assert all(len(c.models) == 2 for c in cards)
    assert few == many, f"{few} statements for 2 small projects, {many} for 6 bigger ones"
    # the evidence was read, not skipped: runs, batches, drift, retraining, attestation all count
    card = cards[0]
    assert card.criterion("runs_tracked").status == "pass"
    assert card.criterion("drift_on_schedule").status == "pass"
    assert card.criterion("sla_met").status == "pass"
    scores = {t.key: t.score for t in card.ml_test_score.tests}
    assert scores["model.3"] == 1 and scores["infrastructure.3"] == 1 and scores["data.2"] == 0.5
    every, _ = _statements(engine, lambda: scorecards.portfolio(session=session))
    assert every == many
