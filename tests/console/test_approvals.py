"""The Approvals page: the queue with gates, lineage and reason, decisions through the services with the
logged-in actor, why a reviewer may not decide, no stale queue, and users' text shown as text."""
from __future__ import annotations

from sqlalchemy import select

from mlops_nb.console.views.approvals import FAIL, PASS
from mlops_nb.services import governance, tracking
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.models import AuditEvent, ModelVersion, PromotionRequest
from tests import factories as g
from tests.console.conftest import log_in, new_app

PAGE = "views/approvals.py"


def _pending(url: str, *, to: str = "staging", stage: str = "none", requester: str = "dana",
             reason: str = "beats v2 on AUC") -> tuple[int, int]:
    """A pending request in project credit, through the service: (request id, version row id)."""
    with session_scope(get_engine(url)) as s:
        pid = tracking.get_or_create_project(session=s, name="credit").id
        m = g.model(s, pid)
        v = g.version(s, m, stage=stage)
        req = governance.request_promotion(session=s, actor=g.proven(s, requester), project_id=pid, model=m.name,
                                           version=v.version, to=to, reason=reason)
        return req.id, v.id


def _row(url: str, table, id_: int):
    with session_scope(get_engine(url)) as s:
        return s.get(table, id_)


def _events(url: str, action: str) -> list[AuditEvent]:
    with session_scope(get_engine(url)) as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def _approvals(at):
    at.switch_page(PAGE)
    at = at.run()
    assert not at.exception, at.exception
    return at


def _keys(at, kind: str) -> set[str]:
    return {b.key for b in at.button if b.key and b.key.startswith(f"approvals.{kind}.")}


def _warnings(at) -> str:
    return "\n".join(w.value for w in at.warning)


def test_approve_with_a_comment_moves_the_stage_and_audits_the_logged_in_actor(console_store, logged_in):
    req, version = _pending(console_store)
    at = _approvals(logged_in("eli"))
    assert [s.value for s in at.subheader][:1] == ["Pending (1)"]
    at.text_area(key=f"approvals.comment.{req}").input("validated on the Q3 holdout")
    at.button(key=f"approvals.approve.{req}").click()
    at = at.run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith(f"Request #{req} (") and at.success[0].value.endswith("approved.")
    assert _row(console_store, ModelVersion, version).stage == "staging"
    [event] = _events(console_store, "promotion.approve")
    assert event.actor == "eli" and event.entity_id == str(req)
    assert event.after["comment"] == "validated on the Q3 holdout" and event.after["role"] == "ml_engineer"
    assert _keys(at, "approve") == set() and [s.value for s in at.subheader][:1] == ["Pending (0)"]
    history = at.dataframe[0].value
    assert history.loc[0, "Status"] == "approved" and history.loc[0, "Decided by"] == "eli"
    assert "validated on the Q3 holdout" in history.loc[0, "Comments"]


def test_the_requester_sees_why_instead_of_the_buttons(console_store, logged_in):
    req, _ = _pending(console_store, requester="eli")
    at = _approvals(logged_in("eli"))
    assert _keys(at, "approve") == set() and _keys(at, "reject") == set()
    assert "You cannot decide this request:" in _warnings(at)
    assert "four eyes" in _warnings(at)


def test_a_role_the_policy_does_not_name_sees_why(console_store, logged_in):
    req, _ = _pending(console_store)  # staging: one ml_engineer, and only that role
    at = _approvals(logged_in("rita"))
    assert _keys(at, "approve") == set() and _keys(at, "reject") == set()
    assert "needs the role ml\\_engineer" in _warnings(at)  # escaped: shown as text
    assert "for staging" in _warnings(at)


def test_failing_gates_hide_approve_and_leave_reject(console_store, logged_in):
    req, _ = _pending(console_store, to="production")  # version in none: production only from staging
    at = _approvals(logged_in("eli"))
    assert _keys(at, "approve") == set() and _keys(at, "reject") == {f"approvals.reject.{req}"}
    assert "You cannot approve this request" in _warnings(at) and "staging\\_before\\_production" in _warnings(at)
    gates = at.table[0].value
    assert list(gates["Result"]) == [FAIL, PASS]


def test_reject_without_a_comment_shows_the_error_and_changes_nothing(console_store, logged_in):
    req, version = _pending(console_store)
    at = _approvals(logged_in("eli"))
    at.button(key=f"approvals.reject.{req}").click()
    at = at.run()
    assert [e.value for e in at.error] == ["comment is required, e.g. comment='AUC below the production model'"]
    assert _row(console_store, PromotionRequest, req).status == "pending"
    assert _row(console_store, ModelVersion, version).stage == "none"
    assert _events(console_store, "promotion.reject") == []
    assert _keys(at, "reject") == {f"approvals.reject.{req}"}  # still in the queue


def test_another_reviewers_decision_shows_on_the_next_rerun(console_store, logged_in):
    req, _ = _pending(console_store, to="production", stage="staging")  # rita and eli may both decide
    first = _approvals(logged_in("rita"))
    assert _keys(first, "approve") == {f"approvals.approve.{req}"}
    second = new_app()
    second.run()
    second = _approvals(log_in(second, "eli"))
    second.text_area(key=f"approvals.comment.{req}").input("drift on the 2024 cohort")
    second.button(key=f"approvals.reject.{req}").click()
    second = second.run()
    assert second.success and _row(console_store, PromotionRequest, req).status == "rejected"
    first = first.run()
    assert not first.exception
    assert _keys(first, "approve") == set() and _keys(first, "reject") == set()
    assert first.dataframe[0].value.loc[0, "Status"] == "rejected"


def test_a_reason_is_shown_as_literal_text(console_store, logged_in):
    reason = "<script>alert(1)</script> and **bold**"
    _pending(console_store, reason=reason)
    at = _approvals(logged_in("eli"))
    assert reason in [t.value for t in at.text]
    rendered = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.label for e in at.expander]
    assert not any("<script>" in v or "**bold**" in v for v in rendered)


def test_an_empty_queue_says_what_makes_a_request(app, logged_in):
    at = _approvals(logged_in("rita"))
    [info] = at.info
    assert "mlops.request_promotion(" in info.value and "%mlops promote" in info.value
    assert [s.value for s in at.subheader] == ["Pending (0)", "Decisions"]


def test_a_decision_made_in_a_notebook_shows_on_the_next_rerun(console_store, logged_in):
    req, _ = _pending(console_store)
    at = _approvals(logged_in("eli"))
    assert _keys(at, "approve") == {f"approvals.approve.{req}"}
    with session_scope(get_engine(console_store)) as s:  # as mlops.cancel(...) in a notebook does
        governance.cancel(session=s, actor=g.proven(s, "dana"), request_id=req, reason="retraining first")
    at = at.run()
    assert _keys(at, "approve") == set() and at.dataframe[0].value.loc[0, "Status"] == "cancelled"
