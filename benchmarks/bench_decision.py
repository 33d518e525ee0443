"""Time a promotion decision on a store holding 1,000 model versions (BENCH_VERSIONS).

One decision = approve with the policy's gates re-evaluated (staging first, lineage, a metric
threshold, no regression against production), the approval row, the stage change (the previous
production version archived) and their audit events, in one transaction, committed. Each of
BENCH_N rounds takes a new version through staging (one ml_engineer) and production (an
ml_engineer, then the reviewer whose approval completes the quotas); every approval is timed.
Target: the completing decision under 50 ms median. BENCH_DB_URL times another store (PostgreSQL).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, fresh_store, perf, r, stats  # noqa: E402

VERSIONS = int(os.environ.get("BENCH_VERSIONS", "1000"))
ROUNDS = int(os.environ.get("BENCH_N", "100"))

from sqlalchemy import insert  # noqa: E402

from mlops_nb.services import governance, identity, tracking  # noqa: E402
from mlops_nb.services.identity.auth import Identity  # noqa: E402
from mlops_nb.store.db import get_engine, session_scope  # noqa: E402
from mlops_nb.store.migrate import ensure_schema  # noqa: E402
from mlops_nb.store.models import Artifact, DatasetVersion, ModelVersion, RegisteredModel  # noqa: E402

tmp, url = fresh_store("mlops-bench-decision-")
url = os.environ.get("BENCH_DB_URL") or url
engine = get_engine(url)
ensure_schema(engine)
t_setup = perf()
with session_scope(engine) as session:
    # proven identities, as identity.identify issues them after a password check (requests need proof too)
    dana, eve, rita = (Identity(name=user.name, role=user.role, proven=True, user_id=user.id) for user in (
        identity.add_user(session=session, actor=identity.OPERATOR, name=name, role=role)
        for name, role in (("dana", "data_scientist"), ("eve", "ml_engineer"), ("rita", "reviewer"))))
    project = tracking.get_or_create_project(session=session, name=f"bench-{int(time.time() * 1000)}")
    experiment = tracking.get_or_create_experiment(session=session, project_id=project.id, name="bench")
    run = tracking.create_run(session=session, experiment_id=experiment.id, name="train", user="dana",
                              context={"git_commit": "abc123"})
    data = DatasetVersion(project_id=project.id, name="german", version=1, fingerprint="f" * 64, rows=1000, columns=21,
                          schema_={"columns": [{"name": "creditability", "dtype": "object"}]},
                          profile={"creditability": {"nulls": 0, "null_rate": 0.0}}, created_by="dana",
                          created_at=time.time())
    model = RegisteredModel(project_id=project.id, name="credit-risk", created_by="dana", created_at=time.time())
    session.add_all([data, model])
    session.flush()
    now = time.time()
    first_artifact = session.execute(insert(Artifact).returning(Artifact.id), [
        {"run_id": run.id, "name": f"models/credit-risk/v{i}/model.skops", "uri": f"file:///bench/{i}",
         "sha256": "0" * 64, "size": 1, "created_at": now} for i in range(1, VERSIONS + 1)]).scalars().all()
    session.execute(insert(ModelVersion), [
        {"model_id": model.id, "version": i, "stage": "none", "run_id": run.id, "dataset_version_id": data.id,
         "artifact_id": first_artifact[i - 1], "target": "creditability", "signature": {}, "env": {},
         "requirements": "", "params": {"C": "1.0"}, "metrics": {"roc_auc": 0.75 + i * 1e-5}, "code": {},
         "features": [], "created_by": "dana", "created_at": now} for i in range(1, VERSIONS + 1)])
    governance.set_policy(session=session, actor=eve, project_id=project.id, model_id=model.id,
                        rules={"metric_thresholds": {"roc_auc": ">= 0.70"},
                               "no_regression": {"metric": "roc_auc", "tolerance": 0.01}})
    project_id = project.id
setup_s = perf() - t_setup


def timed(fn):
    t = perf()
    with session_scope(engine) as session:
        result = fn(session)
    return perf() - t, result


def ask(version: int, to: str) -> int:
    with session_scope(engine) as session:
        return governance.request_promotion(session=session, actor=dana, project_id=project_id, model="credit-risk",
                                           version=version, to=to, reason="bench").id


staging, production_first, production_final = [], [], []
for version in range(1, ROUNDS + 1):
    rid = ask(version, "staging")
    dt, req = timed(lambda s, rid=rid: governance.approve(session=s, actor=eve, request_id=rid, comment="ok"))
    assert req.status == "approved"
    staging.append(dt)
    rid = ask(version, "production")
    dt, req = timed(lambda s, rid=rid: governance.approve(session=s, actor=eve, request_id=rid, comment="ok"))
    assert req.status == "pending"
    production_first.append(dt)
    dt, req = timed(lambda s, rid=rid: governance.approve(session=s, actor=rita, request_id=rid, comment="ok"))
    assert req.status == "approved"
    production_final.append(dt)

final = stats(production_final)
emit("promotion_decision", backend=engine.url.get_backend_name(), versions=VERSIONS, rounds=ROUNDS,
     setup_s=r(setup_s, 3), value_ms=r(final["median"] * 1e3, 3), target_ms=50,
     production_completing_ms={k: (r(v * 1e3, 3) if k != "n" else v) for k, v in final.items()},
     production_first_approval_ms=r(stats(production_first)["median"] * 1e3, 3),
     staging_decision_ms=r(stats(staging)["median"] * 1e3, 3),
     note="median wall time of approve() incl. gates, approval, stage change, audit events and commit")
