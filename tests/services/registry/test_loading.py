"""services.registry.loading: sha256 and recorded types before a byte is loaded; the environment policy."""
from __future__ import annotations

import time

import pytest

from mlops_nb.services import registry, tracking
from mlops_nb.services.errors import IntegrityFailure
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


def test_custom_type_is_recorded_and_trusted_only_as_recorded(ctx, trained, credit, register, majority):
    run, _, X = trained
    custom = majority().fit(X, (credit.creditability == "bad").astype(int))
    v = register(run.id, custom, name="majority", target="creditability")
    assert v.env["trusted_types"] == [f"{majority.__module__}.MajorityClassifier"]
    with session_scope(ctx.engine) as session:
        plan = registry.plan_load(session=session, project_id=ctx.project_id, name="majority", version=1)
    assert registry.load(plan, store=ctx.artifacts).predict(X.head(3)).tolist() == [0, 0, 0]
    plan.trusted = []  # as if the record had listed nothing unusual: the file's type is unexpected
    with pytest.raises(IntegrityFailure, match="types that were not recorded at registration: .*MajorityClassifier"):
        registry.load(plan, store=ctx.artifacts)
