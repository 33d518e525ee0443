"""Time `mlops audit verify` over a chain of 100,000 events (BENCH_EVENTS).

The chain is built with services.audit's own hash function under the store's audit key (HMAC-SHA256,
in bulk, one transaction; the head row's MAC moved as a writer moves it), with the before/after payloads promotion and stage changes write. Timed: governance.verify in-process (median of
3) and the `mlops audit verify` command end to end (process start included). Target: under 2 s.
BENCH_DB_URL times another store (PostgreSQL).
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, fresh_store, median, perf, r  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "100000"))
BATCH = 10_000

from sqlalchemy import delete, insert, update  # noqa: E402

from mlops_nb.services import governance  # noqa: E402
from mlops_nb.store.audit_key import head_mac  # noqa: E402
from mlops_nb.store.db import get_engine, session_scope  # noqa: E402
from mlops_nb.store.migrate import ensure_schema  # noqa: E402
from mlops_nb.store.models import AuditEvent, AuditHead  # noqa: E402
from mlops_nb.store.models.audit import GENESIS_HASH  # noqa: E402

tmp, url = fresh_store("mlops-bench-audit-")
url = os.environ.get("BENCH_DB_URL") or url
engine = get_engine(url)
ensure_schema(engine)

PAYLOADS = [
    ("promotion.request", "promotion_request", None,
     {"model": "credit-risk", "version": 7, "target_stage": "staging", "reason": "beats v6 on AUC", "status": "pending"}),
    ("promotion.gates", "promotion_request", None,
     {"when": "decision", "gates": [{"name": "lineage_complete", "passed": True, "detail": "run 1f2e, dataset german v3",
                                     "data": {"run": "1f2e", "dataset": "german v3"}}]}),
    ("promotion.approve", "promotion_request", None, {"user": "eve", "role": "ml_engineer", "comment": "ok"}),
    ("model.stage", "model_version", {"stage": "none"}, {"stage": "staging", "reason": "r", "request_id": 12}),
]

t_build = perf()
with session_scope(engine) as session:
    session.execute(delete(AuditEvent))
    key = governance.store_key(session)
    head = session.get(AuditHead, 1)
    assert head is not None and head.key_id is not None and head.keyed_from == 1, "a new store keys every event"
    prev, rows = GENESIS_HASH, []
    ts = time.time()
    for i in range(1, EVENTS + 1):
        action, entity, before, after = PAYLOADS[i % len(PAYLOADS)]
        entity_id = str(i // 4)
        stamp = ts + i * 1e-3
        digest = governance.event_hash(prev, event_id=i, ts=stamp, actor="eve", action=action, entity=entity,
                                  entity_id=entity_id, before=before, after=after, key=key)
        rows.append({"id": i, "ts": stamp, "actor": "eve", "action": action, "entity": entity, "entity_id": entity_id,
                     "before": before, "after": after, "prev_hash": prev, "hash": digest})
        prev = digest
        if len(rows) == BATCH:
            session.execute(insert(AuditEvent), rows)
            rows = []
    if rows:
        session.execute(insert(AuditEvent), rows)
    mac = head_mac(key, key_name=head.key_id, keyed_from=1, last_event_id=EVENTS, last_hash=prev)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_event_id=EVENTS, last_hash=prev, mac=mac))
build_s = perf() - t_build

times = []
for _ in range(3):
    t = perf()
    with session_scope(engine) as session:
        result = governance.verify(session=session)
    times.append(perf() - t)
    assert result.ok and result.events == EVENTS, str(result)

exe = os.path.join(os.path.dirname(sys.executable), "mlops")
cli_times = []
for _ in range(2):
    t = perf()
    done = subprocess.run([exe, "--db", url, "audit", "verify"], capture_output=True, text=True)
    cli_times.append(perf() - t)
    assert done.returncode == 0 and done.stdout.strip() == f"audit chain intact: {EVENTS} events", done

emit("audit_verify", backend=engine.url.get_backend_name(), events=EVENTS, build_s=r(build_s, 3),
     value_s=r(median(cli_times), 4), target_s=2.0, cli_s=[r(x, 4) for x in cli_times],
     in_process_s=r(median(times), 4), in_process_all_s=[r(x, 4) for x in times],
     note="value_s: `mlops audit verify` end to end (process start, imports, store check, verify)")
