"""Reading the trail narrowed by actor, action prefix, entity and time, paged, and counted."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from mlops_nb.services import governance
from mlops_nb.services.errors import InvalidInput
from mlops_nb.store.db import session_scope
from tests.services.governance.test_audit import _history


def _set_times(engine) -> None:
    """Event n at ts = 1000 * n, so time windows are exact."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET ts = id * 1000"))


def test_filters_narrow_the_events_and_the_count_agrees(engine):
    count = _history(engine)
    with session_scope(engine) as s:
        everything = governance.events(session=s, limit=1000)
        by_admin = governance.events(session=s, actor="admin", limit=1000)
        promotion = governance.events(session=s, action_prefix="promotion.", limit=1000)
        rollbacks = governance.events(session=s, action_prefix="model.rollback", entity="registered_model")
        assert governance.count_events(session=s) == count == len(everything)
        assert by_admin and {e.actor for e in by_admin} == {"admin"}
        assert governance.count_events(session=s, actor="admin") == len(by_admin)
        assert {e.action for e in promotion} == {"promotion.request", "promotion.gates", "promotion.approve",
                                                 "promotion.decide"}
        assert [(e.action, e.actor) for e in rollbacks] == [("model.rollback", "admin")]
        assert governance.events(session=s, actor="nobody") == [] and governance.count_events(session=s,
                                                                                              actor="nobody") == 0


def test_an_action_prefix_is_matched_literally(engine):
    _history(engine)
    with session_scope(engine) as s:
        assert governance.events(session=s, action_prefix="model_") == []  # `_` is no wildcard
        assert governance.events(session=s, action_prefix="%") == []


def test_a_time_window_includes_since_and_excludes_until(engine):
    _history(engine)
    _set_times(engine)
    with session_scope(engine) as s:
        window = governance.events(session=s, since=3000, until=6000)
        assert [e.id for e in window] == [5, 4, 3]
        assert governance.count_events(session=s, since=3000, until=6000) == 3


def test_pages_by_offset_follow_each_other_newest_first(engine):
    count = _history(engine)
    with session_scope(engine) as s:
        first = governance.events(session=s, limit=4)
        second = governance.events(session=s, limit=4, offset=4)
        table = governance.trail(session=s, limit=4, offset=4, verify_chain=False, action_prefix="")
    assert [e.id for e in first] == [count, count - 1, count - 2, count - 3]
    assert [e.id for e in second] == [count - 4, count - 5, count - 6, count - 7]
    assert [e["id"] for e in table] == [e.id for e in second]


def test_facets_list_the_actors_actions_and_entities_there_are(engine):
    _history(engine)
    with session_scope(engine) as s:
        facets = governance.event_facets(session=s)
    assert {"admin", "ml-engineer", "operator (cli)", "setup"} <= set(facets["actors"])
    assert facets["actors"] == sorted(facets["actors"])
    assert "model.rollback" in facets["actions"] and "registered_model" in facets["entities"]


@pytest.mark.parametrize(("kwargs", "words"), [({"offset": -1}, "offset must be a whole number of at least 0"),
                                              ({"limit": 0}, "limit must be a whole number of at least 1"),
                                              ({"since": "yesterday"}, "since must be epoch seconds")])
def test_bad_windows_are_refused(session, kwargs, words):
    with pytest.raises(InvalidInput, match=words):
        governance.events(session=session, **kwargs)
