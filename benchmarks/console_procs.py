"""Servers for the console benchmark: start one in its own process group, wait until it answers,
sum its processes' memory (PSS), stop it. Stdlib only."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def start(cmd: list[str], env: dict[str, str], log: Path, cwd: str | None = None) -> subprocess.Popen:
    """`cmd` in a new session (its own process group, so `stop` ends it and every child), output to `log`."""
    out = open(log, "wb")  # noqa: SIM115 - the child keeps it; closed with the process
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                            start_new_session=True)


def wait_http(url: str, proc: subprocess.Popen, timeout: float) -> float:
    """Seconds until `url` answers 200; RuntimeError when `proc` exits or `timeout` passes first."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return time.perf_counter() - t0
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM to the server's process group (the server and its children), SIGKILL after `grace` s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        pass


def tree(pid: int) -> list[int]:
    """`pid` and every process descending from it (from /proc's parent links)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(parents.get(p, []))
    return found


def pss(pid: int) -> dict:
    """Memory of `pid` and its descendants: {"processes": n, "pss_mb": total PSS, "rss_mb": total RSS,
    "each": [{"pid", "pss_mb", "cmd"}]}, from /proc/<pid>/smaps_rollup (MB = 2**20 bytes)."""
    each = []
    for p in tree(pid):
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = {line.split(":")[0]: int(line.split()[1]) for line in rollup.splitlines()[1:] if line.endswith("kB")}
        each.append({"pid": p, "pss_mb": round(fields.get("Pss", 0) / 1024, 1),
                     "rss_mb": round(fields.get("Rss", 0) / 1024, 1), "cmd": cmd[:120]})
    return {"processes": len(each), "pss_mb": round(sum(e["pss_mb"] for e in each), 1),
            "rss_mb": round(sum(e["rss_mb"] for e in each), 1), "each": each}
