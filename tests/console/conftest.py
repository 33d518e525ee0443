"""Console fixtures: a store with users of every role, and an AppTest of the console on it.

`console_store` is a SQLite store (PostgreSQL where a test says) with one proven user per role, all
with the password PASSWORD; `app` is an AppTest of `mlops_nb/console/app.py` on that store;
`logged_in(name)` returns one already past the login form.
"""
from __future__ import annotations

from pathlib import Path

import pytest

APP = str(Path(__file__).resolve().parents[2] / "mlops_nb" / "console" / "app.py")
PASSWORD = "correct horse battery"
USERS = {"dana": "data_scientist", "eli": "ml_engineer", "pat": "platform_engineer", "rita": "reviewer",
         "max": "manager", "ada": "admin"}


@pytest.fixture()
def console_store(sqlite_url, monkeypatch, tmp_path):
    """A store with one user per role (USERS, password PASSWORD) and a project `credit`; MLOPS_DB_URL
    names it, as `mlops console --db` does for the Streamlit server."""
    from mlops_nb.services import identity, tracking
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.migrate import ensure_schema

    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        for name, role in USERS.items():
            identity.add_user(session=session, actor=identity.OPERATOR, name=name, role=role, password=PASSWORD)
        tracking.get_or_create_project(session=session, name="credit")
    monkeypatch.setenv("MLOPS_DB_URL", sqlite_url)
    monkeypatch.setenv("MLOPS_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    return sqlite_url


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
