"""Helpers shared by the benchmark scripts (stdlib only, so importing them costs nothing)."""
from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time

perf = time.perf_counter
FILTER = "metrics.auc > 0.8 and params.model = 'rf'"


def fresh_dir(prefix: str = "mlops-bench-") -> str:
    base = os.environ.get("BENCH_TMP", os.path.join(tempfile.gettempdir(), "mlops-bench"))
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=base)


def fresh_store(prefix: str = "mlops-bench-") -> tuple[str, str]:
    """(directory, sqlite URL) of a store that does not exist yet; MLOPS_HOME points into it."""
    tmp = fresh_dir(prefix)
    os.environ["MLOPS_HOME"] = tmp
    for var in ("MLOPS_DB_URL", "MLOPS_TOKEN", "MLOPS_RUN_STALE_S"):
        os.environ.pop(var, None)
    return tmp, f"sqlite:///{os.path.join(tmp, 'mlops.db')}"


def median(xs):
    return statistics.median(xs)


def stats(xs):
    xs = sorted(xs)
    n = len(xs)
    return {"n": n, "min": xs[0], "median": statistics.median(xs), "mean": sum(xs) / n,
            "p99": xs[min(n - 1, int(0.99 * n))], "max": xs[-1]}


def r(x, nd=6):
    return round(x, nd)


def env_info() -> dict:
    info = {"python": platform.python_version(), "cpus": os.cpu_count(), "sqlite": sqlite3.sqlite_version,
            "machine": platform.machine()}
    try:
        import sqlalchemy

        info["sqlalchemy"] = sqlalchemy.__version__
    except Exception:
        pass
    return info


def emit(case: str, **fields) -> None:
    out = {"case": case, "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out.update(fields)
    out["env"] = env_info()
    print(json.dumps(out, default=float), flush=True)


def engine_synchronous(db_url: str) -> str:
    """The `PRAGMA synchronous` our engine sets on its connections (0 OFF, 1 NORMAL, 2 FULL)."""
    from sqlalchemy import text

    from mlops_nb.store.db import get_engine

    with get_engine(db_url).connect() as conn:
        level = conn.execute(text("PRAGMA synchronous")).scalar()
        mode = conn.execute(text("PRAGMA journal_mode")).scalar()
    return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, str(level)), mode


def floor_db(copy_of: str, name: str, synchronous: str) -> sqlite3.Connection:
    """A raw sqlite3 connection to a copy of the store at `copy_of` (our tables, indexes and the
    benchmark's run row, so foreign keys hold), in WAL mode with our engine's synchronous level and
    foreign keys on, as our engine has them."""
    path = os.path.join(fresh_dir("sqlite-floor-"), name)
    src = sqlite3.connect(copy_of)
    con = sqlite3.connect(path, isolation_level=None)
    src.backup(con)
    src.close()
    con.execute("PRAGMA journal_mode = WAL")
    con.execute(f"PRAGMA synchronous = {synchronous}")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("DELETE FROM metric")
    con.execute("DELETE FROM latest_metric")
    return con
