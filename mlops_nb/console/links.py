"""Links between console pages that open one record: a scorecard's evidence to the run, version,
dataset, request or report behind it, and the arrival side that preselects that record.

A link is an `st.page_link` to the page's file with query params naming the project and the
record ({"project": "credit", "model": "credit-risk", "version": "3"}). `st.page_link` switches page
inside the same Streamlit session, so the login holds (a plain URL would open a new session and ask
for the password again).

On arrival, app.py calls `arrive()` once per rerun, before the sidebar: it reads `st.query_params`,
keeps them for this rerun (`given()`) and clears them from the URL, so a link is applied once and a
later choice in the page is never overridden by a parameter left behind. The sidebar takes
"project" from `given()` before its project picker is drawn; each target page takes its own keys
(a model, a version, a report...) and sets the keys of its pickers before drawing them, through the
`preselect_*` functions below (a value the page does not hold is left to the page's usual default).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

_GIVEN = "links.given"  # the query params this rerun arrived with

# the pages, relative to app.py (what st.page_link and st.switch_page take)
EXPERIMENTS = "views/experiments.py"
REGISTRY = "views/registry.py"
DATA = "views/data.py"
APPROVALS = "views/approvals.py"
MONITORING = "views/monitoring.py"
SCORECARDS = "views/scorecards.py"

# evidence kind -> (page, its words for the record, the query param its id goes in; None: not its id)
TARGETS: dict[str, tuple[str, str, str | None]] = {
    "run": (EXPERIMENTS, "run", "run"),
    "model_version": (REGISTRY, "version", None),
    "stage_change": (REGISTRY, "stage change", None),
    "policy": (REGISTRY, "policy", None),
    "dataset_version": (DATA, "dataset", "dataset"),
    "validation": (DATA, "validation", "validation"),
    "batch": (DATA, "scoring batch", "batch"),
    "request": (APPROVALS, "request", "request"),
    "drift_report": (MONITORING, "drift report", "report"),
    "alert": (MONITORING, "alert", "alert"),
    "alert_rule": (MONITORING, "alert rule", "rule"),
    "retraining_run": (MONITORING, "retraining run", "retraining"),
    "outcome": (MONITORING, "outcome", "outcome"),
    "attestation": (SCORECARDS, "attestation", "attestation"),
}
ICONS = {EXPERIMENTS: ":material/science:", REGISTRY: ":material/inventory_2:", DATA: ":material/dataset:",
         APPROVALS: ":material/fact_check:", MONITORING: ":material/monitor_heart:",
         SCORECARDS: ":material/verified:"}


@dataclass(frozen=True)
class Link:
    """Where one evidence record opens: `page` (a file relative to app.py), `label` (plain text: escape
    it for markdown) and `params` (the query params the page reads)."""

    page: str
    label: str
    params: dict[str, str]


def evidence_link(evidence: Any, project: str) -> Link | None:
    """The link that opens `evidence` (a scorecard_results.Evidence) of project `project`, or None for
    a kind no page shows.

    Registry's records (a version, a stage change, a policy) open the model and version they concern;
    Monitoring's (a report, an alert, a rule, a retraining run, an outcome) open their model's tab.
    """
    target = TARGETS.get(evidence.kind)
    if target is None:
        return None
    page, words, key = target
    params = {"project": project}
    if evidence.model is not None:
        params["model"] = str(evidence.model)
    if evidence.version is not None:
        params["version"] = str(evidence.version)
    if key is not None:
        params[key] = str(evidence.id)
    # the kind's words only where the label does not already say them ("run 3e347c9d", "request 20: ..."):
    # a phase's column is narrow and cuts a long label
    named = words.split()[-1] in str(evidence.label).lower().replace(":", " ").split()
    return Link(page=page, label=str(evidence.label) if named else f"{words}: {evidence.label}", params=params)


def arrive() -> None:
    """Take this rerun's query params (what a link brought) and clear them from the URL. Called by
    app.py once per rerun, after the login and before the sidebar."""
    params = {str(k): str(v) for k, v in st.query_params.to_dict().items()}
    st.session_state[_GIVEN] = params
    if params:
        st.query_params.clear()


def given() -> dict[str, str]:
    """The query params this rerun arrived with ({} when none: a rerun inside a page, a sidebar click)."""
    found = st.session_state.get(_GIVEN)
    return dict(found) if isinstance(found, dict) else {}


def number(value: str | None) -> int | None:
    """A query param as a row id or version number (1 to values.MAX_ROW_ID), or None when it is
    missing or not one: a crafted link's huge number would reach PostgreSQL's driver as a DataError."""
    from mlops_nb.services.values import is_row_id

    try:
        found = int(value) if value is not None else None
    except ValueError:
        return None
    return found if is_row_id(found) else None


def preselect_project(names: list[str]) -> None:
    """The sidebar's project becomes the one a link names (when the store has it)."""
    wanted = given().get("project")
    if wanted in names:
        st.session_state["project"] = wanted


def preselect_run() -> None:
    """Experiments: the filter box shows the run a link names (and only it: quick filters cleared)."""
    run_id = given().get("run")
    if run_id and run_id.replace("-", "").isalnum():  # a run id (hex); nothing that could leave the quotes
        st.session_state["experiments.filter"] = f"attributes.run_id = '{run_id}'"
        st.session_state["experiments.experiments"] = []
        st.session_state["experiments.status"] = []


def preselect_model_version() -> None:
    """Registry: the model, and its version, a link names."""
    params = given()
    model, version = params.get("model"), number(params.get("version"))
    if model:
        st.session_state["registry.model"] = model
        if version is not None:
            st.session_state[f"registry.version.{model}"] = version


DATA_TABS = ("Dataset versions", "Feature definitions", "Scoring batches")


def preselect_data(project_id: int) -> None:
    """Data: the dataset version, validation or batch a link names, on its tab. A validation opens
    under the dataset version it was checked against: the one read a link makes itself
    (catalog.validation_contract), once, when it arrives; an unknown one is left to the page."""
    params = given()
    dataset, validation, batch = number(params.get("dataset")), number(params.get("validation")), params.get("batch")
    if validation is not None:
        from mlops_nb.console import data
        from mlops_nb.services.data import catalog
        from mlops_nb.services.errors import MlopsError

        try:
            with data.session() as s:
                dataset = catalog.validation_contract(session=s, project_id=project_id, validation_id=validation)
            st.session_state["data.validation"] = validation
        except MlopsError:
            pass
    if dataset is not None:
        st.session_state["data.tab"] = DATA_TABS[0]
        st.session_state["data.dataset"] = dataset
    if batch:
        st.session_state["data.tab"] = DATA_TABS[2]
        st.session_state["data.batch_model"] = params.get("model") or "All models"
        st.session_state["data.batch_status"] = "Any status"
        st.session_state["data.batch"] = batch
        st.session_state["data.linked_batch"] = batch


def preselect_request() -> int | None:
    """Approvals: the request id a link names, or None."""
    return number(given().get("request"))


MONITORING_TABS = {"report": "Drift", "outcome": "Outcomes", "alert": "Alerts", "rule": "Triggers and retraining",
                   "retraining": "Triggers and retraining"}


def preselect_monitoring() -> None:
    """Monitoring: the model a link names, the tab of its record and the record (a report is chosen
    once the page has read the model's reports: `monitoring.linked_report`)."""
    params = given()
    if params.get("model"):
        st.session_state["monitoring.model"] = params["model"]
    for key, tab in MONITORING_TABS.items():
        if key in params:
            st.session_state["monitoring.tab"] = tab
    if number(params.get("alert")) is not None:
        st.session_state["monitoring.alert"] = number(params.get("alert"))
    if number(params.get("retraining")) is not None:
        st.session_state["monitoring.retraining"] = number(params.get("retraining"))
    if number(params.get("report")) is not None:
        st.session_state["monitoring.linked_report"] = number(params.get("report"))
