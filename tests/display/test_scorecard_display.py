"""A scorecard as a notebook shows it: the text repr, and an HTML card that is escaped, says each
status in words as well as colour, and fits one screen for a model where everything fails."""
from __future__ import annotations

import os
import re
from pathlib import Path

from mlops_nb.display import present
from mlops_nb.display.scorecards import ScorecardView, summary_line
from mlops_nb.services.monitoring.scorecard_results import BANDS, CRITERIA
from tests.display.conftest import show
from tests.display.scorecard_cards import card, every_status

HOSTILE = "<img src=x onerror=alert(1)>"


def test_present_gives_a_card_and_its_models_their_display():
    shown = present(card(model=None, version=None, models=[every_status()]))
    assert isinstance(shown, ScorecardView) and isinstance(shown.models[0], ScorecardView)
    assert shown.to_frame().shape == (12, 7)  # still the service's Scorecard


def test_repr_names_the_card_phase_counts_score_and_next_steps():
    text = repr(present(every_status()))
    lines = text.splitlines()
    assert lines[0] == ("Scorecard credit · credit-risk v5: phase 1 Foundational, 6 pass, 1 partial, 5 fail; "
                        "ML Test Score 2.5, band (2, 3]")
    assert lines[1] == "  as of 2026-11-18 11:06:40 UTC"
    assert lines[2] == (f"  ML Test Score sections: data 2.5, model 3.5, infrastructure 2.5, monitoring 2.5; "
                        f"band (2, 3]: {BANDS[3][1]}")
    assert "    partial  Promotion policy with gates in force" in lines
    assert "    fail     Training data validated before registration" in lines
    steps = lines[lines.index("  next steps:") + 1:]
    assert len(steps) == 6 and steps[0] == "    Promotion policy with gates in force (partial): do promotion_policy next"


def test_a_project_card_lists_its_models():
    project = present(card(model=None, version=None, models=[every_status(), card(model="fraud-gbm", version=None)]))
    text = repr(project)
    assert text.splitlines()[0].startswith("Scorecard credit (whole project): phase 3 Advanced, 12 pass")
    assert "next steps:" not in text
    assert text.splitlines()[-2:] == [f"    {summary_line(project.models[0])}",
                                      "    credit · fraud-gbm (no production version): phase 3 Advanced, 12 pass, "
                                      "0 partial, 0 fail; ML Test Score 0, band 0"]
    html = project._repr_html_()
    models = html.split("mlops-scorecard-models", 1)[1]
    assert models.count("<tr><td") == 2 and "fraud-gbm" in models and ">2.5, band (2, 3]</td>" in models


def test_html_card_has_a_chip_per_criterion_with_status_words_and_tooltips():
    html = present(every_status())._repr_mimebundle_()["text/html"]
    chips = re.findall(r"<span class='mlops-chip mlops-(\w+)' title='([^']*)'[^>]*>([^<]*) <b>(\w+)</b></span>", html)
    assert [c[2] for c in chips] == [spec.title for spec in CRITERIA]
    assert all(kind == word for kind, _, _, word in chips)
    assert sorted(kind for kind, *_ in chips).count("fail") == 5
    assert chips[5][1] == "data_validated: fail detail\nNext step: do data_validated next"
    assert "Phase 1 Foundational</span>" in html and "<li><b>Staging before production</b>" not in html
    assert "<li><b>Training data validated before registration</b>" in html
    assert f"Band (2, 3]: {BANDS[3][1]}".replace("'", "&#x27;") in html


def test_html_card_escapes_what_users_named():
    hostile = present(card(project="<b>p</b>", model=HOSTILE, default="fail", label=HOSTILE))
    bundle = hostile._repr_mimebundle_()
    assert HOSTILE not in bundle["text/html"] and "<b>p</b>" not in bundle["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in bundle["text/html"]
    assert HOSTILE in bundle["text/plain"]


def test_a_model_failing_everything_fits_one_screen(page, sqlite_url):
    """The one browser test: at 1280 px wide a card is at most 900 px tall even with all twelve
    criteria failing and every next step as long as the service's longest (two lines each). The
    screenshot, of a real card (a production model with nothing but lineage), is
    docs/img/scorecard-notebook.png (MLOPS_SCREENSHOT_DIR=docs/img writes it there)."""
    failing = present(card(default="fail"))
    for c in failing.criteria:
        c.next_step = (f"credit-risk: set a notebook (mlops.set_retraining('credit-risk', notebook=...)) and a "
                       f"rule that retrains (mlops.add_alert_rule(..., model='credit-risk', actions=[{{'type': "
                       f"'retrain'}}])) for {c.name}")
    page.set_viewport_size({"width": 1280, "height": 900})
    show(page, failing._repr_html_())
    box = page.locator(".mlops-scorecard").bounding_box()
    assert box is not None and box["height"] <= 900
    assert page.locator(".mlops-scorecard li").count() == 12 and page.locator(".mlops-chip").count() == 12
    colour = page.locator(".mlops-chip").first.evaluate("el => getComputedStyle(el).color")
    assert colour == "rgb(179, 38, 30)"  # the fail red

    real = _production_model_card(sqlite_url)
    show(page, real._repr_html_())
    assert "credit · credit-risk v1" in page.locator(".mlops-scorecard").inner_text()
    statuses = page.locator(".mlops-chip b").all_inner_texts()
    assert len(statuses) == 12 and {"pass", "fail"} <= set(statuses)
    folder = os.environ.get("MLOPS_SCREENSHOT_DIR")
    if folder:
        page.locator("#output").screenshot(path=str(Path(folder) / "scorecard-notebook.png"))


def _production_model_card(url: str) -> ScorecardView:
    """The service's card of model credit-risk, v1 in production, with nothing but its lineage."""
    from mlops_nb.services.monitoring import scorecards
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.migrate import ensure_schema
    from tests import factories

    engine = get_engine(url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        project_id = factories.project(session, "credit")
        factories.version(session, factories.model(session, project_id, "credit-risk"), stage="production")
    with session_scope(engine) as session:
        return present(scorecards.scorecard(session=session, project_id=project_id, model="credit-risk"))


def test_a_project_card_shows_twenty_models_and_counts_the_rest():
    project = present(card(model=None, version=None, models=[card(model=f"m{i:02d}") for i in range(23)]))
    text = repr(project)
    assert "m19 v5" in text and "m20" not in text and text.endswith("    … 3 more (.models has all)")
    html = project._repr_html_().split("mlops-scorecard-models", 1)[1]
    assert html.count("<tr><td") == 21 and "… 3 more (.models has all)" in html and len(project.models) == 23
