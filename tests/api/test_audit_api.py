"""mlops.audit_trail: the events a user inspects, filtered, escaped in HTML, with the chain checked."""
from __future__ import annotations

import pytest
from sqlalchemy import JSON, bindparam, text

import mlops_nb as mlops
from mlops_nb.services import governance
from mlops_nb.store.db import session_scope


def _events(ctx):
    with session_scope(ctx.engine) as session:
        governance.record(session=session, actor="dana", action="model.register", entity="model_version",
                     entity_id="<script>m</script>:1", after={"stage": "none"})
        governance.record(session=session, actor="ed", action="promotion.decide", entity="promotion_request",
                     entity_id=7, before={"status": "pending"}, after={"status": "approved"})


def test_audit_trail_shows_newest_first_and_verifies_the_chain(ctx):
    _events(ctx)
    trail = mlops.audit_trail()
    assert [e["action"] for e in trail] == ["promotion.decide", "model.register"]
    assert trail.verified == "audit chain intact: 2 events"
    assert list(trail.to_frame().columns) == ["id", "time", "actor", "action", "entity", "entity_id", "before",
                                              "after", "hash"]


def test_audit_trail_filters_by_entity_and_action(ctx):
    _events(ctx)
    assert [e["entity_id"] for e in mlops.audit_trail(entity="promotion_request", entity_id="7")] == ["7"]
    assert [e["actor"] for e in mlops.audit_trail(action="model.register")] == ["dana"]
    assert len(mlops.audit_trail(limit=1)) == 1


def test_audit_trail_escapes_user_text_in_html(ctx):
    _events(ctx)
    html = mlops.audit_trail()._repr_mimebundle_()["text/html"]
    assert "<script>" not in html and "&lt;script&gt;m&lt;/script&gt;" in html


def test_audit_trail_reports_a_tampered_chain_in_its_title(ctx):
    _events(ctx)
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET after = :after WHERE id = 2")
                     .bindparams(bindparam("after", type_=JSON)), {"after": {"status": "rejected"}})
    trail = mlops.audit_trail()
    assert trail.verified.startswith("audit chain broken at event 2")
    assert "audit chain broken at event 2" in repr(trail).splitlines()[0]


@pytest.mark.parametrize("limit", [0, -1, 2.5, True])
def test_audit_trail_refuses_a_bad_limit(ctx, limit):
    with pytest.raises(mlops.InvalidInput, match="limit must be a positive whole number"):
        mlops.audit_trail(limit=limit)
