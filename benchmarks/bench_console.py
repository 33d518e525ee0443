"""The console against MLflow's UI on the same 10,000 runs, in one run: first run row in headless
Chromium, every page in AppTest, and the servers' memory.

    .venv/bin/python benchmarks/bench_console.py --mlflow-python /tmp/mlflow-venv/bin/python
    .venv/bin/python benchmarks/bench_console.py                 # ours only (MLflow's side NOT MEASURED)
    .venv/bin/python benchmarks/bench_console.py --app /other/checkout/mlops_nb/console/app.py

Steps, one at a time (2 cores; never both servers at once):
1. our store (`console_store.build`: 10,000 runs, 1,000 versions, 200 requests, a user per role);
   MLflow's store of the same runs (`mlflow_side/ui_store.py`, with MLflow's python; kept under
   $BENCH_TMP/console-mlflow-<runs>-<data hash> and reused while console_data.py is unchanged);
2. `mlflow server` on 127.0.0.1:5055: its runs page loaded REPEAT times cold and REPEAT warm
   (console_browser), then its processes' PSS; stopped;
3. `streamlit run mlops_nb/console/app.py` on our store (127.0.0.1:8617): every page opened once
   (memory is read after it), the Experiments page's first run row REPEAT times cold and REPEAT
   warm, then its processes' PSS; stopped;
4. every page in AppTest (`console_apptest.py`, its own process), median of REPEAT.

Prints progress on stderr and one JSON line on stdout (what run_all reads); --out writes it too.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import console_browser  # noqa: E402
import console_procs  # noqa: E402
from _bench import emit, fresh_dir  # noqa: E402

TITLES = ("Overview", "Experiments", "Registry", "Approvals", "Audit", "Admin")
# how the console's server runs here: headless, loopback only, no usage stats, no file watcher
STREAMLIT_FLAGS = ("--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                   "--server.fileWatcherType", "none")


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def med(xs: list[float]) -> float | None:
    return round(statistics.median(xs), 3) if xs else None


def mlflow_store(python: str, runs: int, base: Path) -> dict[str, Any]:
    """MLflow's store of the sweep: reused when built before from the same console_data.py and size."""
    digest = hashlib.sha256((HERE / "console_data.py").read_bytes()).hexdigest()[:10]
    folder = base / f"console-mlflow-{runs}-{digest}"
    done = folder / "store.json"
    if done.exists():
        return {**json.loads(done.read_text()), "reused": True}
    cp = subprocess.run([python, str(HERE / "mlflow_side" / "ui_store.py"), str(folder), str(runs)],
                        capture_output=True, text=True, timeout=1800)
    if cp.returncode != 0:
        raise RuntimeError(f"MLflow's store failed: {(cp.stderr or cp.stdout)[-800:]}")
    info = json.loads(cp.stdout.strip().splitlines()[-1])
    done.write_text(json.dumps(info))
    return {**info, "reused": False}


def mlflow_side(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    """Build or reuse MLflow's store, serve it, time its runs page, read its memory, stop it."""
    say("MLflow store ...")
    store = mlflow_store(args.mlflow_python, args.runs, Path(os.environ.get("BENCH_TMP", "/tmp/mlops-bench")))
    mlflow_bin = Path(args.mlflow_python).with_name("mlflow")
    cmd = [str(mlflow_bin)] if mlflow_bin.exists() else [args.mlflow_python, "-m", "mlflow"]
    # uvicorn restarts a worker that misses its 5 s health check; on a loaded 2-core machine the
    # workers' imports take longer than that, so the server never comes up. The check only.
    cmd += ["server", "--backend-store-uri", store["uri"], "--default-artifact-root", "file://" + store["artifacts"],
            "--host", "127.0.0.1", "--port", str(args.mlflow_port),
            "--uvicorn-opts=--timeout-worker-healthcheck 120"]
    base = f"http://127.0.0.1:{args.mlflow_port}"
    say(f"mlflow server on {base} ...")
    proc = console_procs.start(cmd, {"MLFLOW_DISABLE_TELEMETRY": "true"}, logs / "mlflow-server.log")
    try:
        startup = console_procs.wait_http(base + "/health", proc, args.server_timeout)
        say(f"  up after {startup:.1f} s; runs page x{args.repeat} cold, x{args.repeat} warm ...")
        loads = console_browser.mlflow_first_rows(base, store["experiment_id"], args.repeat, args.repeat,
                                                  args.page_timeout, str(logs / "mlflow-runs.png"))
        memory = console_procs.pss(proc.pid)
    finally:
        console_procs.stop(proc)
    return {"store": store, "startup_s": round(startup, 1), "loads": loads,
            "cold_s": med([x["wall_s"] for x in loads["cold"] if "wall_s" in x]),
            "warm_s": med([x["wall_s"] for x in loads["warm"] if "wall_s" in x]),
            "memory": memory}


def console_side(args: argparse.Namespace, store: dict[str, Any], logs: Path) -> dict[str, Any]:
    """Serve the console on our store, open every page, time Experiments' first row, read memory, stop."""
    base = f"http://127.0.0.1:{args.port}"
    env = {"MLOPS_DB_URL": store["url"], "MLOPS_HOME": store["home"],
           "PYTHONPATH": os.pathsep.join([str(args.root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    cmd = [args.python, "-m", "streamlit", "run", str(args.app), "--server.port", str(args.port), *STREAMLIT_FLAGS]
    say(f"console on {base} ({args.app}) ...")
    proc = console_procs.start(cmd, env, logs / "console-server.log", cwd=str(args.root))
    out: dict[str, Any] = {}
    try:
        out["startup_s"] = round(console_procs.wait_http(base + "/_stcore/health", proc, args.server_timeout), 1)
        say(f"  up after {out['startup_s']} s; every page once as {args.user} ...")
        shots = logs / "pages"
        shots.mkdir(exist_ok=True)
        out["pages_visited"] = console_browser.visit_pages(base, args.user, store["password"], list(TITLES),
                                                           args.page_timeout, str(shots))
        out["memory"] = console_procs.pss(proc.pid)
        say(f"  memory {out['memory']['pss_mb']} MB PSS in {out['memory']['processes']} processes; "
            f"Experiments x{args.repeat} cold, x{args.repeat} warm ...")
        try:
            loads = console_browser.console_first_rows(base, args.user, store["password"], args.repeat, args.repeat,
                                                       args.page_timeout, args.row_text,
                                                       shot=str(logs / "console-experiments.png"))
            out.update(loads=loads, cold_s=med([x["wall_s"] for x in loads["cold"]]),
                       warm_s=med([x["wall_s"] for x in loads["warm"]]),
                       cold_from_open_s=med([x["cold_from_open_s"] for x in loads["cold"]]))
        except Exception as err:  # no runs table (yet) on this checkout's Experiments page, or it failed
            out["first_rows_error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
            say(f"  no first row: {out['first_rows_error']}")
        out["memory_after_all"] = console_procs.pss(proc.pid)
    finally:
        console_procs.stop(proc)
    return out


def apptest_side(args: argparse.Namespace, store: dict[str, Any]) -> dict[str, Any]:
    """console_apptest.py in its own process on our store."""
    env = {**os.environ, "MLOPS_DB_URL": store["url"], "MLOPS_HOME": store["home"], "MLOPS_BENCH_CONSOLE_APP": str(args.app),
           "PYTHONPATH": os.pathsep.join([str(args.root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    cp = subprocess.run([args.python, str(HERE / "console_apptest.py"), args.user, store["password"],
                         str(args.repeat), *TITLES], capture_output=True, text=True, env=env, timeout=900,
                        cwd=str(args.root))
    lines = [line for line in cp.stdout.splitlines() if line.startswith("{")]
    if cp.returncode != 0 or not lines:
        return {"error": (cp.stderr or cp.stdout).strip()[-600:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mlflow-python", default=os.environ.get("MLOPS_BENCH_MLFLOW_PYTHON"),
                    help="python of MLflow's venv (e.g. /tmp/mlflow-venv/bin/python); without it, ours only")
    ap.add_argument("--python", default=sys.executable, help="python of the project's venv (streamlit, playwright)")
    ap.add_argument("--app", default=str(HERE.parent / "mlops_nb" / "console" / "app.py"),
                    help="the console's app.py (its checkout goes first on PYTHONPATH)")
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--versions", type=int, default=1_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--user", default="ada", help="who logs in (ada: admin, sees every page)")
    ap.add_argument("--row-text", default="sweep-", help="text of a run row (the run names' prefix)")
    ap.add_argument("--port", type=int, default=8617)
    ap.add_argument("--mlflow-port", type=int, default=5055)
    ap.add_argument("--server-timeout", type=float, default=300, help="s to wait for a server to answer")
    ap.add_argument("--page-timeout", type=float, default=300, help="s to wait for a page's first row")
    ap.add_argument("--skip", nargs="*", default=[], choices=["mlflow", "browser", "apptest"])
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    args.app = Path(args.app).resolve()
    args.root = args.app.parents[2]

    t0 = time.perf_counter()
    logs = Path(fresh_dir("console-logs-"))
    say(f"our store ({args.runs:,} runs, {args.versions:,} versions, {args.requests} requests) ...")
    from console_store import build

    store = build(args.runs, args.versions, args.requests)
    say(f"  built in {store['total_s']} s: {store['url']}")
    result: dict[str, Any] = {"store": store, "logs": str(logs), "app": str(args.app), "repeat": args.repeat,
                              "user": args.user}
    if "mlflow" in args.skip or not args.mlflow_python:
        result["mlflow"] = {"skipped": "no --mlflow-python" if not args.mlflow_python else "--skip mlflow"}
    else:
        try:
            result["mlflow"] = mlflow_side(args, logs)
        except Exception as err:
            result["mlflow"] = {"error": f"{type(err).__name__}: {err}"[:600]}
        say(f"  MLflow: {json.dumps({k: v for k, v in result['mlflow'].items() if k.endswith('_s')})}")
    if "browser" not in args.skip:
        result["console"] = console_side(args, store, logs)
        say(f"  console: {json.dumps({k: v for k, v in result['console'].items() if k.endswith('_s')})}")
    if "apptest" not in args.skip:
        say(f"AppTest, every page x{args.repeat} ...")
        result["apptest"] = apptest_side(args, store)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    emit("console", **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
