"""`mlops demo` refuses a store that is not empty, and `mlops console` a port that is taken: one line on
stderr, exit status 1, nothing changed and no server started. (What the demo builds is tested in
tests/demo/test_story.py; the console serving it, in tests/console/test_browser.py.)"""
from __future__ import annotations

import socket

import pytest

from tests.cli.test_cli import cli


@pytest.fixture()
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _one_line(result) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _events(db: str) -> int:
    from mlops_nb.services import governance
    from mlops_nb.store.db import dispose_engines, get_engine, session_scope

    with session_scope(get_engine(db)) as session:
        newest = governance.latest_event_id(session=session)
    dispose_engines()
    return newest


def test_demo_refuses_a_store_that_holds_a_project(db, tmp_path):
    import mlops_nb as mlops

    mlops.init(project="risk", db_url=db, user="dana", artifact_root=str(tmp_path / "artifacts"))
    before = _events(db)
    line = _one_line(cli("demo", "--db", db))
    assert line == ("mlops: the store already holds 1 project(s): risk; the demo fills only an empty store and "
                    "changed nothing (give it a new one: mlops demo --db sqlite:///demo/mlops.db)")
    assert _events(db) == before


def test_demo_refuses_a_store_that_holds_users(db):
    added = cli("--db", db, "user", "add", "rita", "--role", "reviewer", "--password-stdin", stdin="rita-secret-1\n")
    assert added.returncode == 0, added.stderr
    before = _events(db)
    line = _one_line(cli("demo", "--db", db))
    assert line.startswith("mlops: the store already holds 1 user(s): rita; the demo fills only an empty store")
    assert _events(db) == before


def test_console_refuses_a_taken_port(db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli("console", "--db", db, "--port", str(port))
    line = _one_line(result)
    assert line == (f"mlops: port {port} on 127.0.0.1 is taken: another program listens there; pick another with "
                    f"--port (e.g. --port {port + 1})")
    assert "listening" not in result.stdout  # refused before it says it serves


def test_console_refuses_a_port_out_of_range(db):
    assert _one_line(cli("console", "--db", db, "--port", "0")) == "mlops: --port 0 is not a port number (1 to 65535)"
