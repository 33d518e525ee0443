"""The Scorecards page, the manager's: every project and its models against SPEC §3's three phases of
MLOps maturity, then one card in detail (the twelve criteria with their evidence, the ML Test Score's
28 tests, attestations, the trend), the settings in force, and a board-pack export.

Every verdict is computed by services.monitoring.scorecards from what the store records; the page
reads the portfolio once per rerun (scorecard_data.portfolio) and picks the card from it. Each
evidence record is an `st.page_link` to the page that shows it, with query params naming it
(console/links.py): the session and its login go along. The writes (attest, withdraw, a snapshot,
settings) go through the services, which check the role; a refusal shows as an error box. Names and
notes users typed are shown as text (tables, st.text, ui.plain).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from mlops_nb.console import auth, data, links, scorecard_charts, ui
from mlops_nb.console import scorecard_data as sdata
from mlops_nb.services.identity import Identity
from mlops_nb.services.identity.permissions import STEWARDS
from mlops_nb.services.monitoring.scorecard_results import DEFAULT_SETTINGS, ML_TESTS, PHASES, SECTIONS, TEST_KEYS

Key = tuple[str, str | None]  # a card: (project, model), model None for the project's card
TABS = ("Criteria", "ML Test Score", "Attestations", "Trend")
FLASH = "scorecards.flash"
TABLE_ROWS = 12  # portfolio rows shown before the table scrolls
COLOURS = {"all": "#d3f2dc", "some": "#fdeccc", "none": "#f9d4d2"}  # behind the text, never instead of it
MARKS = {"pass": ":green[**pass**]", "partial": ":orange[**partial**]", "fail": ":red[**fail**]"}
# a test's score as a badge: plain "1 1. Feature expectations..." read as one number running into the test's
SCORE_MARKS = {1.0: ":green-badge[1 pt]", 0.5: ":orange-badge[0.5 pt]", 0.0: ":red-badge[0 pt]"}
TITLES = {t.key: t.title for t in ML_TESTS}
SETTING_WORDS = {
    "monitoring_window_days": "Scoring batches, latency and monitor evaluations count this many days back",
    "drift_max_age_days": "A production model's newest drift report from the monitor may be this many days old",
    "retraining_window_days": "A retraining trigger must have fired within this many days",
    "sweep_min_runs": "Runs with params in an experiment that make a hyperparameter sweep (model.3)",
    "attestation_days": "An attestation's default life, in days",
    "attestation_max_days": "The longest life an attestation may be given, in days",
}
NO_SNAPSHOT = ("No snapshot of this scorecard yet, so there is no trend to draw. `mlops scorecard --snapshot` "
               "takes one; `mlops monitor run` takes one a day (and on every change) when cron runs it.")


# --- the portfolio ---

def _share(card: Any, phase: int) -> tuple[str, str]:
    """A phase's cell ("3/4", with the partial ones named) and its colour: all pass, some, none."""
    mine = [c for c in card.criteria if c.phase == phase]
    passed = sum(c.status == "pass" for c in mine)
    partial = sum(c.status == "partial" for c in mine)
    text = f"{passed}/{len(mine)}" + (f" ({partial} partial)" if partial else "")
    level = "all" if passed == len(mine) else ("some" if passed or partial else "none")
    return text, level


def _whole(models: int) -> str:
    """The Model cell of a project's own card."""
    if not models:
        return "no models yet"
    return f"whole project ({models} model{'s' if models > 1 else ''})"


def _label(key: Key) -> str:
    project, model = key
    return project if model is None else f"{project} · {model}"


def portfolio_table(cards: list[Any]) -> tuple[pd.DataFrame, dict[str, list[str]], list[Key]]:
    """The portfolio as rows, each project's card then its models' cards: (the table, the colour level
    of each phase column per row, the card key of each row)."""
    rows, levels, keys = [], {name: [] for name in PHASES.values()}, []  # type: ignore[var-annotated]
    for project in cards:
        for card in [project, *project.models]:
            row: dict[str, Any] = {"Project": card.project,
                                   "Model": card.model if card.model is not None else _whole(len(project.models)),
                                   "Production": f"v{card.version}" if card.version is not None else ""}
            for phase, name in PHASES.items():
                row[name], level = _share(card, phase)
                levels[name].append(level)
            score = card.ml_test_score
            row["Phase reached"] = f"{card.phase} · {card.phase_name}"
            row["ML Test Score"] = f"{score.final:g} · band {score.band}"
            rows.append(row)
            keys.append((card.project, card.model))
    return pd.DataFrame(rows), levels, keys


def _portfolio(frame: pd.DataFrame, levels: dict[str, list[str]]) -> Any:
    """The table of portfolio_table, each phase's cell coloured by its level (a row picks the card
    below); the selection event."""
    styled = frame.style.apply(lambda column: [f"background-color: {COLOURS[lv]}" for lv in levels[str(column.name)]],
                               subset=list(PHASES.values()))
    return st.dataframe(styled, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                        key="scorecards.table", height=38 + 35 * max(1, min(len(frame), TABLE_ROWS)),
                        column_config={"Production": st.column_config.TextColumn(width="small"),
                                       "ML Test Score": st.column_config.TextColumn(
                                           help="The minimum over the four sections (0-7) and the paper's band")})


def _exports(cards: list[Any]) -> None:
    """The board pack: the whole portfolio as Markdown and as a standalone HTML page, built on click."""
    from mlops_nb.display import scorecard_export

    day = dt.date.today().isoformat()
    row = st.container(horizontal=True)
    row.download_button("Export for a board pack (Markdown)", lambda: scorecard_export.to_markdown(cards),
                        file_name=f"mlops-maturity-{day}.md", mime="text/markdown", key="scorecards.export_md",
                        on_click="ignore", icon=":material/description:")
    row.download_button("Export for a board pack (HTML)", lambda: scorecard_export.to_html(cards),
                        file_name=f"mlops-maturity-{day}.html", mime="text/html", key="scorecards.export_html",
                        on_click="ignore", icon=":material/html:")


# --- one card ---

def _evidence(records: list[Any], project: str) -> None:
    """Each record as a link to the page that shows it (plain text for a kind no page shows)."""
    for record in records:
        link = links.evidence_link(record, project)
        if link is None:
            st.caption(ui.plain(record.label))
        else:
            # a narrow column cuts a long label: the whole of it is the link's tooltip
            st.page_link(link.page, label=ui.plain(link.label), query_params=link.params,
                         icon=links.ICONS[link.page], help=ui.plain(link.label))


def _criteria(card: Any) -> None:
    """The twelve criteria in three columns, one per phase; each an expander with its detail, next step
    and evidence."""
    for column, (phase, name) in zip(st.columns(len(PHASES)), PHASES.items()):
        mine = [c for c in card.criteria if c.phase == phase]
        text, level = _share(card, phase)
        with column:
            st.markdown(f"**Phase {phase} · {name}** · {text} pass" + (" · reached" if card.phase >= phase else ""))
            for criterion in mine:
                with st.expander(f"{MARKS.get(criterion.status, criterion.status)} {ui.plain(criterion.title)}"):
                    st.caption(ui.plain(criterion.detail))
                    if criterion.next_step:
                        st.markdown(f"**Next step:** {ui.plain(criterion.next_step)}")
                    if criterion.evidence:
                        st.markdown("**Evidence**")
                        _evidence(criterion.evidence, card.project)


def _how(test: Any) -> str:
    if test.how == "automated":
        return "automated: the store shows it"
    if test.how == "attested" and test.attestation:
        a = test.attestation
        return f"attested by {a.get('by')} on {ui.when(a.get('at'))}, until {ui.when(a.get('expires_at'))}"
    return "not done"


def _ml_test_score(card: Any) -> None:
    """Section sums and the final score with the paper's reading, then the 28 tests in four columns."""
    score = card.ml_test_score
    cells = st.columns(len(SECTIONS) + 1)
    for cell, section in zip(cells, SECTIONS):
        cell.metric(section.capitalize(), f"{score.sections[section]:g} / 7")
    cells[-1].metric("Final (the minimum)", f"{score.final:g}", help="Breck et al. 2017: the minimum over the sections")
    st.caption(ui.plain(f"Band {score.band}: {score.band_text}"))
    for column, section in zip(st.columns(len(SECTIONS)), SECTIONS):
        with column:
            st.markdown(f"**{section.capitalize()}** · {score.sections[section]:g}")
            for test in (t for t in score.tests if t.section == section):
                mark = SCORE_MARKS.get(float(test.score), f":gray-badge[{test.score:g} pt]")
                with st.expander(f"{mark} {test.number}. {ui.plain(test.title)}"):
                    st.caption(ui.plain(f"{test.key} · {_how(test)}"))
                    if test.detail:
                        st.caption(ui.plain(test.detail))
                    if test.attestation and test.attestation.get("note"):
                        st.text(test.attestation["note"])
                    if test.next_step:
                        st.markdown(f"**Next step:** {ui.plain(test.next_step)}")
                    if test.evidence:
                        _evidence(test.evidence, card.project)


def _attest_form(actor: Identity, project_id: int, model: str | None, settings: dict[str, float]) -> None:
    scope = f"model {model}" if model is not None else "the whole project (every model)"
    with st.form("scorecards.attest_form", clear_on_submit=True, border=True):
        st.markdown(f"**Attest a test done by hand** for {ui.plain(scope)}: it scores 0.5 while it holds")
        left, right = st.columns([4, 1])
        test = left.selectbox("Test", TEST_KEYS, key="scorecards.attest_test",
                              format_func=lambda k: f"{k} · {TITLES[k]}")
        days = right.number_input("Days it holds", min_value=1, max_value=int(settings["attestation_max_days"]),
                                  value=int(settings["attestation_days"]), step=1, key="scorecards.attest_days")
        note = st.text_area("Note", key="scorecards.attest_note", height=80,
                            placeholder="What was done, by whom, and where the record of it is")
        if st.form_submit_button("Attest", type="primary"):
            done = ui.attempt(lambda: sdata.attest(actor, project_id, str(test), note, model, float(days)))
            if done is not None:
                st.session_state[FLASH] = f"Attested {test} ({TITLES[str(test)]}) until {ui.when(done.expires_at)}."
                st.rerun()


def _withdraw(actor: Identity, project_id: int, active: list[Any]) -> None:
    """Withdraw, offered for the attestations the actor made and, to ml_engineer and admin, for any."""
    mine = [a for a in active if actor.role in STEWARDS or a.by == actor.name]
    if not mine:
        return
    by_id = {a.id: a for a in mine}
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Attestation to withdraw", list(by_id), key="scorecards.withdraw_choice",
                            format_func=lambda i: f"#{i} · {by_id[i].test} · by {by_id[i].by}")
    if right.button("Withdraw", key="scorecards.withdraw"):
        done = ui.attempt(lambda: sdata.withdraw(actor, project_id, int(chosen)))
        if done is not None:
            st.session_state[FLASH] = f"Attestation #{done.id} ({done.test}) withdrawn."
            st.rerun()


def _attestations(actor: Identity, project_id: int, card: Any, settings: dict[str, float]) -> None:
    everything = st.toggle("Show withdrawn and expired", key="scorecards.attest_all")
    found = ui.attempt(lambda: sdata.attestations(project_id, card.model, include_inactive=everything))
    if found is None:
        return
    linked = st.session_state.get("scorecards.linked_attestation")
    if not found:
        st.caption("No attestation holds for this scorecard: the tests the store cannot see score 0 until someone "
                   "who did them by hand attests it.")
    else:
        # what was attested and its note first: at 1280 px the columns after them scroll out of sight
        st.dataframe(pd.DataFrame([{
            "Linked": "▶" if a.id == linked else "", "#": a.id, "Test": a.test, "Title": a.title, "Note": a.note,
            "For": a.model or "whole project", "By": f"{a.by} ({a.role})",
            "Holds": f"{ui.when(a.at)[:10]} to {ui.when(a.expires_at)[:10]}",
            "State": "active" if a.active else (f"withdrawn by {a.withdrawn_by}" if a.withdrawn_by else "expired")}
            for a in found]),
            hide_index=True, width="stretch", height=ui.table_height(len(found)), key="scorecards.attestations",
            column_config={"#": st.column_config.NumberColumn(format="#%d", width="small"),
                           "Note": st.column_config.TextColumn(width="large"),
                           "Linked": st.column_config.TextColumn("", width="small")})
    if data.may(actor, "attest"):
        _withdraw(actor, project_id, [a for a in found if a.active])
        _attest_form(actor, project_id, card.model, settings)
    else:
        st.caption(ui.plain(f"Your role ({actor.role or 'none'}) may not attest: an ml_engineer, reviewer, manager or "
                            "admin who logged in may."))


def _trend(actor: Identity, project_id: int, card: Any) -> None:
    snapshots = ui.attempt(lambda: sdata.history(project_id, card.model))
    if snapshots is None:
        return
    if not snapshots:
        st.info(NO_SNAPSHOT)
    else:
        st.plotly_chart(scorecard_charts.trend_figure(snapshots, f"{_label((card.project, card.model))}: phase and "
                                                                 "ML Test Score over time"),
                        width="stretch", key="scorecards.trend")
        st.caption(f"{len(snapshots)} snapshots, the newest {ui.when(snapshots[-1]['taken_at'])}.")
    if data.may(actor, "set_scorecard") and st.button(
            "Take snapshot", key="scorecards.snapshot", help="Stores what this project's card and its models' cards say now"):
        written = ui.attempt(lambda: sdata.take_snapshot(actor, project_id))
        if written is not None:
            st.session_state[FLASH] = f"{written} snapshots taken."
            st.rerun()


def _settings(actor: Identity, project_id: int, settings: dict[str, float]) -> None:
    """The thresholds and windows in force, editable by the roles that may set them."""
    with st.expander("Settings in force (windows and thresholds)"):
        rows = [{"Setting": k, "Value": f"{settings[k]:g}", "Default": f"{DEFAULT_SETTINGS[k]:g}",
                 "What it means": SETTING_WORDS.get(k, "")} for k in DEFAULT_SETTINGS]
        if not data.may(actor, "set_scorecard"):
            st.table(pd.DataFrame(rows), hide_index=True)  # a table wraps "What it means"; a dataframe cut it
            st.caption("An ml_engineer or admin may change them.")
            return
        with st.form("scorecards.settings_form", border=False):
            values = {}
            for row, cell in zip(rows, st.columns(3) * 2):
                key = row["Setting"]
                values[key] = cell.number_input(key, min_value=0.0, value=float(settings[key]), step=1.0,
                                                key=f"scorecards.setting.{key}", help=row["What it means"])
            if st.form_submit_button("Save settings"):
                changes = {k: v for k, v in values.items() if v != settings[k]}
                if not changes:
                    st.info("Nothing changed.")
                else:
                    saved = ui.attempt(lambda: sdata.set_settings(actor, project_id, changes))
                    if saved is not None:
                        st.session_state[FLASH] = "Settings saved: " + ", ".join(f"{k} {v:g}" for k, v in changes.items())
                        st.rerun()


def _card(actor: Identity, card: Any, project_id: int) -> None:
    """The picked card: its headline numbers, settings, then criteria, tests, attestations and trend in tabs."""
    title = card.project if card.model is None else f"{card.model} ({card.project})"
    st.subheader(ui.plain(title), anchor=False)
    passed = sum(c.status == "pass" for c in card.criteria)
    a, b, c, d = st.columns(4)
    # the phase's name goes below the number: "1 · Foundational" in the metric's large type is cut at 1280 px
    a.metric("Phase reached", f"{card.phase} of {len(PHASES)}", delta=card.phase_name, delta_color="off",
             delta_arrow="off")
    b.metric("Criteria passed", f"{passed} of {len(card.criteria)}")
    c.metric("ML Test Score", f"{card.ml_test_score.final:g}", help=card.ml_test_score.band_text)
    if card.model is not None:
        d.metric("Production version", f"v{card.version}" if card.version is not None else "none")
    else:
        d.metric("Models in production", f"{sum(m.version is not None for m in card.models)} of {len(card.models)}")
    settings = sdata.settings(project_id)
    _settings(actor, project_id, settings)
    criteria, tests, attested, trend = st.tabs(TABS, key="scorecards.tab", on_change="rerun")
    if criteria.open:
        with criteria:
            _criteria(card)
    if tests.open:
        with tests:
            _ml_test_score(card)
    if attested.open:
        with attested:
            _attestations(actor, project_id, card, settings)
    if trend.open:
        with trend:
            _trend(actor, project_id, card)


def _follow_sidebar(keys: list[Key]) -> None:
    """A project newly chosen in the sidebar (or the first visit) shows that project's card."""
    chosen = data.project()
    name = chosen["name"] if chosen else None
    if st.session_state.get("scorecards.sidebar") != name:
        st.session_state["scorecards.sidebar"] = name
        if (name, None) in keys:
            st.session_state["scorecards.card"] = (name, None)


def _arrivals() -> None:
    """What a link brought: the card of its project (and model), and an attestation to point at."""
    given = links.given()
    if "project" in given:
        st.session_state["scorecards.card"] = (given["project"], given.get("model"))
    if links.number(given.get("attestation")) is not None:
        st.session_state["scorecards.linked_attestation"] = links.number(given.get("attestation"))
        st.session_state["scorecards.tab"] = "Attestations"


def render() -> None:
    """The page: the portfolio table and its export, then the card picked in it."""
    st.title("Scorecards")
    actor = auth.current_identity()
    if actor is None:  # the navigation shows this page only after a login
        return
    cards = ui.attempt(sdata.portfolio)
    if cards is None:
        return
    if not cards:
        st.info("The store has no project yet. Start one from a notebook: "
                "`import mlops_nb as mlops; mlops.init(project=\"credit\")`.")
        return
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(ui.plain(flash))
    st.caption("Where each project and model stands on the three phases of MLOps maturity, computed from what the "
               "store records (criteria passed of four per phase), and Google's ML Test Score. Pick a row for its "
               "evidence.")
    frame, levels, keys = portfolio_table(cards)
    event = _portfolio(frame, levels)
    by_key = {(c.project, c.model): c for p in cards for c in [p, *p.models]}
    _exports(cards)
    _follow_sidebar(keys)
    _arrivals()
    ui.pick_from_table(event, keys, "scorecards.card")
    ui.keep_choice(keys, "scorecards.card")
    key = st.selectbox("Scorecard", keys, key="scorecards.card", format_func=_label)
    ids = {p["name"]: p["id"] for p in data.projects()}
    card = by_key[key]
    if card.project not in ids:  # a project made since the portfolio was read: the next rerun has it
        st.info("This project is new; its scorecard shows on the next rerun.")
        return
    _card(actor, card, ids[card.project])


if __name__ == "__main__":
    render()
