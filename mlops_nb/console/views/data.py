"""The Data page: what the project's models were trained on and what they are fed, in three tabs.

- Dataset versions: each with its schema, profile and the validations recorded against it (and the
  findings of the one picked).
- Feature definitions: each feature's versions, the model versions that name each, a version's
  source as text and what changed against the version before (a unified diff). The console never
  runs a feature's code: source is shown with st.code, nothing more.
- Scoring batches: recent batches across the project's models, filtered by model and status, a
  summary per model version, and a batch's findings, input and prediction profiles and outcomes.

Reads go through `data` (cached, keyed by the store's stamp, with a short time-to-live: data is not
audited). The page changes nothing; every role sees it.
"""
from __future__ import annotations

import difflib
from typing import Any

import pandas as pd
import streamlit as st

from mlops_nb.console import auth, data, links, ui

LOG_HINT = '''import mlops_nb as mlops

with mlops.start_run(experiment="credit"):
    mlops.log_dataset(train, name="german", role="train")
report = mlops.validate(batch, against="german")      # recorded against german's newest version'''
STATUS_COLOURS = {"accepted": "#d3f2dc", "warned": "#fdeccc", "refused": "#f9d4d2", "failed": "#e3e3e8"}
BATCH_STATUSES = ("accepted", "warned", "refused", "failed")


def _number(value: Any, digits: int = 3) -> str:
    """A statistic as short text: '' for none, whole numbers as such (1,169), others from 100 up to one
    decimal (2,971.3), below to `digits` significant places (0.0652)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, int)) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.{digits}g}"
    return str(value)


def _values(mapping: dict[str, Any], limit: int = 4) -> str:
    """{"a": 1, "b": 0.5} as 'a 1 · b 0.5', the first `limit` pairs."""
    text = " · ".join(f"{k} {_number(v)}" for k, v in list(mapping.items())[:limit])
    return text + (" …" if len(mapping) > limit else "")


def _findings(findings: list[dict[str, Any]]) -> None:
    """Findings as a table: column, rule, severity, message, examples (all shown as text)."""
    if not findings:
        st.caption("No findings: the frame met its contract.")
        return
    st.dataframe(pd.DataFrame({
        "Column": [f.get("column") or "(frame)" for f in findings],
        "Rule": [f.get("rule") for f in findings],
        "Severity": [f.get("severity") for f in findings],
        "Message": [f.get("message") for f in findings],
        "Examples": [", ".join(map(str, f.get("examples") or [])) for f in findings],
    }), hide_index=True, height=ui.table_height(len(findings)), width="stretch")


# --- Dataset versions ---

def _schema(version: Any) -> None:
    columns = version.schema.get("columns", [])
    st.dataframe(pd.DataFrame({
        "Column": [c["name"] for c in columns],
        "dtype": [c.get("dtype") for c in columns],
        "Kind": [c.get("kind") for c in columns],
        "Nullable": [bool(c.get("nullable")) for c in columns],
        "Categories or range": [_categories_or_range(c, version.profile.get(c["name"], {})) for c in columns],
    }), hide_index=True, height=ui.table_height(len(columns)), width="stretch")


def _categories_or_range(column: dict[str, Any], stats: dict[str, Any]) -> str:
    if column.get("categories") is not None:
        levels = [str(v) for v in column["categories"]]
        return ", ".join(levels[:6]) + (f" … ({len(levels)})" if len(levels) > 6 else "")
    if "min" in stats:
        return f"{_number(stats['min'])} to {_number(stats['max'])}"
    return ""


def _profile(version: Any) -> None:
    profile = version.profile
    names = [c["name"] for c in version.schema.get("columns", [])] or list(profile)
    stats = [profile.get(n, {}) for n in names]
    st.dataframe(pd.DataFrame({
        "Column": names,
        "Null rate": [f"{s.get('null_rate', 0):.1%}" for s in stats],
        "Min": [_number(s.get("min")) for s in stats],
        "Max": [_number(s.get("max")) for s in stats],
        "Mean": [_number(s.get("mean")) for s in stats],
        "Top values": [_values(s.get("top") or {}, 3) for s in stats],
    }), hide_index=True, height=ui.table_height(len(names)), width="stretch")


def _validations(reports: list[dict[str, Any]]) -> None:
    if not reports:
        st.caption("No validation recorded against this version yet: `mlops.validate(df, against=...)` records one.")
        return
    event = st.dataframe(pd.DataFrame({
        "Subject": [r["subject"] for r in reports],
        "OK": [r["ok"] for r in reports],
        "Errors": [r["errors"] for r in reports],
        "Warnings": [r["warnings"] for r in reports],
        "Rows": [r["rows"] for r in reports],
        "By": [r["created_by"] for r in reports],
        "When": [ui.when(r["created_at"]) for r in reports],
    }), hide_index=True, on_select="rerun", selection_mode="single-row", key="data.validations_table",
        height=ui.table_height(len(reports)), width="stretch")
    ids = [r["id"] for r in reports]
    ui.pick_from_table(event, ids, "data.validation")
    ui.keep_choice(ids, "data.validation")
    labels = {r["id"]: f"#{r['id']} · {r['subject']} · {'ok' if r['ok'] else 'failed'} · {ui.when(r['created_at'])}"
              for r in reports}
    chosen = st.selectbox("Validation", ids, key="data.validation", format_func=labels.__getitem__)
    _findings(next(r for r in reports if r["id"] == chosen)["findings"])


def _datasets(project_id: int) -> None:
    rows = data.dataset_versions(project_id)
    if not rows:
        st.info("No dataset logged in this project yet. Log one from a notebook, inside a run:")
        st.code(LOG_HINT, language="python")
        return
    event = st.dataframe(pd.DataFrame({
        "Dataset": [r["name"] for r in rows],
        "Version": [f"v{r['version']}" for r in rows],
        "Rows": [r["rows"] for r in rows],
        "Columns": [r["columns"] for r in rows],
        "Fingerprint": [r["fingerprint"][:12] for r in rows],
        "Logged by": [r["created_by"] for r in rows],
        "When": [ui.when(r["created_at"]) for r in rows],
        "Validations": [r["validations"] for r in rows],
    }), hide_index=True, on_select="rerun", selection_mode="single-row", key="data.datasets_table",
        height=ui.table_height(len(rows)), width="stretch")
    ids = [r["id"] for r in rows]
    ui.pick_from_table(event, ids, "data.dataset")
    ui.keep_choice(ids, "data.dataset")
    labels = {r["id"]: f"{r['name']} v{r['version']}" for r in rows}
    chosen = st.selectbox("Dataset version", ids, key="data.dataset", format_func=labels.__getitem__)
    found = ui.attempt(lambda: data.dataset_detail(project_id, chosen))
    if found is None:
        return
    version, reports = found["version"], found["validations"]
    st.caption(f"{ui.plain(labels[chosen])}: {version.rows:,} rows × {version.columns} columns, logged by "
               f"{ui.plain(version.created_by)} on {ui.when(version.created_at)} · fingerprint {version.fingerprint}")
    schema_tab, profile_tab, validations_tab = st.tabs(["Schema", "Profile", f"Validations ({len(reports)})"])
    with schema_tab:
        _schema(version)
    with profile_tab:
        _profile(version)
    with validations_tab:
        _validations(reports)


# --- Feature definitions ---

def diff_text(before: str, after: str, old: str, new: str) -> str:
    """The unified diff from source `before` (labelled `old`) to `after` (`new`); '' when equal."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=old, tofile=new))


def _used(names: list[str]) -> str:
    return ", ".join(names) if names else "—"


def _features(project_id: int) -> None:
    catalog = data.feature_catalog(project_id)
    if not catalog:
        st.info("No feature defined in this project yet. Decorate a function with `@mlops.feature` and call it "
                "inside a run; the model registered in that run names the version it used.")
        return
    event = st.dataframe(pd.DataFrame({
        "Feature": [f["name"] for f in catalog],
        "Versions": [len(f["versions"]) for f in catalog],
        "Newest": [f"v{f['newest'].version}" for f in catalog],
        "Source hash": [f["newest"].source_hash[:12] for f in catalog],
        "Defined by": [f["newest"].created_by for f in catalog],
        "When": [ui.when(f["newest"].created_at) for f in catalog],
        "Models using it": [_used([f"{m} (v{n} of the feature)" for n, ms in f["used_by"].items() for m in ms])
                            for f in catalog],
    }), hide_index=True, on_select="rerun", selection_mode="single-row", key="data.features_table",
        height=ui.table_height(len(catalog)), width="stretch")
    names = [f["name"] for f in catalog]
    ui.pick_from_table(event, names, "data.feature")
    ui.keep_choice(names, "data.feature")
    name_col, version_col = st.columns(2)
    name = name_col.selectbox("Feature", names, key="data.feature")
    feature = next(f for f in catalog if f["name"] == name)
    versions = feature["versions"]
    numbers = [d.version for d in versions]
    version_key = f"data.feature_version.{name}"
    ui.keep_choice(numbers, version_key, default=numbers[-1])
    number = version_col.selectbox("Version", numbers, key=version_key, format_func=lambda n: f"v{n}")
    st.dataframe(pd.DataFrame({
        "Version": [f"v{d.version}" for d in versions],
        "Source hash": [d.source_hash[:12] for d in versions],
        "Model versions naming it": [_used(feature["used_by"].get(d.version, [])) for d in versions],
        "Defined by": [d.created_by for d in versions],
        "When": [ui.when(d.created_at) for d in versions],
        "Outputs": [", ".join(d.outputs) for d in versions],
        "Function": [d.function for d in versions],
    }), hide_index=True, height=ui.table_height(len(versions)), width="stretch")
    chosen = next(d for d in versions if d.version == number)
    source_col, diff_col = st.columns(2)
    with source_col:
        st.markdown(f"**Source of v{chosen.version}** (shown, never run) · sha256 `{chosen.source_hash[:16]}`")
        st.code(chosen.source, language="python", wrap_lines=True)
    with diff_col:
        before = next((d for d in reversed(versions) if d.version < chosen.version), None)
        if before is None:
            st.markdown("**What changed**")
            st.caption("The first version: nothing before it to compare.")
        else:
            st.markdown(f"**What changed** from v{before.version} to v{chosen.version}")
            st.code(diff_text(before.source, chosen.source, f"{name} v{before.version}", f"{name} v{chosen.version}")
                    or "(the same text)", language="diff", wrap_lines=True)


# --- Scoring batches ---

def _status_style(value: Any) -> str:
    colour = STATUS_COLOURS.get(str(value))
    return f"background-color: {colour}" if colour else ""


HEADLINE_METRICS = ("roc_auc", "accuracy", "rmse", "mae")  # realised metrics a summary names first


def _outcome_text(outcome: dict[str, Any] | None) -> str:
    """The business metrics of an outcome, then its headline realised metrics: 'default_rate 0.065 · roc_auc 0.81'."""
    if not outcome:
        return "—"
    realised = outcome["metrics"]
    return _values({**outcome["business"], **{k: realised[k] for k in HEADLINE_METRICS if k in realised}}, 3)


def _summaries(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    st.markdown("**Per version**")
    st.dataframe(pd.DataFrame({
        "Model": [r["model"] for r in rows],
        "Version": [f"v{r['version']}" for r in rows],
        "Batches": [r["batches"] for r in rows],
        "Rows": [r["rows"] for r in rows],
        "Refused": [f"{r['refused_share']:.0%}" for r in rows],
        "Latency p50 ms": [_number(r["latency_p50_ms"]) for r in rows],
        "Latency p95 ms": [_number(r["latency_p95_ms"]) for r in rows],
        "Last batch": [ui.when(r["last_batch_at"]) for r in rows],
        "Last outcome": [_outcome_text(r["last_outcome"]) for r in rows],
    }), hide_index=True, height=ui.table_height(len(rows)), width="stretch")


def _input_profile(profile: dict[str, Any]) -> None:
    names = list(profile)
    stats = [profile[n] for n in names]
    st.dataframe(pd.DataFrame({
        "Column": names,
        "dtype": [s.get("dtype") for s in stats],
        "Nulls": [s.get("nulls", 0) for s in stats],
        "Mean": [_number(s.get("mean")) for s in stats],
        "Min": [_number(s.get("min")) for s in stats],
        "Max": [_number(s.get("max")) for s in stats],
        "Top values": [_values(s.get("top") or {}, 2) for s in stats],
    }), hide_index=True, height=ui.table_height(len(names)), width="stretch")


def _prediction_profile(profile: dict[str, Any]) -> None:
    if not profile:
        st.caption("No predictions: the batch was not scored.")
        return
    shown = {k: v for k, v in profile.items() if not isinstance(v, (list, dict))}
    quantiles = profile.get("quantiles")
    if isinstance(quantiles, list) and quantiles:
        shown["p5 / p50 / p95"] = " / ".join(_number(quantiles[i]) for i in (0, len(quantiles) // 2, -1))
    for key in ("classes", "counts"):
        if isinstance(profile.get(key), (list, dict)):
            shown[key] = str(profile[key])
    st.dataframe(pd.DataFrame({"Statistic": list(shown), "Value": [_number(v) if not isinstance(v, str) else v
                                                                   for v in shown.values()]}),
                 hide_index=True, height=ui.table_height(len(shown)), width="stretch")
    histogram = profile.get("histogram")
    if isinstance(histogram, list) and histogram:
        edges = [f"{i / len(histogram):.1f}" for i in range(len(histogram))]
        st.bar_chart(pd.DataFrame({"batch rows": histogram}, index=edges), height=140, x_label="probability",
                     y_label="rows")


def _outcomes(outcomes: list[dict[str, Any]]) -> None:
    if not outcomes:
        st.caption("No outcomes logged for this batch yet: `mlops.log_outcomes(name, predictions_id=..., "
                   "outcomes=...)` records them.")
        return
    st.dataframe(pd.DataFrame({
        "When": [ui.when(o["created_at"]) for o in outcomes],
        "Rows joined": [o["rows"] for o in outcomes],
        "Realised metrics": [_values(o["metrics"], 5) for o in outcomes],
        "Business metrics": [_values(o["business"], 5) for o in outcomes],
        "By": [o["created_by"] for o in outcomes],
    }), hide_index=True, height=ui.table_height(len(outcomes)), width="stretch")


def _batch(project_id: int, batch_id: str) -> None:
    found = ui.attempt(lambda: data.batch_detail(project_id, batch_id))
    if found is None:
        return
    st.caption(f"Batch {found['id']} · {ui.plain(found['model'])} v{found['version']} ({found['stage']}) · "
               f"{found['method']} · {found['status']} · {found['rows']:,} rows · by {ui.plain(found['created_by'])} "
               f"on {ui.when(found['created_at'])}")
    findings_tab, inputs_tab, predictions_tab, outcomes_tab = st.tabs(
        [f"Findings ({found['findings']})", "Input profile", "Predictions", f"Outcomes ({len(found['outcomes'])})"])
    with findings_tab:
        _findings(found["findings_list"])
    with inputs_tab:
        _input_profile(found["input_profile"])
    with predictions_tab:
        _prediction_profile(found["prediction_profile"])
    with outcomes_tab:
        _outcomes(found["outcomes"])


def _batches(project_id: int) -> None:
    models = data.model_names(project_id)
    model_col, status_col = st.columns(2)
    model = model_col.selectbox("Model", ["All models", *models], key="data.batch_model")
    status = status_col.selectbox("Status", ["Any status", *BATCH_STATUSES], key="data.batch_status")
    chosen_model = None if model == "All models" else model
    rows = ui.attempt(lambda: data.project_batches(project_id, model=chosen_model,
                                                   status=None if status == "Any status" else status))
    if rows is None:
        return
    if not rows:
        st.info("No scoring batch recorded here yet. Each call of a model that `mlops.load_model` returned is "
                "one: validated, scored and recorded.")
        return
    frame = pd.DataFrame({
        "Model": [r["model"] for r in rows],
        "Version": [f"v{r['version']}" for r in rows],
        "Stage": [r["stage"] for r in rows],
        "Status": [r["status"] for r in rows],
        "Rows": [r["rows"] for r in rows],
        "Latency ms": [f"{r['latency_ms']:,.1f}" if r["latency_ms"] is not None else "—" for r in rows],
        "Findings": [r["findings"] for r in rows],
        "When": [ui.when(r["created_at"]) for r in rows],
        "Batch": [r["id"][:8] for r in rows],
    })
    event = st.dataframe(frame.style.map(_status_style, subset=["Status"]), hide_index=True, on_select="rerun",
                         selection_mode="single-row", key="data.batches_table", height=ui.table_height(len(rows)),
                         width="stretch")
    _summaries(ui.attempt(lambda: data.version_summaries(project_id, chosen_model)) or [])
    ids = [r["id"] for r in rows]
    labels = {r["id"]: f"{r['model']} v{r['version']} · {r['status']} · {r['rows']:,} rows · {ui.when(r['created_at'])}"
                       f" · {r['id'][:8]}" for r in rows}
    linked = st.session_state.get("data.linked_batch")  # a batch a link opened, older than the table's rows
    if linked and linked not in ids:
        ids.append(linked)
        labels[linked] = f"batch {linked[:8]} (opened from a link)"
    ui.pick_from_table(event, ids, "data.batch")
    ui.keep_choice(ids, "data.batch")
    batch_id = st.selectbox("Batch", ids, key="data.batch", format_func=labels.__getitem__)
    if batch_id != linked:  # the linked batch stays a choice only while it is the one shown
        st.session_state.pop("data.linked_batch", None)
    _batch(project_id, batch_id)


def render() -> None:
    """The page."""
    st.title("Data")
    identity = auth.current_identity()
    project = data.project()
    if project is None or identity is None:
        st.info("No project yet. Log a dataset from a notebook:")
        st.code(LOG_HINT, language="python")
        return
    links.preselect_data(project["id"])  # a link to a dataset version, validation or batch opens it
    # keyed, so a link can open its tab (links.DATA_TABS); every tab is still drawn
    datasets_tab, features_tab, batches_tab = st.tabs(list(links.DATA_TABS), key="data.tab", on_change="rerun")
    with datasets_tab:
        _datasets(project["id"])
    with features_tab:
        _features(project["id"])
    with batches_tab:
        _batches(project["id"])


if __name__ == "__main__":
    render()
