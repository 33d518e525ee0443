"""Registry (issue 4): register N distinct models as N versions (different estimator classes and
parameters, each fitted on its own bootstrap sample before the clock starts, so no serializer or
type cache sees the same object twice), take the last one to production through the default policy (staging, then production, with the approvals it asks for), then `load_model(stage=
"production")` in a fresh process. Compared with MLflow's anchor (anchors/mlflow/registry.py:
200 `register_model` + an alias; `pyfunc.load_model` by alias in a new process).

What is timed, and what is not (as in MLflow's anchor, whose import of mlflow.sklearn and first
`log_model`, which serialises the model, are outside its register loop):
- `register_total_s`: N `register_model` calls, each serialising its model (skops), hashing and
  writing its file and recording the version. Fitting the N models is not timed (`fit_s`). The serializer's one-time import (`skops.io`, the
  first register of a process pays it) is done before the loop and reported as `import_serializer_s`.
- `promote_to_production_s`: two `request_promotion` and three `approve` calls. Switching the acting
  user in between (`mlops.init(..., password=...)`, an argon2 check of ~0.13 s each, five times) is
  not promotion work, and stands for separate people's sessions: reported as `promote_logins_s`.
- `value_s` = register_total_s + promote_to_production_s (MLflow: 200 register + set alias). MLflow's
  anchor registers one logged model 200 times (its `log_model`, which serialises, is outside its
  loop); ours serialises each of the N distinct models inside the loop: the like-for-like figure
  for a team registering new models is ours, and MLflow's is a lower bound for it.
- Users are created through the Python services (identity.add_user), not `mlops user add`: passwords
  are never a command-line argument; their creation is setup, not timed.

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

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

tmp, url = fresh_store()
os.environ["MLOPS_DB_URL"] = url
mlops.init(project="bench", db_url=url, user="dana")  # creates the store before the CLI adds users
exe = shutil.which("mlops", path=str(Path(sys.executable).parent)) or shutil.which("mlops")
for user, role in USERS.items():
    subprocess.run([exe, "user", "add", user, "--role", role, "--password-stdin", "--db", url],
                   input=f"{user}-secret-1\n", check=True, capture_output=True, text=True)


def as_user(user: str) -> None:
    mlops.init(project="bench", db_url=url, user=user, password=f"{user}-secret-1")


try:
    from mlops_nb.services.registry.model_files import _skops_io as import_serializer  # noqa: E402
except ImportError:  # an older tree (before/after comparisons)
    def import_serializer():
        import skops.io  # noqa: F401

t_ser = perf()
import_serializer()  # the serializer's one-time import (see the docstring)
t_ser = perf() - t_ser

credit = pd.read_csv(DATA)
numeric = credit.drop(columns="creditability").select_dtypes("number")
y = (credit.creditability == "bad").astype(int)
train = numeric.assign(creditability=credit.creditability)


def distinct_model(i: int):
    """The i-th model: one of four estimator classes, its own parameters, its own bootstrap sample."""
    rows = np.random.default_rng(i).integers(0, len(numeric), len(numeric))
    kind = i % 4
    if kind == 0:
        estimator = LogisticRegression(C=0.05 + 0.01 * i, max_iter=1000)
    elif kind == 1:
        estimator = DecisionTreeClassifier(max_depth=2 + i % 9, random_state=i)
    elif kind == 2:
        estimator = RandomForestClassifier(n_estimators=3 + i % 5, max_depth=4, random_state=i)
    else:
        estimator = GaussianNB(var_smoothing=1e-9 * (1 + i))
    return estimator.fit(numeric.iloc[rows], y.iloc[rows])


t_fit = perf()
models = [distinct_model(i) for i in range(N)]
t_fit = perf() - t_fit

mlops.init(project="bench", db_url=url, user="dana")
per = []
with mlops.start_run(experiment="bench_registry") as run:
    mlops.log_dataset(train, name="german", role="train")
    t_all = perf()
    for model in models:
        t = perf()
        version = mlops.register_model(model, name=NAME, dataset="german", target="creditability")
        per.append(perf() - t)
    t_reg = perf() - t_all

t_prom = t_login = 0.0
for to, approvers in (("staging", ["ed"]), ("production", ["ed", "rita"])):
    t = perf()
    as_user("eve")
    t_login += perf() - t
    t = perf()
    request = mlops.request_promotion(NAME, version=version.version, to=to, reason=f"benchmark to {to}")
    t_prom += perf() - t
    for who in approvers:
        t = perf()
        as_user(who)
        t_login += perf() - t
        t = perf()
        request = mlops.approve(request.id, comment="benchmark")
        t_prom += perf() - t
    assert request.status == "approved", request.status

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
emit("registry", versions=N, distinct_models=True, fit_s=r(t_fit, 3), import_serializer_s=r(t_ser, 3), register_total_s=r(t_reg, 3),
     register_per_call_median_ms=r(s["median"] * 1e3, 2), register_per_call_mean_ms=r(s["mean"] * 1e3, 2),
     register_first_ms=r(per[0] * 1e3, 2), register_per_call_p99_ms=r(s["p99"] * 1e3, 2),
     promote_to_production_s=r(t_prom, 3), promote_logins_s=r(t_login, 3), value_s=r(t_reg + t_prom, 3),
     load_fresh_process_total_s=r(t_cold, 3), load_fresh_process_import_s=r(cold["import_s"], 3),
     load_fresh_process_load_s=r(cold["load_s"], 3), last_version=version.version)
