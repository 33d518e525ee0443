"""100,000 metric points in batches of 1,000 (`mlops.log_metric_history`, one committed transaction
per batch), against a raw sqlite3 executemany of the same rows into a copy of the same schema."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, engine_synchronous, floor_db, fresh_store, perf, r, stats  # noqa: E402

TOTAL = int(os.environ.get("BENCH_N", "100000"))
PER_CALL = 1000

import mlops_nb as mlops  # noqa: E402

tmp, url = fresh_store()
mlops.init(project="bench", db_url=url, user="bench")
run = mlops.start_run(experiment="bench_batch")
values = [1.0 / (i + 1) for i in range(TOTAL)]
batches = [values[b:b + PER_CALL] for b in range(0, TOTAL, PER_CALL)]

per = []
t_all = perf()
for b, batch in enumerate(batches):
    t = perf()
    mlops.log_metric_history("loss", batch, start_step=b * PER_CALL)
    per.append(perf() - t)
total = perf() - t_all
mlops.end_run()
t = perf()
n_back = len(mlops.get_metric_history(run.id, "loss"))
t_hist = perf() - t
assert n_back == TOTAL, n_back
assert mlops.get_run(run.id).metrics["loss"] == values[-1]
sync, _ = engine_synchronous(url)

db_path = url.removeprefix("sqlite:///")
rid = run.id
ts = time.time()
rows = [(rid, "loss", v, i, ts) for i, v in enumerate(values)]
sql = "INSERT INTO metric (run_id, key, value, step, timestamp) VALUES (?,?,?,?,?)"
con = floor_db(db_path, "floor1.db", sync)
t = perf()
con.execute("BEGIN IMMEDIATE")
con.executemany(sql, rows)
con.execute("COMMIT")
floor_1tx = perf() - t
con.close()
con = floor_db(db_path, "floor100.db", sync)
t = perf()
for b in range(0, TOTAL, PER_CALL):
    con.execute("BEGIN IMMEDIATE")
    con.executemany(sql, rows[b:b + PER_CALL])
    con.execute("COMMIT")
floor_100tx = perf() - t
con.close()

s = stats(per)
emit("log_batch", points=TOTAL, per_call=PER_CALL, value_s=r(total, 4),
     us_per_point=r(total / TOTAL * 1e6, 2), per_call_median_ms=r(s["median"] * 1e3, 3),
     per_call_max_ms=r(s["max"] * 1e3, 3), get_metric_history_s=r(t_hist, 3),
     sqlite_floor_1tx_s=r(floor_1tx, 4), sqlite_floor_100tx_s=r(floor_100tx, 4),
     ratio_over_floor_1tx=r(total / floor_1tx, 2), ratio_over_floor_100tx=r(total / floor_100tx, 2),
     synchronous=sync)
