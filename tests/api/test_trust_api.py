"""Trusting a model's types through `import mlops_nb as mlops`: register_model(trust_types=...),
trust_types and trusted_types act as the context's identity, proven only by a password or token."""
from __future__ import annotations

import pytest

import mlops_nb as mlops
from mlops_nb.services import identity
from mlops_nb.store.db import session_scope
from tests.factories import fit_credit_model
from tests.services.registry.conftest import MajorityClassifier

CUSTOM = f"{MajorityClassifier.__module__}.MajorityClassifier"


@pytest.fixture()
def custom(ctx, credit):
    """An engineer with a password, and a fitted custom estimator (a type outside the allow-list)."""
    with session_scope(ctx.engine) as session:
        identity.add_user(session=session, actor=identity.OPERATOR, name="eve", role="ml_engineer", password="eve-secret-12")
    X = credit.drop(columns="creditability")
    return MajorityClassifier().fit(X, (credit.creditability == "bad").astype(int)), X


def _register(model, **kwargs):
    return mlops.register_model(model, name="majority", target="creditability", **kwargs)


def test_a_declared_name_cannot_trust_what_its_model_needs(ctx, credit, custom):
    model, _ = custom
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german", role="train")
        with pytest.raises(mlops.InvalidInput, match=f"nobody trusted for model 'majority': {CUSTOM}"):
            _register(model)
        with pytest.raises(mlops.PermissionDenied, match="'dana' may not trust types .* with a declared name"):
            _register(model, trust_types=[CUSTOM], trust_reason="it is mine")


def test_a_proven_ml_engineer_trusts_in_register_model_and_the_version_shows_it(ctx, db_url, credit, custom):
    model, X = custom
    mlops.init(project="test", db_url=db_url, user="eve", password="eve-secret-12", artifact_root=ctx.artifact_root)
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german", role="train")
        v = _register(model, trust_types=[CUSTOM], trust_reason="baseline estimator, reviewed")
    assert [(t.type, t.trusted_by, t.role) for t in v.trust] == [(CUSTOM, "eve", "ml_engineer")]
    assert f"trusted {CUSTOM}" in repr(v)
    assert mlops.load_model("majority").predict(X.head(2)).tolist() == [0, 0]
    trusted = mlops.trusted_types("majority")
    assert trusted.types == [CUSTOM]
    assert "Types trusted for majority (1)" in repr(trusted) and "baseline estimator, reviewed" in repr(trusted)
    assert list(trusted.to_frame().columns) == ["type", "trusted_by", "role", "reason", "trusted_at"]


def test_trust_types_for_an_existing_model_needs_proof(ctx, db_url, credit, custom):
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german", role="train")
        mlops.register_model(fit_credit_model(credit)[0], name="majority", target="creditability")
    with pytest.raises(mlops.PermissionDenied, match="may not trust types"):
        mlops.trust_types("majority", [CUSTOM], reason="mine")
    mlops.init(project="test", db_url=db_url, user="eve", password="eve-secret-12", artifact_root=ctx.artifact_root)
    assert mlops.trust_types("majority", [CUSTOM], reason="reviewed").types == [CUSTOM]
    with pytest.raises(mlops.InvalidInput, match="no one may trust it"):
        mlops.trust_types("majority", ["builtins.exec"], reason="please")
    with pytest.raises(mlops.NotFound):
        mlops.trust_types("no-such-model", [CUSTOM], reason="reviewed")
