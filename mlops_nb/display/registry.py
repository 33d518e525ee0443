"""Model versions, model tables and loaded models as a notebook shows them."""
from __future__ import annotations

from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.format import ShortId, format_time
from mlops_nb.services.registry.lineage import code_verdict
from mlops_nb.services.registry.results import MODEL_COLUMNS, ModelTable, ModelVersionPublic, TrustList
from mlops_nb.services.registry.scoring import ScoringModel


def code_words(code: dict[str, Any]) -> str | None:
    """The version's code lineage in words (registry.code_verdict), None when nothing was kept."""
    return code_verdict(code)[1] if code else None


def code_file(code: dict[str, Any]) -> str | None:
    """'PATH (STATUS in git)': the notebook or script the code came from, None when unknown."""
    path = code.get("notebook_path")
    if not path:
        return None
    status = code.get("code_status")
    return f"{path} ({status})" if status else str(path)


@displays(ModelVersionPublic)
class ModelVersionView(Displayable, ModelVersionPublic):
    """A version with its lineage: run, dataset, target, signature, artifact, code, environment, metrics."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Model {self.name} v{self.version} · {self.stage}"

    def _pairs(self) -> list[tuple[str, Any]]:
        dataset = f"{self.dataset.name} v{self.dataset.version}" if self.dataset else None
        inputs = self.input_columns
        packages = (self.env or {}).get("packages", {})
        code = self.code or {}
        pairs: list[tuple[str, Any]] = [
            ("run", self.run_id), ("dataset", dataset), ("target", self.target),
            ("inputs", f"{len(inputs)} columns: {', '.join(inputs)}" if inputs else None),
            ("outputs", ", ".join(k for k in (self.signature or {}).get("outputs", {}) if k != "classes")),
            ("artifact", self.artifact_uri), ("sha256", self.sha256),
            ("features", ", ".join(f"{f['name']} v{f['version']}" if f.get("version") else str(f["name"])
                                   for f in self.features) or None),
            ("code", code_words(code)),
            ("code file", code_file(code)),
            ("python", (self.env or {}).get("python")),
            ("packages", ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))),
            ("by", self.created_by), ("created", format_time(self.created_at))]
        pairs += [(f"metric {k}", v) for k, v in sorted(self.metrics.items())]
        pairs += [(f"trusted {t.type}", f"by {t.trusted_by} ({t.role}), {format_time(t.trusted_at)}: {t.reason}")
                  for t in self.trust]
        return pairs


@displays(TrustList)
class TrustListView(DisplayTable, TrustList):
    """The types trusted for a model's files, one row each: type, by, role, when, why."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per trusted type, `trusted_at` as UTC timestamps."""
        import pandas as pd

        frame = pd.DataFrame([vars(r) for r in self.rows],
                             columns=["type", "trusted_by", "role", "reason", "trusted_at"])
        frame["trusted_at"] = pd.to_datetime(frame["trusted_at"], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        cols = ["type", "trusted_by", "role", "trusted_at", "reason"]
        rows = [[r.type, r.trusted_by, r.role, format_time(r.trusted_at), r.reason] for r in self.rows[:limit]]
        return cols, rows, f"Types trusted for {self.model} ({len(self.rows)})"


@displays(ModelTable)
class ModelTableView(DisplayTable, ModelTable):
    """Registered models, or one model's versions; `.to_frame()` a DataFrame."""

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per model or version, times as UTC timestamps."""
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=self.columns())
        for col in ("created_at", "updated_at"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
        return frame

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        """Columns and rows as shown: times as text, the run id and sha256 short in HTML (full as
        tooltip) and whole in text."""
        cols = self.columns()
        rows = [[_shown(c, row.get(c)) for c in cols] for row in self.rows[:limit]]
        return cols, rows, f"{self.title} ({len(self.rows)})"


def _shown(column: str, value: Any) -> Any:
    if column in ("created_at", "updated_at"):
        return format_time(value)
    if column in ("run_id", "sha256") and value:
        return ShortId(str(value)) if column == "run_id" else ShortId(str(value), 12, whole_in_text=False)
    return value


@displays(ScoringModel)
class ScoringModelView(Displayable, ScoringModel):
    """A loaded model: its estimator, hash, run and any environment differences."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"Scoring model {self.name} v{self.version} · {self.stage}"

    def _pairs(self) -> list[tuple[str, Any]]:
        pairs: list[tuple[str, Any]] = [("estimator", type(self.estimator).__name__),
                                        ("sha256", self.info.sha256), ("run", self.info.run_id)]
        pairs += [("environment differs", m) for m in self.env_mismatches]
        return pairs


__all__ = ["MODEL_COLUMNS", "ModelTableView", "ModelVersionView", "ScoringModelView", "TrustListView"]
