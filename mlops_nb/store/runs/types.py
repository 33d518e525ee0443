"""What a run store takes and gives: the `RunStore` interface and its plain records.

Two classes implement `RunStore` with the same methods: `PortableRunStore` (SQLAlchemy, any
database, or a caller's open transaction) and `sqlite_fast.FastRunStore` (raw sqlite3 on a SQLite
file). Both run the statements of `store.runs.statements`, so the SQL of each job exists once.
The store knows no rules: names are checked, ids and clocks read, and errors raised by the
services; where a rule needs what the store holds inside one transaction (params are immutable),
the service passes it in as a function.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

# one metric point as stored: (run_id, key, value (None for NaN), step, timestamp in epoch seconds)
MetricRow = tuple[str, str, float | None, int, float]
POINT_COLUMNS = ("run_id", "key", "value", "step", "timestamp")


def stored_float(value: float) -> float | None:
    """A metric value as stored: NaN as NULL (SQLite cannot hold NaN, and PostgreSQL would sort it
    above every number), other floats (+-inf included) as they are."""
    return None if math.isnan(value) else value


def loaded_float(value: float | None) -> float:
    """A stored metric value as read back: NULL is NaN."""
    return math.nan if value is None else float(value)

# the columns of a new run the caller gives (see RunStore.insert_run), besides its project and experiment
NEW_RUN_COLUMNS = ("id", "name", "user", "start_time", "heartbeat_at", "host", "pid", "git_commit", "git_dirty",
                   "notebook_path", "code_status", "code_hash", "cell_hashes", "cell_source", "python_version",
                   "packages")


class RunState(NamedTuple):
    """A run as the rules of logging need it: `name`, `status` (running, finished, failed, killed),
    `end_time` (epoch seconds, None while running) and `end_reason` ('stale' when a reader marked it
    killed for a stale heartbeat, else None)."""

    name: str
    status: str
    end_time: float | None
    end_reason: str | None = None


@dataclass(frozen=True)
class Condition:
    """One parsed search condition (services.tracking.filters): `kind` is metrics, params, tags,
    attributes or datasets; `key` the metric, param or tag name, one of search.ATTRIBUTES, or a
    dataset key (name, digest, context); `op` one of = != < <= > >= LIKE NOT LIKE ILIKE NOT ILIKE
    IN NOT IN IS NULL IS NOT NULL; `value` a float (metrics), an int (times, epoch milliseconds),
    a string, a tuple of strings (IN, NOT IN) or None (IS [NOT] NULL)."""

    kind: str
    key: str
    op: str
    value: Any


# what a search may be ordered by besides metrics and params: the run's attributes and its experiment's name
ORDER_ATTRIBUTES = ("start_time", "end_time", "name", "status", "user", "experiment")


@dataclass(frozen=True)
class RunOrder:
    """The order of a search: by `kind` attributes (`key` one of ORDER_ATTRIBUTES), metrics (the
    metric's latest value) or params (the param's text, compared as text), `descending` or not.
    Runs without the value come last either way; ties are broken newest first, then by run id."""

    kind: str
    key: str
    descending: bool = True


@dataclass(frozen=True)
class RunQuery:
    """A search: the runs of project `project_id` (of experiment `experiment` when given, of any of
    `experiments` when given) meeting every condition, in `order` (None: newest first), skipping the
    first `offset` and giving at most `limit` of them (None: all)."""

    project_id: int
    experiment: str | None = None
    conditions: tuple[Condition, ...] = ()
    limit: int | None = None
    experiments: tuple[str, ...] | None = None
    order: RunOrder | None = None
    offset: int = 0


# given the run's state (None: no such run) and the stored values of the keys being logged, the pairs
# to insert; raising refuses the whole write
ParamCheck = Callable[[RunState | None, Mapping[str, str]], Sequence[tuple[str, str]]]


class RunStore(Protocol):
    """Where runs, params, tags and metric points are written and searched.

    On an engine each write method is one committed transaction of its own (once it returns, a
    killed process loses nothing of it); on a caller's connection it joins the caller's transaction.
    A write that breaks a constraint (a point of a run that does not exist) raises the driver's
    IntegrityError (sqlite3's or SQLAlchemy's) and writes nothing.
    """

    def insert_run(self, *, project_id: int, experiment: str, values: Mapping[str, Any],
                   tags: Mapping[str, str]) -> bool:
        """Insert a running run with `values` (the NEW_RUN_COLUMNS: text, epoch seconds, `git_dirty` a
        bool or None, `packages` a dict) in experiment `experiment` of project `project_id`, and its
        `tags`, in one transaction. False, and nothing written, when the experiment does not exist."""
        ...

    def add_experiment(self, *, project_id: int, name: str, created_at: float) -> None:
        """Create experiment `name` in project `project_id` unless it exists (also when another process
        creates it at the same moment); `created_at` in epoch seconds."""
        ...

    def end_run(self, *, run_id: str, status: str, end_time: float) -> bool:
        """End run `run_id` with `status` at `end_time` (epoch seconds) if it is running, or was only
        marked killed by a reader for a stale heartbeat (an explicit end wins over that mark); True
        when it was, False (and nothing changed) when it had ended otherwise or does not exist."""
        ...

    def run_state(self, *, run_id: str) -> RunState | None:
        """The run's name, status and end time, or None when there is no such run."""
        ...

    def write_tags(self, *, run_id: str, tags: Mapping[str, str]) -> None:
        """Set `tags` on the run, replacing the values of keys it already has."""
        ...

    def write_params(self, *, run_id: str, values: Mapping[str, str], check: ParamCheck) -> None:
        """In one transaction: read the run's state and the stored values of these keys, let `check`
        say which (key, value) pairs to insert (it raises to refuse: nothing is written), insert them."""
        ...

    def write_metric_points(self, points: Sequence[MetricRow]) -> None:
        """Insert the points into the history and raise each key's latest value to its highest step
        (the last given among equal steps), in one transaction. `points` must not be empty."""
        ...

    def latest_steps(self, *, run_id: str, keys: Sequence[str]) -> dict[str, int]:
        """The highest step logged for each of `keys` that the run has (keys never logged are absent)."""
        ...

    def mark_stale_runs(self, *, cutoff: float) -> int:
        """Mark killed every running run whose heartbeat is older than `cutoff` (epoch seconds), with
        its last heartbeat as its end time; returns how many. One indexed read when none is stale."""
        ...

    def search_runs(self, query: RunQuery) -> list[dict[str, Any]]:
        """The runs `query` selects, newest first: per run a dict with `run_id`, `name`, `status`,
        `experiment`, `user`, `start_time`, `end_time` (epoch seconds), then `params.K` and `tags.K`
        (text) and `metrics.K` (each key's latest value, NaN as float('nan')), read in one snapshot."""
        ...

    def search_page(self, query: RunQuery) -> tuple[int, list[dict[str, Any]]]:
        """How many runs `query` selects when its offset and limit are left aside, and the runs of its
        page (as `search_runs` gives them), read in one snapshot. Only the page's runs have their
        params, metrics and tags read."""
        ...
