"""Configuration in one place: the only module that reads the environment.

`MLOPS_HOME` (default `~/.mlops`) holds the default SQLite store and artifact root; `MLOPS_DB_URL`
and `MLOPS_ARTIFACT_ROOT` override them; `MLOPS_USER` and `MLOPS_TOKEN` name who acts;
`MLOPS_RUN_STALE_S` is how old a running run's heartbeat may be before a reader marks it killed;
`MLOPS_HEARTBEAT_S` how often a live run writes its heartbeat; `MLOPS_NULLPOOL` (any non-empty
value) makes PostgreSQL engines open a connection per use instead of pooling them;
`MLOPS_NOTEBOOK_PATH` names the notebook recorded on runs where the front end does not;
`MLOPS_AUDIT_KEY_FILE` names the file holding the store's audit key (default: beside a SQLite file,
else under `MLOPS_HOME/audit-keys/`); `MLOPS_SQLITE_SYNCHRONOUS` sets SQLite's `synchronous` pragma
(NORMAL by default; FULL makes every commit survive a power loss, at a cost per commit).
`MLOPS_RETRAINING_RUN` is set by a retraining run in the kernel of its notebook: runs started there
are tagged with it.
`MLOPS_SQLITE_BUSY_TIMEOUT_MS` is how long a SQLite writer waits for another one's lock (default
30,000 ms) before the call fails with StoreBusy. `MLOPS_LOGIN_MAX_FAILURES` wrong passwords in a
row (default 5) lock a user for `MLOPS_LOGIN_LOCK_MIN` minutes (default 15); a console session ends
after `MLOPS_CONSOLE_IDLE_MIN` idle minutes (default 30).

Everything else asks this module: `Settings.from_env()` for a snapshot, or the small functions below
for the values that must be read at the moment they are used. Secrets (the token, a password in a
URL) never appear in a repr.

    >>> from mlops_nb.config import Settings
    >>> Settings.from_env().db_url          # 'sqlite:////home/dana/.mlops/mlops.db'

This module imports nothing from the package, so every layer may use it.
"""
from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_RUN_STALE_S = 60.0
DEFAULT_HEARTBEAT_S = 5.0
# SQLite's synchronous levels (https://www.sqlite.org/pragma.html#pragma_synchronous); OFF is refused:
# a store must survive a killed process
SQLITE_SYNCHRONOUS_LEVELS = ("NORMAL", "FULL", "EXTRA")
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 30_000
# where front ends say which notebook runs: ours, JupyterLab's, VS Code's
NOTEBOOK_PATH_VARIABLES = ("MLOPS_NOTEBOOK_PATH", "JPY_SESSION_NAME", "__vsc_ipynb_file__")


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def redact_url(url: str) -> str:
    """`url` with the password of its user part replaced by ***; other text as given."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    userinfo, at, _host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return url.replace(f"{userinfo}@", f"{user}:***@", 1)


@dataclass(frozen=True)
class Settings:
    """A snapshot of the environment; read it again with `Settings.from_env()` when it may change.

    `home` is a folder; `db_url` a SQLAlchemy URL; `artifact_root` a folder or fsspec URL; `user` who
    acts when nobody says (`MLOPS_USER`, else the login name) and `declared_user` `MLOPS_USER` alone
    (None when unset); `token` an API token (never shown); `run_stale_s` and `heartbeat_s` seconds.
    """

    home: Path
    db_url: str
    artifact_root: str
    user: str
    token: str | None = field(repr=False)
    run_stale_s: float
    heartbeat_s: float
    declared_user: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """Read every variable now; unset or empty ones take their defaults."""
        home = mlops_home()
        db_url = os.environ.get("MLOPS_DB_URL") or f"sqlite:///{home / 'mlops.db'}"
        artifact_root = os.environ.get("MLOPS_ARTIFACT_ROOT") or str(home / "artifacts")
        declared = declared_user()
        return cls(
            home=home,
            db_url=db_url,
            artifact_root=artifact_root,
            user=declared or _default_user(),
            token=os.environ.get("MLOPS_TOKEN") or None,
            run_stale_s=run_stale_seconds(),
            heartbeat_s=float(os.environ.get("MLOPS_HEARTBEAT_S") or DEFAULT_HEARTBEAT_S),
            declared_user=declared,
        )

    def __repr__(self) -> str:
        return (f"Settings(home={str(self.home)!r}, db_url={redact_url(self.db_url)!r}, "
                f"artifact_root={redact_url(self.artifact_root)!r}, user={self.user!r}, "
                f"token={'***' if self.token else None}, run_stale_s={self.run_stale_s}, "
                f"heartbeat_s={self.heartbeat_s}, declared_user={self.declared_user!r})")


def run_stale_seconds() -> float:
    """`MLOPS_RUN_STALE_S` (default 60), in seconds. Read when a reader looks, as SPEC §4 says, so a
    test or an operator can change it at any time."""
    return float(os.environ.get("MLOPS_RUN_STALE_S") or DEFAULT_RUN_STALE_S)


def declared_user() -> str | None:
    """`MLOPS_USER` as set, or None when it is unset or empty."""
    return os.environ.get("MLOPS_USER") or None


def use_nullpool() -> bool:
    """Whether `MLOPS_NULLPOOL` is set: PostgreSQL engines then open a connection per use (for
    servers behind a pooler such as PgBouncer) instead of keeping a pool."""
    return bool(os.environ.get("MLOPS_NULLPOOL"))


def notebook_path_from_env() -> str | None:
    """The notebook path a front end put in the environment (the first of NOTEBOOK_PATH_VARIABLES
    that is set), or None. Read at each call: a kernel may be told later."""
    for var in NOTEBOOK_PATH_VARIABLES:
        value = os.environ.get(var)
        if value:
            return value
    return None


def retraining_run_from_env() -> str | None:
    """`MLOPS_RETRAINING_RUN` as set (the id of the retraining run whose headless notebook this
    kernel runs: services.monitoring.retraining sets it), or None. Read at each run start."""
    return os.environ.get("MLOPS_RETRAINING_RUN") or None


def mlops_home() -> Path:
    """`MLOPS_HOME` (default `~/.mlops`), the folder of the default store, artifacts and audit keys."""
    return Path(os.environ.get("MLOPS_HOME") or Path.home() / ".mlops").expanduser()


def audit_key_file() -> Path | None:
    """`MLOPS_AUDIT_KEY_FILE` as set (the audit key of the store being opened), or None when unset:
    the store then looks in its default place (see mlops_nb.store.audit_key)."""
    value = os.environ.get("MLOPS_AUDIT_KEY_FILE")
    return Path(value).expanduser() if value else None


def sqlite_synchronous() -> str:
    """`MLOPS_SQLITE_SYNCHRONOUS` upper-cased (NORMAL, FULL or EXTRA; default NORMAL): how hard SQLite
    pushes each commit to disk. NORMAL in WAL mode survives a killed process but may lose the last
    commits on a power loss; FULL syncs every commit (SQLite's documentation, pragma synchronous).

    Raises:
        ValueError: another value (OFF included: a store must survive a killed process).
    """
    value = (os.environ.get("MLOPS_SQLITE_SYNCHRONOUS") or "NORMAL").strip().upper()
    if value not in SQLITE_SYNCHRONOUS_LEVELS:
        raise ValueError(f"MLOPS_SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS_LEVELS)}, "
                         f"got {value!r}")
    return value


def sqlite_busy_timeout_ms() -> int:
    """`MLOPS_SQLITE_BUSY_TIMEOUT_MS` (default 30,000): how many milliseconds a SQLite connection
    waits for another writer's lock before giving up (then the call raises StoreBusy). Read when a
    connection is opened.

    Raises:
        ValueError: the variable is set but is not a whole number >= 0.
    """
    value = os.environ.get("MLOPS_SQLITE_BUSY_TIMEOUT_MS")
    if not value:
        return DEFAULT_SQLITE_BUSY_TIMEOUT_MS
    timeout = int(value)
    if timeout < 0:
        raise ValueError(f"MLOPS_SQLITE_BUSY_TIMEOUT_MS must be >= 0 milliseconds, got {value!r}")
    return timeout


# --- login and console sessions (services.identity.login, console.auth) ---
DEFAULT_LOGIN_MAX_FAILURES = 5
DEFAULT_LOGIN_LOCK_MIN = 15.0
DEFAULT_CONSOLE_IDLE_MIN = 30.0


def _positive(variable: str, default: float) -> float:
    """`variable` as a number > 0, else `default` (unset, empty, not a number, or <= 0): a typo must
    neither switch a safeguard off nor lock everyone out."""
    try:
        value = float(os.environ.get(variable) or default)
    except ValueError:
        return default
    return value if value > 0 else default


def login_max_failures() -> int:
    """`MLOPS_LOGIN_MAX_FAILURES` (default 5): wrong passwords in a row that lock a user. Read at each login."""
    return max(int(_positive("MLOPS_LOGIN_MAX_FAILURES", DEFAULT_LOGIN_MAX_FAILURES)), 1)


def login_lock_minutes() -> float:
    """`MLOPS_LOGIN_LOCK_MIN` (default 15): how many minutes such a lock lasts. Read at each login."""
    return _positive("MLOPS_LOGIN_LOCK_MIN", DEFAULT_LOGIN_LOCK_MIN)


def console_idle_minutes() -> float:
    """`MLOPS_CONSOLE_IDLE_MIN` (default 30): minutes without a click after which a console session
    ends. Read at each rerun."""
    return _positive("MLOPS_CONSOLE_IDLE_MIN", DEFAULT_CONSOLE_IDLE_MIN)


@contextmanager
def audit_key_file_set_aside() -> Iterator[None]:
    """`MLOPS_AUDIT_KEY_FILE` unset for the block and restored after it: for the store's schema
    template (store.migrate), whose own key must never be written where a store's key belongs."""
    saved = os.environ.pop("MLOPS_AUDIT_KEY_FILE", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["MLOPS_AUDIT_KEY_FILE"] = saved


def child_environment(**values: str) -> dict[str, str]:
    """A copy of this process's environment with `values` set: what a child process (the console's
    Streamlit server) is started with, so settings reach it without a command-line argument."""
    return {**os.environ, **values}


def secret_from_env(variable: str) -> str | None:
    """Environment variable `variable`'s value, None when unset or empty: a webhook action's signing
    secret, which its rule names by variable (the secret itself is never stored)."""
    return os.environ.get(variable) or None


@contextmanager
def environment_set(**values: str) -> Iterator[None]:
    """`values` set in this process's environment for the block, each restored (or unset) after it:
    the demo's monitor job runs with the retraining user's MLOPS_TOKEN in its environment, as the
    crontab line that runs `mlops monitor run` would give it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
