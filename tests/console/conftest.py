"""Console fixtures: a store with users of every role, and an AppTest of the console on it.

`console_store` is a SQLite store (PostgreSQL where a test says) with one proven user per role, all
with the password PASSWORD; `app` is an AppTest of `mlops_nb/console/app.py` on that store;
`logged_in(name)` returns one already past the login form.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import cheap_hasher
from tests.display.screenshots import CHROMIUM

APP = str(Path(__file__).resolve().parents[2] / "mlops_nb" / "console" / "app.py")
PASSWORD = "correct horse battery"
USERS = {"dana": "data_scientist", "eli": "ml_engineer", "pat": "platform_engineer", "rita": "reviewer",
         "max": "manager", "ada": "admin"}


@pytest.fixture(scope="session")
def console_template(tmp_path_factory) -> Path:
    """A folder holding `store.db` (migrated, one user per role: USERS with PASSWORD, project `credit`)
    and its audit key, made once per test session (per pytest-xdist worker); `console_store` copies it."""
    from mlops_nb.services import identity, tracking
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.migrate import ensure_schema

    folder = tmp_path_factory.mktemp("console-template")
    url = f"sqlite:///{folder / 'store.db'}"
    saved = identity.auth._hasher  # cheap_hashes (tests/conftest.py) is per test: a session fixture sets its own
    identity.auth._hasher = cheap_hasher
    try:
        engine = get_engine(url)
        ensure_schema(engine)
        with session_scope(engine) as session:
            for name, role in USERS.items():
                identity.add_user(session=session, actor=identity.OPERATOR, name=name, role=role, password=PASSWORD)
            tracking.get_or_create_project(session=session, name="credit")
    finally:
        identity.auth._hasher = saved
    engine.dispose()  # closes the connections, so SQLite folds its write-ahead log into store.db
    return folder


def copy_store(template: Path, folder: Path) -> str:
    """The SQLite URL of a copy of the store in `template` (its database and audit key) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in template.iterdir():
        shutil.copy2(path, folder / path.name)
    return f"sqlite:///{folder / 'store.db'}"


@pytest.fixture()
def console_store(console_template, monkeypatch, tmp_path):
    """A store of its own for each test with one user per role (USERS, password PASSWORD) and a project
    `credit` (a copy of `console_template`: a test's writes stay in its copy); MLOPS_DB_URL names it,
    as `mlops console --db` does for the Streamlit server."""
    url = copy_store(console_template, tmp_path)
    monkeypatch.setenv("MLOPS_DB_URL", url)
    monkeypatch.setenv("MLOPS_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    return url


def new_app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=30)


@pytest.fixture()
def app(console_store):
    """An AppTest of the console on `console_store`, run once (the login page)."""
    at = new_app()
    at.run()
    return at


def log_in(at, name: str, password: str = PASSWORD):
    """Fill the login form and submit it; the AppTest after the rerun."""
    at.text_input(key="login_username").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click()
    return at.run()


@pytest.fixture()
def logged_in(app):
    """A function: the console logged in as `name` (one of USERS)."""
    def _login(name: str):
        at = log_in(app, name)
        assert not at.exception, at.exception
        return at

    return _login


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium (never a download), one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where the screenshots go: MLOPS_SCREENSHOTS_DIR when set, else a temporary folder."""
    folder = Path(os.environ.get("MLOPS_SCREENSHOTS_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
