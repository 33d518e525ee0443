"""The monitor lock: a second process is refused while the first holds it (naming the holder and since
when), a stale holder is taken over, and a holder taken over learns it when it refreshes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlops_nb.services.errors import Conflict
from mlops_nb.services.monitoring import monitor_lock
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import MonitorLock

ROOT = Path(__file__).resolve().parents[3]
HOLDER = textwrap.dedent("""
    import sys
    from mlops_nb.services.monitoring.monitor_lock import take_lock
    from mlops_nb.store.db import get_engine
    lease = take_lock(get_engine(sys.argv[1]), holder="cron on box-1")
    print("held", flush=True)
    sys.stdin.readline()
    lease.release()
    print("released", flush=True)
""")


def test_a_second_process_is_refused_while_the_first_holds_the_lock(engine, db_url):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(Conflict, match=r"holds the monitor lock: cron on box-1, since \d{4}-\d\d-\d\d "):
            monitor_lock.take_lock(engine)
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    lease = monitor_lock.take_lock(engine)  # free again
    lease.release()


def test_a_stale_holder_is_taken_over_and_learns_it_on_refresh(engine):
    dead = monitor_lock.take_lock(engine, holder="killed run", ttl_s=600)
    with session_scope(engine) as session:  # its expiry passes
        row = session.get(MonitorLock, "monitor")
        row.expires_at = time.time() - 1
        session.add(row)
    with monitor_lock.hold_lock(engine) as lease:
        assert lease.holder != "killed run"
        with pytest.raises(Conflict, match="taken over by another run after killed run was silent"):
            dead.refresh()
        lease.refresh()
        with pytest.raises(Conflict, match="holds the monitor lock"):
            monitor_lock.take_lock(engine)
    with session_scope(engine) as session:
        assert session.get(MonitorLock, "monitor") is None
