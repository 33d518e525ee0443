"""Run every benchmark in a fresh process, put MLflow's figures beside ours, print the table and write
benchmarks/results/latest.json.

    .venv/bin/python benchmarks/run_all.py                               # MLflow figures from /tmp/anchors/*.json
    .venv/bin/python benchmarks/run_all.py --anchors DIR                 # ... from another folder
    .venv/bin/python benchmarks/run_all.py --mlflow-python /tmp/mlflow-venv/bin/python
                                         # run MLflow's anchor scripts first (one at a time), then ours
    .venv/bin/python benchmarks/run_all.py --cases log_metric log_batch  # a subset
    .venv/bin/python benchmarks/run_all.py --cases console --mlflow-python /tmp/mlflow-venv/bin/python
                                         # the console beside MLflow's UI (bench_console.py: a few minutes)

Benchmarks run one after another, never two at once (the figures are from a 2-core machine).

A target is met, missed, or NOT MEASURED: a case that skipped, failed, or whose MLflow figure is
missing proves nothing, so it never counts as met. The exit status is 0 only when every target was
measured and met; the lines after the table name each UNMET and NOT MEASURED target.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ANCHOR_SCRIPTS = Path(os.environ.get("MLOPS_ANCHORS_SRC", ROOT.parent / "shared" / "anchors" / "mlflow"))
CASES = {  # our case -> script
    "import": "bench_import.py",
    "new_store": "bench_new_store.py",
    "log_metric": "bench_log_metric.py",
    "log_metric_full": "bench_log_metric.py",
    "log_batch": "bench_log_batch.py",
    "runs_search": "bench_runs_search.py",
    "registry": "bench_registry.py",
    "decision": "bench_decision.py",
    "audit_verify": "bench_audit_verify.py",
    "console": "bench_console.py",
}
CASE_ENV = {"log_metric_full": {"MLOPS_SQLITE_SYNCHRONOUS": "FULL"}}  # our store as durable as MLflow's default
ANCHORS = ("import_time", "log_metric_single", "log_metric_batch", "search_runs", "registry")
NEEDS = {"import": ["import_time"], "new_store": ["log_metric_single", "log_metric_batch", "search_runs", "registry"],
         "log_metric": ["log_metric_single"], "log_metric_full": ["log_metric_single"],
         "log_batch": ["log_metric_batch"], "runs_search": ["search_runs"],
         "registry": ["registry"], "decision": [], "audit_verify": [],
         "console": []}  # the console case runs MLflow's server and store itself, with --mlflow-python
MLFLOW_SIDE = HERE / "mlflow_side"
CONSOLE_PAGES = ("Overview", "Experiments", "Registry", "Approvals", "Audit", "Admin")
COLD_RUNS = 3
NOT_MEASURED = "not measured"
MLFLOW_DURABILITY = "MLflow: SQLite defaults, rollback journal, synchronous=FULL (a commit survives a power loss)"


def last_json(text: str) -> dict | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def run_script(python: str, script: Path, timeout: float, args: tuple[str, ...] = (),
               env: dict[str, str] | None = None) -> dict:
    t0 = time.perf_counter()
    try:
        cp = subprocess.run([python, str(script), *args], capture_output=True, text=True, timeout=timeout,
                            cwd=str(script.parent), env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    out = last_json(cp.stdout)
    if cp.returncode != 0 or out is None:
        return {"error": f"exit {cp.returncode}: {(cp.stderr or cp.stdout).strip()[-600:]}"}
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    return out


def run_anchors(python: str, names: list[str], out_dir: Path, timeout: float) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        print(f"MLflow anchor {name} ...", file=sys.stderr, flush=True)
        res = run_script(python, ANCHOR_SCRIPTS / f"{name}.py", timeout)
        if "error" in res:
            print(f"  failed: {res['error']}", file=sys.stderr)
            continue
        (out_dir / f"{name}.json").write_text(json.dumps(res) + "\n")


def run_cold_search(python: str, out_dir: Path, timeout: float) -> None:
    """MLflow's cold search: COLD_RUNS fresh processes over the store the search anchor filled, each
    timed from outside (interpreter start included); the median goes to out_dir/search_cold.json."""
    anchor = load_anchors(out_dir).get("search_runs", {})
    if "store_dir" not in anchor:
        print("  no search_runs anchor store: MLflow's cold search not measured", file=sys.stderr)
        return
    walls, last = [], {}
    for _ in range(COLD_RUNS):
        res = run_script(python, MLFLOW_SIDE / "cold_search.py", timeout, (anchor["store_dir"], anchor["filter"]))
        if "error" in res:
            print(f"  cold search failed: {res['error']}", file=sys.stderr)
            return
        walls.append(res["wall_s"])
        last = res
    last.update(cold_process_s=round(statistics.median(walls), 3), cold_all_s=walls)
    (out_dir / "search_cold.json").write_text(json.dumps(last) + "\n")


def load_anchors(directory: Path) -> dict[str, dict]:
    found = {}
    for name in (*ANCHORS, "search_cold"):
        path = directory / f"{name}.json"
        if path.exists():
            data = last_json(path.read_text())
            if data:
                found[name] = data
    return found


def row(case, what, ours, mlflow, unit, target, met, note=""):
    ratio = (mlflow / ours) if (ours and mlflow) else None
    return {"case": case, "what": what, "ours": ours, "mlflow": mlflow, "unit": unit,
            "ratio_mlflow_over_ours": round(ratio, 1) if ratio else None, "target": target,
            "met": met, "note": note}


def faster(ml: float | None, ours: float, times: float) -> bool | str:
    """Whether ours is at least `times` faster than MLflow's figure; NOT_MEASURED without that figure."""
    return NOT_MEASURED if ml is None else ml / ours >= times


def rows_for(case: str, ours: dict, a: dict[str, dict]) -> list[dict]:
    if "error" in ours:
        return [row(case, case, None, None, "", "", NOT_MEASURED, "failed: " + ours["error"][:200])]
    if "skipped" in ours:
        return [row(case, case, None, None, "", "", NOT_MEASURED, "skipped: " + ours["skipped"])]
    out = []
    if case == "import":
        ml = a.get("import_time", {}).get("import_mlflow", {}).get("median_s")
        v = ours["value_s"]
        out.append(row(case, "`import mlops_nb`, fresh process (median of 7)", v, ml, "s",
                       "<= 0.3 s and <= 1/10 of MLflow",
                       NOT_MEASURED if ml is None else (v <= 0.3 and v <= ml / 10)))
    elif case == "new_store":
        figures = [a[n]["setup_db_create_and_migrate_s"] for n in NEEDS[case]
                   if n in a and "setup_db_create_and_migrate_s" in a[n]]
        ml = statistics.median(figures) if figures else None
        v = ours["value_s"]
        out.append(row(case, "new store: `init(db_url=new file)` in a fresh process (median of 5)", v, ml, "s",
                       ">= 5x faster", faster(ml, v, 5),
                       f"with `import mlops_nb`: {ours['with_import_s']} s; MLflow: median of {len(figures)} anchors"))
    elif case in ("log_metric", "log_metric_full"):
        ml = a.get("log_metric_single", {}).get("total_s")
        v = ours["value_s"]
        durability = (f"ours: WAL, synchronous={ours['synchronous']} ("
                      + ("a commit survives a killed process; a power loss may drop the last ones"
                         if ours["synchronous"] == "NORMAL" else "a commit survives a power loss")
                      + f"); {MLFLOW_DURABILITY}")
        out.append(row(case, f"{ours['calls']:,} single log_metric calls, synchronous={ours['synchronous']} "
                             f"({ours['per_call_mean_us']} us each)",
                       v, ml, "s", ">= 50x faster", faster(ml, v, 50), durability))
        floor = ours["sqlite_floor_s"]
        out.append(row(case, "  same vs raw sqlite3 INSERT+COMMIT per point", v, None, "s",
                       "<= 5x the floor", v / floor <= 5,
                       f"floor {floor} s ({ours['sqlite_floor_per_point_us']} us/point, WAL, synchronous="
                       f"{ours['synchronous']}); ours/floor = {ours['ratio_over_floor']}"))
    elif case == "log_batch":
        ml = a.get("log_metric_batch", {}).get("mlflow_total_s")
        v = ours["value_s"]
        out.append(row(case, f"{ours['points']:,} points in batches of {ours['per_call']:,}", v, ml, "s",
                       "(report)", None, f"{ours['us_per_point']} us/point"))
        floor = ours["sqlite_floor_1tx_s"]
        out.append(row(case, "  same vs raw sqlite3 executemany (one transaction)", v, None, "s",
                       "<= 3x the floor", v / floor <= 3,
                       f"floor {floor} s; ours/floor = {ours['ratio_over_floor_1tx']} "
                       f"(vs 100 transactions of 1,000: {ours['ratio_over_floor_100tx']})"))
    elif case == "runs_search":
        sr = a.get("search_runs", {})
        n = ours["runs"]
        ml_per = sr.get("create_per_run_ms")
        ml = ml_per * n / 1e3 if ml_per else None
        v = ours["create_total_s"]
        out.append(row(case, f"create {n:,} runs (2 params, 1 metric; {ours['create_per_run_ms']} ms each)", v, ml,
                       "s", ">= 20x faster", faster(ml, v, 20),
                       f"MLflow: {ml_per} ms/run x {n:,}" + ("" if sr.get("runs_created") == n else
                                                              f" (anchor created {sr.get('runs_created')})")))
        ml = sr.get("fluent_search_runs_median_s")
        v = ours["value_s"]
        same = sr.get("expected_matches") == ours["matches"] if sr.get("runs_created") == n else None
        met = faster(ml, v, 20)
        out.append(row(case, f"filtered search over {n:,} runs, warm, a DataFrame both sides (median of 3)", v, ml,
                       "s", ">= 20x faster, same count",
                       NOT_MEASURED if met == NOT_MEASURED or same is None else (met and same),
                       f"ours `runs(...).to_frame()`, MLflow `mlflow.search_runs`; {ours['matches']} matches (MLflow: "
                       f"{sr.get('expected_matches')} over {sr.get('runs_created')} runs); the RunTable alone "
                       f"{ours['rows_table_s']} s; MLflow client.search_runs (no DataFrame) "
                       f"{sr.get('client_search_runs_median_s')} s"))
        cold = a.get("search_cold", {})
        ml = cold.get("cold_process_s")
        v = ours["cold_process_s"]
        out.append(row(case, f"  same, cold: a fresh process imports, opens the store, searches (median of "
                             f"{COLD_RUNS})", v, ml, "s", "(report)", None,
                       f"ours: import {ours['cold_import_s']} s + open/search/frame "
                       f"{ours['cold_open_search_frame_s']} s; MLflow: import {r_or_dash(cold.get('import_s'))} s "
                       f"+ open/search/frame {r_or_dash(cold.get('open_search_frame_s'))} s"))
    elif case == "registry":
        rg = a.get("registry", {})
        ml = rg.get("register_200_plus_alias_s")
        v = ours["value_s"]
        distinct = "distinct models" if ours.get("distinct_models") else "one model"
        out.append(row(case, f"register {ours['versions']} {distinct} + to production", v, ml, "s",
                       ">= 10x faster", faster(ml, v, 10),
                       "ours: each of the 200 fitted models serialised inside the loop, staging then production "
                       "with three approvals (logins not counted); MLflow: one logged model registered 200 times "
                       "(its serialisation outside the loop), one alias"))
        ml = rg.get("pyfunc_load_fresh_process_total_s")
        v = ours["load_fresh_process_total_s"]
        out.append(row(case, "load_model(stage=production) in a fresh process", v, ml, "s", ">= 3x faster",
                       faster(ml, v, 3)))
    elif case == "decision":
        v = ours["value_ms"] / 1000
        out.append(row(case, f"approve() completing production on a store of {ours['versions']:,} versions (median)",
                       v, None, "s", "< 50 ms", ours["value_ms"] < 50,
                       "gates re-evaluated, approval, stage change, audit events, one transaction"))
    elif case == "console":
        out += console_rows(ours)
    elif case == "audit_verify":
        v = ours["value_s"]
        out.append(row(case, f"`mlops audit verify` over {ours.get('events', 0):,} events (whole command)", v, None,
                       "s", "< 2 s", v < 2))
    return out


def console_rows(ours: dict) -> list[dict]:
    """The console beside MLflow's UI (bench_console.py): first run row cold and warm, each page in
    AppTest, the servers' memory."""
    ml, con, app = ours.get("mlflow", {}), ours.get("console", {}), ours.get("apptest", {})
    runs = ours.get("store", {}).get("runs", 0)
    ml_note = ml.get("skipped") or ml.get("error") or ""
    out = []
    for kind, how in (("cold", "a new browser context each time (empty cache); ours: log in, then the first visit"),
                      ("warm", "the same browser context; ours: the same session, back from Overview")):
        v, m = con.get(f"{kind}_s"), ml.get(f"{kind}_s")
        met = NOT_MEASURED if v is None or m is None else m / v >= 3
        note = f"{how}; MLflow: goto the runs page's URL"
        if v is None:
            note += f"; ours not measured: {con.get('first_rows_error', 'no browser run')}"
        if m is None:
            note += f"; MLflow not measured: {ml_note or 'no figure'}"
        out.append(row("console", f"first run row of {runs:,}, headless Chromium, {kind} (median of "
                                  f"{ours.get('repeat', 5)}): Experiments vs MLflow's runs page",
                       v, m, "s", "<= 1/3 of MLflow", met, note))
    v = con.get("cold_from_open_s")
    out.append(row("console", "  same, cold, ours counting opening the console and logging in", v, ml.get("cold_s"),
                   "s", "(report)", None,
                   f"login {statistics.median(con['loads']['login_s']):.3f} s" if v is not None else ""))
    pages = app.get("pages", {})
    for title in CONSOLE_PAGES:
        page = pages.get(title, {})
        v = page.get("median_s")
        error = page.get("error") or app.get("error")
        met = NOT_MEASURED if v is None else (v < 1 and not error)
        out.append(row("console", f"{title} page rendered in AppTest (median of {app.get('repeat', 5)})", v, None, "s",
                       "< 1 s", met, (f"first visit {page['first_s']} s, {page['elements']} elements on the page"
                                      if "first_s" in page else "")
                       + (f"; error: {error[:150]}" if error else "")))
    mem, ml_mem = con.get("memory", {}), ml.get("memory", {})
    v = mem.get("pss_mb")
    out.append(row("console", f"console server's processes, PSS after every page once ({mem.get('processes', '?')} "
                              f"processes; MLflow server: {ml_mem.get('processes', '?')})", v, ml_mem.get("pss_mb"),
                   "MB", "< 500 MB", NOT_MEASURED if v is None else v < 500,
                   f"RSS ours {mem.get('rss_mb')} MB, MLflow {ml_mem.get('rss_mb')} MB; MLflow after its runs page"))
    return out


def r_or_dash(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def fmt(x, unit):
    if x is None:
        return "-"
    return f"{x:.4f} {unit}" if x < 1 else f"{x:.3f} {unit}"


def table(rows: list[dict]) -> str:
    lines = ["| case | ours | MLflow 3.17 | MLflow / ours | target | met? | note |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "-", NOT_MEASURED: "**not measured**"}[r["met"]]
        ratio = f"{r['ratio_mlflow_over_ours']}x" if r["ratio_mlflow_over_ours"] else "-"
        lines.append(f"| {r['what']} | {fmt(r['ours'], r['unit'])} | {fmt(r['mlflow'], r['unit'])} | {ratio} | "
                     f"{r['target']} | {met} | {r['note']} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--anchors", default="/tmp/anchors", help="folder of MLflow anchor JSON files")
    ap.add_argument("--mlflow-python", help="run MLflow's anchor scripts with this python first")
    ap.add_argument("--cases", nargs="*", choices=list(CASES), default=list(CASES))
    ap.add_argument("--python", default=sys.executable, help="the python of the project's venv")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    args = ap.parse_args()

    anchor_dir = Path(args.anchors)
    if args.mlflow_python:
        wanted = sorted({n for c in args.cases for n in NEEDS[c]}, key=ANCHORS.index)
        run_anchors(args.mlflow_python, wanted, anchor_dir, args.timeout)
        if "search_runs" in wanted:
            run_cold_search(args.mlflow_python, anchor_dir, args.timeout)
    anchors = load_anchors(anchor_dir)

    results, rows = {}, []
    for case in args.cases:
        print(f"bench {case} ...", file=sys.stderr, flush=True)
        extra = ("--mlflow-python", args.mlflow_python) if case == "console" and args.mlflow_python else ()
        results[case] = run_script(args.python, HERE / CASES[case], args.timeout, extra, env=CASE_ENV.get(case))
        rows += rows_for(case, results[case], anchors)

    report = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "command": " ".join([Path(sys.executable).name, *sys.argv]),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(), "processor": platform.processor() or platform.machine()},
              "anchors_dir": str(anchor_dir), "table": rows, "ours": results, "mlflow": anchors}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(table(rows))
    print(f"\nwritten: {out}")
    print(summary(rows))
    return 0 if all(r["met"] in (True, None) for r in rows) else 1


def summary(rows: list[dict]) -> str:
    """One line per target missed or not measured, then the verdict; what the exit status says."""
    unmet = [r for r in rows if r["met"] is False]
    unmeasured = [r for r in rows if r["met"] == NOT_MEASURED]
    lines = [f"UNMET: {r['what'].strip()} (target {r['target']})" for r in unmet]
    lines += [f"NOT MEASURED: {r['what'].strip()} (target {r['target']}; {r['note'] or 'no figure'})"
              for r in unmeasured]
    met = sum(1 for r in rows if r["met"] is True)
    lines.append(f"{met} targets met, {len(unmet)} unmet, {len(unmeasured)} not measured")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
