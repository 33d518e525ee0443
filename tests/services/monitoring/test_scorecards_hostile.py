"""A hostile review of scorecards (issue 12): boxes that could be ticked without the evidence the
criterion names, and bad input that must be refused with nothing stored. Each test failed before
its fix. Stores are built from rows (tests/factories.py) on SQLite."""
from __future__ import annotations

import time

import pytest

from mlops_nb.services import tracking
from mlops_nb.services.monitoring import scorecards
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.models import LatestMetric, Param, Policy, Run, Tag
from mlops_nb.store.models.data import ValidationRecord
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


def _validation(session, pid, *, contract: int, subject: int | None, at: float, ok: bool = True) -> None:
    session.add(ValidationRecord(project_id=pid, dataset_version_id=contract, subject="frame" if subject is None
                                 else "dataset", subject_dataset_version_id=subject, rows=10, ok=ok, errors=0,
                                 warnings=0, created_by="dana", created_at=at))
    session.flush()


def test_data_validated_is_not_earned_by_validating_a_frame_against_the_training_data(s):
    # mlops.validate(train, against=<the training dataset>) checks the training data against its own
    # snapshot, which passes by construction: it records the training dataset as the contract and a
    # frame as the subject. That is not the training data validated; it once passed data_validated.
    pid = f.project(s)
    registered = f.model(s, pid, "m")
    v = f.version(s, registered, stage="staging")
    _validation(s, pid, contract=v.dataset_version_id, subject=None, at=v.created_at - 60)
    assert _criterion(s, pid, "data_validated").status == "fail"
    # the training dataset validated as the subject, against another contract, before registration holds
    earlier = f.dataset(s, pid)
    _validation(s, pid, contract=earlier.id, subject=v.dataset_version_id, at=v.created_at - 30)
    criterion = _criterion(s, pid, "data_validated")
    assert criterion.status == "pass" and criterion.evidence[0].kind == "validation"


def test_data_validated_ignores_the_training_data_validated_against_itself(s):
    pid = f.project(s)
    registered = f.model(s, pid, "m")
    v = f.version(s, registered, stage="staging")
    _validation(s, pid, contract=v.dataset_version_id, subject=v.dataset_version_id, at=v.created_at - 60)
    assert _criterion(s, pid, "data_validated").status == "fail"


BIDI_AND_C1 = "ab\u202ecd\u2066ef\x9b31m"  # a right-to-left override, an isolate, and a C1 CSI


def test_terminal_text_and_board_pack_show_bidi_overrides_and_c1_controls_as_escapes(s, tmp_path, capsys):
    # a model name reversing the rest of a terminal line (a 'fail' read as 'liaf', a column order
    # flipped) or starting an 8-bit escape sequence: shown as escapes, like ESC and newlines are
    from mlops_nb.cli.scorecard_show import text_report
    from mlops_nb.display.scorecard_export import to_markdown

    pid = f.project(s, "p")
    f.version(s, f.model(s, pid, BIDI_AND_C1), stage="production")
    cards = scorecards.portfolio(session=s)
    terminal, markdown = text_report(cards), to_markdown(cards)
    for text in (terminal, markdown):
        assert "\u202e" not in text and "\u2066" not in text and "\x9b" not in text
    assert "ab\\u202ecd\\u2066ef\\x9b31m" in terminal
    assert "ab\\\\u202ecd\\\\u2066ef\\\\x9b31m" in markdown  # markdown escapes the backslash too


def _model_5(session, pid):
    tests = scorecards.scorecard(session=session, project_id=pid, model="m").ml_test_score.tests
    return next(t for t in tests if t.key == "model.5")


def test_model_5_compares_the_version_with_a_baseline_run_other_than_its_own(s):
    # 'a simpler model is not better': anyone may tag a run baseline=true, and the no_regression gate
    # compares with the production version, not with the baseline. Tagging the version's own run
    # once earned model.5; now a baseline run other than the version's must have logged the gate's
    # metric, and the version must be no worse than it.
    pid = f.project(s)
    registered = f.model(s, pid, "m")
    v = f.version(s, registered, stage="production", metrics={"auc": 0.80})
    s.add(Policy(project_id=pid, model_id=None, updated_by="eve", updated_at=time.time(),
                 rules={"gates": {"no_regression": {"metric": "auc", "tolerance": 0.0, "higher_is_better": True}}}))
    own = s.get(Run, v.run_id)
    own.status = "finished"
    s.add(Param(run_id=own.id, key="C", value="1"))
    s.add(Tag(run_id=own.id, key="baseline", value="true"))
    s.flush()
    test = _model_5(s, pid)
    assert test.score == 0 and "baseline" in test.detail, test.detail
    # a real baseline in the experiment, better than the version: the simpler model is better
    baseline = tracking.create_run(session=s, experiment_id=own.experiment_id, name="logreg", user="dana", context={})
    row = s.get(Run, baseline.id)
    row.status = "finished"
    s.add(Tag(run_id=row.id, key="baseline", value="true"))
    s.add(LatestMetric(run_id=row.id, key="auc", value=0.85, step=0, timestamp=time.time()))
    s.flush()
    test = _model_5(s, pid)
    assert test.score == 0 and "0.85" in test.detail, test.detail
    # the version beats it: automated, with the baseline run as evidence
    s.get(LatestMetric, (row.id, "auc")).value = 0.70
    s.flush()
    test = _model_5(s, pid)
    assert test.score == 1 and ("run", row.id) in [(e.kind, e.id) for e in test.evidence], test.detail


@pytest.mark.parametrize("attestation_id", [2**31, 2**40])
def test_withdrawing_an_id_past_the_id_column_is_not_found_on_postgresql_too(db_url, attestation_id):
    # ids are 32-bit INTEGER columns on PostgreSQL: 2**40 reached the driver ("integer out of range"),
    # which the CLI reported as a store it cannot use
    from mlops_nb.services.errors import NotFound
    from mlops_nb.services.identity import OPERATOR
    from mlops_nb.services.monitoring import attestations

    engine = get_engine(db_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        pid = f.project(session, "p")
        with pytest.raises(NotFound, match=f"attestation {attestation_id} does not exist"):
            attestations.withdraw_attestation(session=session, actor=OPERATOR, project_id=pid,
                                              attestation_id=attestation_id)


def test_a_links_id_past_the_id_column_is_no_id():
    # a crafted link (?validation=99999999999999999999) reached PostgreSQL as a raw DataError on the page
    from mlops_nb.console.links import number

    assert number("7") == 7
    assert [number(v) for v in ("2147483648", "99999999999999999999", "0", "-3", "x", None)] == [None] * 6
