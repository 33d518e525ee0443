"""`mlops monitor run|rules|rule ...`, `mlops alerts` and `mlops alert ack`, run as cron runs them: a
subprocess with --db, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from mlops_nb.store.db import session_scope
from mlops_nb.store.models import ScoringBatch
from tests import factories

MLOPS = str(Path(sys.executable).with_name("mlops"))
ROOT = Path(__file__).resolve().parents[2]
REENCODED = {"column": "purpose", "rule": "new_categories", "severity": "error",
             "message": "new categories not seen in training: 'A40'", "examples": ["A40"]}


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([MLOPS, *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
                          stdin=subprocess.DEVNULL)


@pytest.fixture()
def store(engine, db_url):
    """Project 'credit' whose model 'credit-risk' v1 is in production with one refused batch."""
    with session_scope(engine) as session:
        project_id = factories.project(session, "credit")
        row = factories.version(session, factories.model(session, project_id, "credit-risk"), stage="production")
        session.add(ScoringBatch(id=uuid.uuid4().hex, model_version_id=row.id, stage="production", method="predict",
                                 status="refused", rows=10, latency_ms=5.0, findings=[REENCODED], created_by="dana",
                                 created_at=time.time() - 120))  # scored before the CLI's settling minute
    return db_url


def test_rules_are_added_listed_disabled_and_deleted(store):
    empty = cli("--db", store, "monitor", "rules", "--project", "credit")
    assert empty.returncode == 0 and "none (defaults apply" in empty.stdout
    added = cli("--db", store, "monitor", "rule", "add", "income drift", "--project", "credit", "--kind",
                "feature_drift", "--param", "column=income", "--severity", "critical", "--notify",
                "--webhook", "https://hooks.example/x", "--secret-env", "HOOK_SECRET", "--model", "credit-risk")
    assert added.returncode == 0, added.stderr
    listed = cli("--db", store, "monitor", "rules", "--project", "credit").stdout
    assert "income drift" in listed and "column=income" in listed and "notify, webhook https://hooks.example/x" in listed
    assert cli("--db", store, "monitor", "rule", "disable", "income drift", "--project", "credit").stdout.strip() == \
        "rule 'income drift' disabled"
    assert "  no" in cli("--db", store, "monitor", "rules", "--project", "credit").stdout
    assert cli("--db", store, "monitor", "rule", "delete", "income drift", "--project", "credit").returncode == 0
    gone = cli("--db", store, "monitor", "rule", "enable", "income drift", "--project", "credit")
    assert gone.returncode == 1 and gone.stderr.strip() == (
        "mlops: the project has no rule named 'income drift'; it has none (SPEC §4's defaults apply)")


@pytest.mark.parametrize(("args", "words"), [
    (["--kind", "drift_share", "--param", "treshold=0.3"], "mlops: rule kind drift_share: unknown param 'treshold'"),
    (["--kind", "latency_p95"], "mlops: rule kind latency_p95: param 'sla_ms' is required"),
    (["--kind", "drift_share", "--param", "0.3"], "mlops: --param '0.3': expected KEY=VALUE"),
    (["--kind", "drift_share", "--param", "threshold=0.3", "--param", "threshold=0.9"],
     "mlops: --param 'threshold' is given twice (0.3 and 0.9); give it once"),
    (["--kind", "drift_share", "--secret-env", "X"], "mlops: --secret-env names the signing secret of a --webhook"),
])
def test_bad_rules_are_one_line_errors(store, args, words):
    bad = cli("--db", store, "monitor", "rule", "add", "r", "--project", "credit", *args)
    assert bad.returncode == 1 and bad.stderr.startswith(words) and len(bad.stderr.strip().splitlines()) == 1


def test_monitor_run_prints_each_alert_once_then_alerts_lists_and_ack_closes_it(store):
    run = cli("--db", store, "monitor", "run")
    assert run.returncode == 0, run.stderr
    [line] = run.stdout.splitlines()
    assert line.startswith("critical: credit-risk v1 column 'purpose' [rule 'validation (default)'] new_categories")
    again = cli("--db", store, "monitor", "run", "--project", "credit", "--model", "credit-risk", "--all")
    assert (again.returncode, again.stdout) == (0, "")
    listed = cli("--db", store, "alerts", "--project", "credit", "--open").stdout
    assert "Open alerts of project credit (1)" in listed and "validation (default)" in listed
    alert_id = line.rsplit("(alert ", 1)[1].rstrip(")")
    acked = cli("--db", store, "alert", "ack", alert_id, "--project", "credit", "--note", "re-encoding fixed upstream")
    assert acked.returncode == 0, acked.stderr
    assert "acknowledged" in acked.stdout and "operator (cli)" in acked.stdout
    assert "(0)" in cli("--db", store, "alerts", "--project", "credit", "--open").stdout
    missing = cli("--db", store, "monitor", "run", "--model", "nope")
    assert missing.returncode == 1 and missing.stderr.strip() == "mlops: model 'nope' has no production version to monitor"


HOLDER = textwrap.dedent("""
    import sys
    from mlops_nb.services.monitoring.monitor_lock import take_lock
    from mlops_nb.store.db import get_engine
    lease = take_lock(get_engine(sys.argv[1]), holder="cron on box-1")
    print("held", flush=True)
    sys.stdin.readline()
    lease.release()
""")


def test_a_second_monitor_run_exits_1_naming_the_holder(store):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, store], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = cli("--db", store, "monitor", "run")
        assert second.returncode == 1 and second.stdout == ""
        [message] = second.stderr.splitlines()
        assert message.startswith("mlops: another monitor run holds the monitor lock: cron on box-1, since 20")
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert cli("--db", store, "monitor", "run").returncode == 0  # released: the next run goes ahead


def test_actions_module_named_by_the_operator_registers_callables(store, tmp_path):
    (tmp_path / "ops_hooks.py").write_text(textwrap.dedent("""
        from pathlib import Path
        import mlops_nb as mlops

        @mlops.on_alert("log-it")
        def log_it(alert):
            Path("fired.txt").write_text(f"{alert.rule}|{alert.column}")
    """))
    add = cli("--db", store, "monitor", "rule", "add", "v", "--project", "credit", "--kind", "validation",
              "--callable", "log-it")
    assert add.returncode == 0, add.stderr
    run = cli("--db", store, "monitor", "run", "--actions", "ops_hooks", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "fired.txt").read_text() == "v|purpose"
    bad = cli("--db", store, "monitor", "run", "--actions", "no_such_module", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.startswith("mlops: --actions no_such_module: cannot import it")
