"""Registry (issue 4): register N versions of a model, take the last one to production through the
default policy (staging, then production, with the approvals it asks for), then `load_model(stage=
"production")` in a fresh process. Compared with MLflow's anchor (anchors/mlflow/registry.py:
200 `register_model` + an alias; `pyfunc.load_model` by alias in a new process).

Skips with a message while `mlops.register_model` / `request_promotion` / `approve` / `load_model`
are not built yet."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, fresh_store, perf, r, stats  # noqa: E402

N = int(os.environ.get("BENCH_N", "200"))
NAME = "credit-risk"
DATA = Path(__file__).resolve().parents[1] / "mlops_nb" / "data" / "german_credit.csv"
USERS = {"dana": "data_scientist", "eve": "ml_engineer", "ed": "ml_engineer", "rita": "reviewer"}

import mlops_nb as mlops  # noqa: E402

missing = [n for n in ("register_model", "request_promotion", "approve", "load_model") if not hasattr(mlops, n)]
if missing:
    emit("registry", skipped=f"not built yet: mlops_nb.{', mlops_nb.'.join(missing)}")
    sys.exit(0)

import pandas as pd  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

tmp, url = fresh_store()
os.environ["MLOPS_DB_URL"] = url
mlops.init(project="bench", db_url=url, user="dana")  # creates the store before the CLI adds users
exe = shutil.which("mlops", path=str(Path(sys.executable).parent)) or shutil.which("mlops")
for user, role in USERS.items():
    subprocess.run([exe, "user", "add", user, "--role", role, "--password", f"{user}-secret-1", "--db", url],
                   check=True, capture_output=True, text=True)


def as_user(user: str) -> None:
    mlops.init(project="bench", db_url=url, user=user, password=f"{user}-secret-1")


credit = pd.read_csv(DATA)
numeric = credit.drop(columns="creditability").select_dtypes("number")
y = (credit.creditability == "bad").astype(int)
model = LogisticRegression(max_iter=1000).fit(numeric, y)
train = numeric.assign(creditability=credit.creditability)

mlops.init(project="bench", db_url=url, user="dana")
per = []
with mlops.start_run(experiment="bench_registry") as run:
    mlops.log_dataset(train, name="german", role="train")
    t_all = perf()
    for _ in range(N):
        t = perf()
        version = mlops.register_model(model, name=NAME, dataset="german", target="creditability")
        per.append(perf() - t)
    t_reg = perf() - t_all

t_prom = perf()
for to, approvers in (("staging", ["ed"]), ("production", ["ed", "rita"])):
    as_user("eve")
    request = mlops.request_promotion(NAME, version=version.version, to=to, reason=f"benchmark to {to}")
    for who in approvers:
        as_user(who)
        request = mlops.approve(request.id, comment="benchmark")
    assert request.status == "approved", request.status
t_prom = perf() - t_prom

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import mlops_nb as mlops
t1 = time.perf_counter()
mlops.init(project="bench", db_url=sys.argv[1], user="dana")
m = mlops.load_model(sys.argv[2], stage="production")
t2 = time.perf_counter()
import pandas as pd
X = pd.read_csv(sys.argv[3]).drop(columns="creditability").select_dtypes("number").head(5)
m.predict(X)
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "version": m.version}))
"""
t = perf()
out = subprocess.run([sys.executable, "-c", CHILD, url, NAME, str(DATA)], check=True, capture_output=True,
                     text=True, env=os.environ)
t_cold = perf() - t
cold = json.loads(out.stdout.strip().splitlines()[-1])
assert cold["version"] == version.version, cold
s = stats(per)
emit("registry", versions=N, register_total_s=r(t_reg, 3), register_per_call_median_ms=r(s["median"] * 1e3, 2),
     promote_to_production_s=r(t_prom, 3), value_s=r(t_reg + t_prom, 3),
     load_fresh_process_total_s=r(t_cold, 3), load_fresh_process_import_s=r(cold["import_s"], 3),
     load_fresh_process_load_s=r(cold["load_s"], 3), last_version=version.version)
