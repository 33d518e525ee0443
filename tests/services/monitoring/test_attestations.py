"""Attestations of ML Test Score tests: who may make and withdraw them, what input is refused (and
changes nothing stored), how they expire, and that each is audited; and the scorecard settings."""
from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.identity import OPERATOR
from mlops_nb.services.monitoring import attestations, scorecard_settings
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema
from mlops_nb.store.models import Attestation, AuditEvent, ScorecardSetting
from tests import factories

DAY = 86_400.0


@pytest.fixture()
def db(sqlite_url):
    """A SQLite store with project 'credit' (models 'credit-risk' and 'churn') and one proven user per role."""
    engine = get_engine(sqlite_url)
    ensure_schema(engine)
    with session_scope(engine) as session:
        project_id = factories.project(session, "credit")
        factories.model(session, project_id, "credit-risk")
        factories.model(session, project_id, "churn")
        people = factories.add_users(session)
        people["rita"] = factories.proven(session, "rita", "reviewer")
        yield session, project_id, people


def _attest(session, project_id, actor, test="data.2", note="feature ablation, wiki/ML-12", **options):
    return attestations.attest(session=session, actor=actor, project_id=project_id, test=test, note=note, **options)


def _count(session, table, *where) -> int:
    return session.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _events(session, action: str) -> list[AuditEvent]:
    return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                .order_by(AuditEvent.id)).scalars())


def test_a_reviewer_attests_a_test_for_a_model_and_it_is_listed_and_audited(db):
    session, project_id, people = db
    made = _attest(session, project_id, people["reviewer"], test="model.7", note="inclusion review, doc ML-31",
                   model="credit-risk", days=90)
    assert (made.project, made.model, made.test, made.title) == (
        "credit", "credit-risk", "model.7", "The model is tested for considerations of inclusion")
    assert (made.by, made.role, made.note, made.active, made.withdrawn_by) == (
        "reviewer", "reviewer", "inclusion review, doc ML-31", True, None)
    assert made.expires_at - made.at == pytest.approx(90 * DAY)
    assert [a.id for a in attestations.list_attestations(session=session, project_id=project_id)] == [made.id]
    [event] = _events(session, "attestation.add")
    assert (event.actor, event.entity, event.entity_id) == ("reviewer", "attestation", str(made.id))
    assert event.after["test"] == "model.7" and event.after["note"] == "inclusion review, doc ML-31"


def test_the_default_life_is_the_projects_attestation_days(db):
    session, project_id, people = db
    scorecard_settings.set_settings(session=session, actor=people["ml_engineer"], project_id=project_id,
                                    changes={"attestation_days": 30})
    made = _attest(session, project_id, people["manager"])
    assert made.expires_at - made.at == pytest.approx(30 * DAY)


@pytest.mark.parametrize(("who", "words"), [
    ("declared", "user 'dana' may not attest an ML Test Score test done by hand, or withdraw an attestation with a "
                 "declared name"),
    ("data_scientist", "user 'data-scientist' \\(data_scientist\\) may not attest an ML Test Score test done by "
                       "hand, or withdraw an attestation: it needs the role ml_engineer or reviewer or manager or admin"),
])
def test_a_declared_name_or_a_data_scientist_may_not_attest(db, who, words):
    session, project_id, people = db
    with pytest.raises(PermissionDenied, match=words):
        _attest(session, project_id, people[who])
    assert _count(session, Attestation) == 0


@pytest.mark.parametrize(("options", "error", "words"), [
    ({"test": "data.9"}, InvalidInput, "'data.9' is not an ML Test Score test; tests are data.1-data.7; model.1-model.7"),
    ({"test": 2}, InvalidInput, "2 is not an ML Test Score test"),
    ({"note": ""}, InvalidInput, "a note is required: say what was done by hand and where it is recorded"),
    ({"note": "   "}, InvalidInput, "a note is required"),
    ({"note": None}, InvalidInput, "a note must be text, got NoneType"),
    ({"note": "done\x00"}, InvalidInput, "a note must not hold NUL characters"),
    ({"note": "x" * 5_001}, InvalidInput, "a note is at most 5,000 characters, got 5,001"),
    ({"days": 0}, InvalidInput, "days must be a number of days above 0 and at most 730"),
    ({"days": -3}, InvalidInput, "above 0 and at most 730 .* got -3"),
    ({"days": math.nan}, InvalidInput, "got nan"),
    ({"days": math.inf}, InvalidInput, "got inf"),
    ({"days": 731}, InvalidInput, "at most 730 \\(the project's attestation_max_days\\), got 731"),
    ({"days": True}, InvalidInput, "got True"),
    ({"days": "30"}, InvalidInput, "got '30'"),
    ({"model": "nope"}, NotFound, "model 'nope' is not registered in this project; models: churn, credit-risk"),
    ({"model": "credit\x00"}, InvalidInput, "model name 'credit\\\\x00' contains a NUL character"),
])
def test_bad_input_is_refused_by_name_and_stores_nothing(db, options, error, words):
    session, project_id, people = db
    with pytest.raises(error, match=words):
        _attest(session, project_id, people["reviewer"], **options)
    assert _count(session, Attestation) == 0 and _events(session, "attestation.add") == []


def test_attesting_again_keeps_both_and_the_newest_is_listed_first(db):
    session, project_id, people = db
    first = _attest(session, project_id, people["reviewer"], note="first review")
    second = _attest(session, project_id, people["manager"], note="second review")
    listed = attestations.list_attestations(session=session, project_id=project_id)
    assert [(a.id, a.note) for a in listed] == [(second.id, "second review"), (first.id, "first review")]


def test_a_models_list_holds_its_own_and_the_project_wide_attestations(db):
    session, project_id, people = db
    wide = _attest(session, project_id, people["reviewer"], test="data.5")
    own = _attest(session, project_id, people["reviewer"], test="model.4", model="credit-risk")
    _attest(session, project_id, people["reviewer"], test="model.4", model="churn")
    listed = attestations.list_attestations(session=session, project_id=project_id, model="credit-risk")
    assert [(a.id, a.model) for a in listed] == [(own.id, "credit-risk"), (wide.id, None)]
    with pytest.raises(NotFound, match="model 'nope' is not registered"):
        attestations.list_attestations(session=session, project_id=project_id, model="nope")


def test_an_attestation_expires_at_as_of(db):
    session, project_id, people = db
    made = _attest(session, project_id, people["reviewer"], days=1)

    def listed(as_of, **options):
        return [(a.id, a.active) for a in attestations.list_attestations(session=session, project_id=project_id,
                                                                          as_of=as_of, **options)]

    assert listed(made.at + 0.5 * DAY) == [(made.id, True)]
    assert listed(made.expires_at) == []  # it holds until expires_at, not at it
    assert listed(made.expires_at, include_inactive=True) == [(made.id, False)]
    assert listed(made.at - 1) == []  # not made yet
    assert attestations.holds_at(session.get(Attestation, made.id), made.expires_at - 1)


def test_only_the_attester_or_a_steward_withdraws_and_only_once(db):
    session, project_id, people = db
    made = _attest(session, project_id, people["rita"])
    with pytest.raises(PermissionDenied, match="user 'reviewer' \\(reviewer\\) may not withdraw attestation .* made by "
                                               "'rita': only its attester or an ml_engineer or admin may"):
        attestations.withdraw_attestation(session=session, actor=people["reviewer"], project_id=project_id,
                                          attestation_id=made.id)
    assert session.get(Attestation, made.id).withdrawn_at is None
    gone = attestations.withdraw_attestation(session=session, actor=people["ml_engineer"], project_id=project_id,
                                             attestation_id=made.id)
    assert (gone.withdrawn_by, gone.active) == ("ml-engineer", False)
    assert attestations.list_attestations(session=session, project_id=project_id) == []
    with pytest.raises(Conflict, match=f"attestation {made.id} was withdrawn already, by 'ml-engineer'"):
        attestations.withdraw_attestation(session=session, actor=people["rita"], project_id=project_id,
                                          attestation_id=made.id)
    [event] = _events(session, "attestation.withdraw")
    assert event.actor == "ml-engineer" and event.before["withdrawn_at"] is None
    assert event.after["withdrawn_by"] == "ml-engineer"
    own = _attest(session, project_id, people["rita"])
    assert attestations.withdraw_attestation(session=session, actor=people["rita"], project_id=project_id,
                                             attestation_id=own.id).withdrawn_by == "rita"
    for missing in (own.id + 99, 2**70, True, "1"):  # never a driver's overflow error
        with pytest.raises(NotFound, match=f"attestation {missing!r} does not exist in this project"):
            attestations.withdraw_attestation(session=session, actor=OPERATOR, project_id=project_id,
                                              attestation_id=missing)


# --- settings -------------------------------------------------------------------------------------

def test_a_steward_changes_settings_audited_with_before_and_after(db):
    session, project_id, people = db
    now = scorecard_settings.set_settings(session=session, actor=people["ml_engineer"], project_id=project_id,
                                          changes={"drift_max_age_days": 14, "sweep_min_runs": 5})
    assert (now["drift_max_age_days"], now["sweep_min_runs"], now["monitoring_window_days"]) == (14.0, 5.0, 30.0)
    again = scorecard_settings.set_settings(session=session, actor=OPERATOR, project_id=project_id,
                                            changes={"monitoring_window_days": 60})
    assert (again["drift_max_age_days"], again["monitoring_window_days"]) == (14.0, 60.0)
    assert scorecard_settings.get_settings(session=session, project_id=project_id) == again
    first, second = _events(session, "scorecard.settings")
    assert (first.actor, first.before["drift_max_age_days"], first.after["drift_max_age_days"]) == ("ml-engineer", 7, 14)
    assert (second.actor, second.before["monitoring_window_days"], second.after["monitoring_window_days"]) == (
        "operator (cli)", 30, 60)


@pytest.mark.parametrize(("changes", "error", "words"), [
    ({}, InvalidInput, "give at least one setting to change"),
    ({"drift_days": 3}, InvalidInput, "unknown scorecard setting 'drift_days'; settings are monitoring_window_days"),
    ({"drift_max_age_days": 0}, InvalidInput, "drift_max_age_days must be a number from 1 to 3650, got 0"),
    ({"drift_max_age_days": 3651}, InvalidInput, "got 3651"),
    ({"drift_max_age_days": math.nan}, InvalidInput, "got nan"),
    ({"drift_max_age_days": "7"}, InvalidInput, "got '7'"),
    ({"sweep_min_runs": 2.5}, InvalidInput, "sweep_min_runs must be a whole number from 1 to 1000, got 2.5"),
    ({"attestation_days": 800}, InvalidInput, "attestation_days \\(800\\) must be at most attestation_max_days \\(730\\)"),
    ({"monitoring_window_days": 10, "attestation_max_days": 100}, InvalidInput,
     "attestation_days \\(180\\) must be at most attestation_max_days \\(100\\)"),
])
def test_bad_settings_are_refused_and_nothing_changes(db, changes, error, words):
    session, project_id, people = db
    with pytest.raises(error, match=words):
        scorecard_settings.set_settings(session=session, actor=people["admin"], project_id=project_id, changes=changes)
    assert _count(session, ScorecardSetting) == 0 and _events(session, "scorecard.settings") == []


@pytest.mark.parametrize("who", ["reviewer", "manager", "declared"])
def test_only_a_steward_changes_settings(db, who):
    session, project_id, people = db
    with pytest.raises(PermissionDenied, match="may not set a project's scorecard thresholds and windows"):
        scorecard_settings.set_settings(session=session, actor=people[who], project_id=project_id,
                                        changes={"sweep_min_runs": 5})
    assert _count(session, ScorecardSetting) == 0
