"""The Monitoring page as a person sees it, in the system's headless Chromium (`/usr/bin/chromium`, or
MLOPS_CHROMIUM) against the real `mlops console` (a subprocess on a free port), on a store holding the
monitoring story (tests/monitoring_story.py: three weeks of daily scoring batches, drift reports,
outcomes, alerts, rules and retraining runs) and a user of every role (tests/console/conftest.py).

The reviewer opens Monitoring, goes through its tabs and acknowledges an alert with a note by
clicking `Acknowledge`; the store shows who acknowledged it. Each tab is screenshot at 1366x900 into
MLOPS_SCREENSHOTS_DIR when set (docs/img), else a temporary folder.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ENV_VARS
from tests.console.conftest import PASSWORD, copy_store
from tests.console.test_browser import _settle, _wait_until_up, log_in, open_page
from tests.display.screenshots import CHROMIUM, free_port

MLOPS = str(Path(sys.executable).with_name("mlops"))
TABS = ("Predictions and latency", "Outcomes", "Triggers and retraining")
NOTE = "Macro shift confirmed with the credit desk; retraining requested."

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM} "
                       "(apt-get install -y chromium, as .ci/run does, or set MLOPS_CHROMIUM)"),
    pytest.mark.timeout(600),
]


@pytest.fixture(scope="module")
def story_store(console_template, credit, tmp_path_factory):
    """(store URL, artifact root, the story's ids): a copy of the console's template store with the
    monitoring story told in project `credit`, its batches one a day over three weeks."""
    import mlops_nb as mlops
    from mlops_nb.api.context import set_current
    from mlops_nb.store.db import dispose_engines
    from tests import monitoring_story

    folder = tmp_path_factory.mktemp("monitoring-browser")
    url = copy_store(console_template, folder / "store")
    artifacts = str(folder / "artifacts")
    mlops.init(project="credit", db_url=url, user="dana", artifact_root=artifacts)
    try:
        story = monitoring_story.build(credit, spread_days=21)
        story["window_report"] = _window_report()
    finally:
        set_current(None)
        dispose_engines()
    return url, artifacts, story


def _window_report() -> int:
    """A drift report of the production version's batches, made by the drift service (the newest)."""
    from sqlalchemy import select

    from mlops_nb.api.context import current
    from mlops_nb.services.monitoring import drift
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models import ModelVersion

    ctx = current()
    with session_scope(ctx.engine) as s:
        version_id = s.execute(select(ModelVersion.id).where(ModelVersion.version == 1)).scalar_one()
        return drift.window_drift(session=s, store=ctx.artifacts, project_id=ctx.project_id,
                                  model_version_id=version_id, user="monitor").id


@pytest.fixture(scope="module")
def server(story_store, tmp_path_factory):
    """The console URL of `mlops console` on the story's store."""
    url, artifacts, _ = story_store
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(MLOPS_HOME=str(tmp_path_factory.mktemp("home")), MLOPS_ARTIFACT_ROOT=artifacts)
    port = free_port()
    console = subprocess.Popen([MLOPS, "console", "--db", url, "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    address = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(address, console)
        yield address
    finally:
        os.killpg(console.pid, signal.SIGTERM)
        try:
            console.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(console.pid, signal.SIGKILL)
            console.wait()


def _tab(page, name: str) -> None:
    """Choose tab `name` (from the top of the page: a click computed before Streamlit's own scrolling
    settles lands elsewhere) and wait for its rerun."""
    page.locator('[data-testid="stMain"]').evaluate("el => el.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    page.get_by_role("tab", name=name).click()
    _settle(page)
    assert page.get_by_role("tab", name=name).get_attribute("aria-selected") == "true"


def _shoot(page, stem: Path, screens: int = 3) -> None:
    """The page at 1366x900, then scrolled a screen at a time (Streamlit scrolls its main block, not
    the document): `stem`.png, `stem`-2.png, ... while there is more below."""
    main = page.locator('[data-testid="stMain"]')
    main.evaluate("el => el.scrollTo(0, 0)")
    page.screenshot(path=f"{stem}.png")
    for n in range(2, screens + 1):
        moved = main.evaluate("el => { const before = el.scrollTop; el.scrollBy(0, 800); return el.scrollTop - before; }")
        if moved <= 0:
            break
        page.wait_for_timeout(300)
        page.screenshot(path=f"{stem}-{n}.png")
    main.evaluate("el => el.scrollTo(0, 0)")


def _alert(url: str, alert_id: int):
    from mlops_nb.services import tracking
    from mlops_nb.services.monitoring import alerts
    from mlops_nb.store.db import get_engine, session_scope

    with session_scope(get_engine(url)) as s:
        pid = dict((n, i) for i, n in tracking.list_projects(session=s))["credit"]
        return next(a for a in alerts.list_alerts(session=s, project_id=pid) if a.id == alert_id)


def test_the_reviewer_reads_every_tab_and_acknowledges_an_alert(server, story_store, browser, shots):
    from playwright.sync_api import expect

    url, _, story = story_store
    page = log_in(browser, server, "rita", PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 900})
    open_page(page, "Monitoring")
    assert page.locator(".js-plotly-plot").count() >= 3  # drift share, per-column drift, the distribution
    assert page.locator("img[src='x']").count() == 0  # the alert's column name is text, not markup
    _shoot(page, shots / "console-monitoring-drift")
    page.get_by_role("button", name="Build evidently's report").click()
    report = page.frame_locator('iframe[title="st.iframe"], iframe').last.frame_locator('iframe#report')
    expect(report.get_by_text("Dataset Drift").first).to_be_visible(timeout=180_000)
    _settle(page)  # the rerun that replaced the button with the report
    inner = next(f for f in page.frames if f.name == "" and f.parent_frame is not None
                 and f.parent_frame.parent_frame is not None)
    assert inner.evaluate("() => { try { return String(parent.document.title) } catch (e) { return 'blocked' } }") \
        == "blocked"  # the report's scripts cannot reach the console
    main = page.locator('[data-testid="stMain"]')
    main.evaluate("el => el.scrollTo(0, el.scrollHeight)")
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / "console-monitoring-evidently.png"))
    for name in TABS:
        _tab(page, name)
        _shoot(page, shots / f"console-monitoring-{name.split()[0].lower()}")
    _tab(page, "Alerts")
    _shoot(page, shots / "console-monitoring-alerts")
    alert_id = story["alerts"]["xss"]  # the newest alert: the one the picker shows first
    page.get_by_role("textbox", name="Note").fill(NOTE)
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(page.get_by_text(f"Alert #{alert_id} acknowledged.")).to_be_visible(timeout=120_000)
    assert "Traceback" not in page.content()
    page.close()
    found = _alert(story_store[0], alert_id)
    assert (found.status, found.acknowledged_by, found.note) == ("acknowledged", "rita", NOTE)
