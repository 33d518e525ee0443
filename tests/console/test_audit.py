"""The Audit page: the chain's verdict in the title, filters, server-side pages, CSV export, text only."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

from streamlit.runtime.media_file_manager import MediaFileManager

from mlops_nb.services import governance
from mlops_nb.store.db import get_engine, session_scope
from tests.services.governance.test_audit import _forge, _history

XSS = "<img src=x onerror=alert(1)>"


def _audit(logged_in, name: str = "rita"):
    at = logged_in(name)
    at.switch_page("views/audit.py")
    at = at.run()
    assert not at.exception, at.exception
    return at


def _table(at):
    return at.dataframe(key="audit.table").value


def _record(url: str, n: int, **event) -> None:
    with session_scope(get_engine(url)) as s:
        for i in range(n):
            governance.record(session=s, **{"actor": "bot", "action": "test.ping", "entity": "thing",
                                            "entity_id": str(i), **event})


def _count(url: str) -> int:
    with session_scope(get_engine(url)) as s:
        return governance.count_events(session=s)


def test_the_title_says_the_chain_is_intact_with_its_count(console_store, logged_in):
    _history(get_engine(console_store))
    at = _audit(logged_in)
    assert [t.value for t in at.title] == [f"Audit — chain intact: {_count(console_store):,} events"]
    assert list(_table(at)["#"])[:3] == [_count(console_store), _count(console_store) - 1, _count(console_store) - 2]


def test_the_title_says_broken_after_a_row_is_tampered_with(console_store, logged_in):
    _history(get_engine(console_store))
    at = _audit(logged_in)
    assert "chain intact" in at.title[0].value
    _forge(get_engine(console_store), 5)  # an event's `after` rewritten in the database; the stamp stays
    at = at.button(key="audit.verify_again").click().run()
    assert [t.value for t in at.title] == ["Audit — chain BROKEN at event 5"]
    assert "its content was changed" in at.error[0].value


def test_filters_narrow_the_table(console_store, logged_in):
    _history(get_engine(console_store))
    at = _audit(logged_in)
    everything = len(_table(at))
    at = at.selectbox(key="audit.actor").set_value("admin").run()
    by_admin = _table(at)
    assert 0 < len(by_admin) < everything and set(by_admin["Actor"]) == {"admin"}
    at.selectbox(key="audit.actor").set_value("(any)")
    at = at.selectbox(key="audit.action").set_value("promotion.*").run()
    assert {a.split(".")[0] for a in _table(at)["Action"]} == {"promotion"}
    at.selectbox(key="audit.action").set_value("(any)")
    at = at.selectbox(key="audit.entity").set_value("registered_model").run()
    assert set(_table(at)["Action"]) == {"model.rollback"}
    today = dt.date.today()
    at.selectbox(key="audit.entity").set_value("(any)")
    at = at.date_input(key="audit.dates").set_value((today - dt.timedelta(days=3),
                                                         today - dt.timedelta(days=1))).run()
    assert "No events match these filters" in at.info[0].value
    at = at.date_input(key="audit.dates").set_value((today - dt.timedelta(days=1), today)).run()
    assert len(_table(at)) == everything


def test_pages_are_read_from_the_store_fifty_at_a_time(console_store, logged_in):
    at = _audit(logged_in)  # the login is an event too: count after it
    _record(console_store, 60)
    total = _count(console_store)
    at = at.run()
    assert len(_table(at)) == 50 and at.caption[1].value == f"Events 1–50 of {total}, newest first"
    at = at.pagination[0].select(2).run()
    assert list(_table(at)["#"]) == list(range(total - 50, 0, -1))
    assert at.caption[1].value == f"Events 51–{total} of {total}, newest first"


def test_the_csv_download_holds_the_filtered_rows(console_store, logged_in, monkeypatch):
    _history(get_engine(console_store))
    deferred = []
    original = MediaFileManager.add_deferred

    def spy(self, callable_, *args, **kwargs):
        deferred.append(callable_)
        return original(self, callable_, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    at = _audit(logged_in)
    at = at.selectbox(key="audit.actor").set_value("admin").run()
    shown = _table(at)
    assert at.get("download_button")[0].proto.label == f"Download {len(shown)} events as CSV"
    rows = list(csv.DictReader(io.StringIO(deferred[-1]().decode())))
    assert [int(r["id"]) for r in rows] == list(shown["#"]) and {r["actor"] for r in rows} == {"admin"}
    assert rows[0]["time"].endswith("+00:00") and rows[0]["hash"]


def test_an_actor_or_comment_that_looks_like_html_is_shown_as_text(console_store, logged_in):
    at = _audit(logged_in)  # the login is an event too: record after it, so this one is the newest
    _record(console_store, 1, actor=XSS, after={"comment": XSS})
    at = at.run()
    assert list(_table(at)["Actor"])[0] == XSS  # the newest event
    shown = [m.value for m in (*at.markdown, *at.caption, *at.error, *at.info, *at.title)]
    assert not [v for v in shown if re.search(r"(?<!\\)<img", v)]  # markdown shows `\<` as `<`
    at = at.selectbox(key="audit.actor").set_value(XSS).run()
    assert len(_table(at)) == 1
    assert f'"comment": "{XSS}"' in [c.value for c in at.code][1]  # its detail, as JSON text


def test_a_csv_cell_that_starts_like_a_formula_stays_text(console_store, logged_in, monkeypatch):
    from mlops_nb.console import data

    _record(console_store, 1, actor="=HYPERLINK(\"http://x\")")
    monkeypatch.setattr(data, "stamp", lambda: 0)  # called outside a page: no cache key needed
    rows = list(csv.DictReader(io.StringIO(data.audit_csv({}).decode())))
    assert rows[0]["actor"] == "'=HYPERLINK(\"http://x\")"
