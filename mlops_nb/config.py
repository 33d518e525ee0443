"""Configuration in one place: the environment variables the toolkit reads, with their defaults.

`MLOPS_HOME` (default `~/.mlops`) holds the default SQLite store and artifact root; `MLOPS_DB_URL`
and `MLOPS_ARTIFACT_ROOT` override them; `MLOPS_USER` and `MLOPS_TOKEN` name who acts;
`MLOPS_RUN_STALE_S` is how old a running run's heartbeat may be before a reader marks it killed.
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class Settings:
    """A snapshot of the environment; read it again with `Settings.from_env()` when it may change."""

    home: Path
    db_url: str
    artifact_root: str
    user: str
    token: str | None
    run_stale_s: float
    heartbeat_s: float

    @classmethod
    def from_env(cls) -> "Settings":
        home = Path(os.environ.get("MLOPS_HOME") or Path.home() / ".mlops").expanduser()
        db_url = os.environ.get("MLOPS_DB_URL") or f"sqlite:///{home / 'mlops.db'}"
        artifact_root = os.environ.get("MLOPS_ARTIFACT_ROOT") or str(home / "artifacts")
        return cls(
            home=home,
            db_url=db_url,
            artifact_root=artifact_root,
            user=os.environ.get("MLOPS_USER") or _default_user(),
            token=os.environ.get("MLOPS_TOKEN") or None,
            run_stale_s=float(os.environ.get("MLOPS_RUN_STALE_S") or 60),
            heartbeat_s=float(os.environ.get("MLOPS_HEARTBEAT_S") or 5),
        )


def run_stale_seconds() -> float:
    """Read when a reader looks, as SPEC §4 says, so a test or operator can change it at any time."""
    return float(os.environ.get("MLOPS_RUN_STALE_S") or 60)
