"""Promotion policies: the default, per-model over project default, validation, and audit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from mlops_nb.services import governance
from mlops_nb.services.errors import InvalidInput, PermissionDenied
from mlops_nb.store.models import AuditEvent
from tests import factories as g


def test_default_policy_staging_one_engineer_production_engineer_and_reviewer(session):
    pid = g.project(session)
    policy = governance.get_effective_policy(session=session, project_id=pid, model_id=g.model(session, pid).id)
    assert policy.source == "default"
    assert policy.approvals("staging") == {"ml_engineer": 1}
    assert policy.approvals("production") == {"ml_engineer": 1, "reviewer": 1}
    assert policy.gate("staging_before_production") is True and policy.gate("lineage_complete") is True
    assert policy.gate("no_regression") is None and policy.gate("metric_thresholds") == {}


def test_model_policy_overrides_project_default_which_overrides_builtin(session):
    people = g.add_users(session)
    pid = g.project(session)
    a, b = g.model(session, pid), g.model(session, pid)
    governance.set_policy(session=session, actor=people["admin"], project_id=pid, model_id=None,
                        rules={"metric_thresholds": {"auc": ">= 0.6"}})
    governance.set_policy(session=session, actor=people["ml_engineer"], project_id=pid, model_id=a.id,
                        rules={"approvals": {"production": {"reviewer": 2}}})
    own = governance.get_effective_policy(session=session, project_id=pid, model_id=a.id)
    assert own.source == "model"
    assert own.approvals("production") == {"reviewer": 2} and own.approvals("staging") == {"ml_engineer": 1}
    assert own.gate("metric_thresholds") == {"auc": ">= 0.6"}  # started from the project policy in force
    inherited = governance.get_effective_policy(session=session, project_id=pid, model_id=b.id)
    assert inherited.source == "project" and inherited.gate("metric_thresholds") == {"auc": ">= 0.6"}


def test_set_policy_keeps_unnamed_settings_and_fills_gate_defaults(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    policy = governance.set_policy(session=session, actor=people["admin"], project_id=pid, model_id=m.id,
                                 rules={"no_regression": {"metric": "auc"}, "data_validated": True,
                                        "prediction_distribution": {"max_shift": 0.05}, "env_mismatch": "refuse"})
    assert policy.gate("no_regression") == {"metric": "auc", "tolerance": 0.0, "higher_is_better": True}
    assert policy.gate("data_validated") == {"min_rows": 100, "max_null_rate": 0.1, "target_required": True}
    assert policy.gate("prediction_distribution") == {"max_shift": 0.05}
    assert policy.rules["env_mismatch"] == "refuse"
    off = governance.set_policy(session=session, actor=people["admin"], project_id=pid, model_id=m.id,
                              rules={"data_validated": False})
    assert off.gate("data_validated") is None and off.gate("no_regression")["metric"] == "auc"


@pytest.mark.parametrize("rules, words", [
    ({"metric_thresholds": {"auc": "at least 0.7"}}, "threshold for metric 'auc' must look like"),
    ({"metric_thresholds": {"auc": float("nan")}}, "finite number"),
    ({"approvals": {"production": {"wizard": 1}}}, "role 'wizard' is not one of"),
    ({"approvals": {"production": {"reviewer": 0}}}, "the count of reviewer must be a whole number >= 1"),
    ({"approvals": {"production": {}}}, "approvals for production must name at least one role"),
    ({"approvals": {"archived": {"reviewer": 1}}}, "unknown stage 'archived'"),
    ({"no_regression": {"tolerance": 0.1}}, "gate 'no_regression' needs 'metric'"),
    ({"no_regression": {"metric": "auc", "tolerance": -1}}, "tolerance must be a number >= 0"),
    ({"data_validated": {"max_null_rate": 2}}, "max_null_rate is a share between 0 and 1"),
    ({"data_validated": {"rows": 5}}, "gate 'data_validated' has no option 'rows'"),
    ({"staging_before_production": "yes"}, "takes True or False"),
    ({"magic_gate": True}, "unknown policy setting 'magic_gate'"),
    ({"env_mismatch": "ignore"}, "env_mismatch must be 'warn' or 'refuse'"),
])
def test_bad_policy_setting_is_named(rules, words):
    with pytest.raises(InvalidInput) as err:
        governance.merge(governance.DEFAULT_RULES, rules)
    assert words in str(err.value)


def test_bad_policy_changes_nothing(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    for rules, words in (({}, "set_policy needs at least one setting"),
                         ({"metric_thresholds": {"auc": "big"}}, "threshold for metric 'auc'")):
        with pytest.raises(InvalidInput, match=words):
            governance.set_policy(session=session, actor=people["admin"], project_id=pid, model_id=m.id, rules=rules)
    assert governance.get_effective_policy(session=session, project_id=pid, model_id=m.id).source == "default"
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "policy.set")).first() is None


def test_set_policy_needs_proven_engineer_or_admin(session):
    people = g.add_users(session)
    pid = g.project(session)
    for who in ("data_scientist", "reviewer", "manager", "platform_engineer", "declared"):
        with pytest.raises(PermissionDenied, match="may not set a promotion policy"):
            governance.set_policy(session=session, actor=people[who], project_id=pid, model_id=None,
                                rules={"lineage_complete": False})


def test_set_policy_is_audited_with_before_and_after(session):
    people = g.add_users(session)
    pid = g.project(session)
    m = g.model(session, pid)
    governance.set_policy(session=session, actor=people["ml_engineer"], project_id=pid, model_id=m.id,
                        rules={"metric_thresholds": {"auc": ">= 0.7"}}, entity_name=m.name)
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "policy.set")).scalars().one()
    assert event.actor == "ml-engineer" and event.entity == "policy" and event.entity_id == m.name
    assert event.before["source"] == "default" and event.before["rules"]["gates"]["metric_thresholds"] == {}
    assert event.after["rules"]["gates"]["metric_thresholds"] == {"auc": ">= 0.7"}


@pytest.mark.parametrize("expression, parsed", [(">= 0.70", (">=", 0.7)), ("<0.2", ("<", 0.2)), (0.5, (">=", 0.5)),
                                                ("== 1e-3", ("==", 0.001))])
def test_threshold_expressions(expression, parsed):
    assert governance.parse_threshold("m", expression) == parsed


@pytest.mark.parametrize("metric", ["", "  "])
def test_a_threshold_needs_a_metric_name(metric):
    with pytest.raises(InvalidInput, match="metric_thresholds needs a metric name before each rule"):
        governance.validate({"gates": {"metric_thresholds": {metric: ">= 0.7"}}})


def test_a_project_has_at_most_one_default_policy_row(engine):
    """The (project, model) constraint lets NULL model ids repeat; a partial unique index does not."""
    import time as _time

    from sqlalchemy.exc import IntegrityError

    from mlops_nb.services import tracking
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models import Policy

    with session_scope(engine) as session:
        project_id = tracking.get_or_create_project(session=session, name="p").id
        session.add(Policy(project_id=project_id, model_id=None, rules={}, updated_by="a", updated_at=_time.time()))
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            session.add(Policy(project_id=project_id, model_id=None, rules={}, updated_by="b", updated_at=_time.time()))


def test_no_flag_lifts_the_permission_check_only_the_operator_identity_passes(session):
    """set_policy(operator=True) used to skip the check for anyone; the CLI now passes identity.OPERATOR."""
    import inspect

    from mlops_nb.services import identity

    people = g.add_users(session)
    pid = g.project(session)
    for function in (governance.set_policy, governance.change_policy):
        assert "operator" not in inspect.signature(function).parameters
    with pytest.raises(TypeError):
        governance.set_policy(session=session, actor=people["declared"], project_id=pid, model_id=None,
                              rules={"lineage_complete": False}, operator=True)
    for who in (people["declared"], identity.Identity(name="operator (cli)"),
                identity.Identity(name="cli", role="admin", proven=True)):  # no user row: not proven now
        with pytest.raises(PermissionDenied, match="may not set a promotion policy"):
            governance.set_policy(session=session, actor=who, project_id=pid, model_id=None,
                                  rules={"lineage_complete": False})
    governance.set_policy(session=session, actor=identity.OPERATOR, project_id=pid, model_id=None,
                          rules={"lineage_complete": False})
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "policy.set")).scalars().one()
    assert event.actor == "operator (cli)"
