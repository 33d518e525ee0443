"""Alert rules: checked params with errors naming the bad key, set_monitoring only, audited."""
from __future__ import annotations

import pytest
from sqlmodel import select

from mlops_nb.services import identity
from mlops_nb.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.monitoring import alerts, rules
from mlops_nb.store.models import AuditEvent
from tests import factories


@pytest.fixture()
def project_id(session):
    return factories.project(session, "p")


def test_added_rule_is_listed_with_checked_params_and_audited(session, project_id):
    factories.model(session, project_id, "credit")
    added = rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name="income drift",
                           kind="feature_drift", model="credit", severity="critical", params={"column": "income"},
                           actions=[{"type": "notify"}, {"type": "webhook", "url": "https://hooks.example/x",
                                                         "secret_env": "HOOK_SECRET"}])
    assert (added.model, added.severity, added.params, added.enabled) == ("credit", "critical", {"column": "income"}, True)
    share = rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name="share",
                           kind="drift_share", params={"threshold": "0.3"})
    assert share.params == {"threshold": 0.3} and share.model is None
    assert [r.name for r in rules.list_rules(session=session, project_id=project_id)] == ["income drift", "share"]
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.entity == "alert_rule"))]
    assert actions == ["alert_rule.add", "alert_rule.add"]


@pytest.mark.parametrize(("kind", "params", "words"), [
    ("drift_share", {"treshold": 0.3}, "unknown param 'treshold'"),
    ("drift_share", {"threshold": 1.5}, "param 'threshold' must be from 0 to 1"),
    ("latency_p95", {}, "param 'sla_ms' is required"),
    ("latency_p95", {"sla_ms": "fast"}, "param 'sla_ms' must be a number"),
    ("model_age", {"max_days": 0}, "param 'max_days' must be above 0"),
    ("outcome_metric", {"metric": "default_rate", "expected": 0.05}, "param 'tolerance' is required"),
    ("outcome_metric", {"metric": "roc_auc"}, "'min' and/or 'max'"),
    ("validation", {"severity": "fatal"}, "param 'severity' must be error or warning"),
    ("cpu", {}, "rule kind 'cpu' is not one of"),
])
def test_bad_params_are_refused_naming_the_key(session, project_id, kind, params, words):
    with pytest.raises(InvalidInput, match=words):
        rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name="r", kind=kind,
                       params=params)
    assert rules.list_rules(session=session, project_id=project_id) == []


@pytest.mark.parametrize(("actions", "words"), [
    ([{"type": "email"}], "type 'email' is not one of"),
    ([{"type": "webhook", "url": "file:///etc/passwd"}], "http or https"),
    ([{"type": "webhook", "url": "https://h/x", "secret": "s3cr3t"}], "unknown key 'secret'"),
    ([{"type": "webhook", "url": "https://hook:s3cr3t@h/x"}], "must not carry a user name or password"),
    ([{"type": "webhook", "url": "https://token@h/x"}], "must not carry a user name or password"),
    ([{"type": "webhook", "url": "https://h/x", "secret_env": "not a var"}], "secret_env must name"),
    ([{"type": "callable"}], "name must name a callable"),
])
def test_bad_actions_are_refused(session, project_id, actions, words):
    with pytest.raises(InvalidInput, match=words) as refused:
        rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name="r",
                       kind="drift_share", actions=actions)
    assert "s3cr3t" not in str(refused.value)  # a refusal does not repeat a secret to the screen


@pytest.mark.parametrize(("name", "words"), [
    (5, "must be text, got int"),
    ("a\x00b", "control characters"),
    ("ok\x1b[2J\x1b[Hall clear", "control characters"),
    ("two\nlines", "control characters"),
])
def test_names_that_are_not_one_line_of_text_are_refused(session, project_id, name, words):
    with pytest.raises(InvalidInput, match=words):
        rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name=name, kind="drift_share")
    assert rules.list_rules(session=session, project_id=project_id) == []


def test_only_stewards_change_rules(session, project_id):
    people = factories.add_users(session)
    for who in ("data_scientist", "reviewer", "declared"):
        with pytest.raises(PermissionDenied, match="set alert rules"):
            rules.add_rule(session=session, project_id=project_id, actor=people[who], name="r", kind="drift_share")
    rules.add_rule(session=session, project_id=project_id, actor=people["ml_engineer"], name="r", kind="drift_share")
    with pytest.raises(PermissionDenied):
        rules.delete_rule(session=session, project_id=project_id, actor=people["dana"], name="r")


def test_names_are_unique_and_unknown_names_list_the_rules(session, project_id):
    rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name="r", kind="drift_share")
    with pytest.raises(Conflict, match="a rule named 'r' already"):
        rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name="r", kind="model_age",
                       params={"max_days": 9})
    with pytest.raises(NotFound, match="no rule named 'x'; its rules: r"):
        rules.set_rule_enabled(session=session, project_id=project_id, actor=identity.OPERATOR, name="x",
                               enabled=False)
    with pytest.raises(NotFound, match="model 'nope'"):
        rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name="y", kind="drift_share",
                       model="nope")


def test_disable_enable_and_delete_keep_fired_alerts(session, project_id):
    rule = rules.add_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name="r",
                          kind="drift_share")
    assert not rules.set_rule_enabled(session=session, project_id=project_id, actor=identity.OPERATOR, name="r",
                                      enabled=False).enabled
    assert rules.set_rule_enabled(session=session, project_id=project_id, actor=identity.OPERATOR, name="r",
                                  enabled=True).enabled
    alerts.fire_alert(session=session, project_id=project_id, rule="r", kind="drift_share", model_version_id=None,
                      severity="warning", message="m", evidence={}, fingerprint="f", rule_id=rule.id)
    rules.delete_rule(session=session, project_id=project_id, actor=identity.OPERATOR, name="r")
    assert rules.list_rules(session=session, project_id=project_id) == []
    assert [a.rule for a in alerts.list_alerts(session=session, project_id=project_id)] == ["r"]
