"""The Registry page: the project's models, a model's versions and stage history (who was champion
when), a version's lineage (run, training data, params, metrics, code, environment, trust), and
rolling production back with a reason.

Reads go through `data` (cached, keyed by the store's stamp); the rollback goes through
`data.rollback`, which calls the governance service with the logged-in identity: the button is only
offered to roles that may roll back, and the service refuses anyone else with an error box.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mlops_nb.console import auth, data, links, ui

REGISTER_HINT = '''import mlops_nb as mlops

with mlops.start_run(experiment="credit"):
    mlops.log_dataset(train, name="german", role="train")
    mlops.register_model(pipe, name="credit-risk", dataset="german", target="creditability")'''


def _version_label(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and pd.isna(v)) else f"v{int(v)}"


def _models_table(rows: list[dict[str, Any]]) -> Any:
    frame = pd.DataFrame({
        "Model": [r["name"] for r in rows],
        "Production": [_version_label(r["production"]) for r in rows],
        "Staging": [_version_label(r["staging"]) for r in rows],
        "Latest": [_version_label(r["latest"]) for r in rows],
        "Versions": [r["versions"] for r in rows],
        "Last change": [ui.when(r["changed_at"]) for r in rows],
    })
    return st.dataframe(frame, hide_index=True, on_select="rerun", selection_mode="single-row",
                        key="registry.models_table", height=ui.table_height(len(rows)), width="stretch")


def _versions_table(rows: list[dict[str, Any]]) -> Any:
    metric_keys = sorted({k for r in rows for k in r if k.startswith("metrics.")})[:3]
    frame = pd.DataFrame({
        "Version": [f"v{r['version']}" for r in rows],
        "Stage": [r["stage"] for r in rows],
        "Run": [(r["run_id"] or "")[:8] for r in rows],
        "Registered by": [r["created_by"] for r in rows],
        "When": [ui.when(r["created_at"]) for r in rows],
        "sha256": [(r["sha256"] or "")[:12] for r in rows],
        **{k.removeprefix("metrics."): [r.get(k) for r in rows] for k in metric_keys},
    })
    return st.dataframe(frame, hide_index=True, on_select="rerun", selection_mode="single-row",
                        key="registry.versions_table", height=ui.table_height(len(rows)), width="stretch")


def _champions(history: dict[str, Any]) -> None:
    """Who held production when, newest first: the version, who put it there and why, from and until."""
    periods = history["champions"]
    if not periods:
        st.caption("No version has been in production yet.")
        return
    st.dataframe(pd.DataFrame({
        "Version": [f"v{p.version}" for p in periods],
        "Put there by": [p.entered_by + (" (rollback)" if p.by_rollback else "") for p in periods],
        "Why": [p.reason or (f"request #{p.request_id}" if p.request_id else "") for p in periods],
        "From": [ui.when(p.since) for p in periods],
        "Until": [ui.when(p.until) if p.until is not None else "now" for p in periods],
        "Ended by": [p.ended_by or "" for p in periods],
    }), hide_index=True, height=ui.table_height(len(periods)), width="stretch")


def _moves(history: dict[str, Any]) -> None:
    """Every stage move, newest first."""
    moves = history["moves"]
    if not moves:
        st.caption("No version has changed stage yet.")
        return
    st.dataframe(pd.DataFrame({
        "When": [ui.when(m.created_at) for m in moves],
        "Version": [f"v{m.version}" for m in moves],
        "From": [m.from_stage for m in moves],
        "To": [m.to_stage for m in moves],
        "By": [m.actor for m in moves],
        "Reason": [m.reason for m in moves],
        "Request": [f"#{m.request_id}" if m.request_id else ("rollback" if m.rollback else "") for m in moves],
    }), hide_index=True, height=ui.table_height(len(moves)), width="stretch")


def _rollback(identity: Any, project_id: int, model: dict[str, Any], history: dict[str, Any]) -> None:
    """Roll production back, in two steps: a reason and `Roll back…`, then `Confirm rollback`."""
    name, production, target = model["name"], model["production"], history["rollback_to"]
    pending_key = f"registry.rollback.pending.{name}"
    with st.expander("Roll back production", expanded=pending_key in st.session_state):
        if production is None or target is None:
            st.caption("No earlier production version to return to." if production is not None
                       else "No version is in production.")
            return
        pending = st.session_state.get(pending_key)
        if pending is None:
            reason = st.text_area("Reason", key=f"registry.rollback.reason.{name}", height=68,
                                  placeholder="e.g. default rate doubled since Monday")
            if st.button("Roll back…", key=f"registry.rollback.start.{name}"):
                if not reason.strip():
                    st.error("Give a reason: it is kept in the stage history and the audit trail.")
                else:
                    st.session_state[pending_key] = {"reason": reason.strip(), "from": production, "to": target}
                    st.rerun()
            return
        st.warning(f"Production of {ui.plain(name)} goes from v{pending['from']} back to v{pending['to']}, "
                   "the version that held it before. Confirm?")
        st.text(f"Reason: {pending['reason']}")
        confirm, cancel, _ = st.columns([1, 1, 3])
        if cancel.button("Cancel", key=f"registry.rollback.cancel.{name}"):
            st.session_state.pop(pending_key, None)
            st.rerun()
        if confirm.button("Confirm rollback", type="primary", key=f"registry.rollback.confirm.{name}"):
            st.session_state.pop(pending_key, None)
            restored = ui.attempt(lambda: data.rollback(identity, project_id, name, pending["reason"]))
            if restored is not None:
                st.session_state["registry.flash"] = f"Production of {name} is back on v{restored.version}."
                st.rerun()


def _facts(pairs: list[tuple[str, Any]]) -> None:
    """Label and value lines; the values are shown as typed, never as markup."""
    for label, value in pairs:
        shown = "—" if value is None or value == "" else value
        st.markdown(f"**{label}:** {ui.plain(shown)}")


def _key_values(values: dict[str, Any], left: str, right: str) -> None:
    if not values:
        st.caption(f"No {left.lower()}s recorded.")
        return
    st.dataframe(pd.DataFrame({left: list(values), right: [str(v) for v in values.values()]}), hide_index=True,
                 height=ui.table_height(len(values)), width="stretch")


def _lineage(project_id: int, name: str, version: int) -> None:
    """A version's lineage in tabs: run and data, params and metrics, code, environment, file and trust."""
    found = ui.attempt(lambda: data.lineage(project_id, name, version))
    if found is None:
        return
    v, run = found["version"], found["run"]
    st.subheader(f"Lineage of v{v.version}", anchor=False)
    st.caption(f"Registered by {ui.plain(v.created_by)} on {ui.when(v.created_at)} · stage {v.stage}")
    run_tab, values_tab, code_tab, env_tab, file_tab = st.tabs(
        ["Run & data", "Params & metrics", "Code", "Environment", "File & trust"])
    with run_tab:
        left, right = st.columns(2)
        with left:
            if run is None:
                _facts([("Run", v.run_id or "no run recorded")])
            else:
                _facts([("Run", run.id), ("Name", run.name), ("Experiment", run.experiment), ("Status", run.status),
                        ("By", run.user)])
        with right:
            ds = v.dataset
            if ds is None:
                st.caption("No training dataset recorded.")
            else:
                _facts([("Training data", f"{ds.name} v{ds.version}"), ("Rows × columns", f"{ds.rows} × {ds.columns}"),
                        ("Target", v.target)])
                st.markdown("**Fingerprint:**")
                st.code(ds.fingerprint, language=None, wrap_lines=True)
    with values_tab:
        left, right = st.columns(2)
        with left:
            _key_values(v.params, "Param", "Value")
        with right:
            _key_values(v.metrics, "Metric", "Value")
    with code_tab:
        code = v.code
        (st.success if found["code_recorded"] else st.warning)(ui.plain(found["code_words"]))
        _facts([("Notebook", code.get("notebook_path")), ("Cells recorded", code.get("cells")),
                ("Code hash", (code.get("code_hash") or "")[:16]), ("Git commit", (code.get("git_commit") or "")[:12]),
                ("Uncommitted changes", {True: "yes", False: "no"}.get(code.get("git_dirty"))),
                ("Code status", code.get("code_status"))])
    with env_tab:
        env = v.env
        _facts([("Python", env.get("python"))])
        _key_values(env.get("packages") or {}, "Package", "Version")
        if v.requirements:
            with st.expander("Requirements"):
                st.code(v.requirements, language=None)
    with file_tab:
        _facts([("Artifact", v.artifact_uri), ("Flavor", v.flavor), ("Size", f"{v.size:,} bytes")])
        st.markdown("**sha256:**")
        st.code(v.sha256, language=None, wrap_lines=True)
        st.markdown("**Trusted types** (beyond the loader's allow-list)")
        if not v.trust:
            st.caption("None: the loader trusts only its allow-list for this model.")
        else:
            st.dataframe(pd.DataFrame({
                "Type": [t.type for t in v.trust], "Trusted by": [f"{t.trusted_by} ({t.role})" for t in v.trust],
                "Why": [t.reason for t in v.trust], "When": [ui.when(t.trusted_at) for t in v.trust],
            }), hide_index=True, width="stretch")


def render() -> None:
    """The page."""
    st.title("Registry")
    identity = auth.current_identity()
    project = data.project()
    if project is None or identity is None:
        st.info("No project yet. Register a model from a notebook:")
        st.code(REGISTER_HINT, language="python")
        return
    flash = st.session_state.pop("registry.flash", None)
    if flash:
        st.success(ui.plain(flash))
    models = data.models(project["id"])
    if not models:
        st.info(f"No models in project {ui.plain(project['name'])} yet. Register one from a notebook, "
                "inside a run that logged its training data:")
        st.code(REGISTER_HINT, language="python")
        return
    names = [m["name"] for m in models]
    links.preselect_model_version()  # a link to a version (from Scorecards' evidence) opens it
    ui.pick_from_table(_models_table(models), names, "registry.model")
    ui.keep_choice(names, "registry.model")
    model_col, version_col = st.columns(2)
    name = model_col.selectbox("Model", names, key="registry.model")
    model = next(m for m in models if m["name"] == name)

    rows = ui.attempt(lambda: data.versions(project["id"], name)) or []
    history = ui.attempt(lambda: data.stage_history(project["id"], name))
    moves = len(history["moves"]) if history else 0
    versions_tab, champions_tab, moves_tab = st.tabs([f"Versions ({len(rows)})", "Champions (who held production)",
                                                      f"Stage moves ({moves})"])
    numbers = [r["version"] for r in rows]
    choice_key = f"registry.version.{name}"
    with versions_tab:
        ui.pick_from_table(_versions_table(rows), numbers, choice_key)
    # first the production version, else the newest
    ui.keep_choice(numbers, choice_key, default=model["production"] if model["production"] in numbers else None)
    version = version_col.selectbox("Version", numbers, key=choice_key, format_func=lambda n: f"v{n}")
    if history is not None:
        with champions_tab:
            _champions(history)
        with moves_tab:
            _moves(history)
        if data.may(identity, "rollback"):
            _rollback(identity, project["id"], model, history)
    if version is not None:
        _lineage(project["id"], name, version)


if __name__ == "__main__":
    render()
