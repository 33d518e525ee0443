"""The Monitoring page: per production model, drift over time with the latest report's columns and a
drill-down, predictions, latency and outcomes per day, alerts with `Acknowledge`, rules and retraining
runs with links to their run and request. Every role sees it; empty states say what to do."""
from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import select

import mlops_nb as mlops
from mlops_nb.console import nav
from mlops_nb.console.views import monitoring
from mlops_nb.console.views.monitoring import EVIDENTLY_HEIGHT
from mlops_nb.services.monitoring import alerts
from mlops_nb.store.db import get_engine, session_scope
from tests import factories, monitoring_story
from tests.console.conftest import log_in, new_app
from tests.monitoring_story import XSS


@pytest.fixture()
def story(console_store, credit):
    """The monitoring story (tests/monitoring_story.py) in project `credit` of the console's store, told by dana."""
    mlops.init(project="credit", db_url=console_store, user="dana", artifact_root=os.environ["MLOPS_ARTIFACT_ROOT"])
    return monitoring_story.build(credit)


def _monitoring(logged_in, name: str):
    at = logged_in(name)
    at.switch_page("views/monitoring.py")
    at = at.run()
    assert not at.exception, at.exception
    return at


def _tab(at, name: str):
    """The page with tab `name` chosen (the tabs are keyed: only the chosen one is drawn)."""
    at.session_state["monitoring.tab"] = name
    at = at.run()
    assert not at.exception, at.exception
    return at


def _frame(at, key: str):
    """The selectable table keyed `key`, as a DataFrame."""
    return at.dataframe(key=key).value


def _with(at, column: str):
    """The first table (in page order) that has a column `column` (tables without selection keep no key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _charts(at) -> list:
    return list(at.get("plotly_chart"))


def _chart_titles(at) -> set[str]:
    return {json.loads(c.proto.spec)["layout"]["title"]["text"] for c in _charts(at)}


def test_monitoring_follows_approvals_for_every_role():
    for role in nav.ROLES:
        titles = [p.title for p in nav.visible(role)]
        assert titles.index("Monitoring") == titles.index("Approvals") + 1


def test_without_a_production_model_the_page_says_how_one_gets_there(console_store, logged_in):
    at = _monitoring(logged_in, "rita")
    assert [t.value for t in at.title] == ["Monitoring"]
    assert "No model of project **credit** is in production or staging yet" in at.info[0].value
    assert not at.tabs


def test_a_model_without_reports_says_to_run_the_monitor(console_store, logged_in):
    with session_scope(get_engine(console_store)) as s:
        pid = factories.project(s, "credit")
        credit_risk = factories.model(s, pid, "credit-risk")
        factories.version(s, credit_risk, stage="production")
        factories.version(s, credit_risk, stage="staging")
        factories.version(s, factories.model(s, pid, "churn"), stage="staging")
    at = _monitoring(logged_in, "dana")
    picker = at.selectbox(key="monitoring.model")  # one entry per model, production ones first
    assert picker.value == "credit-risk"
    assert picker.options == ["credit-risk (production v1, staging v2)", "churn (staging v1)"]
    assert {m.label: m.value for m in at.metric}["Latest drift share"] == "—"
    infos, captions = [], []
    for name in monitoring.TABS:
        at = _tab(at, name)
        infos += [i.value for i in at.info]
        captions += [c.value for c in at.caption]
        assert not _charts(at)
    assert any("No drift report for **credit\\-risk** yet. `mlops monitor run`" in i for i in infos)
    assert any("No scoring batch of **credit\\-risk** yet" in i for i in infos)
    assert any('`live = mlops.load_model("credit-risk", stage="production")' in i for i in infos)  # code as typed
    assert any("No outcome logged for **credit\\-risk** yet" in i for i in infos)
    assert any("No alert for **credit\\-risk**" in i for i in infos)
    assert any("`mlops retrain credit-risk`" in c for c in captions)


def test_a_full_model_shows_drift_columns_predictions_outcomes_alerts_and_triggers(story, logged_in):
    at = _monitoring(logged_in, "rita")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Latest drift share"] == "60%" and metrics["Drifted columns"] == "3 of 5"
    assert metrics["Open alerts"] == "2" and metrics["Batches in window"] == "5"
    assert [t.label for t in at.tabs] == list(monitoring.TABS)
    # the latest report's columns, drifted first, with the drill-down on the first of them
    report = at.selectbox(key="monitoring.report")
    assert report.value.startswith(f"#{story['reports'][-1]} · v1 · ") and "3/5 drifted (dataset drift)" in report.value
    columns = _frame(at, f"monitoring.columns_table.{story['reports'][-1]}")
    assert columns["Column"].tolist() == ["credit_amount", "duration_in_month", "purpose", "age_in_years", "housing"]
    assert columns["Drift"].tolist() == [True, True, True, False, False]
    assert columns.loc[0, ["Type", "Test", "Threshold"]].tolist() == ["numerical", "K-S p_value", 0.05]
    assert _chart_titles(at) == {"Drift share per report", "Per-column drift (red: drifted)",
                                 "credit_amount: reference against current"}  # the drift tab's only
    at = at.selectbox(key=f"monitoring.column.{story['reports'][-1]}").set_value("purpose").run()
    assert "purpose: reference against current" in _chart_titles(at)
    # an older report: nothing drifted, nothing left untested
    at = at.selectbox(key="monitoring.report").set_value(at.selectbox(key="monitoring.report").options[-1]).run()
    assert not _frame(at, f"monitoring.columns_table.{story['reports'][0]}")["Drift"].any()
    # scoring, outcomes, rules and retraining
    at = _tab(at, "Predictions and latency")
    assert "3 accepted · 1 warned · 1 refused · 0 failed batches" in " ".join(c.value for c in at.caption)
    assert _chart_titles(at) == {"Latency per day (ms per batch)",
                                 "Predicted probability per day (share of rows per tenth, and the mean)"}
    at = _tab(at, "Outcomes")
    assert _chart_titles(at) == {"Outcomes: business metric and realised rate against predictions"}
    outcomes = _with(at, "default_rate")
    assert outcomes["default_rate"].tolist() == [0.09, 0.065]
    assert {"mean_predicted", "positive_rate", "roc_auc"} <= set(outcomes.columns)
    at = _tab(at, "Triggers and retraining")
    rules = _with(at, "Watches")
    assert rules[["Rule", "Kind", "Watches"]].values.tolist() == [
        ["drift share", "drift_share", "every production model"], ["latency SLA", "latency_p95", "credit-risk"]]
    runs = _frame(at, "monitoring.retraining_table")
    assert runs[["Status", "Trigger", "Version", "Error"]].values.tolist() == [
        ["succeeded", "drift share", "v2", ""], ["failed", "manual", "", "cell 4: KeyError 'income'"]]
    assert at.button(key="monitoring.open_run").label == f"Open its run {story['run_id'][:8]} on Experiments"
    links = [p for p in at.get("page_link")]
    assert any(f"#{story['request_id']} on Approvals" in p.proto.label for p in links)


def test_open_run_shows_the_retraining_run_on_experiments(story, logged_in):
    at = _tab(_monitoring(logged_in, "dana"), "Triggers and retraining")
    at = at.button(key="monitoring.open_run").click().run()
    assert not at.exception, at.exception
    assert at.text_input(key="experiments.filter").value == f"attributes.run_id = '{story['run_id']}'"
    assert [t.value for t in at.title] == ["Experiments"]


def test_alert_text_shows_as_text(story, logged_in):
    at = _tab(_monitoring(logged_in, "rita"), "Alerts")
    table = _frame(at, "monitoring.alerts_table")
    assert table["Column"].tolist() == [XSS, ""]  # newest first: the feature-drift alert fired second
    at = at.selectbox(key="monitoring.alert").set_value(story["alerts"]["xss"]).run()
    assert f"credit-risk v1: column {XSS} drifted" in [t.value for t in at.text]


def test_acknowledging_an_alert_records_who_and_the_note(story, logged_in, console_store):
    at = _tab(_monitoring(logged_in, "rita"), "Alerts")
    alert_id = story["alerts"]["xss"]  # the newest: once acknowledged, the older open one comes first
    at = at.selectbox(key="monitoring.alert").set_value(alert_id).run()
    at.text_input(key=f"monitoring.ack.note.{alert_id}").input("Macro shift confirmed; retraining requested")
    at = at.button(key=f"monitoring.ack.{alert_id}").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == f"Alert #{alert_id} acknowledged."
    assert at.session_state["monitoring.tab"] == "Alerts"  # the rerun keeps the reviewer where they were
    with session_scope(get_engine(console_store)) as s:
        found = {a.id: a for a in alerts.list_alerts(session=s, project_id=factories.project(s, "credit"))}
    assert (found[alert_id].status, found[alert_id].acknowledged_by) == ("acknowledged", "rita")
    assert found[alert_id].note == "Macro shift confirmed; retraining requested"
    assert found[story["alerts"]["drift"]].status == "open"
    table = _frame(at, "monitoring.alerts_table")  # the Alerts tab is still the one shown
    assert table[["Alert", "Status"]].values.tolist() == [[story["alerts"]["drift"], "open"], [alert_id, "acknowledged"]]
    assert {m.label: m.value for m in at.metric}["Open alerts"] == "1"
    at = at.selectbox(key="monitoring.alert").set_value(alert_id).run()
    assert not [b for b in at.button if b.key == f"monitoring.ack.{alert_id}"]
    assert any(c.value.startswith("Acknowledged by rita, ") and c.value.endswith(
        ": Macro shift confirmed; retraining requested") for c in at.caption)  # the note, beside who and when
    # the picker's labels hold no status: the browser kept "#N · open · ..." on screen after Acknowledge
    # (Streamlit's selectbox keeps a chosen option's old label when only its label changes)
    assert not [o for o in at.selectbox(key="monitoring.alert").options if "open" in o or "acknowledged" in o]


def test_a_data_scientist_and_a_reviewer_both_see_the_story(story):
    for name in ("dana", "rita"):
        at = new_app()
        at.run()
        at = log_in(at, name)
        at.switch_page("views/monitoring.py")
        at = _tab(at.run(), "Alerts")
        assert at.selectbox(key="monitoring.model").options == ["credit-risk (production v1)"]
        assert _frame(at, "monitoring.alerts_table")["Alert"].tolist()


def test_a_real_window_report_shows_and_evidentlys_report_is_built_on_request(story, logged_in):
    """A drift report made by the drift service over the story's batches (the newest), its prediction
    column among the columns; evidently's own report built by the button, shown in a bounded frame."""
    from mlops_nb.api.context import current
    from mlops_nb.services.monitoring import drift
    from mlops_nb.store.models import ModelVersion

    ctx = current()
    with session_scope(ctx.engine) as s:
        version_id = s.execute(select(ModelVersion.id).where(ModelVersion.version == 1)).scalar_one()
        report = drift.window_drift(session=s, store=ctx.artifacts, project_id=ctx.project_id,
                                    model_version_id=version_id, user="monitor")
    at = _monitoring(logged_in, "rita")
    assert at.selectbox(key="monitoring.report").value.startswith(f"#{report.id} · v1 · ")
    columns = _frame(at, f"monitoring.columns_table.{report.id}")
    features = columns[columns["Role"] == "feature"]
    assert len(features) == report.tested and set(features[features["Drift"]]["Column"]) == set(report.drifted_columns)
    assert columns[columns["Role"] == "prediction"]["Drift"].tolist() == [report.prediction_drift]
    assert any("built on a bounded sample" in c.value for c in at.caption)
    at = at.button(key=f"monitoring.evidently.{report.id}.button").click().run()
    assert not at.exception, at.exception
    [frame] = at.get("iframe")
    assert f'sandbox="allow-scripts" title="evidently report" style="width:100%;height:{EVIDENTLY_HEIGHT}px' \
        in frame.proto.srcdoc
    assert "evidently" in frame.proto.srcdoc.lower() and "Dataset Drift" in frame.proto.srcdoc
    with session_scope(ctx.engine) as s:
        assert drift.get_drift_report(session=s, project_id=ctx.project_id, report_id=report.id).html_artifact_id
    at = at.button(key=f"monitoring.evidently.{report.id}.hide").click().run()
    assert not at.get("iframe")
    assert at.button(key=f"monitoring.evidently.{report.id}.button").label == "Show evidently's report"


def test_a_history_older_than_the_window_still_shows_its_last_days(story, logged_in, console_store):
    """Batches all older than 90 days (`mlops demo` replays 2024): the window ends at the model's
    newest batch, so the scoring charts show them, and the page says where the window ends."""
    from sqlalchemy import update

    from mlops_nb.store.models import ScoringBatch

    with session_scope(get_engine(console_store)) as s:
        s.execute(update(ScoringBatch).values(created_at=ScoringBatch.created_at - 800 * 86_400))
    at = _monitoring(logged_in, "rita")
    assert at.selectbox(key="monitoring.window").value == "90 days"
    assert {m.label: m.value for m in at.metric}["Batches in window"] == "5"
    assert any("the 90 days up to the newest batch" in c.value for c in at.caption)
    at = _tab(at, "Predictions and latency")
    assert "Latency per day (ms per batch)" in _chart_titles(at)


def test_the_latency_hint_is_a_command_the_cli_takes():
    """The Predictions tab's "no SLA" caption names a command; it once named `--threshold 50`, which
    `mlops monitor rule add` refuses."""
    import re

    from mlops_nb.cli import build_parser

    command = re.search(r"`(mlops [^`]+)`", monitoring.NO_SLA.format(code="credit-risk")).group(1)
    parsed = build_parser().parse_args(command.split()[1:])
    assert (parsed.kind, parsed.param, parsed.model) == ("latency_p95", ["sla_ms=50"], "credit-risk")


def test_a_retraining_run_offers_its_executed_notebook(story, logged_in, console_store):
    """docs/retraining.md: the executed notebook is the run's evidence and the console links it; the
    Triggers tab offered only the run and the request."""
    from mlops_nb.api.context import current
    from mlops_nb.services.tracking.artifacts import store_bytes
    from mlops_nb.store.models.alerts import RetrainingRun

    executed = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    with session_scope(get_engine(console_store)) as s:
        run = s.execute(select(RetrainingRun).where(RetrainingRun.status == "succeeded")).scalars().one()
        artifact = store_bytes(session=s, store=current().artifacts, data=executed, name=f"retraining/run-{run.id}.ipynb")
        run.notebook_artifact_id = artifact.id
        s.add(run)
        run_id = run.id
    at = _tab(_monitoring(logged_in, "rita"), "Triggers and retraining")
    at = at.selectbox(key="monitoring.retraining").set_value(run_id).run()
    [button] = list(at.get("download_button"))
    assert f"Download its executed notebook (run #{run_id}, .ipynb)" in button.proto.label
    failed = next(r for r in _frame(at, "monitoring.retraining_table")["Run"].tolist() if r != run_id)
    at = at.selectbox(key="monitoring.retraining").set_value(failed).run()  # it kept none: no button
    assert not list(at.get("download_button"))
