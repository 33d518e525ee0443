"""The Overview page: what holds production, what waits for the logged-in user, recent decisions and
recent activity, for the project chosen in the sidebar; on an empty project, the lines that start one.

"Waiting for you" are the pending requests the services would let this user approve now
(governance.decision_blockers finds nothing): the same checks as the Approvals page and the decision.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mlops_nb.console import auth, data, ui

APPROVALS = "views/approvals.py"  # the Approvals page, relative to app.py
RECENT = 8  # rows of the recent decisions and activity tables
FIRST_RUN = '''import mlops_nb as mlops
mlops.init(project="{project}")
with mlops.start_run(experiment="baseline"):
    mlops.log_metric("auc", 0.8)'''


def _table(rows: list[dict[str, Any]], key: str, **config: Any) -> None:
    """A compact, sortable table of `rows` (text shown as text)."""
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=38 + 35 * len(rows), key=key,
                 column_config=config or None)


def _production(models: list[dict[str, Any]]) -> None:
    st.subheader("Production models")
    if not models:
        st.caption("No model is in production yet: a request to production is approved on the Approvals page.")
        return
    _table([{"Model": f"{m['model']} v{m['version']}", "Since": ui.when(m["since"]),
             "Approved by": ", ".join(m["approved_by"]) or
             (f"rollback by {m['moved_by']}" if m["rollback"] else (m["moved_by"] or ""))} for m in models],
           "overview.production", **{"Approved by": st.column_config.TextColumn(width="large")})


def _waiting(waiting: list[Any]) -> None:
    st.subheader("Waiting for you")
    if not waiting:
        st.caption("Nothing waits for your decision.")
    else:
        _table([{"Request": r.id, "Model": f"{r.model} v{r.version}", "Target": r.target_stage,
                 "Requested by": r.requester, "Requested": ui.when(r.created_at)} for r in waiting],
               "overview.waiting", Request=st.column_config.NumberColumn(format="#%d", width="small"))
    st.page_link(APPROVALS, label="Open Approvals", icon=":material/fact_check:")


def _decisions(decided: list[Any]) -> None:
    st.subheader("Recent decisions")
    if not decided:
        st.caption("No request has been decided yet.")
        return
    _table([{"Request": r.id, "Model": f"{r.model} v{r.version}", "Status": f"{r.status} ({r.target_stage})",
             "Decided by": r.decided_by or "", "Decided": ui.when(r.decided_at)} for r in decided[:RECENT]],
           "overview.decisions", Request=st.column_config.NumberColumn(format="#%d", width="small"))


def _activity(events: list[dict[str, Any]]) -> None:
    st.subheader("Recent activity")
    if not events:
        st.caption("Nothing has been recorded yet.")
        return
    _table([{"Time": ui.when(e["ts"]), "Actor": e["actor"], "Action": e["action"],
             "Entity": f"{e['entity']} {e['entity_id']}"} for e in events], "overview.activity")


def render() -> None:
    """The page: a row of counts, then production, what waits for you, decisions and activity."""
    st.title("Overview")
    actor = auth.current_identity()
    if actor is None:  # the navigation shows this page only after a login
        return
    project = data.project()
    if project is None:
        st.info("The store is empty. Make a first run from a notebook:")
        st.code(FIRST_RUN.format(project="credit"), language="python")
        return
    pid = project["id"]
    runs, models = data.run_count(pid), data.production_models(pid)
    pending, decided = data.pending_requests(pid), data.decided_requests(pid)
    waiting = data.waiting_for(pid, actor)
    if not (runs or models or pending or decided):
        st.info(f"Project **{ui.plain(project['name'])}** has no runs yet. Make one from a notebook:")
        st.code(FIRST_RUN.format(project=project["name"]), language="python")
    a, b, c, d = st.columns(4)
    a.metric("Production models", len(models))
    b.metric("Pending requests", len(pending))
    c.metric("Waiting for you", len(waiting))
    d.metric("Runs", f"{runs:,}")
    left, right = st.columns(2)
    with left:
        _production(models)
    with right:
        _waiting(waiting)
    left, right = st.columns(2)
    with left:
        _decisions(decided)
    with right:
        _activity(data.recent_activity(RECENT))


if __name__ == "__main__":
    render()
