"""End to end, as a user does it: `mlops demo` then `mlops console` (the real CLI, subprocesses, a free
port) on a fresh store, driven by Playwright in the system's headless Chromium (`/usr/bin/chromium`,
or MLOPS_CHROMIUM; never a downloaded browser). The demo is built once per test session and copied
for this module (tests/demo_store.py), so it is no longer built twice.

The reviewer the demo printed logs in, opens Approvals, approves a request with a comment by
clicking `Approve`, and the store shows the new stage (read through the services). Then every page
is screenshot, Admin as the admin: into MLOPS_SCREENSHOTS_DIR when set (the README's images:
`MLOPS_SCREENSHOTS_DIR=docs/img`), else a temporary folder. The server and the browser are started
once for the module.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ENV_VARS
from tests.demo_store import copy_demo
from tests.display.screenshots import CHROMIUM, free_port

MLOPS = str(Path(sys.executable).with_name("mlops"))
PAGES = ("Overview", "Experiments", "Registry", "Data", "Approvals", "Scorecards", "Audit")
COMMENT = "Reason codes checked against the adverse-action template; approved from the browser test."

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM} "
                       "(apt-get install -y chromium, as .ci/run does, or set MLOPS_CHROMIUM)"),
    pytest.mark.timeout(900),  # the first test may also build the demo (half a minute of CPU; more on a busy machine)
    pytest.mark.xdist_group("demo"),  # on the worker that builds the demo for tests/demo too
]


def parse_logins(stdout: str) -> dict[str, tuple[str, str]]:
    """{name: (role, password)} from the `Logins` block `mlops demo` prints."""
    block = stdout.split("\nLogins", 1)[1].split("\n\n", 1)[0]
    found = {}
    for line in block.splitlines()[1:]:
        name, role, password = line.split()
        found[name] = (role, password)
    return found


@pytest.fixture(scope="module")
def server(demo_store, tmp_path_factory):
    """(console URL, store URL, logins): `mlops demo` into a new store (built once per session and
    copied for this module: tests/demo_store.py), then `mlops console` on the copy."""
    demo = copy_demo(demo_store, tmp_path_factory.mktemp("browser") / "store")
    db = demo.url
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}  # none of the caller's store or identity
    env["MLOPS_HOME"] = str(demo.home)
    logins = parse_logins(demo.stdout)
    port = free_port()
    console = subprocess.Popen([MLOPS, "console", "--db", db, "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, console)
        yield url, db, logins
    finally:
        os.killpg(console.pid, signal.SIGTERM)  # `mlops console` stops its Streamlit child on SIGTERM
        try:
            console.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(console.pid, signal.SIGKILL)
            console.wait()
        from mlops_nb.store.db import dispose_engines

        dispose_engines()


def _wait_until_up(url: str, console: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if console.poll() is not None:
            raise AssertionError(f"mlops console exited ({console.returncode}): {console.stdout.read().decode()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the console did not answer at {url} within {timeout} s")


def first_of(logins: dict[str, tuple[str, str]], role: str) -> tuple[str, str]:
    """(name, password) of the first printed user with `role`."""
    return next((name, password) for name, (r, password) in logins.items() if r == role)


def log_in(browser, url: str, name: str, password: str):
    """A new page (its own Streamlit session) logged in as `name`, showing the role's first page."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(120_000)  # a busy machine's first render of a page is slow
    page.goto(url)
    page.get_by_role("textbox", name="Username", exact=True).fill(name)
    page.get_by_role("textbox", name="Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Logged in as {name}")).to_be_visible(timeout=120_000)
    return page


def open_page(page, title: str) -> None:
    """Click `title` in the navigation and wait for its heading. The sidebar's link: a page may link to
    another too (Overview links Approvals), and a click that matches two links fails."""
    from playwright.sync_api import expect

    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=120_000)
    _settle(page)


def _settle(page, timeout: float = 120) -> None:
    """Until Streamlit has finished the rerun: its status widget gone and the page's elements
    unchanged for a second and a half (tables and charts render after the script ends)."""
    deadline = time.monotonic() + timeout
    last, stable = -1, 0
    while time.monotonic() < deadline and stable < 3:
        page.wait_for_timeout(500)
        busy = page.locator('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]').count()
        count = page.locator("[data-testid]").count()
        stable = stable + 1 if (count == last and not busy) else 0
        last = count


def _waiting_for_reviewer(db: str) -> dict[int, tuple[str, int]]:
    """{request id: (model, version)} of the pending production requests that have their ml_engineer
    approval and pass their gates: those a reviewer can approve."""
    from mlops_nb.services import governance, tracking
    from mlops_nb.store.db import get_engine, session_scope

    with session_scope(get_engine(db)) as session:
        project_id = dict((n, i) for i, n in tracking.list_projects(session=session))["credit"]
        pending = governance.list_requests(session=session, project_id=project_id, status="pending").requests
    return {r.id: (r.model, r.version) for r in pending if r.target_stage == "production"
            and [a["role"] for a in r.approvals] == ["ml_engineer"] and all(g["passed"] for g in r.gates)}


def _request(db: str, request_id: int):
    from mlops_nb.services import governance
    from mlops_nb.store.db import get_engine, session_scope

    with session_scope(get_engine(db)) as session:
        return governance.public(session=session, request_id=request_id)


def _stage(db: str, model: str, version: int) -> str:
    from mlops_nb.services import registry, tracking
    from mlops_nb.store.db import get_engine, session_scope

    with session_scope(get_engine(db)) as session:
        project_id = dict((n, i) for i, n in tracking.list_projects(session=session))["credit"]
        return registry.get_version(session=session, project_id=project_id, name=model, version=version).stage


def test_the_printed_reviewer_logs_in_and_opens_approvals(server, browser):
    url, _, logins = server
    name, password = first_of(logins, "reviewer")
    page = log_in(browser, url, name, password)
    open_page(page, "Approvals")
    assert "Traceback" not in page.content()
    page.close()


def test_the_reviewer_approves_a_request_with_a_comment_and_the_stage_changes(server, browser):
    url, db, logins = server
    before = _waiting_for_reviewer(db)
    assert len(before) >= 1
    name, password = first_of(logins, "reviewer")
    page = log_in(browser, url, name, password)
    open_page(page, "Approvals")
    approve = page.get_by_role("button", name="Approve", exact=True).first
    approve.scroll_into_view_if_needed()
    comment = approve.locator("xpath=preceding::textarea[1]")  # the comment box of that request
    comment.fill(COMMENT)
    comment.press("Control+Enter")  # Streamlit keeps a text area's value once it is committed
    _settle(page)
    page.get_by_role("button", name="Approve", exact=True).first.click()
    _settle(page)
    deadline = time.monotonic() + 30
    decided = {}
    while time.monotonic() < deadline and not decided:
        decided = {rid: mv for rid, mv in before.items() if _request(db, rid).status != "pending"}
        time.sleep(0.5)
    assert len(decided) == 1, "one click approves one request"
    (request_id, (model, version)), = decided.items()
    request = _request(db, request_id)
    assert request.status == "approved" and request.decided_by == name
    assert [(a["user"], a["role"], a["comment"]) for a in request.approvals][-1] == (name, "reviewer", COMMENT)
    assert _stage(db, model, version) == "production"
    page.close()


@pytest.mark.parametrize("title", PAGES)
def test_a_screenshot_of_every_page(server, browser, shots, title):
    url, _, logins = server
    name, password = first_of(logins, "reviewer")
    page = log_in(browser, url, name, password)
    if title != "Overview":
        open_page(page, title)
    else:
        _settle(page)
    path = shots / f"console-{title.lower()}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    assert not re.search(r"Traceback \(most recent call last\)", page.content())
    page.close()


def test_a_screenshot_of_admin_as_the_admin(server, browser, shots):
    url, _, logins = server
    name, password = first_of(logins, "admin")
    page = log_in(browser, url, name, password)
    open_page(page, "Admin")
    path = shots / "console-admin.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    page.close()
