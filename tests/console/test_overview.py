"""The Overview page: production models, what waits for the logged-in user (the services' checks),
recent decisions and activity; an empty project says how to make a first run."""
from __future__ import annotations

from mlops_nb.services import governance, tracking
from mlops_nb.store.db import get_engine, session_scope
from tests import factories as g


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _history(url: str) -> dict[str, int]:
    """A production model credit-risk (v2, approved by eli and rita), a pending staging request on it
    by dana, and a rejected one: request ids by name."""
    with session_scope(get_engine(url)) as s:
        pid = tracking.get_or_create_project(session=s, name="credit").id
        m = g.model(s, pid, "credit-risk")
        g.version(s, m, stage="production")
        g.version(s, m, stage="staging")
        dana = g.proven(s, "dana")
        live = governance.request_promotion(session=s, actor=dana, project_id=pid, model=m.name, version=2,
                                            to="production", reason="fresher data")
        for who in ("eli", "rita"):
            governance.approve(session=s, actor=g.proven(s, who), request_id=live.id, comment="ok")
        v3 = g.version(s, m)
        pending = governance.request_promotion(session=s, actor=dana, project_id=pid, model=m.name, version=v3.version,
                                               to="staging", reason="new features")
        other = g.model(s, pid, "churn")
        g.version(s, other)
        rejected = governance.request_promotion(session=s, actor=dana, project_id=pid, model="churn", version=1,
                                                to="staging", reason="first try")
        governance.reject(session=s, actor=g.proven(s, "eli"), request_id=rejected.id, comment="no holdout")
        return {"live": live.id, "pending": pending.id, "rejected": rejected.id}


def test_an_empty_project_says_how_to_make_a_first_run(logged_in):
    at = logged_in("rita")
    assert [t.value for t in at.title] == ["Overview"]
    assert "has no runs yet" in at.info[0].value
    [code] = at.code
    assert 'mlops.init(project="credit")' in code.value
    assert 'with mlops.start_run(experiment="baseline"):\n    mlops.log_metric("auc", 0.8)' in code.value
    assert _metrics(at) == {"Production models": "0", "Pending requests": "0", "Waiting for you": "0", "Runs": "0"}


def test_overview_shows_production_waiting_decisions_and_activity(console_store, logged_in):
    ids = _history(console_store)
    at = logged_in("eli")
    assert not at.exception and not at.info
    assert _metrics(at) == {"Production models": "1", "Pending requests": "1", "Waiting for you": "1",
                            "Runs": "4"}
    production, waiting, decisions, activity = (d.value for d in at.dataframe)
    assert production.loc[0, "Model"] == "credit-risk v2"
    assert production.loc[0, "Approved by"] == "eli (ml_engineer), rita (reviewer)"
    assert production.loc[0, "Since"][:2] == "20"  # ui.when: a date and time with the zone
    assert list(waiting["Request"]) == [ids["pending"]]
    assert list(decisions["Request"]) == [ids["rejected"], ids["live"]]
    assert list(decisions["Status"]) == ["rejected (staging)", "approved (production)"]
    assert activity.loc[0, "Actor"] == "eli" and activity.loc[0, "Action"] == "promotion.reject"
    assert [p.label for p in at.page_link] == ["Open Approvals"]


def test_waiting_for_you_follows_the_policy_and_four_eyes(console_store, logged_in):
    _history(console_store)
    rita = logged_in("rita")  # a staging request: the policy names ml_engineer only
    assert _metrics(rita)["Waiting for you"] == "0"
    assert "Nothing waits for your decision." in [c.value for c in rita.caption]
