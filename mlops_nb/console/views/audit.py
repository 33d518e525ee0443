"""The Audit page: the trail, filtered by actor, action, entity and dates, newest first, paged in the
store; the chain's verdict in the title; the filtered events as CSV.

Verifying walks the whole chain, so its verdict is cached per store stamp (and for a minute at most,
since a row edited in place does not move the stamp); `Verify again` walks it at once. Each event's
before and after are shown as JSON text, never as markup.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pandas as pd
import streamlit as st

from mlops_nb.console import data, ui

PAGE_SIZE = 50  # events per page
ANY = "(any)"


def _title() -> None:
    """The title with the chain's verdict; what is broken, in an error box below it."""
    with st.spinner("Verifying the audit chain…"):
        verdict = data.audit_verdict()
    if verdict["ok"]:
        st.title(f"Audit — chain intact: {verdict['events']:,} events", anchor=False)
    elif not verdict["verified"]:
        st.title("Audit — chain not verified", anchor=False)
        st.error(ui.plain(verdict["problem"]))
    else:
        where = f" at event {verdict['broken_event_id']:,}" if verdict["broken_event_id"] is not None else ""
        st.title(f"Audit — chain BROKEN{where}", anchor=False)
        st.error(ui.plain(f"The audit chain is broken{where}: {verdict['problem']}. Someone changed the trail "
                          "outside mlops: restore it from a backup and run `mlops audit verify` (docs/governance.md, "
                          "Threat model)."))
    if verdict["warning"]:
        st.warning(ui.plain(verdict["warning"]))
    note, again = st.columns([5, 1], vertical_alignment="center")
    note.caption(f"Verified {ui.when(verdict['checked_at'])}: every event's hash recomputed with the store's key.")
    if again.button("Verify again", key="audit.verify_again", width="stretch"):
        data.audit_verify_again()
        st.rerun()


def _action_options(actions: list[str]) -> list[str]:
    """Each group of actions ("promotion.*") before the actions themselves."""
    groups = sorted({a.split(".", 1)[0] + ".*" for a in actions if "." in a})
    return [ANY, *groups, *actions]


def _day_start(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time.min).astimezone().timestamp()


def _filters() -> dict[str, Any]:
    """The filter row; the governance.events keyword arguments it asks for."""
    facets = data.audit_facets()
    actor_col, action_col, entity_col, id_col, dates_col = st.columns([2, 2, 2, 2, 3])
    actor = actor_col.selectbox("Actor", [ANY, *facets["actors"]], key="audit.actor") or ANY
    action = action_col.selectbox("Action", _action_options(facets["actions"]), key="audit.action") or ANY
    entity = entity_col.selectbox("Entity", [ANY, *facets["entities"]], key="audit.entity") or ANY
    entity_id = id_col.text_input("Entity id", key="audit.entity_id", placeholder="e.g. credit-risk:3")
    no_days: Any = ()  # an empty range: no dates chosen
    picked = dates_col.date_input("Dates", value=no_days, key="audit.dates", format="YYYY-MM-DD")
    filters: dict[str, Any] = {}
    if actor != ANY:
        filters["actor"] = actor
    if action.endswith(".*"):
        filters["action_prefix"] = action[:-1]
    elif action != ANY:
        filters["action"] = action
    if entity != ANY:
        filters["entity"] = entity
    if entity_id.strip():
        filters["entity_id"] = entity_id.strip()
    days: tuple[Any, ...] = tuple(picked) if isinstance(picked, (tuple, list)) else (picked,) if picked else ()
    if days:
        filters["since"] = _day_start(days[0])
        filters["until"] = _day_start(days[-1] + dt.timedelta(days=1))  # through the end of the last day
    return filters


def _page_number(filters: dict[str, Any], pages: int) -> int:
    """The page chosen (from 1). The widget is keyed by the filters, so other filters start on page 1
    (events are only ever appended, so a page chosen for the same filters stays in range)."""
    signature = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:12]
    return int(st.pagination(pages, key=f"audit.page.{signature}", max_visible_pages=7))


def _table(rows: list[dict[str, Any]]) -> Any:
    frame = pd.DataFrame({
        "#": [r["id"] for r in rows],
        "When": [ui.when(r["ts"]) for r in rows],
        "Actor": [r["actor"] for r in rows],
        "Action": [r["action"] for r in rows],
        "Entity": [r["entity"] for r in rows],
        "Entity id": [r["entity_id"] for r in rows],
    })
    return st.dataframe(frame, hide_index=True, on_select="rerun", selection_mode="single-row",
                        key="audit.table", height=38 + 35 * min(len(rows), 10), width="stretch")


def _detail(rows: list[dict[str, Any]]) -> None:
    """One event of the page: who did what, and its before and after as JSON text."""
    ids = [r["id"] for r in rows]
    ui.keep_choice(ids, "audit.event")
    pick, about = st.columns([2, 3], vertical_alignment="bottom")
    chosen = pick.selectbox("Event (or select a row)", ids, key="audit.event",
                            format_func=lambda i: next(f"#{r['id']} {r['action']} {r['entity_id']}" for r in rows
                                                       if r["id"] == i))
    event = next(r for r in rows if r["id"] == chosen)
    about.caption(f"By {ui.plain(event['actor'])} · {ui.when(event['ts'])} · hash {event['hash'][:16]}…")
    before, after = st.columns(2)
    with before:
        st.markdown("**Before**")
        st.code(json.dumps(event["before"], indent=2, ensure_ascii=False, sort_keys=True), language="json")
    with after:
        st.markdown("**After**")
        st.code(json.dumps(event["after"], indent=2, ensure_ascii=False, sort_keys=True), language="json")


def render() -> None:
    """The page."""
    _title()
    filters = _filters()
    size = PAGE_SIZE
    total = ui.attempt(lambda: data.audit_count(filters))
    if total is None:
        return
    if total == 0:
        st.info("No events match these filters; widen them (an actor, an action group, fewer days)."
                if filters else "No events yet: every change to models, requests, policies and users is "
                "recorded here as it happens.")
        return
    pages = -(-total // size)
    page = _page_number(filters, pages) if pages > 1 else 1
    rows = data.audit_page(filters, page, size)
    first = (page - 1) * size + 1
    count_col, csv_col = st.columns([3, 1], vertical_alignment="center")
    count_col.caption(f"Events {first:,}–{first + len(rows) - 1:,} of {total:,}, newest first")
    csv_col.download_button(f"Download {total:,} events as CSV", data=lambda: data.audit_csv(filters),
                            file_name="audit.csv", mime="text/csv", key="audit.csv", icon=":material/download:",
                            width="stretch")
    ui.pick_from_table(_table(rows), [r["id"] for r in rows], "audit.event")
    _detail(rows)


if __name__ == "__main__":
    render()
