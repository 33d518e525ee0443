"""Time a retraining run (`start_retraining`) beside papermill run by hand on the same notebook, one run.

What a user would do instead of `mlops retrain`: `papermill notebook.ipynb out.ipynb -p ...` from cron,
with the store in the environment. Both sides execute mlops_nb/demo/credit_retraining.ipynb in a kernel
of this Python with the same parameters (German Credit + a 3-month window of 200 labelled applicants
a month from mlops_nb.demo.economy): the notebook logs a run, registers a version of credit-risk and
requests its promotion to staging. Ours also checks the approved copy's sha256, commits the
"running" row, stores the executed notebook, links the run, version and request and audits start
and end. The ratio ours / papermill is the cost of that bookkeeping. Median of BENCH_REPEAT (3)
each, the two sides alternating. Prints one JSON line; figures go to docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_retraining.py            # ~2 minutes
"""
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, env_info, fresh_store, perf, r  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
NOTEBOOK = Path(__file__).resolve().parents[1] / "mlops_nb" / "demo" / "credit_retraining.ipynb"
WINDOW = ("2024-05-01", "2024-07-31")


def main() -> None:
    import pandas as pd
    import papermill

    import mlops_nb as mlops
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring import retraining
    from mlops_nb.store.db import session_scope

    tmp, url = fresh_store("mlops-bench-retraining-")
    os.environ["MLOPS_DB_URL"] = url
    ctx = mlops.init(project="credit", user="dana")
    credit = pd.read_csv(Path(__file__).resolve().parents[1] / "mlops_nb" / "data" / "german_credit.csv")
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german")
        X, y = credit.drop(columns="creditability"), (credit.creditability == "bad").astype(int)
        pipe = make_pipeline(make_column_transformer(
            (StandardScaler(), make_column_selector(dtype_include="number")),
            (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number"))),
            LogisticRegression(max_iter=1000)).fit(X, y)
        mlops.register_model(pipe, name="credit-risk", dataset="german", target="creditability")
    with session_scope(ctx.engine) as session:
        user = identity.add_user(session=session, actor=identity.OPERATOR, name="eli", role="ml_engineer")
        token = identity.issue_token(session=session, actor=identity.OPERATOR, name="eli")
        eli = identity.Identity(name="eli", role="ml_engineer", proven=True, user_id=user.id)
        retraining.set_retraining(session=session, store=ctx.artifacts, project_id=ctx.project_id, actor=eli,
                                  model="credit-risk", notebook=NOTEBOOK)
    os.environ["MLOPS_TOKEN"] = token  # papermill by hand: the kernel inherits this process's environment
    parameters = {"model_name": "credit-risk", "project": "credit", "window_start": WINDOW[0], "window_end": WINDOW[1]}
    ours, theirs, statuses = [], [], []
    for i in range(REPEAT):
        t0 = perf()
        run = retraining.start_retraining(engine=ctx.engine, store=ctx.artifacts, project_id=ctx.project_id, actor=eli,
                                          model="credit-risk", window=WINDOW, env={"MLOPS_TOKEN": token})
        ours.append(perf() - t0)
        statuses.append(run.status)
        t0 = perf()
        papermill.execute_notebook(str(NOTEBOOK), os.path.join(tmp, f"by-hand-{i}.ipynb"), parameters=parameters,
                                   kernel_name="python3", progress_bar=False, cwd=tmp)
        theirs.append(perf() - t0)
    emit("retraining", ours_s=[r(x, 3) for x in ours], papermill_s=[r(x, 3) for x in theirs],
         ours_median_s=r(statistics.median(ours), 3), papermill_median_s=r(statistics.median(theirs), 3),
         ratio=r(statistics.median(ours) / statistics.median(theirs), 3), statuses=statuses,
         load=os.getloadavg(), env=env_info())


if __name__ == "__main__":
    main()
