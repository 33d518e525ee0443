"""Runs, run tables, metric points, artifacts and dataset versions as a notebook shows them."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.format import ShortId, format_time
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.tracking.results import ArtifactPublic, MetricPoint, RunPublic, RunTable


@displays(MetricPoint)
class MetricPointView(Displayable, MetricPoint):
    """A metric point: value, step and time."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Metric {self.key}"

    def _pairs(self) -> list[tuple[str, Any]]:
        return [("value", self.value), ("step", self.step), ("time", format_time(self.timestamp))]


@displays(ArtifactPublic)
class ArtifactView(Displayable, ArtifactPublic):
    """An artifact: where it is, its hash and size."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Artifact {self.name}"

    def _pairs(self) -> list[tuple[str, Any]]:
        return [("uri", self.uri), ("sha256", self.sha256), ("size", self.size), ("run", self.run_id)]


@displays(DatasetVersionPublic)
class DatasetVersionView(Displayable, DatasetVersionPublic):
    """A dataset version: fingerprint, shape, schema, who logged it and when."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Dataset {self.name} v{self.version}"

    def _pairs(self) -> list[tuple[str, Any]]:
        cols = ", ".join(f"{c['name']}:{c['dtype']}" for c in self.schema.get("columns", []))
        return [("fingerprint", self.fingerprint), ("rows", self.rows), ("columns", self.columns),
                ("schema", cols), ("by", self.created_by), ("created", format_time(self.created_at))]


_DEFERRED_FIELDS = ("id", "name", "status", "experiment", "project", "user", "start_time", "end_time",
                    "params", "metrics", "tags", "context", "datasets", "artifacts")


@displays(RunPublic)
class RunView(Displayable, RunPublic):
    """A run as the API returns it: a record, and a context manager (`with start_run(...) as run:`)
    whose exit the API binds with `_on_exit`."""

    _on_exit: Callable[[RunView, type[BaseException] | None], None] | None = None

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Run {self.name} ({self.id}) · {self.status}"

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [
            ("experiment", f"{self.project}/{self.experiment}"), ("user", self.user),
            ("started", format_time(self.start_time)), ("ended", format_time(self.end_time))]
        pairs += [(f"param {k}", v) for k, v in sorted(self.params.items())]
        pairs += [(f"metric {k}", v) for k, v in sorted(self.metrics.items())]
        pairs += [(f"tag {k}", v) for k, v in sorted(self.tags.items())]
        pairs += [(f"dataset ({d['role']})", f"{d['name']} v{d['version']}") for d in self.datasets]
        pairs += [(f"artifact {a.name}", a.uri) for a in self.artifacts]
        return pairs

    def __enter__(self) -> RunView:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if self._on_exit is not None:
            self._on_exit(self, exc_type)

    @classmethod
    def deferred(cls, load: Callable[[], RunPublic], **known: Any) -> RunView:
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


@displays(RunTable)
class RunTableView(DisplayTable, RunTable):
    """Runs as rows, MLflow-style columns: `params.K`, `metrics.K`, `tags.K`; `.to_frame()` a DataFrame."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per run, `start_time` and `end_time` as UTC timestamps."""
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=self.columns())
        for col in ("start_time", "end_time"):
            frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        """Columns and rows as shown: no experiment (the title names it) or end time, the start time
        as text, the run id short in HTML (full as its tooltip, and in text and `to_frame()`)."""
        cols = [c for c in self.columns() if c not in ("experiment", "end_time")]
        rows = [[_shown(c, row.get(c)) for c in cols] for row in self.rows[:limit]]
        return cols, rows, f"{self.title} ({len(self.rows)})"


def _shown(column: str, value: Any) -> Any:
    if column == "start_time":
        return format_time(value)
    if column == "run_id" and value is not None:
        return ShortId(str(value))
    return value
