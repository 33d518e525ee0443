"""services.registry.loading: sha256 and recorded types before a byte is loaded; the environment policy."""
from __future__ import annotations

import time

import pytest

from mlops_nb.services import registry, tracking
from mlops_nb.services.errors import PermissionDenied
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import Policy


def test_env_mismatches_names_each_difference():
    env, _ = tracking.training_env([])
    assert tracking.env_mismatches(env) == []
    old = {**env, "python": "2.7.18", "packages": {**env["packages"], "scikit-learn": "1.4.0", "gone-pkg": "1.0"}}
    found = tracking.env_mismatches(old)
    assert any(m.startswith("Python 2.7.18 at training") for m in found)
    assert "scikit-learn 1.4.0 at training, " + env["packages"]["scikit-learn"] + " here" in found
    assert "gone-pkg 1.0 at training, not installed here" in found


def test_env_policy_prefers_the_models_own_row(ctx, trained, register):
    run, model, _ = trained
    v = register(run.id, model)
    with session_scope(ctx.engine) as session:
        assert registry.env_policy(session=session, project_id=ctx.project_id, model_id=v.model_id) == "warn"
        session.add(Policy(project_id=ctx.project_id, model_id=None, rules={"env_mismatch": "refuse"},
                           updated_by="eve", updated_at=time.time()))
        session.flush()
        assert registry.env_policy(session=session, project_id=ctx.project_id, model_id=v.model_id) == "refuse"
        session.add(Policy(project_id=ctx.project_id, model_id=v.model_id, rules={"env_mismatch": "warn"},
                           updated_by="eve", updated_at=time.time()))
        session.flush()
        assert registry.env_policy(session=session, project_id=ctx.project_id, model_id=v.model_id) == "warn"


def test_custom_type_loads_only_as_trusted_in_the_plan_never_as_the_file_lists_it(ctx, trained, credit, register,
                                                                                  majority):
    from tests.factories import add_users

    run, _, X = trained
    with session_scope(ctx.engine) as session:
        engineer = add_users(session)["ml_engineer"]
    custom = majority().fit(X, (credit.creditability == "bad").astype(int))
    name = f"{majority.__module__}.MajorityClassifier"
    v = register(run.id, custom, name="majority", target="creditability", actor=engineer, trust_types=[name],
                 trust_reason="test baseline")
    assert v.env["trusted_types"] == [name]  # a record of the file's names, nothing more
    with session_scope(ctx.engine) as session:
        plan = registry.plan_load(session=session, project_id=ctx.project_id, name="majority", version=1)
    assert plan.trusted == [name]  # from the trust table
    assert registry.load(plan, store=ctx.artifacts).predict(X.head(3)).tolist() == [0, 0, 0]
    plan.trusted = []  # as if nobody had trusted it: the file's own list does not count
    with pytest.raises(PermissionDenied, match=f"model 'majority' v1 holds types nobody trusted: {name}"):
        registry.load(plan, store=ctx.artifacts)
