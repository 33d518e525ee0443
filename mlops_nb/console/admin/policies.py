"""Promotion policies on the Admin page: pick a model of the project (or the project default), read
the rules in force and where they come from, change them with widgets, save through the service.

The governance service validates every document (governance.policies.validate) and refuses the
whole save with InvalidInput when one part is wrong, so nothing changes and the page shows why;
it also checks the actor (a proven ml_engineer or admin now) and audits the change as `policy.set`
with the rules before and after. The page only turns widgets into a policy document.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import streamlit as st

from mlops_nb.console import data, ui
from mlops_nb.console.admin import flash
from mlops_nb.services import governance
from mlops_nb.services.errors import MlopsError
from mlops_nb.services.identity import DECIDERS, Identity
from mlops_nb.store.models.identity import ROLES

_SCOPE = "admin.policy.scope"  # the model chosen, or _DEFAULT
_DEFAULT = ""  # the project default in the model picker (no model has an empty name)
GATE_LABELS = {
    "staging_before_production": "Production only from staging",
    "lineage_complete": "Lineage complete (a run and a training dataset)",
    "metric_thresholds": "Metric thresholds",
    "no_regression": "No regression against production",
    "data_validated": "Training data validated",
    "prediction_distribution": "Prediction distribution within bounds",
    "canary": "Canary (scoring batches in staging)",
}
_LINE = re.compile(r"^\s*([^\s<>=!]*)\s*(.*?)\s*$")  # "roc_auc >= 0.70" -> ("roc_auc", ">= 0.70")


def policies_section(who: Identity, notes: flash.Notes) -> None:
    """The section; `who` is the login (the actor of a save), `notes` what the last save said."""
    project = data.project()
    if project is None:
        st.info("No project yet: a notebook makes one with `mlops.init(project=\"credit\")`; its models and "
                "their policies show here.")
        return
    models = data.model_names(project["id"])
    if st.session_state.get(_SCOPE) not in [_DEFAULT, *models]:
        st.session_state[_SCOPE] = _DEFAULT  # a model of another project, chosen before the project changed
    chosen = st.selectbox("Policy of", [_DEFAULT, *models], key=_SCOPE, width=400,
                          format_func=lambda m: f"Model {m}" if m else f"Project default ({project['name']})")
    model = chosen or None
    if not models:
        st.caption(f"No model is registered in {ui.plain(project['name'])} yet: the project default applies to "
                   "every model registered later.")
    try:
        policy = data.policy(project["id"], model)
    except MlopsError as err:
        st.error(ui.plain(str(err)))
        return
    flash.show(notes, "policy")
    st.caption(_source(policy.source, model, project["name"]))
    shown, editor = st.columns([2, 3], gap="large")
    with shown:
        _in_force(policy.rules)
    with editor:
        _editor(who, project["id"], model, policy)


def _source(source: str, model: str | None, project: str) -> str:
    """Where the rules in force come from, in words (names escaped)."""
    if model is None:
        return (f"The default of project {ui.plain(project)}: it applies to every model without a policy of its own."
                if source == "project" else
                f"Project {ui.plain(project)} has no default policy yet: these are the built-in rules. Saving sets its "
                "default.")
    if source == "model":
        return f"Model {ui.plain(model)} has its own policy."
    where = "the project default" if source == "project" else "the built-in rules (the project has no default)"
    return f"Model {ui.plain(model)} follows {where}. Saving gives it a policy of its own."


# --- the rules in force ---

def _in_force(rules: dict[str, Any]) -> None:
    """The rules as short lines (they wrap, where a table would cut the settings off)."""
    st.markdown("**In force**")
    approvals = [f"- {stage}: {ui.plain(_approvers(rules['approvals'].get(stage, {})))}" for stage in governance.TARGET_STAGES]
    st.markdown("Approvals needed\n\n" + "\n".join(approvals))
    gates = [f"- {GATE_LABELS[name]}: {_gate_words(name, rules['gates'].get(name))}" for name in governance.GATES]
    st.markdown("Gates\n\n" + "\n".join(gates))
    st.caption(f"A version loaded in another environment than its training one: {rules['env_mismatch']}.")
    st.caption(f"A scoring batch that breaks its training contract: {rules.get('scoring', {}).get('on_invalid', 'warn')}.")


def _approvers(needed: dict[str, int]) -> str:
    return ", ".join(f"{role} × {count}" for role, count in needed.items()) or "none"


def _gate_words(name: str, value: Any) -> str:
    """":gray[off]", "on", or the settings of a gate that is on, escaped ("roc_auc >= 0.7")."""
    if not value:
        return ":gray[off]"
    return ui.plain(_settings(name, value)) or "on"


def _threshold_line(metric: str, expression: Any) -> str:
    operator, number = governance.parse_threshold(metric, expression)
    return f"{metric} {operator} {number:g}"


def _settings(name: str, value: Any) -> str:
    """A gate's settings in words ("" for an on/off gate or one that is off)."""
    if not isinstance(value, dict) or not value:
        return ""
    if name == "metric_thresholds":
        return ", ".join(_threshold_line(m, e) for m, e in value.items())
    if name == "no_regression":
        better = "higher" if value["higher_is_better"] else "lower"
        return f"{value['metric']}, tolerance {value['tolerance']:g}, {better} is better"
    if name == "data_validated":
        target = ", target column required" if value["target_required"] else ""
        return f"at least {value['min_rows']} rows, null rate at most {value['max_null_rate']:g}{target}"
    if name == "prediction_distribution":
        return f"shift at most {value['max_shift']:g}"
    return json.dumps(value)


# --- the editor ---

def _editor(who: Identity, project_id: int, model: str | None, policy: Any) -> None:
    """Widgets holding the rules in force; `Save policy` sends them all. The keys carry a digest of
    those rules, so a policy changed by anyone (this page included) shows as it is now."""
    rules = policy.rules
    digest = hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:12]
    key = f"admin.policy.{project_id}.{model or ''}.{digest}"
    roles = [r for r in ROLES if r in DECIDERS or any(r in rules["approvals"].get(s, {})
                                                       for s in governance.TARGET_STAGES)]
    st.markdown("**Change it**")
    st.caption("Approvals each target stage needs, by role (0: not needed). Nobody approves their own request.")
    widths = [1.1] + [1.0] * len(roles)  # a grid: a row per target stage, a column per role
    for column, role in zip(st.columns(widths)[1:], roles, strict=True):
        column.caption(role)
    for stage in governance.TARGET_STAGES:
        needed = rules["approvals"].get(stage, {})
        row = st.columns(widths, vertical_alignment="center")
        row[0].markdown(stage)
        for column, role in zip(row[1:], roles, strict=True):
            column.number_input(f"{stage}: {role}", min_value=0, max_value=9, step=1, value=int(needed.get(role, 0)),
                                key=f"{key}.approvals.{stage}.{role}", label_visibility="collapsed")
    gates = rules["gates"]
    for name in ("staging_before_production", "lineage_complete"):
        st.toggle(GATE_LABELS[name], value=bool(gates.get(name)), key=f"{key}.{name}")
    st.text_area(GATE_LABELS["metric_thresholds"], height=80, key=f"{key}.metric_thresholds",
                 value="\n".join(_threshold_line(m, e) for m, e in (gates.get("metric_thresholds") or {}).items()),
                 placeholder="roc_auc >= 0.70",
                 help="One per line: metric, operator (>= > <= < ==), number. Empty: no threshold gate.")
    _option_gates(key, gates)
    st.radio("A version loaded in another environment than its training one", governance.ENV_MISMATCH,
             index=list(governance.ENV_MISMATCH).index(rules["env_mismatch"]), horizontal=True,
             key=f"{key}.env_mismatch")
    st.button("Save policy", type="primary", key=f"{key}.save", icon=":material/save:",
              on_click=_on_save, args=(who, project_id, model, key, roles, policy))


def _option_gates(key: str, gates: dict[str, Any]) -> None:
    """The gates with options: a toggle each, and their options while it is on."""
    regression = gates.get("no_regression") or {}
    if st.toggle(GATE_LABELS["no_regression"], value=bool(regression), key=f"{key}.no_regression"):
        options = {**governance.NO_REGRESSION_DEFAULTS, "metric": "", **regression}
        metric, tolerance, better = st.columns(3, vertical_alignment="bottom")
        metric.text_input("Metric", value=options["metric"], key=f"{key}.no_regression.metric", placeholder="roc_auc")
        tolerance.number_input("Tolerance", min_value=0.0, value=float(options["tolerance"]), step=0.01,
                               format="%.4f", key=f"{key}.no_regression.tolerance")
        better.checkbox("Higher is better", value=bool(options["higher_is_better"]),
                        key=f"{key}.no_regression.higher_is_better")
    validated = gates.get("data_validated") or {}
    if st.toggle(GATE_LABELS["data_validated"], value=bool(validated), key=f"{key}.data_validated"):
        options = {**governance.DATA_VALIDATED_DEFAULTS, **validated}
        rows, nulls, target = st.columns(3, vertical_alignment="bottom")
        rows.number_input("Minimum rows", min_value=0, value=int(options["min_rows"]), step=100,
                          key=f"{key}.data_validated.min_rows")
        nulls.number_input("Largest null rate", min_value=0.0, max_value=1.0, value=float(options["max_null_rate"]),
                           step=0.01, key=f"{key}.data_validated.max_null_rate")
        target.checkbox("Target column required", value=bool(options["target_required"]),
                        key=f"{key}.data_validated.target_required")
    distribution = gates.get("prediction_distribution") or {}
    if st.toggle(GATE_LABELS["prediction_distribution"], value=bool(distribution),
                 key=f"{key}.prediction_distribution"):
        options = {**governance.PREDICTION_DISTRIBUTION_DEFAULTS, **distribution}
        st.number_input("Largest shift of the prediction distribution", min_value=0.0,
                        value=float(options["max_shift"]), step=0.01, key=f"{key}.prediction_distribution.max_shift")


def _thresholds(text: str) -> dict[str, str]:
    """{metric: "operator number"} from the text area's lines; the service judges each rule."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is not None and line.strip():
            found[match.group(1)] = match.group(2)
    return found


def _document(key: str, roles: list[str]) -> dict[str, Any]:
    """The policy the widgets hold, as set_policy takes it (every part, so the save replaces all)."""
    state = st.session_state
    approvals = {stage: {role: int(state[f"{key}.approvals.{stage}.{role}"]) for role in roles
                         if state[f"{key}.approvals.{stage}.{role}"]} for stage in governance.TARGET_STAGES}
    gates: dict[str, Any] = {name: bool(state[f"{key}.{name}"])
                             for name in ("staging_before_production", "lineage_complete")}
    gates["metric_thresholds"] = _thresholds(state[f"{key}.metric_thresholds"])
    gates["no_regression"] = {option: state[f"{key}.no_regression.{option}"]
                              for option in ("metric", "tolerance", "higher_is_better")} \
        if state.get(f"{key}.no_regression") else None
    gates["data_validated"] = {option: state[f"{key}.data_validated.{option}"]
                               for option in ("min_rows", "max_null_rate", "target_required")} \
        if state.get(f"{key}.data_validated") else None
    gates["prediction_distribution"] = {"max_shift": state[f"{key}.prediction_distribution.max_shift"]} \
        if state.get(f"{key}.prediction_distribution") else None
    return {"approvals": approvals, "gates": gates, "env_mismatch": state[f"{key}.env_mismatch"]}


def _on_save(who: Identity, project_id: int, model: str | None, key: str, roles: list[str], policy: Any) -> None:
    document = _document(key, roles)
    own = "model" if model is not None else "project"
    try:
        unchanged = policy.source == own and governance.validate(document) == policy.rules
    except MlopsError:
        unchanged = False  # the save below is refused with the service's message
    if unchanged:
        flash.add("policy", "info", "Nothing to save: the policy is as shown.")
        return
    where = f"model **{ui.plain(model)}**" if model is not None else "the project default"
    flash.attempt("policy", lambda: data.write(lambda s: governance.change_policy(
        session=s, actor=who, project_id=project_id, model=model, rules=document)),
        f"Saved the policy of {where}; requests are judged by it from now on.")
