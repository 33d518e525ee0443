"""Someone who can write the database but does not hold the audit key tries to rewrite the trail.

Each test does what such a person can do with SQL (recompute every hash with sha256, delete or roll
back the head row, empty the trail) and checks that `verify` names it, and that the next governance
write neither crashes with a raw driver error nor launders the change.
"""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import JSON, bindparam, text

from mlops_nb.services import governance
from mlops_nb.services.errors import IntegrityFailure, MlopsError
from mlops_nb.store.db import session_scope
from tests import factories as g
from tests.services.governance.test_audit import _history


def _rows(conn) -> list:
    return conn.execute(text("SELECT id, ts, actor, action, entity, entity_id, before, after FROM audit_event "
                             "ORDER BY id")).all()


def _recompute_with_sha256(engine, *, forged_event: int) -> None:
    """What an attacker without the key does: change one event, then rewrite every hash and the head."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET after = :after WHERE id = :id")
                     .bindparams(bindparam("after", type_=JSON)), {"after": {"stage": "forged"}, "id": forged_event})
        prev = "0" * 64
        for eid, ts, actor, action, entity, entity_id, before, after in _rows(conn):
            before = json.loads(before) if isinstance(before, str) else before
            after = json.loads(after) if isinstance(after, str) else after
            body = json.dumps({"id": eid, "ts": repr(float(ts)), "actor": actor, "action": action, "entity": entity,
                               "entity_id": entity_id, "before": before, "after": after},
                              sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
            digest = hashlib.sha256((prev + body).encode()).hexdigest()
            conn.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :id"),
                         {"p": prev, "h": digest, "id": eid})
            prev = digest
        conn.execute(text("UPDATE audit_head SET last_hash = :h"), {"h": prev})


def _verify(engine):
    with session_scope(engine) as session:
        return governance.verify(session=session)


def _write(engine) -> None:
    """One governance change: an admin sets a policy (audited)."""
    with session_scope(engine) as session:
        admin = g.identity.OPERATOR  # a proven admin that needs no user row (adding one would be audited)
        governance.set_policy(session=session, actor=admin, project_id=g.project(session), model_id=None,
                              rules={"lineage_complete": False})


def test_a_chain_rewritten_and_rehashed_with_sha256_is_detected(engine):
    _history(engine)
    _recompute_with_sha256(engine, forged_event=3)
    result = _verify(engine)
    assert not result.ok and result.broken_event_id == 1
    assert str(result).startswith("audit chain broken at event 1: its content was changed")


def test_a_rehashed_chain_with_the_key_marker_moved_past_it_is_detected(engine):
    """Moving `keyed_from` past the end would make every event 'legacy sha256': the head's MAC fails, so
    its keyed_from is not believed and every event is checked with the key."""
    _history(engine)
    _recompute_with_sha256(engine, forged_event=3)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_head SET keyed_from = 1000000"))
    result = _verify(engine)
    assert not result.ok and result.broken_event_id == 1
    assert str(result).startswith("audit chain broken at event 1: its content was changed")


def test_a_head_changed_alone_is_named(engine):
    _history(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_head SET keyed_from = 1000000"))
    result = _verify(engine)
    assert not result.ok and result.broken_event_id is None
    assert str(result) == ("audit chain broken: the head row (audit_head) was changed outside mlops "
                           "(its MAC does not match)")


def test_deleted_head_row_and_deleted_tail_are_detected(engine):
    count = _history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id >= :id"), {"id": count - 1})
        conn.execute(text("DELETE FROM audit_head"))
    result = _verify(engine)
    assert not result.ok and "the head row (audit_head) is missing" in str(result)


def test_a_head_rolled_back_over_a_deleted_tail_is_detected(engine):
    count = _history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": count})
        conn.execute(text("UPDATE audit_head SET last_event_id = :n, last_hash = "
                          "(SELECT hash FROM audit_event WHERE id = :n)"), {"n": count - 1})
    result = _verify(engine)
    assert not result.ok and "(its MAC does not match)" in str(result)


@pytest.mark.parametrize("head", ["deleted", "reset"])
def test_an_emptied_trail_on_a_store_with_history_is_broken(engine, head):
    _history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event"))
        if head == "deleted":
            conn.execute(text("DELETE FROM audit_head"))
        else:
            conn.execute(text("UPDATE audit_head SET last_event_id = 0, last_hash = :g"), {"g": "0" * 64})
    result = _verify(engine)
    assert not result.ok and result.events == 0
    assert "audit chain intact" not in str(result)


def test_an_emptied_trail_under_an_authentic_head_names_the_deleted_events(engine):
    count = _history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event"))
    result = _verify(engine)
    assert str(result) == (f"audit chain broken at event 1: the chain ends at event 0 but the head records "
                           f"{count}: events were deleted from the end")


def test_a_trail_emptied_with_a_fresh_head_still_shows_the_registered_models(engine):
    """Even a head that passed its check (here: the store's only) cannot make models' history vanish."""
    with session_scope(engine) as session:
        g.model(session, g.project(session))
    with engine.begin() as conn:
        head = conn.execute(text("SELECT last_event_id FROM audit_head")).scalar_one()
    assert head == 0  # the factory writes the model row directly, with no event: a trail 'emptied' at birth
    result = _verify(engine)
    assert not result.ok and str(result) == ("audit chain broken: the trail is empty but the store holds 1 "
                                             "registered models, and every registration is audited: the trail "
                                             "was emptied")


def test_writes_after_a_tail_deletion_continue_and_verify_keeps_naming_the_gap(engine):
    count = _history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": count})
    _write(engine)
    result = _verify(engine)
    assert not result.ok and str(result) == (f"audit chain broken at event {count}: event {count} is missing "
                                             f"(next is {count + 1})")


@pytest.mark.parametrize("tamper", ["DELETE FROM audit_head",
                                    "UPDATE audit_head SET last_event_id = last_event_id - 1"])
def test_the_next_write_after_the_head_was_deleted_or_moved_is_refused_by_name(engine, tamper):
    count = _history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": count})
        conn.execute(text(tamper))
    with pytest.raises(IntegrityFailure, match=r"^audit chain broken: the head row \(audit_head\) .*"
                                               r"governance changes are refused until it is repaired"):
        _write(engine)
    with engine.begin() as conn:  # nothing written: neither the event nor the policy
        assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one() == count - 1
        assert conn.execute(text("SELECT count(*) FROM policy")).scalar_one() == 1


def test_the_refusal_is_a_domain_error_not_a_driver_error(engine):
    _history(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    with pytest.raises(MlopsError) as caught:
        _write(engine)
    assert type(caught.value) is IntegrityFailure


def test_an_event_appended_outside_mlops_is_named_and_the_next_write_refused_without_a_driver_error(engine):
    count = _history(engine)
    with engine.begin() as conn:  # a copy of the last event under the next id, the head left alone
        conn.execute(text("INSERT INTO audit_event (id, ts, actor, action, entity, entity_id, before, after, "
                          "prev_hash, hash) SELECT id + 1, ts, actor, action, entity, entity_id, before, after, hash, "
                          ":h FROM audit_event WHERE id = :id"), {"h": "f" * 64, "id": count})
    result = _verify(engine)
    assert not result.ok and str(result).startswith(f"audit chain broken at event {count + 1}: its content was changed")
    with pytest.raises(IntegrityFailure, match=rf"^audit chain broken: events after the head's last event {count} "
                                               "exist, added outside mlops"):
        _write(engine)
