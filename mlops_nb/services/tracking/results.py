"""What the tracking services return: plain typed records of runs, metric points and artifacts.

No rendering here: `mlops_nb.display` gives these their text, HTML and DataFrame forms for the
notebook, and the console renders them with Streamlit.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunStarted:
    """A run as `start_run` just wrote it (no read back): its `id` and `name`, `start_time` and
    `heartbeat_at` (epoch seconds, equal), and its `tags` as stored (text)."""

    id: str
    name: str
    start_time: float
    heartbeat_at: float
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RunEnded:
    """How a run ended: `status` (finished, failed or killed) at `end_time` (epoch seconds). When it
    had ended before (elsewhere, or marked killed), these are what the store holds."""

    id: str
    status: str
    end_time: float | None


@dataclass
class MetricPoint:
    """One point of a metric's history: `value` (NaN and +-inf as such) at integer `step`, logged at
    `timestamp` (epoch seconds)."""

    key: str
    value: float
    step: int
    timestamp: float


@dataclass
class ArtifactPublic:
    """A stored file: `uri` where it lives, its `sha256` (hex) and `size` (bytes), the run it belongs to."""

    name: str
    uri: str
    sha256: str
    size: int
    run_id: str | None = None


@dataclass
class RunPublic:
    """A run with everything logged to it. Times are epoch seconds (`end_time` None while running);
    `params` and `tags` are text, `metrics` each key's value at its highest step; `context` is the
    captured environment (host, pid, git commit, notebook path, code hashes, Python and packages);
    `datasets` the linked dataset versions as dicts (`name`, `version`, `role`, `fingerprint`, `id`)."""

    id: str
    name: str
    status: str
    experiment: str
    project: str
    user: str
    start_time: float
    end_time: float | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[ArtifactPublic] = field(default_factory=list)


RUN_TABLE_FIXED = ["run_id", "name", "status", "experiment", "user", "start_time", "end_time"]


@dataclass
class RunTable:
    """Runs found by a search, newest first: one dict per run with the keys of `RUN_TABLE_FIXED` (times in
    epoch seconds) plus MLflow-style `params.K`, `metrics.K` and `tags.K`; `title` says what was asked."""

    rows: list[dict[str, Any]]
    title: str = "Runs"

    def columns(self) -> list[str]:
        """The fixed columns, then metrics, params and tags, each sorted by name."""
        extra: dict[str, None] = {}
        for row in self.rows:
            for key in row:
                if key not in RUN_TABLE_FIXED:
                    extra.setdefault(key, None)
        ordered = sorted(extra, key=lambda k: (not k.startswith("metrics."), not k.startswith("params."), k))
        return RUN_TABLE_FIXED + ordered

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)


@dataclass(frozen=True)
class RunPage:
    """One page of a run search (tracking.search_run_page): `rows` as RunTable's rows (at most
    `limit`), `total` runs matching in all, the page starting after `offset` of them."""

    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int

    @property
    def page(self) -> int:
        """This page's number, from 1."""
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        """How many pages the matches fill (1 when there are none)."""
        return max(1, -(-self.total // self.limit))
