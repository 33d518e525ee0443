"""What made a run: user, host, git commit and dirty flag, notebook path, Python and package versions.

Captured once per run, cheaply: package versions come from installed metadata (no imports), git
from one short subprocess with a timeout, so a machine without git or outside a repository still
tracks.
"""
from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from mlops_nb.config import notebook_path_from_env

KEY_PACKAGES = ("mlops-nb", "numpy", "pandas", "scikit-learn", "scipy", "evidently", "sqlmodel",
                "sqlalchemy", "skops", "xgboost", "lightgbm", "torch", "ipython", "ipykernel")


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Versions of the packages that decide whether a model behaves the same elsewhere."""
    found = {}
    for name in KEY_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


GIT_CACHE_S = 2.0  # a notebook starting many runs in a loop asks git once per this many seconds
_git_cache: dict[str, tuple[float, tuple[str | None, bool | None]]] = {}


def git_state(path: str | os.PathLike[str] | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the repository holding `path` (default: the working directory).

    Remembered for GIT_CACHE_S seconds per folder: `git status` is a subprocess (~3 ms), and a
    sweep starting hundreds of runs a second would otherwise spend most of its time in it.
    """
    cwd = str(path or os.getcwd())
    now = time.monotonic()
    cached = _git_cache.get(cwd)
    if cached is not None and now - cached[0] < GIT_CACHE_S:
        return cached[1]
    state = _git_state(cwd)
    _git_cache[cwd] = (now, state)
    return state


def _git_state(cwd: str) -> tuple[str | None, bool | None]:
    try:
        out = subprocess.run(["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no"],
                             cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None, None
    if out.returncode != 0:
        return None, None
    commit, dirty = None, False
    for line in out.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split()[-1]
            commit = None if oid == "(initial)" else oid
        elif not line.startswith("#"):
            dirty = True
    return commit, dirty


def notebook_path() -> str | None:
    """The running notebook's path where the front end tells it: the environment (config's
    NOTEBOOK_PATH_VARIABLES: ours, JupyterLab's, VS Code's), else VS Code's variable in the kernel's
    namespace; None outside a notebook."""
    value = notebook_path_from_env()
    if value:
        return value
    ipython = sys.modules.get("IPython")  # a kernel has imported it; without it there is no notebook
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
        value = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
        return str(value) if value else None
    except Exception:
        return None


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()[:250]


@lru_cache(maxsize=1)
def _python_version() -> str:
    return platform.python_version()


def capture(cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The run context columns (see store.models.Run)."""
    commit, dirty = git_state(cwd)
    path = notebook_path()
    if commit is None and path:
        commit, dirty = git_state(Path(path).parent) if Path(path).parent.exists() else (None, None)
    return {
        "host": _host(),
        "pid": os.getpid(),
        "git_commit": commit,
        "git_dirty": dirty,
        "notebook_path": path,
        "python_version": _python_version(),
        "packages": package_versions(),
    }


# --- a model's environment: what it was trained with, and what differs where it loads ---------------

ENV_PACKAGES = ("scikit-learn", "numpy", "pandas", "scipy", "skops")
KNOWN_ROOTS = {"builtins", "numpy", "scipy", "sklearn", "collections", "functools", "operator"}
_distributions: Mapping[str, list[str]] | None = None


def _distribution_of(module_root: str) -> str | None:
    global _distributions
    distributions = _distributions
    if distributions is None:
        distributions = _distributions = metadata.packages_distributions()
    names = distributions.get(module_root)
    return names[0] if names else None


def _installed_version(package: str) -> str | None:
    known = package_versions()
    if package in known:
        return known[package]
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def training_env(trusted: list[str]) -> tuple[dict[str, Any], str]:
    """(env, pinned requirements): Python, the packages a scikit-learn model depends on, and the
    distributions of any other type in the model file (e.g. xgboost)."""
    packages = {n: v for n in ENV_PACKAGES if (v := _installed_version(n)) is not None}
    for root in sorted({t.split(".")[0] for t in trusted} - KNOWN_ROOTS):
        dist = _distribution_of(root)
        if dist and dist not in packages and (version := _installed_version(dist)):
            packages[dist] = version
    env = {"python": platform.python_version(), "packages": packages, "trusted_types": list(trusted)}
    return env, "".join(f"{n}=={v}\n" for n, v in sorted(packages.items()))


def env_mismatches(env: dict[str, Any]) -> list[str]:
    """Each difference between a version's training environment and this process, named.

    Python is compared by major.minor (a patch release does not change how a model loads); packages
    by their exact version.
    """
    found = []
    python = env.get("python")
    here = platform.python_version()
    if python and python.split(".")[:2] != here.split(".")[:2]:
        found.append(f"Python {python} at training, {here} here")
    for name, version in sorted((env.get("packages") or {}).items()):
        installed = _installed_version(name)
        if installed != version:
            found.append(f"{name} {version} at training, {installed or 'not installed'} here")
    return found
