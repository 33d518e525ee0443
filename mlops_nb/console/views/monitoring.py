"""The Monitoring page: per production (or staging) model, its drift over time with the latest report's
columns and their distributions, evidently's own report on demand, predictions, latency and outcomes
per day, its alerts with `Acknowledge`, and the rules and retraining runs that watch it.

Reads come from console/monitoring_data.py (cached, over services.monitoring.monitoring_views); the
two writes (acknowledging an alert, building evidently's report once) go through the services. Text
users typed (model and column names, alert messages, notes) shows as text: tables, st.text, ui.plain.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from mlops_nb.console import auth, data, links, monitoring_charts, ui
from mlops_nb.console import monitoring_data as mdata
from mlops_nb.services.errors import MlopsError
from mlops_nb.services.identity import Identity
from mlops_nb.services.monitoring.alerts import NOTE_CHARS

TABS = ("Drift", "Predictions and latency", "Outcomes", "Alerts", "Triggers and retraining")
WINDOWS = {"30 days": 30, "90 days": 90, "365 days": 365}  # up to the model's newest batch
EXPERIMENTS, APPROVALS = "views/experiments.py", "views/approvals.py"  # pages, relative to app.py
EVIDENTLY_HEIGHT = 600  # px of the scrolling frame evidently's report shows in
FLASH = "monitoring.flash"
NO_MODEL = ("No model of project **{project}** is in production or staging yet, so there is nothing to "
            "monitor. A version reaches production through a promotion request approved on the Approvals page.")
NO_REPORT = ("No drift report for **{model}** yet. `mlops monitor run` computes one over the recorded scoring "
             "batches (run it from cron), or from a notebook: "
             "`mlops.drift_report(current=recent, model=\"{code}\")`.")
NO_BATCH = ("No scoring batch of **{model}** yet. Batches are recorded when the model scores: "
            "`live = mlops.load_model(\"{code}\", stage=\"production\"); live.predict_proba(X)`.")
NO_SLA = ("No latency SLA set: a `latency_p95` alert rule sets one, e.g. "
          "`mlops monitor rule add sla --kind latency_p95 --param sla_ms=50 --model {code}`.")
NO_OUTCOME = ("No outcome logged for **{model}** yet: `mlops.log_outcomes(\"{code}\", predictions_id=batch_id, "
              "outcomes=y_true, metrics={{\"default_rate\": 0.07}})`.")


def _in_code(name: str) -> str:
    """`name` for a code span in markdown (shown as typed there: no escapes), or NAME when it holds a
    backtick, which would end the span."""
    return "NAME" if "`" in name else name


def _table(rows: list[dict[str, Any]], key: str, **kwargs: Any) -> Any:
    """A bounded, sortable table of `rows` (text shown as text)."""
    return st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=ui.table_height(len(rows)),
                        key=key, **kwargs)


def _model_choice(project_id: int, models: list[dict[str, Any]]) -> tuple[str, int]:
    """The model picker (one entry per model, naming its production and staging versions: the page
    shows every version's evidence, each labelled with its version) and the scoring window, which
    ends at the model's newest batch (the demo replays 2024: a window ending today would be empty);
    (the chosen model's name, the window in days)."""
    stages: dict[str, list[str]] = {}
    for m in models:  # production first, then staging (monitored_models' order)
        stages.setdefault(m["model"], []).append(f"{m['stage']} v{m['version']}")
    names = list(stages)
    ui.keep_choice(names, "monitoring.model")
    left, right, _ = st.columns([3, 2, 3])
    name = left.selectbox("Model", names, key="monitoring.model",
                          format_func=lambda n: f"{n} ({', '.join(stages[n])})")
    days = WINDOWS[right.selectbox("Scoring window", list(WINDOWS), index=1, key="monitoring.window")]
    return str(name), days


def _summary(timeline: dict[str, Any], watch: dict[str, Any], days_rows: list[dict[str, Any]]) -> None:
    """One row of counts: the latest drift share, drifted columns, open alerts, batches in the window."""
    latest = timeline["reports"][-1] if timeline["reports"] else None
    a, b, c, d = st.columns(4)
    a.metric("Latest drift share", f"{latest['share']:.0%}" if latest else "—",
             help="Share of tested columns whose verdict is drift, in the newest report")
    b.metric("Drifted columns", f"{latest['drifted']} of {latest['tested']}" if latest else "—")
    c.metric("Open alerts", sum(1 for a_ in watch["alerts"] if a_.status == "open"))
    d.metric("Batches in window", f"{sum(r['batches'] for r in days_rows):,}")


def _report_label(r: dict[str, Any]) -> str:
    verdict = "dataset drift" if r["dataset_drift"] else "no dataset drift"
    return f"#{r['id']} · v{r['version']} · {ui.when(r['at'])} · {r['drifted']}/{r['tested']} drifted ({verdict})"


def _columns_table(columns: list[dict[str, Any]], report_id: int) -> str | None:
    """The report's per-column table, drifted first (the role shows only when the report tested the
    predictions too); the session key of the drill-down's column, which a row picked sets (None: no
    columns)."""
    with_role = any(c["role"] != "feature" for c in columns)
    rows = [{"Column": c["column"], "Drift": c["drift"], **({"Role": c["role"]} if with_role else {}),
             "Type": c["type"], "Test": c["test"], "Statistic": c["statistic"], "Threshold": c["threshold"]}
            for c in columns]
    names = [c["column"] for c in columns]
    key = f"monitoring.column.{report_id}"
    event = _table(rows, f"monitoring.columns_table.{report_id}", on_select="rerun", selection_mode="single-row",
                   column_config={"Statistic": st.column_config.NumberColumn(format="%.3g"),
                                  "Threshold": st.column_config.NumberColumn(format="%.3g")})
    ui.pick_from_table(event, names, key)
    ui.keep_choice(names, key)
    return key if names else None


def _evidently(project_id: int, report: dict[str, Any]) -> None:
    """evidently's own report of `report`, built on request (stored once, then read back), in a
    sandboxed frame of EVIDENTLY_HEIGHT pixels that scrolls (monitoring_charts.sandboxed_report)."""
    st.caption("evidently's own report is built on a bounded sample of the reference and current data; the "
               "verdicts above come from the full computation over every row.")
    key = f"monitoring.evidently.{report['id']}"
    label = "Show evidently's report" if report["html_built"] else "Build evidently's report"
    if key not in st.session_state and st.button(label, key=key + ".button"):
        with st.spinner("Building evidently's report…"):
            found = ui.attempt(lambda: mdata.evidently_html(project_id, report["id"]))
        if found is not None:
            st.session_state[key] = found
            st.rerun()  # shown from the session from now on, without the button
    if key in st.session_state:
        if st.button("Hide evidently's report", key=key + ".hide"):  # megabytes sent on every rerun while shown
            del st.session_state[key]
            st.rerun()
        st.iframe(monitoring_charts.sandboxed_report(st.session_state[key], EVIDENTLY_HEIGHT),
                  height=EVIDENTLY_HEIGHT + 8)


def _drift(project_id: int, model: str, timeline: dict[str, Any]) -> None:
    reports = timeline["reports"]
    if not reports:
        st.info(NO_REPORT.format(model=ui.plain(model), code=_in_code(model)))
        return
    left, right = st.columns(2)
    left.plotly_chart(monitoring_charts.drift_share_figure(reports), width="stretch", key="monitoring.share_chart")
    right.plotly_chart(monitoring_charts.column_drift_figure(timeline["columns"], reports), width="stretch",
                       key="monitoring.columns_chart")
    newest_first = list(reversed(reports))
    labels = [_report_label(r) for r in newest_first]
    linked = st.session_state.pop("monitoring.linked_report", None)  # a report a link opened (links.py)
    by_id = {r["id"]: label for r, label in zip(newest_first, labels)}
    if linked in by_id:
        st.session_state["monitoring.report"] = by_id[linked]
    ui.keep_choice(labels, "monitoring.report")
    report = newest_first[labels.index(st.selectbox("Report", labels, key="monitoring.report"))]
    st.caption(ui.plain(f"Reference: {report['reference']} ({report['reference_rows']:,} rows) · current: "
                        f"{report['current']} ({report['current_rows']:,} rows) · prediction drift: "
                        f"{ {True: 'yes', False: 'no', None: 'not tested'}[report['prediction_drift']]} · "
                        f"{report['trigger']}"))
    columns = mdata.drift_columns(project_id, report["id"])
    key = _columns_table(columns, report["id"])
    if key is not None:
        left, right = st.columns([1, 2])
        chosen = left.selectbox("Column to compare with the reference", [c["column"] for c in columns], key=key)
        column = next(c for c in columns if c["column"] == chosen)
        left.caption(ui.plain(f"{column['test']}: {column['statistic']:.3g} against the threshold "
                              f"{column['threshold']:.3g}, {'drift' if column['drift'] else 'no drift'}; "
                              f"{column['reference_rows']:,} reference rows, {column['current_rows']:,} current rows"))
        figure = monitoring_charts.distribution_figure(column)
        if figure is None:
            right.caption("The report kept no distribution for this column.")
        else:
            right.plotly_chart(figure, width="stretch", key="monitoring.distribution_chart")
    if report["findings"]:
        st.caption("Columns not tested, and why")
        _table([{"Column": f.get("column"), "Rule": f.get("rule"), "Message": f.get("message")}
                for f in report["findings"]], f"monitoring.findings.{report['id']}",
               column_config={"Message": st.column_config.TextColumn(width="large")})
    _evidently(project_id, report)


def _scoring(model: str, days_rows: list[dict[str, Any]], sla_ms: float | None) -> None:
    if not days_rows:
        st.info(NO_BATCH.format(model=ui.plain(model), code=_in_code(model)))
        return
    left, right = st.columns(2)
    figure = monitoring_charts.predictions_figure(days_rows)
    if figure is None:
        left.caption("The batches in this window kept no prediction profile.")
    else:
        left.plotly_chart(figure, width="stretch", key="monitoring.predictions_chart")
    right.plotly_chart(monitoring_charts.latency_figure(days_rows, sla_ms), width="stretch",
                       key="monitoring.latency_chart")
    if sla_ms is None:
        right.caption(NO_SLA.format(code=_in_code(model)))
    totals = {s: sum(d[s] for d in days_rows) for s in ("accepted", "warned", "refused", "failed")}
    st.caption(" · ".join(f"{n:,} {s}" for s, n in totals.items()) + " batches; times are UTC days")


def _outcomes(model: str, outcomes: list[dict[str, Any]]) -> None:
    if not outcomes:
        st.info(NO_OUTCOME.format(model=ui.plain(model), code=_in_code(model)))
        return
    st.plotly_chart(monitoring_charts.outcomes_figure(outcomes), width="stretch", key="monitoring.outcomes_chart")
    names = list(monitoring_charts.outcome_series(outcomes))
    rows = [{"Logged": ui.when(o["created_at"]), "Version": f"v{o['version']}", "Rows": o["rows"],
             **{n: o["business"].get(n, o["metrics"].get(n)) for n in names}, "roc_auc": o["metrics"].get("roc_auc")}
            for o in reversed(outcomes)]  # newest first
    _table(rows, "monitoring.outcomes_table",
           column_config={n: st.column_config.NumberColumn(format="%.3f") for n in [*names, "roc_auc"]})


def _acknowledge(alert: Any, actor: Identity, project_id: int) -> None:
    note = st.text_input("Note", key=f"monitoring.ack.note.{alert.id}", placeholder="What you checked or did",
                         max_chars=NOTE_CHARS)
    if st.button("Acknowledge", key=f"monitoring.ack.{alert.id}", type="primary"):
        try:
            mdata.acknowledge(actor, project_id, alert.id, note.strip())
        except MlopsError as err:
            st.error(ui.plain(err))
            return
        st.session_state[FLASH] = f"Alert #{alert.id} acknowledged."
        st.rerun()


def _alert_label(alert: Any) -> str:
    """The alert picker's label: what never changes for an alert (not its status: see _alerts)."""
    return f"#{alert.id} · {alert.severity} · {alert.rule}"


def _alerts(model: str, alerts: list[Any], actor: Identity, project_id: int) -> None:
    if not alerts:
        st.info(f"No alert for **{ui.plain(model)}**. Rules fire when `mlops monitor run` evaluates them.")
        return
    rows = [{"Alert": a.id, "Status": a.status, "Severity": a.severity, "Rule": a.rule,
             "Version": f"v{a.version}" if a.version is not None else "", "Column": a.column or "",
             "Message": a.message, "Fired": ui.when(a.created_at),
             "Acknowledged": (f"{a.acknowledged_by}, {ui.when(a.acknowledged_at)}" if a.acknowledged_by else ""),
             "Note": a.note or ""} for a in alerts]
    ids = [a.id for a in alerts]
    event = _table(rows, "monitoring.alerts_table", on_select="rerun", selection_mode="single-row",
                   column_config={"Alert": st.column_config.NumberColumn(format="#%d", width="small"),
                                  "Message": st.column_config.TextColumn(width="large")})
    ui.pick_from_table(event, ids, "monitoring.alert")
    ui.keep_choice(ids, "monitoring.alert")
    by_id = {a.id: a for a in alerts}
    # the label holds only what never changes for an alert: Streamlit's browser side keeps a chosen
    # option's old label when only the label changes, so a status in it read "open" after Acknowledge
    chosen = st.selectbox("Alert", ids, key="monitoring.alert", format_func=lambda i: _alert_label(by_id[i]))
    alert = by_id[chosen]
    st.text(alert.message)
    if alert.evidence:
        st.caption("Evidence: " + ui.plain(", ".join(f"{k} {v}" for k, v in alert.evidence.items())))
    if alert.status == "open":
        _acknowledge(alert, actor, project_id)
    else:
        st.caption(ui.plain(f"Acknowledged by {alert.acknowledged_by}, {ui.when(alert.acknowledged_at)}"
                            + (f": {alert.note}" if alert.note else "")))


def _open_run(run_id: str) -> None:
    """The Experiments page filtered to run `run_id` (its filter box holds the query)."""
    st.session_state["experiments.filter"] = f"attributes.run_id = '{run_id}'"


def _triggers(project_id: int, model: str, rules: list[dict[str, Any]], runs: list[dict[str, Any]]) -> None:
    st.subheader("Alert rules")
    if not rules:
        st.caption(f"No rule watches {ui.plain(model)}: `mlops monitor run` applies the default rules (validation "
                   "findings and drift of the recorded batches). Add one with `mlops monitor rule add` or "
                   "`mlops.add_alert_rule(...)`.")
    else:
        _table([{"Rule": r["name"], "Kind": r["kind"], "Params": ", ".join(f"{k}={v}" for k, v in r["params"].items()),
                 "Severity": r["severity"], "Actions": ", ".join(r["actions"]) or "notify", "Enabled": r["enabled"],
                 "Watches": r["scope"], "Added by": r["created_by"]} for r in rules], "monitoring.rules_table")
    st.subheader("Retraining runs")
    if not runs:
        st.caption(f"No retraining run of {ui.plain(model)} yet: `mlops retrain {_in_code(model)}` runs its training "
                   "notebook, or a rule with a retrain action does when it fires.")
        return
    rows = [{"Run": r["id"], "Status": r["status"], "Trigger": r["trigger"], "Started": ui.when(r["started_at"]),
             "Finished": ui.when(r["finished_at"]), "By": r["started_by"],
             "Version": f"v{r['model_version']}" if r["model_version"] else "",
             "Request": f"#{r['request_id']}" if r["request_id"] is not None else "", "Error": r["error"] or ""}
            for r in runs]
    ids = [r["id"] for r in runs]
    event = _table(rows, "monitoring.retraining_table", on_select="rerun", selection_mode="single-row",
                   column_config={"Run": st.column_config.NumberColumn(format="#%d", width="small")})
    ui.pick_from_table(event, ids, "monitoring.retraining")
    ui.keep_choice(ids, "monitoring.retraining")
    by_id = {r["id"]: r for r in runs}
    run = by_id[st.selectbox("Retraining run", ids, key="monitoring.retraining",
                             format_func=lambda i: f"#{i} · {by_id[i]['trigger']}")]  # no status: see _alert_label
    links = st.container(horizontal=True)
    if run["run_id"] and links.button(f"Open its run {run['run_id'][:8]} on Experiments", key="monitoring.open_run",
                                      on_click=_open_run, args=(run["run_id"],)):
        st.switch_page(EXPERIMENTS)
    if run["request_id"] is not None:
        with links:
            st.page_link(APPROVALS, label=f"Its promotion request #{run['request_id']} on Approvals",
                         icon=":material/fact_check:")
    if run.get("notebook"):  # the run's evidence: what ran, with its outputs and any traceback
        notebook = ui.attempt(lambda: mdata.executed_notebook(project_id, run["id"]))
        if notebook is not None:
            links.download_button(f"Download its executed notebook (run #{run['id']}, .ipynb)", notebook,
                                  file_name=f"retraining-{run['id']}.ipynb", mime="application/x-ipynb+json",
                                  key="monitoring.executed_notebook", on_click="ignore")
    if not run["run_id"] and run["request_id"] is None:
        st.caption("This run recorded no tracked run or request" + (" (it failed)." if run["status"] == "failed"
                                                                     else "."))


def render() -> None:
    """The page: pick a model, then its drift, scoring, outcomes, alerts and triggers in tabs."""
    st.title("Monitoring")
    actor = auth.current_identity()
    if actor is None:  # the navigation shows this page only after a login
        return
    project = data.project()
    if project is None:
        st.info("The store has no project yet. Start one from a notebook: "
                "`import mlops_nb as mlops; mlops.init(project=\"credit\")`.")
        return
    pid = project["id"]
    models = mdata.monitored_models(pid)
    if not models:
        st.info(NO_MODEL.format(project=ui.plain(project["name"])))
        st.page_link(APPROVALS, label="Open Approvals", icon=":material/fact_check:")
        return
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash)
    links.preselect_monitoring()  # a link to a report, alert, rule, retraining run or outcome opens it
    name, days = _model_choice(pid, models)
    try:
        timeline = mdata.drift_timeline(pid, name)
        watch = mdata.watch(pid, name)
        scored = mdata.scoring_days(pid, name, days)
    except MlopsError as err:  # the model went between the picker and these reads
        st.error(ui.plain(err))
        return
    days_rows = scored["days"]
    if scored["until"] is not None:
        newest = datetime.fromtimestamp(scored["until"], tz=UTC).strftime("%Y-%m-%d %H:%M")
        st.caption(f"Scoring window: the {days} days up to the newest batch, {newest} UTC")
    _summary(timeline, watch, days_rows)
    # keyed, with a rerun on change: the tab chosen stays chosen across reruns (an acknowledgement, a
    # report built), and only its content is drawn and sent
    drift, scoring, outcomes, alerts, triggers = st.tabs(TABS, key="monitoring.tab", on_change="rerun")
    if drift.open:
        with drift:
            _drift(pid, name, timeline)
    if scoring.open:
        with scoring:
            _scoring(name, days_rows, watch["sla_ms"])
    if outcomes.open:
        with outcomes:
            _outcomes(name, watch["outcomes"])
    if alerts.open:
        with alerts:
            _alerts(name, watch["alerts"], actor, pid)
    if triggers.open:
        with triggers:
            _triggers(pid, name, watch["rules"], watch["retraining"])

if __name__ == "__main__":
    render()
