"""The Scorecards page: every project and its models against the three phases, one card's criteria
with evidence links that open the right record, its ML Test Score, attestations (attest and withdraw
through the service, offered only to the roles that may), the trend, the settings in force and the
board-pack export. Every role sees it; empty states say what to do."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import delete, func, select
from streamlit.runtime.media_file_manager import MediaFileManager

from mlops_nb.console import nav, scorecard_charts, ui
from mlops_nb.console.links import SCORECARDS, Link
from mlops_nb.console.views import scorecards as page
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.models import Project
from mlops_nb.store.models.scorecards import Attestation
from tests import factories
from tests.console.conftest import log_in, new_app
from tests.console.test_links import follow
from tests.monitoring_story import XSS


@pytest.fixture()
def models(console_store):
    """Project `credit` with model credit-risk (v1 in production, through staging) and a model whose
    name is markup, as rows (tests/factories.py): no training, no scoring."""
    with session_scope(get_engine(console_store)) as s:
        pid = factories.project(s, "credit")
        factories.version(s, factories.model(s, pid, "credit-risk"), stage="production")
        factories.version(s, factories.model(s, pid, XSS))


def _scorecards(logged_in, name: str):
    at = logged_in(name)
    return _open(at)


def _as(name: str):
    """A second session of the console, logged in as `name`, on the Scorecards page."""
    return _open(log_in(new_app().run(), name))


def _open(at):
    at.switch_page("views/scorecards.py")
    at = at.run()
    assert not at.exception, at.exception
    return at


def _pick(at, key, tab: str | None = None):
    """The page with card `key` ((project, model)) picked, and tab `tab` open."""
    at = at.selectbox(key="scorecards.card").set_value(key).run()
    if tab is not None:
        at.session_state["scorecards.tab"] = tab
        at = at.run()
    assert not at.exception, at.exception
    return at


def levels_of() -> tuple[str, ...]:
    return tuple(page.PHASES.values())


def _with(at, column: str):
    """The first table (in page order) that has a column `column` (tables without selection keep no key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _portfolio(at):
    return at.dataframe(key="scorecards.table").value


def test_scorecards_sits_between_monitoring_and_audit_for_every_role():
    for role in nav.ROLES:
        titles = [p.title for p in nav.visible(role)]
        assert titles.index("Scorecards") == titles.index("Monitoring") + 1
        assert titles.index("Audit") == titles.index("Scorecards") + 1


def test_an_empty_store_says_how_to_start(console_store, logged_in):
    with session_scope(get_engine(console_store)) as s:
        s.execute(delete(Project))
    at = _scorecards(logged_in, "max")
    assert [t.value for t in at.title] == ["Scorecards"]
    assert "The store has no project yet" in at.info[0].value
    assert not at.dataframe


def test_a_fresh_project_is_at_phase_0_and_says_what_to_do_first(console_store, logged_in):
    at = _scorecards(logged_in, "max")
    table = _portfolio(at)
    assert table.to_dict("records") == [{
        "Project": "credit", "Model": "no models yet", "Production": "", "Foundational": "0/4", "Automated": "0/4",
        "Advanced": "0/4", "Phase reached": "0 · Not yet foundational", "ML Test Score": "0 · band 0"}]
    assert at.selectbox(key="scorecards.card").value == ("credit", None)
    assert [m.value for m in at.metric][:2] == ["0 of 3", "0 of 12"]
    assert at.metric[0].delta == "Not yet foundational"  # below the number, where a long name is not cut
    labels = [e.label for e in at.expander if e.label.startswith(":red[**fail**]")]
    assert len(labels) == 12 and ":red[**fail**] Runs tracked with params and metrics" in labels
    assert any(m.value.startswith("**Next step:** ") for m in at.markdown)


def test_the_portfolio_colours_each_phase_and_says_it_in_words(models, console_store, logged_in):
    at = _scorecards(logged_in, "max")
    table = _portfolio(at)
    assert table[["Project", "Model", "Production"]].values.tolist() == [
        ["credit", "whole project (2 models)", ""], ["credit", "credit-risk", "v1"], ["credit", XSS, ""]]
    # its runs are not finished: not Foundational yet, whatever else holds
    assert table.iloc[1]["Phase reached"] == "0 · Not yet foundational"
    assert all(re.fullmatch(r"[0-4]/4( \([1-4] partial\))?", cell) for cell in table[list(levels_of())].values.flat)
    at = _pick(at, ("credit", XSS))  # a name that is markup is shown as text
    assert at.subheader[0].value == ui.plain(f"{XSS} (credit)")
    with session_scope(get_engine(console_store)) as s:
        frame, levels, keys = page.portfolio_table(page.sdata.read_portfolio(session=s))
    assert keys == [("credit", None), ("credit", "credit-risk"), ("credit", XSS)]
    for name, column in levels.items():  # the colour follows the words: all, some or none of four passed
        for text, level in zip(frame[name], column):
            passed = int(text.split("/")[0])
            assert level == ("all" if passed == 4 else "some" if passed or "partial" in text else "none")


def test_attesting_is_offered_to_the_roles_that_may_and_goes_through_the_service(models, console_store, logged_in):
    at = _pick(_scorecards(logged_in, "dana"), ("credit", "credit-risk"), "Attestations")
    assert not list(at.get("form"))
    assert any("may not attest" in c.value for c in at.caption)

    at = _pick(_as("rita"), ("credit", "credit-risk"), "Attestations")
    at.selectbox(key="scorecards.attest_test").set_value("data.2")
    at.text_area(key="scorecards.attest_note").input("")
    at = at.button[[b.label for b in at.button].index("Attest")].click().run()
    assert "note" in at.error[0].value  # the service's refusal, nothing stored
    with session_scope(get_engine(console_store)) as s:
        assert s.execute(select(func.count()).select_from(Attestation)).scalar_one() == 0

    at.selectbox(key="scorecards.attest_test").set_value("data.2")
    at.text_area(key="scorecards.attest_note").input(f"Ablation study in the Q3 review {XSS}")
    at = at.button[[b.label for b in at.button].index("Attest")].click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith(ui.plain("Attested data.2 (All features are beneficial) until "))
    shown = _with(at, "Note")
    assert shown[["Test", "For", "Note"]].values.tolist() == [["data.2", "credit-risk",
                                                               f"Ablation study in the Q3 review {XSS}"]]
    at.session_state["scorecards.tab"] = "ML Test Score"
    at = at.run()
    assert any(e.label.startswith(":orange-badge[0.5 pt] 2.") for e in at.expander)

    manager = _pick(_as("max"), ("credit", "credit-risk"), "Attestations")  # may attest, not withdraw rita's
    assert "scorecards.withdraw" not in [b.key for b in manager.button] and list(manager.get("form"))
    # a link to the attestation (an evidence link) opens this card's Attestations tab, pointing at it
    at = follow(at, Link(SCORECARDS, "", {"project": "credit", "attestation": str(shown["#"][0])}))
    assert at.session_state["scorecards.tab"] == "Attestations"
    assert _with(at, "Note")[["#", "Linked"]].values.tolist() == [[shown["#"][0], "▶"]]
    assert at.selectbox(key="scorecards.withdraw_choice").options == [f"#{shown['#'][0]} · data.2 · by rita"]
    at = at.button(key="scorecards.withdraw").click().run()
    assert at.success[0].value.endswith(ui.plain("(data.2) withdrawn."))
    with session_scope(get_engine(console_store)) as s:
        assert s.execute(select(Attestation.withdrawn_by)).scalar_one() == "rita"


def test_the_board_pack_downloads_hold_the_portfolio(models, console_store, logged_in, monkeypatch):
    deferred = []
    original = MediaFileManager.add_deferred

    def spy(self, callable_, *args, **kwargs):
        deferred.append(callable_)
        return original(self, callable_, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    at = _scorecards(logged_in, "max")
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert set(buttons) == {"Export for a board pack (Markdown)", "Export for a board pack (HTML)"}
    markdown, html = (d() for d in deferred[-2:])
    assert markdown.startswith("# MLOps maturity") and "credit-risk" in markdown
    assert html.startswith("<!DOCTYPE html>") and "credit-risk" in html


def test_settings_are_read_only_unless_the_role_may_set_them(console_store, logged_in):
    at = _scorecards(logged_in, "max")
    assert not [n for n in at.number_input if n.key.startswith("scorecards.setting.")]
    at = _as("eli")
    at.number_input(key="scorecards.setting.drift_max_age_days").set_value(14.0)
    at = at.button[[b.label for b in at.button].index("Save settings")].click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == ui.plain("Settings saved: drift_max_age_days 14")
    assert at.number_input(key="scorecards.setting.drift_max_age_days").value == 14.0


def test_the_trend_says_how_to_take_a_snapshot_and_a_steward_takes_one(models, console_store, logged_in):
    at = _pick(_scorecards(logged_in, "max"), ("credit", None), "Trend")
    assert at.info[0].value == page.NO_SNAPSHOT
    assert "scorecards.snapshot" not in [b.key for b in at.button]  # a manager reads; stewards take snapshots
    at = _pick(_as("eli"), ("credit", None), "Trend")
    at = at.button(key="scorecards.snapshot").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == ui.plain("3 snapshots taken.")  # the project's card and its two models'
    [chart] = at.get("plotly_chart")
    figure = json.loads(chart.proto.spec)
    assert [t["name"] for t in figure["data"]] == ["phase", "ML Test Score"]
    assert figure["data"][0]["y"] == [0]


def test_the_trend_chart_draws_phase_as_steps_and_escapes_the_title():
    snapshots = [{"taken_at": 1_700_000_000 + i * 86_400, "phase": p, "passed": 4 * p, "partial": 0,
                  "failed": 12 - 4 * p, "test_score": s, "trigger": "monitor"} for i, (p, s) in
                 enumerate([(0, 0.0), (1, 0.5), (2, 1.5)])]
    figure = scorecard_charts.trend_figure(snapshots, f"{XSS}: trend")
    phase, score = figure.data
    assert (phase.line.shape, list(phase.y), list(score.y), score.yaxis) == ("hv", [0, 1, 2], [0.0, 0.5, 1.5], "y2")
    assert score.line.shape == "hv" and figure.layout.yaxis2.title.text == "ML Test Score (of 7)"
    assert figure.layout.yaxis.ticktext[2] == "2 · Automated"
    assert figure.layout.title.text == "&lt;img src=x onerror=alert(1)&gt;: trend"


def test_a_phase_cell_says_how_many_passed_and_is_coloured_to_match():
    from types import SimpleNamespace

    from mlops_nb.services.monitoring.scorecard_results import CRITERIA, Criterion

    def cell(*statuses: str):
        criteria = [Criterion(c.phase, c.name, c.title, status, "") for c, status in
                    zip((c for c in CRITERIA if c.phase == 2), statuses)]
        return page._share(SimpleNamespace(criteria=criteria), 2)

    assert cell("pass", "pass", "pass", "pass") == ("4/4", "all")
    assert cell("pass", "pass", "partial", "fail") == ("2/4 (1 partial)", "some")
    assert cell("fail", "partial", "fail", "fail") == ("0/4 (1 partial)", "some")
    assert cell("fail", "fail", "fail", "fail") == ("0/4", "none")
