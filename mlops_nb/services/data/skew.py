"""The training/serving skew check: the same records through each feature the training way and the
serving way, compared value by value.

The training way is the definition version the model version names (feature_refs_for_version),
applied with this process's function of that source, or its stored source when the caller passes
`run_stored_source=True`. The serving way is either a frame the caller passes (`served`: the
features as the serving pipeline computed them, row for row with `records`) or the definitions as
this process defines them now. Numeric values are equal within rtol 1e-9 / atol 1e-12 (NaN equals
NaN), others exactly. Each feature that differs is one finding (rule `feature_skew`, severity
error) with the rows that differ, their share and up to five examples; a function that raises is a
`feature_error` finding. Nothing is stored: the check reads definitions and returns plain data.

The story it is for: a credit model trained with a seven-day average; production computes a
five-day one. Both are `avg_spend`; the check names it, with the rows and both values.

    result = skew_check(session=s, version_row=row, model_name="credit", records=applicants,
                        served=production_features)
    result.ok, [f.message for f in result.findings]
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.data import features as registry
from mlops_nb.services.data.feature_pipeline import ATOL, RTOL, apply_one, check_rows, find_function, skew_finding
from mlops_nb.services.data.feature_results import FeatureDefinitionPublic, SkewResult
from mlops_nb.services.data.results import Finding
from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.store.models import FeatureDefinition, RegisteredModel

if TYPE_CHECKING:
    import pandas as pd


def _serving_definition(session: Session, project_id: int, name: str, digest: str) -> FeatureDefinitionPublic:
    """The stored definition of `name` with source `digest`, else an unregistered one (version 0)."""
    row = session.execute(select(FeatureDefinition).where(
        col(FeatureDefinition.project_id) == project_id, col(FeatureDefinition.name) == name,
        col(FeatureDefinition.source_hash) == digest)).scalars().first()
    if row is not None:
        return registry.public(row)
    return FeatureDefinitionPublic(id=0, name=name, version=0, source="", source_hash=digest)


def _error(definition: FeatureDefinitionPublic, message: str, *, rule: str = "feature_skew",
           details: dict[str, Any] | None = None) -> Finding:
    return Finding(column=definition.name, rule=rule, severity="error", message=message,
                   details={"feature": definition.name, "training_version": definition.version, **(details or {})})


def _versions(training: FeatureDefinitionPublic, serving: FeatureDefinitionPublic) -> str:
    shown = f"v{serving.version}" if serving.version else f"an unregistered source {serving.source_hash[:12]}"
    return f"trained with v{training.version}, this process defines {shown}"


def skew_check(*, session: Session, version_row: Any, model_name: str, records: Any, served: Any = None,
               run_stored_source: bool = False, rtol: float = RTOL, atol: float = ATOL) -> SkewResult:
    """Compute each feature model version `version_row` (a ModelVersion of model `model_name`) was
    trained with on `records`, the training way and the serving way (`served`, a frame row for row
    with `records`, else this process's definitions), and name every feature that differs.

    Raises:
        InvalidInput: `records` is not a DataFrame with rows; `served` is not a DataFrame of as many rows.
        NotFound, IntegrityFailure, Conflict: as feature_refs_for_version.
    """
    import pandas as pd

    check_rows(records, "of the skew check")
    if served is not None and (not isinstance(served, pd.DataFrame) or len(served) != len(records)):
        got = f"{len(served)} rows" if isinstance(served, pd.DataFrame) else type(served).__name__
        raise InvalidInput(f"served must be a DataFrame with one row per record ({len(records)} rows), got {got}")
    definitions = registry.feature_refs_for_version(session=session, version_row=version_row)
    model = session.get(RegisteredModel, version_row.model_id)
    assert model is not None  # model_version.model_id is a foreign key
    findings: list[Finding] = []
    if not definitions:
        findings.append(Finding(column=None, rule="feature_skew", severity="warning",
                                message=f"model {model_name!r} v{version_row.version} names no feature definitions: "
                                        "there is nothing to compare (register it with features=[...])"))
    for definition in definitions:
        findings.extend(_check_one(session, model.project_id, definition, records, served, run_stored_source,
                                   rtol, atol))
    return SkewResult(ok=not any(f.severity == "error" for f in findings), findings=findings, model=model_name,
                      version=version_row.version, rows=len(records), features=[d.ref for d in definitions],
                      serving="served frame" if served is not None else "this process's definitions")


def _check_one(session: Session, project_id: int, definition: FeatureDefinitionPublic, records: pd.DataFrame,
               served: pd.DataFrame | None, run_stored_source: bool, rtol: float, atol: float) -> list[Finding]:
    """The findings for one feature (none when the two ways agree)."""
    import pandas as pd

    now = registry.defined_now(definition.name)
    try:
        function = find_function(definition, run_stored_source=run_stored_source)
        training = apply_one(definition, function, records)
    except (Conflict, NotFound) as err:  # the training way cannot be computed here: the finding says why
        serving_def = _serving_definition(session, project_id, definition.name, now[0]) if now else None
        extra = {"serving_version": serving_def.version or None} if serving_def else {}
        return [_error(definition, f"{err}; pass run_stored_source=True to compare the values", details=extra)]
    except InvalidInput as err:
        return [_error(definition, f"training way: {err}", rule="feature_error")]
    if served is not None:
        found: list[Finding] = []
        for column, values in training.items():
            if column not in served.columns:
                found.append(_error(definition, f"feature {definition.label}: the served frame has no column "
                                                f"{column!r}", details={"column": column}))
                continue
            serving = pd.Series(served[column].to_numpy(), index=records.index)
            finding = skew_finding(definition, column, values, serving, how="the served value", rtol=rtol, atol=atol,
                                   details={"training_version": definition.version})
            if finding is not None:
                found.append(finding)
        return found
    if now is None:
        return [_error(definition, f"feature {definition.label} is not defined in this process, so there is no "
                                   "serving way to compare with: define it, or pass served= (the features as "
                                   "serving computed them)")]
    digest, current = now
    if digest == definition.source_hash:
        return []  # the same source: the serving way is the training way
    serving_def = _serving_definition(session, project_id, definition.name, digest)
    versions = {"training_version": definition.version, "serving_version": serving_def.version or None,
                "serving_source_hash": digest}
    try:
        serving_columns = apply_one(serving_def, current, records)
    except InvalidInput as err:
        return [_error(definition, f"serving way: {err}", rule="feature_error", details=versions)]
    found = []
    for column, values in training.items():
        if column not in serving_columns:
            found.append(_error(definition, f"feature {definition.name!r} ({_versions(definition, serving_def)}): "
                                            f"the serving definition no longer produces column {column!r}",
                                details=versions))
            continue
        finding = skew_finding(definition, column, values, serving_columns[column],
                               how=f"this process's definition ({_versions(definition, serving_def)})",
                               rtol=rtol, atol=atol, details=versions)
        if finding is not None:
            found.append(finding)
    return found
