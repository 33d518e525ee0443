"""What made a run: user, host, git commit and dirty flag, the code file and where it stands in git,
Python and package versions.

Captured once per run, cheaply: package versions come from installed metadata (no imports), git
from short subprocesses with a timeout, so a machine without git or outside a repository still
tracks.

The code file is the notebook (where the front end names it) or, outside a notebook, the script
that started the run. A HEAD commit says nothing about a notebook that was never added to git, or
was changed since: `code_status` says which (CODE_STATUSES), and such a file makes the run dirty.
The code itself (the cells, or the script's text) is recorded by the API (api/cells.py).
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


CODE_STATUSES = ("committed", "modified", "untracked", "no_git", "unknown")
_status_cache: dict[str, tuple[float, str]] = {}


def code_file_status(path: str | os.PathLike[str] | None) -> str:
    """Where the code file at `path` stands in git: `committed` (tracked and unchanged since HEAD),
    `modified` (tracked, changed), `untracked` (not in HEAD: new, ignored, or only staged), `no_git`
    (no repository holds it, or git is missing), `unknown` (no path, or no such file). Remembered
    for GIT_CACHE_S seconds per file."""
    if path is None or not Path(path).is_file():
        return "unknown"
    file = Path(path).resolve()
    now = time.monotonic()
    cached = _status_cache.get(str(file))
    if cached is not None and now - cached[0] < GIT_CACHE_S:
        return cached[1]
    status = _code_file_status(file)
    _status_cache[str(file)] = (now, status)
    return status


def _code_file_status(file: Path) -> str:
    try:
        out = subprocess.run(["git", "status", "--porcelain=v1", "--ignored", "--", file.name],
                             cwd=file.parent, capture_output=True, text=True, timeout=5)
        tracked = subprocess.run(["git", "cat-file", "-e", f"HEAD:./{file.name}"],
                                 cwd=file.parent, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "no_git"
    if out.returncode != 0:
        return "no_git"
    line = out.stdout.splitlines()[0] if out.stdout.strip() else ""
    if tracked.returncode != 0 or line.startswith(("??", "!!")):
        return "untracked"  # not in HEAD, whatever the index says
    return "modified" if line else "committed"


_INSTALLED = tuple({str(Path(p).resolve()) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def script_path() -> str | None:
    """Outside a notebook, the script `python` runs (`__main__.__file__`), or None (also for an
    installed tool's entry point, such as pytest's: that is not the code of the run)."""
    main = sys.modules.get("__main__")
    value = getattr(main, "__file__", None)
    if not value or not Path(value).is_file():
        return None
    path = str(Path(value).resolve())
    return None if path.startswith(_INSTALLED) else path


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


def _resolved(path: str) -> str:
    """A front end's notebook path as a file here: as given, else under the working directory
    (JupyterLab names it relative to its root, and the kernel runs in the notebook's folder)."""
    given = Path(path).expanduser()
    if given.is_absolute() or given.is_file():
        return str(given.resolve()) if given.exists() else str(given)
    beside = Path.cwd() / given.name
    return str(beside.resolve()) if beside.is_file() else path


def capture(cwd: str | os.PathLike[str] | None = None, *, code_path: str | None = None) -> dict[str, Any]:
    """The run context columns (see store.models.Run): `notebook_path` is the notebook's path, else
    `code_path` (the file that started the run, outside a notebook), else the script's; git is read
    from that file's folder (else `cwd`), and a code file that is not committed makes the run dirty."""
    given = notebook_path()
    path = _resolved(given) if given else (code_path or script_path())
    folder = Path(path).parent if path and Path(path).parent.is_dir() else None
    commit, dirty = git_state(folder or cwd)
    if commit is None and folder is not None and cwd is not None:
        commit, dirty = git_state(cwd)
    status = code_file_status(path) if path else "unknown"
    if status in ("modified", "untracked"):
        dirty = True  # the commit is not the code that ran
    return {
        "host": _host(),
        "pid": os.getpid(),
        "git_commit": commit,
        "git_dirty": dirty,
        "notebook_path": path,
        "code_status": status,
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
