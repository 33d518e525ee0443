"""Shared fixtures: a fresh store per test on SQLite, and on PostgreSQL where a server answers.

PostgreSQL: MLOPS_TEST_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres) names
an admin connection; each test gets its own new database. Without a server the PostgreSQL leg is
skipped with the reason, unless MLOPS_REQUIRE_POSTGRES=1 (set by .ci/run), which makes it fail.
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("MLOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("MLOPS_REQUIRE_POSTGRES") == "1"
DATA = Path(__file__).resolve().parents[1] / "mlops_nb" / "data" / "german_credit.csv"
ENV_VARS = ("MLOPS_DB_URL", "MLOPS_USER", "MLOPS_TOKEN", "MLOPS_RUN_STALE_S", "MLOPS_ARTIFACT_ROOT",
            "MLOPS_HEARTBEAT_S", "MLOPS_NOTEBOOK_PATH", "MLOPS_AUDIT_KEY_FILE", "MLOPS_SQLITE_SYNCHRONOUS",
            "MLOPS_SQLITE_BUSY_TIMEOUT_MS", "MLOPS_LOGIN_MAX_FAILURES", "MLOPS_LOGIN_LOCK_MIN", "MLOPS_CONSOLE_IDLE_MIN",
            "MLOPS_RETRAINING_RUN")


def _pg_reachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return None
    except Exception as err:  # noqa: BLE001 - any failure means: no server for these tests
        return f"{type(err).__name__}: {err}".strip()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    problem = _pg_reachable()
    if problem:
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem})"
        if REQUIRE_PG:
            pytest.fail(message + "; MLOPS_REQUIRE_POSTGRES=1 makes this leg mandatory")
        pytest.skip(message + "; set MLOPS_TEST_PG_URL or start a server to run this leg")
    return PG_ADMIN_URL


def new_pg_database(admin_url: str, template: str | None = None) -> tuple[str, callable]:
    """A new database on the server (empty, or a copy of the database `template`), and a function
    that drops it."""
    import psycopg

    name = f"mlops_test_{uuid.uuid4().hex[:12]}"
    plain = admin_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        from mlops_nb.services.monitoring.writer import close_all
        from mlops_nb.store.db import dispose_engines

        close_all()  # batches a test's scorer queued are written while their database still exists
        dispose_engines()
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


@pytest.fixture(scope="session")
def pg_template(pg_admin_url, tmp_path_factory):
    """A PostgreSQL database migrated to head once per test session, and its audit key file: the
    PostgreSQL leg of `db_url` copies it (CREATE DATABASE ... TEMPLATE), which takes a fraction of
    the time of running every migration for every test. SQLite stores get the same from the store
    itself (store.migrate's schema template). Tests of the migrations use `empty_db_url`."""
    import psycopg

    from mlops_nb.store.db import dispose_engines, get_engine
    from mlops_nb.store.migrate import ensure_schema

    key = tmp_path_factory.mktemp("pg-template") / "audit.key"
    url, drop = new_pg_database(pg_admin_url)
    saved = os.environ.get("MLOPS_AUDIT_KEY_FILE")
    os.environ["MLOPS_AUDIT_KEY_FILE"] = str(key)
    try:
        ensure_schema(get_engine(url))
    finally:
        if saved is None:
            os.environ.pop("MLOPS_AUDIT_KEY_FILE", None)
        else:
            os.environ["MLOPS_AUDIT_KEY_FILE"] = saved
        dispose_engines()
    name = url.rsplit("/", 1)[1]
    plain = pg_admin_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:  # nobody may connect to a template while it is copied
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    yield name, key
    drop()


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    """Every test starts with no mlops variables, MLOPS_HOME in its own folder and no current context;
    `__main__` is put back after it (Streamlit's AppTest replaces it, and runs read the script's path
    from it: services.tracking.environment.script_path)."""
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    yield
    from mlops_nb.api.context import current, set_current

    context = current()
    if context is not None and context.active_run is not None:
        context.active_run.stop_heartbeat.set()
    set_current(None)


def cheap_hasher():
    """argon2id as the store uses it, at the lowest cost: what the tests hash and verify with."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_hashes(request, monkeypatch):
    """argon2 at its production cost takes ~0.25 s a hash and ~0.2 s a verification, and most tests add
    users and log them in; in this process they use the same algorithm and code at the lowest cost
    (`cheap_hasher`). Subprocesses (the CLI, kernels, `mlops demo`, `mlops console`) keep the
    production cost, and tests/services/identity/test_hash_cost.py holds it to its parameters; a test
    marked `production_hashes` keeps it too."""
    if request.node.get_closest_marker("production_hashes") is None:
        monkeypatch.setattr("mlops_nb.services.identity.auth._hasher", cheap_hasher)


@pytest.fixture(autouse=True)
def _fresh_features(monkeypatch):
    """Each test starts as a process that defined no feature (the in-process feature functions
    @mlops.feature remembers by source hash and by name)."""
    from mlops_nb.services.data import features

    monkeypatch.setattr(features, "_BY_HASH", {})
    monkeypatch.setattr(features, "_BY_NAME", {})


@pytest.fixture(autouse=True)
def _writers_closed():
    """A test's queued scoring batches are written, and the writer thread stopped, when it ends (a
    PostgreSQL store's drop writes them before the database goes: see new_pg_database)."""
    yield
    from mlops_nb.services.monitoring.writer import close_all

    close_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A new store URL: a SQLite file (empty; opening it copies the schema template), then a new
    PostgreSQL database already at head, with its audit key where the store looks for it."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    import shutil

    from mlops_nb.store.audit_key import key_path

    template, key = request.getfixturevalue("pg_template")
    url, drop = new_pg_database(request.getfixturevalue("pg_admin_url"), template=template)
    request.addfinalizer(drop)
    target = key_path(url)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copy2(key, target)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request, tmp_path) -> str:
    """A new, empty store URL, for tests of the migrations: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url, drop = new_pg_database(request.getfixturevalue("pg_admin_url"))
    request.addfinalizer(drop)
    return url


@pytest.fixture()
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture()
def engine(db_url):
    """An engine on a migrated store."""
    from mlops_nb.store.db import get_engine
    from mlops_nb.store.migrate import ensure_schema

    engine = get_engine(db_url)
    ensure_schema(engine)
    return engine


@pytest.fixture()
def session(engine):
    from mlops_nb.store.db import session_scope

    with session_scope(engine) as session:
        yield session


@pytest.fixture()
def shell():
    """An IPython shell with `%load_ext mlops_nb` done (unloaded afterwards)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("mlops_nb")
    yield shell
    shell.extension_manager.unload_extension("mlops_nb")


@pytest.fixture(scope="session")
def credit():
    import pandas as pd

    return pd.read_csv(DATA)


@pytest.fixture()
def ctx(db_url, tmp_path):
    """The Python API initialised on a fresh store as a declared data scientist."""
    import mlops_nb as mlops

    return mlops.init(project="test", db_url=db_url, user="dana", artifact_root=str(tmp_path / "artifacts"))


@pytest.fixture()
def kernel_of_this_python(tmp_path, monkeypatch) -> str:
    """A `python3` kernelspec running sys.executable, so the kernel sees this venv's mlops_nb."""
    from ipykernel.kernelspec import install

    prefix = tmp_path / "kernel-prefix"
    install(kernel_name="python3", prefix=str(prefix))
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable
    return "python3"


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory):
    """The demo store `mlops demo` builds (tests/demo_store.DemoStore), made once per test session
    (half a minute of CPU on a busy machine); tests take a copy (tests.demo_store.copy_demo)."""
    from tests.demo_store import build_demo

    demo = build_demo(tmp_path_factory.mktemp("demo-template"))
    yield demo
    from mlops_nb.store.db import dispose_engines

    dispose_engines()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Under `pytest -n N --dist loadgroup` (make test), the tests of a module that share a module-scoped
    fixture (a kernel, a server, a store built once) go to one worker, so it is made once rather than
    once per worker; a test already marked with an xdist_group keeps its group.

    pytest-xdist 3.8 sends a group to one worker by adding `@group` to each test's node id, which it
    writes to `item._nodeid`, a field pytest 9 no longer reads (nodeids come from `item._id`): its
    groups do nothing on pytest 9. This adds the suffix wherever it is missing, after xdist's own hook."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        fixtures = getattr(item, "_fixtureinfo", None)
        defs = fixtures.name2fixturedefs.values() if fixtures is not None else ()
        if any(d.scope == "module" for chain in defs for d in chain):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    if not getattr(config.option, "loadgroup", False):  # set in xdist's workers under --dist loadgroup
        return
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is None or "@" in item.nodeid.rsplit("]", 1)[-1]:
            continue
        nodeid = f"{item.nodeid}@{mark.args[0] if mark.args else mark.kwargs.get('name', 'default')}"
        if hasattr(item, "_id"):
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(nodeid)
        else:
            item._nodeid = nodeid


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "production_hashes: argon2 at its production cost in this process (see cheap_hashes)")
