"""Time `validate_frame` beside the same rules in pandera and in evidently's column tests, one run.

A training frame of BENCH_N rows (default 1,000,000) x 50 columns (30 numeric: floats and ints with a
few nulls; 20 categorical: text with 3-20 levels) gives the contract (schema_and_profile, not timed).
The batch is another draw of the same size with one of each problem SPEC §4 names: a missing and an
extra column, numbers delivered as text, a categorical delivered as integer codes, a new level, a
vanished level, values out of range, +inf, and a column whose nulls rose by 30%.

- ours: `validate_frame(batch, schema=, profile=, contract=)`: every rule, findings with examples.
- pandera 0.35 (lazy=True, so every failure is collected, as we collect every finding): a
  DataFrameSchema built from the same contract (timed apart): per column the dtype, `in_range` of
  the contract's min and max, `isin` of its levels, and a frame-wide check per column for the null
  share (contract + 0.1) and for vanished levels; strict=True names missing and extra columns.
- evidently 0.7.23 (the new Report API, explicit DataDefinition so it infers nothing): per column
  `MissingValueCount` with a share test (contract + 0.1), numeric `OutRangeValueCount` (count == 0),
  categorical `OutListValueCount` (count == 0) and `UniqueValueCount`; `ColumnCount`. evidently has
  no dtype or missing-column test, so those rules are not in its figure; a range test on a numeric
  column delivered as text raises TypeError inside evidently, so that column gets none.

Each side also validates the training frame itself (no finding: the cost of a clean batch).
Also: 1 row and 10,000 x 20 against German Credit's contract (the scorer's per-batch cost), median
of many calls. Prints one JSON line; figures go to docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_validate.py            # 1,000,000 x 50, ~1-2 minutes
    BENCH_N=100000 .venv/bin/python benchmarks/bench_validate.py
    BENCH_SKIP=evidently .venv/bin/python benchmarks/bench_validate.py
"""
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _bench import emit, perf, r  # noqa: E402

from mlops_nb.services.data import schema_and_profile  # noqa: E402
from mlops_nb.services.data.validation import validate_frame  # noqa: E402

N = int(os.environ.get("BENCH_N", "1000000"))
SKIP = set(os.environ.get("BENCH_SKIP", "").split())
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
NUMERIC, CATEGORICAL = 30, 20
CREDIT = Path(__file__).resolve().parents[1] / "mlops_nb" / "data" / "german_credit.csv"


def make(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(NUMERIC):
        if i % 3 == 0:
            cols[f"n{i}"] = rng.integers(0, 1_000, n)
        else:
            x = rng.normal(100 * i, 10 + i, n)
            x[rng.random(n) < 0.01] = np.nan
            cols[f"n{i}"] = x
    for i in range(CATEGORICAL):
        k = 3 + i % 18
        levels = np.array([f"level-{i}-{j}" for j in range(k)], dtype=object)
        p = np.linspace(1, 2, k)
        cols[f"c{i}"] = levels[rng.choice(k, n, p=p / p.sum())]
    return pd.DataFrame(cols)


def damage(batch: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    batch = batch.drop(columns="n29").assign(extra=1)
    batch["n1"] = batch["n1"].map(lambda v: f"{v:.2f}")                 # numbers as text
    levels = sorted(train["c0"].unique())
    batch["c0"] = batch["c0"].map({lv: i for i, lv in enumerate(levels)})  # a categorical as integer codes
    c1 = batch["c1"].to_numpy().copy()
    c1[:500] = "brand-new"                                               # a new level
    batch["c1"] = c1
    top = train["c2"].value_counts().index[0]
    batch["c2"] = batch["c2"].where(batch["c2"] != top, train["c2"].value_counts().index[1])  # a vanished level
    n2 = batch["n2"].to_numpy().copy()
    n2[:100] = 1e9                                                        # out of range
    n2[100:110] = np.inf                                                  # +inf
    batch["n2"] = n2
    n4 = batch["n4"].to_numpy().copy()
    n4[: int(len(n4) * 0.3)] = np.nan                                     # null share up by 0.3
    batch["n4"] = n4
    return batch


def timed(fn, repeat=REPEAT):
    times, out = [], None
    for _ in range(repeat):
        t = perf()
        out = fn()
        times.append(perf() - t)
    return sorted(times)[len(times) // 2], times, out


def pandera_schema(schema: dict, profile: dict):
    import pandera.pandas as pa

    columns, frame_checks = {}, []
    for c in schema["columns"]:
        name, stats, checks = c["name"], profile[c["name"]], []
        if c["kind"] == "numerical":
            if stats.get("min") is not None:
                checks.append(pa.Check.in_range(stats["min"], stats["max"]))
        elif c.get("categories") is not None:
            checks.append(pa.Check.isin(c["categories"]))
            share = {k: v / stats["count"] for k, v in stats["top"].items()}
            frame_checks.append(pa.Check(  # one hash pass (unique), as ours
                lambda df, name=name, share=share: not [lv for lv in set(share) - set(df[name].unique())
                                                        if share[lv] * df[name].count() >= 5],
                name=f"{name}_vanished"))
        bound = stats["null_rate"] + 0.1
        frame_checks.append(pa.Check(lambda df, name=name, bound=bound: df[name].isna().mean() <= bound,
                                     name=f"{name}_null_rate"))
        columns[name] = pa.Column(c["dtype"], checks=checks, nullable=True, coerce=False)
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=True)


def run_pandera(schema_obj, batch):
    import pandera.errors as pe

    try:
        schema_obj.validate(batch, lazy=True)
        return 0
    except pe.SchemaErrors as err:
        return len(err.failure_cases)


def evidently_report(schema: dict, profile: dict, batch: pd.DataFrame):
    from evidently import Report
    from evidently.metrics import (
        ColumnCount,
        MissingValueCount,
        OutListValueCount,
        OutRangeValueCount,
        UniqueValueCount,
    )
    from evidently.tests import eq, lte

    metrics = [ColumnCount(tests=[eq(len(schema["columns"]))])]
    for c in schema["columns"]:
        name, stats = c["name"], profile[c["name"]]
        if name not in batch.columns:  # evidently has no missing-column test: it would raise
            continue
        metrics.append(MissingValueCount(column=name, share_tests=[lte(stats["null_rate"] + 0.1)]))
        numeric_now = pd.api.types.is_numeric_dtype(batch[name])
        if c["kind"] == "numerical" and stats.get("min") is not None and numeric_now:  # text raises TypeError
            metrics.append(OutRangeValueCount(column=name, left=stats["min"], right=stats["max"], tests=[eq(0)]))
        elif c.get("categories") is not None and c["kind"] == "categorical":
            metrics.append(OutListValueCount(column=name, values=c["categories"], tests=[eq(0)]))
            metrics.append(UniqueValueCount(column=name))
    return Report(metrics)


def run_evidently(report, schema, batch):
    from evidently import DataDefinition, Dataset

    kinds = {c["name"]: c["kind"] for c in schema["columns"]}
    numerical = [c for c in batch.columns if kinds.get(c) == "numerical" and pd.api.types.is_numeric_dtype(batch[c])]
    categorical = [c for c in batch.columns if c not in numerical]
    dataset = Dataset.from_pandas(batch, data_definition=DataDefinition(numerical_columns=numerical,
                                                                        categorical_columns=categorical))
    snapshot = report.run(current_data=dataset)
    return sum(1 for t in snapshot.tests_results if str(t.status).endswith("FAIL"))


def per_batch() -> dict:
    credit = pd.read_csv(CREDIT)
    schema, profile = schema_and_profile(credit)
    one = credit.iloc[[0]]
    cols20 = list(credit.columns[:20])
    s20, p20 = schema_and_profile(credit[cols20])
    ten = credit[cols20].sample(10_000, replace=True, random_state=1).reset_index(drop=True)
    out = {}
    for label, frame, sch, prof, calls in (("one_row_21_columns", one, schema, profile, 2_000),
                                           ("rows_10000_x_20", ten, s20, p20, 200)):
        validate_frame(frame, schema=sch, profile=prof, contract="german v1")
        times = []
        for _ in range(calls):
            t = perf()
            validate_frame(frame, schema=sch, profile=prof, contract="german v1")
            times.append(perf() - t)
        times.sort()
        out[label] = {"median_ms": r(times[len(times) // 2] * 1e3, 4), "p99_ms": r(times[int(len(times) * 0.99)] * 1e3, 4)}
    return out


def main() -> None:
    warnings.filterwarnings("ignore")
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t = perf()
    train = make(N, 0)
    batch = damage(make(N, 1), train)
    schema, profile = schema_and_profile(train)
    setup_s = perf() - t
    result = {"rows": N, "columns": NUMERIC + CATEGORICAL, "setup_s": r(setup_s, 2), "started": started}

    med, times, report = timed(lambda: validate_frame(batch, schema=schema, profile=profile, contract="bench v1"))
    result["ours"] = {"median_s": r(med, 4), "runs_s": [r(x, 4) for x in times],
                      "findings": sorted(f"{f.column}:{f.rule}" for f in report.findings)}
    med, times, report = timed(lambda: validate_frame(train, schema=schema, profile=profile, contract="bench v1"))
    result["ours_clean"] = {"median_s": r(med, 4), "runs_s": [r(x, 4) for x in times], "findings": len(report.findings)}

    if "pandera" not in SKIP:
        import pandera.pandas  # noqa: F401  (imported before timing: the build is timed, not the import)

        t = perf()
        pandera = pandera_schema(schema, profile)
        build = perf() - t
        med, times, failures = timed(lambda: run_pandera(pandera, batch))
        result["pandera"] = {"build_s": r(build, 4), "median_s": r(med, 4), "runs_s": [r(x, 4) for x in times],
                             "failure_cases": failures, "ratio_vs_ours": r(med / result["ours"]["median_s"], 2)}
        med, times, failures = timed(lambda: run_pandera(pandera, train))
        result["pandera_clean"] = {"median_s": r(med, 4), "runs_s": [r(x, 4) for x in times],
                                   "failure_cases": failures, "ratio_vs_ours": r(med / result["ours_clean"]["median_s"], 2)}
    if "evidently" not in SKIP:
        import evidently.metrics  # noqa: F401  (imported before timing)

        t = perf()
        ev = evidently_report(schema, profile, batch)
        build = perf() - t
        med, times, failed = timed(lambda: run_evidently(ev, schema, batch))
        result["evidently"] = {"build_s": r(build, 4), "median_s": r(med, 4), "runs_s": [r(x, 4) for x in times],
                               "failed_tests": failed, "ratio_vs_ours": r(med / result["ours"]["median_s"], 2)}
        ev_clean = evidently_report(schema, profile, train)
        med, times, failed = timed(lambda: run_evidently(ev_clean, schema, train))
        result["evidently_clean"] = {"median_s": r(med, 4), "runs_s": [r(x, 4) for x in times], "failed_tests": failed,
                                     "ratio_vs_ours": r(med / result["ours_clean"]["median_s"], 2)}
    result["per_batch"] = per_batch()
    result["target_met"] = result["ours"]["median_s"] < 2.0 if N >= 1_000_000 else None
    emit("validate", value_s=result["ours"]["median_s"], **result)


if __name__ == "__main__":
    main()
