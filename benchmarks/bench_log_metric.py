"""2,000 single `mlops.log_metric` calls in one run (SQLite), each its own committed transaction,
against a raw sqlite3 INSERT + COMMIT per point into a copy of the same schema (WAL, our engine's
synchronous level, foreign keys on)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, engine_synchronous, floor_db, fresh_store, perf, r, stats  # noqa: E402

N = int(os.environ.get("BENCH_N", "2000"))

import mlops_nb as mlops  # noqa: E402

tmp, url = fresh_store()
t0 = perf()
mlops.init(project="bench", db_url=url, user="bench")
t_init = perf() - t0
t0 = perf()
run = mlops.start_run(experiment="bench_single")
t_run = perf() - t0

per = []
t_all = perf()
for i in range(N):
    t = perf()
    mlops.log_metric("loss", 1.0 / (i + 1), step=i)
    per.append(perf() - t)
total = perf() - t_all
# the same with the default step (the in-process next-step cache)
t_auto = perf()
for i in range(N):
    mlops.log_metric("loss_auto", 1.0 / (i + 1))
total_auto = perf() - t_auto
mlops.end_run()
back = mlops.get_metric_history(run.id, "loss")
assert len(back) == N and back[-1].step == N - 1, len(back)
sync, journal = engine_synchronous(url)

db_path = url.removeprefix("sqlite:///")
con = floor_db(db_path, "floor.db", sync)
rid = run.id
t_floor = perf()
for i in range(N):
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO metric (run_id, key, value, step, timestamp) VALUES (?,?,?,?,?)",
                (rid, "loss", 1.0 / (i + 1), i, time.time()))
    con.execute("COMMIT")
floor = perf() - t_floor
# the floor plus the latest-value upsert we also do, still one transaction per point
t_floor2 = perf()
for i in range(N):
    con.execute("BEGIN IMMEDIATE")
    ts = time.time()
    con.execute("INSERT INTO metric (run_id, key, value, step, timestamp) VALUES (?,?,?,?,?)",
                (rid, "loss2", 1.0 / (i + 1), i, ts))
    con.execute("INSERT INTO latest_metric (run_id, key, value, step, timestamp) VALUES (?,?,?,?,?) "
                "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, step = excluded.step, "
                "timestamp = excluded.timestamp WHERE excluded.step >= latest_metric.step",
                (rid, "loss2", 1.0 / (i + 1), i, ts))
    con.execute("COMMIT")
floor2 = perf() - t_floor2
con.close()

s = stats(per)
emit("log_metric", calls=N, value_s=r(total, 4), per_call_mean_us=r(total / N * 1e6, 1),
     per_call_median_us=r(s["median"] * 1e6, 1), per_call_p99_us=r(s["p99"] * 1e6, 1),
     per_call_max_us=r(s["max"] * 1e6, 1), default_step_total_s=r(total_auto, 4),
     init_new_store_s=r(t_init, 4), start_run_s=r(t_run, 4),
     sqlite_floor_s=r(floor, 4), sqlite_floor_per_point_us=r(floor / N * 1e6, 1),
     sqlite_floor_with_latest_upsert_s=r(floor2, 4),
     ratio_over_floor=r(total / floor, 2), synchronous=sync, journal_mode=journal)
