"""A hostile review of scorecards (issue 12): boxes that could be ticked without the evidence the
criterion names, and bad input that must be refused with nothing stored. Each test failed before
its fix. Stores are built from rows (tests/factories.py) on SQLite."""
from __future__ import annotations

import pytest

from mlops_nb.services.monitoring import scorecards
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.models import Param, Run
from tests import factories as f


@pytest.fixture()
def s(sqlite_url):
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        yield session


def _criterion(session, pid, name, model="m"):
    return scorecards.scorecard(session=session, project_id=pid, model=model).criterion(name)


def test_lineage_needs_a_dataset_and_code_even_when_the_run_logged_params(s):
    # a version registered from a run that logged params, but with no training dataset and no code
    # reference: `a and b and c or d` once let the run's params alone pass lineage_complete
    pid = f.project(s)
    registered = f.model(s, pid, "m")
    rid = f.run(s, pid, code_status="untracked", notebook_path="x.ipynb")
    s.add(Param(run_id=rid, key="C", value="1"))
    v = f.version(s, registered, lineage=False)
    v.run_id = rid
    s.flush()
    lineage = _criterion(s, pid, "lineage_complete")
    assert lineage.status == "fail", lineage.detail
    assert "(not: v1)" in lineage.detail
    # with a training dataset and a code reference it holds
    v.dataset_version_id = f.dataset(s, pid).id
    s.get(Run, rid).git_commit = "abc123"
    s.flush()
    run = s.get(Run, rid)
    run.code_status = None
    s.flush()
    assert _criterion(s, pid, "lineage_complete").status == "pass"
