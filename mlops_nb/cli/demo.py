"""`mlops demo`: fill an empty store with a realistic credit-scoring history and print its logins.

    mlops demo --db sqlite:///.demo/mlops.db
    mlops console --db sqlite:///.demo/mlops.db

The operator adds the demo's users (one per role and a few more, random passwords); everything else
is done by those users, logged in with their passwords, through the public API (mlops_nb.demo), so
the audit trail names them. Only an empty store is filled: one that holds a project or a user is
refused and left as it was. A demo's users (an admin among them, with passwords printed in a
terminal) do not belong in a real store, so there is no `--force`: give the demo a new store.
"""
from __future__ import annotations

import argparse
import sys
import time

from mlops_nb.cli.base import command


def cmd_demo(args: argparse.Namespace) -> int:
    """Fill an empty store with a credit-scoring demo (runs, models, requests, a rollback); print the logins.

    Example: mlops demo --db sqlite:///.demo/mlops.db

    Raises:
        Conflict: the store holds projects or users already (nothing is changed).
    """
    from mlops_nb.config import Settings, redact_url
    from mlops_nb.demo import build
    from mlops_nb.store.db import normalize_url

    url = normalize_url(args.db or Settings.from_env().db_url)  # build opens it as `mlops.init` does
    started = time.perf_counter()
    step = 0

    def progress(line: str) -> None:
        nonlocal step
        step += 1
        print(f"[{step:2d}] {time.perf_counter() - started:5.1f} s  {line}", flush=True)

    summary = build(url, progress=progress)
    runs = sum(summary.runs.values())
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(summary.requests.items()))
    versions = ", ".join(f"{name} {n}" for name, n in summary.versions.items())
    print(f"done in {summary.seconds:.1f} s: {runs} runs in {len(summary.experiments)} experiments "
          f"({summary.runs.get('failed', 0)} failed); model versions: {versions}; requests: {statuses}; "
          f"{summary.rollbacks} rollback; {summary.audit_verified}")
    print("projects by scorecard phase: " + ", ".join(f"{name} {phase}" for name, phase in summary.phases.items()))
    print()
    print("Logins (shown only now; change them with `mlops user password NAME`):")
    width = max(len(login.name) for login in summary.logins)
    for login in summary.logins:
        print(f"  {login.name:<{width}}  {login.role:<18}  {login.password}")
    db = "" if args.db is None else f" --db {redact_url(str(args.db))}"
    print()
    print(f"Next: mlops console{db}   then open http://127.0.0.1:8501 and log in as "
          f"{next(login.name for login in summary.logins if login.role == 'reviewer')} (reviewer): "
          "a production request waits for you on Approvals; Monitoring shows credit-risk's drift, alerts and "
          "retraining; Scorecards compares the three projects' maturity")
    sys.stdout.flush()
    return 0


def _demo_args(p: argparse.ArgumentParser) -> None:
    """`demo` takes only --db."""


command("demo")(_demo_args)(cmd_demo)
