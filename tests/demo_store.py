"""The demo store, built once per test session for the tests that read it (tests/demo/test_story.py)
and serve it (tests/console/test_browser.py); each copies it (`copy_demo`), so what one writes the
other never sees.

It is built by `mlops demo` in a subprocess with a clean environment, as a user runs it: the CLI's
own `main`, with `mlops_nb.demo.build` wrapped to keep the `Summary` it returns (and the progress
lines it reported) in a pickle beside the store, for the tests of what the demo says it made.
"""
from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ENV_VARS

# `mlops demo --db URL` (mlops_nb.cli:main, what the `mlops` script runs), keeping build's Summary.
_RUN = """
import pickle, sys
import mlops_nb.demo
from mlops_nb.cli import main

real = mlops_nb.demo.build

def build(url, *, progress=None, **kwargs):
    lines = []
    def report(line):
        lines.append(line)
        if progress is not None:
            progress(line)
    summary = real(url, progress=report, **kwargs)
    summary.lines = lines
    with open(sys.argv[2], "wb") as out:
        pickle.dump(summary, out)
    return summary

mlops_nb.demo.build = build
sys.exit(main(["demo", "--db", sys.argv[1]]))
"""


@dataclass
class DemoStore:
    """A built demo: `folder` holds `mlops.db`, its audit key and `home` (its MLOPS_HOME: artifacts,
    the training script); `stdout` is what `mlops demo` printed, `summary` what build returned (with
    `.lines`, the progress lines)."""

    folder: Path
    stdout: str
    summary: object

    @property
    def url(self) -> str:
        return f"sqlite:///{self.folder / 'mlops.db'}"

    @property
    def home(self) -> Path:
        return self.folder / "home"


def build_demo(folder: Path) -> DemoStore:
    """`mlops demo` into a new store in `folder` (its own MLOPS_HOME, none of the caller's store or
    identity variables).

    Raises:
        AssertionError: the command failed (its stderr).
    """
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env["MLOPS_HOME"] = str(folder / "home")
    db = f"sqlite:///{folder / 'mlops.db'}"
    pickled = folder / "summary.pickle"
    done = subprocess.run([sys.executable, "-c", _RUN, db, str(pickled)], capture_output=True, text=True,
                          timeout=600, env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    summary = pickle.loads(pickled.read_bytes())
    pickled.unlink()
    return DemoStore(folder, done.stdout, summary)


def copy_demo(demo: DemoStore, folder: Path) -> DemoStore:
    """A copy of `demo` (database, audit key, MLOPS_HOME) in the new folder `folder`."""
    shutil.copytree(demo.folder, folder)
    return DemoStore(folder, demo.stdout, demo.summary)
