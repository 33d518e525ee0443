"""The small typed objects the API returns: readable as text, rich in a notebook, frames on demand."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_nb.services.rendering import (
    DisplayTable,
    format_time,
    key_value_html,
    key_value_text,
)


class Displayable:
    """Gives `_repr_mimebundle_` from `_pairs()` (one record) — tables override both reprs."""

    _title = ""

    def _pairs(self) -> list[tuple[str, Any]]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return key_value_text(self._title, self._pairs())

    def _repr_html_(self) -> str:
        return key_value_html(self._title, self._pairs())

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


@dataclass(repr=False)
class MetricPoint(Displayable):
    key: str
    value: float
    step: int
    timestamp: float

    @property
    def _title(self) -> str:
        return f"Metric {self.key}"

    def _pairs(self):
        return [("value", self.value), ("step", self.step), ("time", format_time(self.timestamp))]


@dataclass(repr=False)
class ArtifactPublic(Displayable):
    name: str
    uri: str
    sha256: str
    size: int
    run_id: str | None = None

    @property
    def _title(self) -> str:
        return f"Artifact {self.name}"

    def _pairs(self):
        return [("uri", self.uri), ("sha256", self.sha256), ("size", self.size), ("run", self.run_id)]


@dataclass(repr=False)
class DatasetVersionPublic(Displayable):
    id: int
    name: str
    version: int
    fingerprint: str
    rows: int
    columns: int
    schema: dict
    profile: dict = field(repr=False, default_factory=dict)
    created_by: str = ""
    created_at: float = 0.0
    sample_uri: str | None = None
    sample_sha256: str | None = None

    @property
    def _title(self) -> str:
        return f"Dataset {self.name} v{self.version}"

    def _pairs(self):
        cols = ", ".join(f"{c['name']}:{c['dtype']}" for c in self.schema.get("columns", []))
        return [("fingerprint", self.fingerprint), ("rows", self.rows), ("columns", self.columns),
                ("schema", cols), ("by", self.created_by), ("created", format_time(self.created_at))]


@dataclass(repr=False)
class RunPublic(Displayable):
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

    @property
    def _title(self) -> str:
        return f"Run {self.name} ({self.id}) · {self.status}"

    def _pairs(self):
        pairs: list[tuple[str, Any]] = [
            ("experiment", f"{self.project}/{self.experiment}"), ("user", self.user),
            ("started", format_time(self.start_time)), ("ended", format_time(self.end_time))]
        pairs += [(f"param {k}", v) for k, v in sorted(self.params.items())]
        pairs += [(f"metric {k}", v) for k, v in sorted(self.metrics.items())]
        pairs += [(f"tag {k}", v) for k, v in sorted(self.tags.items())]
        pairs += [(f"dataset ({d['role']})", f"{d['name']} v{d['version']}") for d in self.datasets]
        pairs += [(f"artifact {a.name}", a.uri) for a in self.artifacts]
        return pairs

    # the API's `with start_run(...) as run:` needs these; they are bound by the API layer
    _on_exit: Any = field(default=None, repr=False, compare=False)

    def __enter__(self) -> "RunPublic":
        return self

    @classmethod
    def deferred(cls, load, **known) -> "RunPublic":
        """A Run whose `known` fields are set now and whose other fields (params, metrics, tags,
        context, datasets, artifacts) are read with `load()` (a full RunPublic) on first access: what
        `end_run` returns, so a loop of runs does not pay a full read per run it never looks at."""
        run = cls.__new__(cls)
        run.__dict__.update(known)
        run.__dict__["_load"] = load
        return run

    def __getattr__(self, name: str) -> Any:  # only reached for a deferred Run's fields not read yet
        load = self.__dict__.get("_load")
        if load is None or name not in _DEFERRED_FIELDS:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        full = load()
        del self.__dict__["_load"]
        for key in _DEFERRED_FIELDS:
            self.__dict__.setdefault(key, getattr(full, key))
        return self.__dict__[name]

    def __getstate__(self) -> dict[str, Any]:
        for key in _DEFERRED_FIELDS:  # a pickled or copied Run carries its values, not the loader
            getattr(self, key)
        return {k: v for k, v in self.__dict__.items() if k != "_load"}

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._on_exit is not None:
            self._on_exit(self, exc_type)


_DEFERRED_FIELDS = ("id", "name", "status", "experiment", "project", "user", "start_time", "end_time",
                    "params", "metrics", "tags", "context", "datasets", "artifacts")


RUN_TABLE_FIXED = ["run_id", "name", "status", "experiment", "user", "start_time", "end_time"]


@dataclass(repr=False)
class RunTable(DisplayTable):
    """Runs as rows, MLflow-style columns: `params.K`, `metrics.K`, `tags.K`."""

    rows: list[dict[str, Any]]
    title: str = "Runs"

    def columns(self) -> list[str]:
        extra: dict[str, None] = {}
        for row in self.rows:
            for key in row:
                if key not in RUN_TABLE_FIXED:
                    extra.setdefault(key, None)
        ordered = sorted(extra, key=lambda k: (not k.startswith("metrics."), not k.startswith("params."), k))
        return RUN_TABLE_FIXED + ordered

    def to_frame(self):
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=self.columns())
        for col in ("start_time", "end_time"):
            frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
        return frame

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def _display(self, limit: int = 50):
        cols = [c for c in self.columns() if c not in ("experiment", "end_time")]
        rows = [[format_time(row.get(c)) if c == "start_time" else row.get(c) for c in cols]
                for row in self.rows[:limit]]
        return cols, rows, f"{self.title} ({len(self.rows)})"
