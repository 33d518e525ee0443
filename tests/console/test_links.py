"""Links that open one record on another page (console/links.py): a scorecard's evidence maps to the
page that shows it, with query params naming it, and each target page opens that record once, from
the params, then leaves the choice to the user."""
from __future__ import annotations

import os
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

import mlops_nb as mlops
from mlops_nb.console import links
from mlops_nb.services import governance, tracking
from mlops_nb.services.monitoring.scorecard_results import Evidence
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.models import DatasetVersion, ModelVersion
from mlops_nb.store.models.alerts import RetrainingRun
from tests import factories, monitoring_story


def follow(at, link: links.Link):
    """What clicking `link` (an st.page_link with query params) does: the target page, run with the params."""
    at.query_params = dict(link.params)
    at.switch_page(link.page)
    at = at.run()
    assert not at.exception, at.exception
    return at


def _link(kind: str, id_, *, model: str | None = "credit-risk", version: int | None = None) -> links.Link:
    found = links.evidence_link(Evidence(kind, id_, f"{kind} {id_}", model, version), "credit")
    assert found is not None
    return found


def _link_of(kind: str, id_: int, label: str) -> links.Link:
    found = links.evidence_link(Evidence(kind, id_, label, "credit-risk", 6), "credit")
    assert found is not None
    return found


def test_every_evidence_kind_maps_to_the_page_that_shows_it():
    expected = {"run": (links.EXPERIMENTS, "run"), "model_version": (links.REGISTRY, None),
                "stage_change": (links.REGISTRY, None), "policy": (links.REGISTRY, None),
                "dataset_version": (links.DATA, "dataset"), "validation": (links.DATA, "validation"),
                "batch": (links.DATA, "batch"), "request": (links.APPROVALS, "request"),
                "drift_report": (links.MONITORING, "report"), "alert": (links.MONITORING, "alert"),
                "alert_rule": (links.MONITORING, "rule"), "retraining_run": (links.MONITORING, "retraining"),
                "outcome": (links.MONITORING, "outcome"), "attestation": (links.SCORECARDS, "attestation")}
    for kind, (page, key) in expected.items():
        link = _link(kind, 7, version=3)
        assert link.page == page, kind
        assert link.params == {"project": "credit", "model": "credit-risk", "version": "3",
                               **({key: "7"} if key else {})}, kind
        named = links.TARGETS[kind][1].split()[-1] == kind  # "run 7" says it is a run; "model_version 7" not
        assert link.label == (f"{kind} 7" if named else f"{links.TARGETS[kind][1]}: {kind} 7"), kind
    assert links.evidence_link(Evidence("spreadsheet", 1, "x"), "credit") is None
    # a label that names its record is not prefixed again; one that does not says what it is
    assert _link_of("request", 20, "request 20: data_validated passed").label == "request 20: data_validated passed"
    assert _link_of("model_version", 6, "credit-risk v6 (production)").label == "version: credit-risk v6 (production)"
    assert links.evidence_link(Evidence("policy", 4, "project default"), "credit").params == {"project": "credit"}


def _scorecard_links(at):
    """The links the Scorecards page draws for credit-risk's card, followed as a click does."""
    at.switch_page(links.SCORECARDS)
    at = at.run()
    at = at.selectbox(key="scorecards.card").set_value(("credit", "credit-risk")).run()
    assert not at.exception, at.exception
    drawn = [(p.proto.page, parse_qs(p.proto.query_string)) for p in at.get("page_link")]
    assert {"experiments", "registry", "data", "monitoring"} <= {page for page, _ in drawn}
    assert all(params["project"] == ["credit"] for _, params in drawn)
    pages = {"experiments": links.EXPERIMENTS, "registry": links.REGISTRY, "data": links.DATA,
             "monitoring": links.MONITORING}
    report = next(params for page, params in drawn if page == "monitoring" and "report" in params)
    at = follow(at, links.Link(pages["monitoring"], "", {k: v[0] for k, v in report.items()}))
    assert at.selectbox(key="monitoring.report").value.startswith(f"#{report['report'][0]} ·")
    run = next(params for page, params in drawn if page == "experiments")
    at = follow(at, links.Link(pages["experiments"], "", {k: v[0] for k, v in run.items()}))
    assert at.text_input(key="experiments.filter").value == f"attributes.run_id = '{run['run'][0]}'"
    assert len(at.dataframe(key="experiments.table").value) == 1
    batch = next(params for page, params in drawn if page == "data" and "batch" in params)
    at = follow(at, links.Link(pages["data"], "", {k: v[0] for k, v in batch.items()}))
    assert at.session_state["data.tab"] == "Scoring batches"
    assert at.selectbox(key="data.batch").value == batch["batch"][0]
    return at


@pytest.fixture()
def story(console_store, credit):
    """The monitoring story (tests/monitoring_story.py) in project `credit`, and a validation of the
    training data, told by dana: a run, two versions, batches, a pending request, drift reports,
    alerts and retraining runs."""
    mlops.init(project="credit", db_url=console_store, user="dana", artifact_root=os.environ["MLOPS_ARTIFACT_ROOT"])
    told = monitoring_story.build(credit)
    told["validation"] = mlops.validate(credit.head(40), against="german").id
    return told


def test_each_target_page_opens_the_record_a_link_names(story, console_store, logged_in):
    at = _scorecard_links(logged_in("rita"))  # first the links the Scorecards page draws, then one of each kind
    with session_scope(get_engine(console_store)) as s:
        v2 = s.execute(select(ModelVersion).where(ModelVersion.version == 2)).scalar_one()
        dataset_id = s.execute(select(DatasetVersion.id).where(DatasetVersion.name == "german")).scalars().first()
        retraining = s.execute(select(RetrainingRun.id).where(RetrainingRun.status == "succeeded")).scalar_one()

    at = follow(at, _link("model_version", v2.id, version=2))
    assert at.query_params == {}  # applied, then gone from the URL
    assert (at.selectbox(key="registry.model").value, at.selectbox(key="registry.version.credit-risk").value) \
        == ("credit-risk", 2)
    at = at.selectbox(key="registry.version.credit-risk").set_value(1).run()  # the user's choice now holds
    assert at.selectbox(key="registry.version.credit-risk").value == 1

    at = follow(at, _link("dataset_version", dataset_id))
    assert at.session_state["data.tab"] == "Dataset versions" and at.selectbox(key="data.dataset").value == dataset_id
    at = follow(at, _link("validation", story["validation"]))
    assert at.selectbox(key="data.validation").value == story["validation"]

    at = follow(at, _link("drift_report", story["reports"][1]))  # not the newest: the one named
    assert at.selectbox(key="monitoring.report").value.startswith(f"#{story['reports'][1]} ·")
    at = follow(at, _link("alert", story["alerts"]["drift"]))
    assert at.session_state["monitoring.tab"] == "Alerts"
    assert at.selectbox(key="monitoring.alert").value == story["alerts"]["drift"]
    at = follow(at, _link("retraining_run", retraining))
    assert at.selectbox(key="monitoring.retraining").value == retraining

    at = follow(at, _link("request", story["request_id"]))
    [expander] = [e for e in at.expander if f"#{story['request_id']} ·" in e.label]
    assert expander.proto.expanded  # pending: on its page of the queue, open
    with session_scope(get_engine(console_store)) as s:
        eli = factories.proven(s, "eli", "ml_engineer")
        governance.reject(session=s, actor=eli, request_id=story["request_id"], comment="needs the Q4 data")
    at = follow(at, _link("request", story["request_id"]))  # decided: shown above the queue, with its decision
    assert any(f"#{story['request_id']} ·" in m.value and "rejected by eli" in m.value for m in at.markdown)
    assert "eli (ml_engineer): needs the Q4 data" in [t.value for t in at.text]
    at = at.button(key="approvals.linked.close").click().run()
    assert not any("rejected by eli" in m.value for m in at.markdown)


def test_a_link_into_another_project_switches_the_sidebar(console_store, logged_in):
    with session_scope(get_engine(console_store)) as s:
        pid = tracking.get_or_create_project(session=s, name="fraud").id
        factories.version(s, factories.model(s, pid, "fraud-detector"))
    at = logged_in("rita")
    assert at.sidebar.selectbox(key="project").value == "credit"
    link = links.evidence_link(Evidence("model_version", 1, "fraud-detector v1", "fraud-detector", 1), "fraud")
    at = follow(at, link)
    assert at.sidebar.selectbox(key="project").value == "fraud"
    assert at.selectbox(key="registry.model").value == "fraud-detector"
    at = at.sidebar.selectbox(key="project").set_value("credit").run()  # the link does not pin the project
    assert at.sidebar.selectbox(key="project").value == "credit"
