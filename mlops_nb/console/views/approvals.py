"""The Approvals page: the queue of pending promotion requests, each with what a reviewer reads before
deciding (reason, gates now, lineage) and `Approve` / `Reject`, then the history of decisions.

Who may decide is the services' call (governance.decision_blockers, the checks approve and reject
make): a reviewer who may not sees why instead of the button, and a click still goes through the
service, which refuses what it must. Text users typed is shown as text (st.text, tables, ui.plain).

A link that names a request (Scorecards' evidence: links.preselect_request) opens it: a pending one
expanded on its page of the queue, a decided one above the queue with its decisions, the gates as
recorded and its lineage, until `Close`.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mlops_nb.console import auth, data, links, ui
from mlops_nb.services.errors import MlopsError
from mlops_nb.services.identity import Identity

PAGE_SIZE = 10  # requests shown per page of the queue
PASS, FAIL = ":green[pass]", ":red[**fail**]"  # gate results in the table (markdown cells; no emoji font needed)
FLASH = "approvals.flash"  # the success message shown after the rerun a decision triggers
LINKED = "approvals.linked"  # the id of the request a link opened
EMPTY_QUEUE = (
    "No request waits for a decision in project **{project}**. A request is made from a notebook: "
    "`mlops.request_promotion(\"credit-risk\", version=3, to=\"staging\", reason=\"beats v2 on AUC\")`, "
    "or `%mlops promote credit-risk --version 3 --to staging --reason \"beats v2 on AUC\"`.")


def _label(req: Any, from_stage: str) -> str:
    """The expander's one line: id, model and version, stages, requester, when (user text escaped)."""
    return (f"#{req.id} · **{ui.plain(req.model)}** v{req.version} · {from_stage} → {req.target_stage} · "
            f"requested by {ui.plain(req.requester)} · {ui.when(req.created_at)}")


def _gates(gates: list[dict[str, Any]]) -> None:
    """The gates evaluated now, as a small table (the detail wraps; every cell escaped)."""
    if not gates:
        st.caption("No gate applies to this stage under the model's policy.")
        return
    rows = [{"Gate": ui.plain(g["name"]), "Result": PASS if g["passed"] else FAIL,
             "Detail": ui.plain(g["detail"])} for g in gates]
    st.table(pd.DataFrame(rows), hide_index=True)


def _items(values: dict[str, Any], total: int) -> str:
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    more = f" (+{total - len(values)} more)" if total > len(values) else ""
    return (shown or "none") + more


def _lineage(lineage: dict[str, Any]) -> None:
    """The version's lineage as a two-column description list (every value escaped)."""
    run = lineage["run_id"]
    data_ = lineage["dataset"]
    rows = [
        ("Run", f"{lineage['run_name'] or '?'} (id {run[:12]})" if run else "none recorded"),
        ("Training data", (f"{data_['name']} v{data_['version']}, {data_['rows']:,} rows, fingerprint "
                           f"{data_['fingerprint'][:12]}") if data_ else "none recorded"),
        ("Params", _items(lineage["params"], lineage["params_total"])),
        ("Metrics", _items(lineage["metrics"], lineage["metrics_total"])),
        ("Code", ("" if lineage["code_recorded"] else "⚠ ") + lineage["code"]),
        ("Registered", f"by {lineage['registered_by']}, {ui.when(lineage['registered_at'])}"),
    ]
    frame = pd.DataFrame([{"": k, "Lineage": ui.plain(v)} for k, v in rows])
    st.table(frame, hide_index=True, hide_header=True)


def _approvals_so_far(req: Any) -> None:
    """Decisions already given and what the policy still waits for, in one caption."""
    given = [f"{ui.plain(a['user'])} ({a['role']}) {a['decision']}d" for a in req.approvals]
    waiting = ", ".join(f"{n} {role}" for role, n in req.waiting_for.items())
    parts = [f"Approvals so far: {', '.join(given)}" if given else "No approval yet"]
    if waiting:
        parts.append(f"waits for {waiting}")
    st.caption(" · ".join(parts))
    for a in req.approvals:
        if a["comment"]:
            st.text(f"{a['user']} ({a['role']}): {a['comment']}")


def _decide(action: str, req: Any, comment: str, actor: Identity, project_id: int) -> None:
    """Run the decision through the service; on success remember the message and rerun, else show the
    service's refusal where the buttons are."""
    decide = data.approve if action == "approve" else data.reject
    try:
        status = decide(req.id, comment, actor, project_id)
    except MlopsError as err:
        st.error(str(err))
        return
    what = f"Request #{req.id} ({req.model} v{req.version} → {req.target_stage})"
    if status == "pending":
        st.session_state[FLASH] = f"{what}: your approval is recorded; it waits for the other approvals."
    else:
        st.session_state[FLASH] = f"{what} {status}."
    st.rerun()


def _blocked(blockers: list[str], header: str) -> None:
    st.warning(header + "\n" + "\n".join(f"- {ui.plain(b)}" for b in blockers))


def _decision(review: Any, actor: Identity, project_id: int) -> None:
    """The comment box and the buttons the actor may use, or why they may not decide."""
    req = review.request
    may_approve, may_reject = not review.approve_blockers, not review.reject_blockers
    if not may_approve and not may_reject:  # what blocks a rejection blocks an approval too: say it once
        _blocked(review.approve_blockers, "You cannot decide this request:")
        return
    if not may_approve:
        _blocked(review.approve_blockers, "You cannot approve this request (you may reject it):")
    comment = st.text_area("Comment", key=f"approvals.comment.{req.id}", height=80,
                           placeholder="What you checked; required to reject")
    buttons = st.container(horizontal=True)
    if may_approve and buttons.button("Approve", key=f"approvals.approve.{req.id}", type="primary"):
        _decide("approve", req, comment, actor, project_id)
    if may_reject and buttons.button("Reject", key=f"approvals.reject.{req.id}"):
        _decide("reject", req, comment, actor, project_id)


def _request(req: Any, actor: Identity, project_id: int, expanded: bool) -> None:
    """One pending request in an expander: reason, gates and lineage side by side, then the decision."""
    try:
        review = data.review(req.id, actor)
    except MlopsError as err:  # gone between the list and this read: the next rerun drops it
        st.error(str(err))
        return
    with st.expander(_label(req, review.from_stage), expanded=expanded):
        left, right = st.columns([3, 2])
        with left:
            st.caption("Reason")
            st.text(req.reason)
            st.caption("Gates (evaluated now)")
            _gates(review.gates)
        with right:
            st.caption("Lineage")
            _lineage(review.lineage)
        _approvals_so_far(req)
        _decision(review, actor, project_id)


def _close_linked() -> None:
    st.session_state.pop(LINKED, None)


def _linked(request_id: int, actor: Identity) -> None:
    """A decided (or no longer queued) request a link opened: its outcome, reason, the gates as
    recorded at its last evaluation, its lineage and every decision with its comment."""
    try:
        review = data.review(request_id, actor)
    except MlopsError as err:
        st.error(ui.plain(err))
        _close_linked()
        return
    req = review.request
    with st.container(border=True):
        head, close = st.columns([6, 1], vertical_alignment="center")
        decided = (f" · {req.status} by {ui.plain(req.decided_by)}, {ui.when(req.decided_at)}" if req.decided_by
                   else f" · {req.status}")
        head.markdown(_label(req, review.from_stage) + decided)
        close.button("Close", key="approvals.linked.close", on_click=_close_linked)
        left, right = st.columns([3, 2])
        with left:
            st.caption("Reason")
            st.text(req.reason)
            st.caption("Gates (as recorded at its last evaluation)")
            _gates(req.gates)
        with right:
            st.caption("Lineage")
            _lineage(review.lineage)
        _approvals_so_far(req)


def _history(project: dict[str, Any]) -> None:
    """Decided requests with who decided, when, and each decision's comment, as a sortable table."""
    st.subheader("Decisions")
    decided = data.decided_requests(project["id"])
    if not decided:
        st.caption("No request has been decided yet.")
        return
    rows = [{"Request": r.id, "Model": f"{r.model} v{r.version}", "Target": r.target_stage, "Status": r.status,
             "Decided by": r.decided_by or "", "Decided": ui.when(r.decided_at), "Requested by": r.requester,
             "Comments": "; ".join(f"{a['user']} ({a['role']}, {a['decision']}): {a['comment']}"
                                   for a in r.approvals if a["comment"]) or ""}
            for r in decided]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 height=min(38 + 35 * len(rows), 400), key="approvals.history",
                 column_config={"Request": st.column_config.NumberColumn(format="#%d", width="small"),
                                "Comments": st.column_config.TextColumn(width="large")})


def render() -> None:
    """The page: the pending queue of the sidebar's project, then the history of decisions."""
    st.title("Approvals")
    actor = auth.current_identity()
    if actor is None:  # the navigation shows this page only after a login
        return
    project = data.project()
    if project is None:
        st.info("The store has no project yet. Start one from a notebook: "
                "`import mlops_nb as mlops; mlops.init(project=\"credit\")`.")
        return
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash)
    if links.preselect_request() is not None:
        st.session_state[LINKED] = links.preselect_request()
    linked = st.session_state.get(LINKED)
    pending = list(reversed(data.pending_requests(project["id"])))  # oldest first: it waited longest
    queued = [r.id for r in pending]
    if linked is not None and linked not in queued:
        _linked(linked, actor)
    st.subheader(f"Pending ({len(pending)}{'+' if len(pending) >= data.QUEUE_LIMIT else ''})")
    if not pending:
        st.info(EMPTY_QUEUE.format(project=ui.plain(project["name"])))
    else:
        pages = (len(pending) + PAGE_SIZE - 1) // PAGE_SIZE
        page = 1
        if linked in queued:  # a pending request a link opened: its page of the queue, expanded
            st.session_state["approvals.page"] = queued.index(linked) // PAGE_SIZE + 1
            st.session_state.pop(LINKED, None)
        if pages > 1:
            page = int(st.number_input(f"Page (of {pages}, {PAGE_SIZE} requests each)", min_value=1,
                                       max_value=pages, key="approvals.page"))
        shown = pending[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        for i, req in enumerate(shown):
            _request(req, actor, project["id"], expanded=(req.id == linked if linked in queued else i == 0))
    _history(project)


if __name__ == "__main__":
    render()
