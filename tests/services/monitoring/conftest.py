import pytest

from tests.factories import production_credit_model, register_credit_model


@pytest.fixture()
def registered(ctx, credit):
    """Model 'credit' v1 (a German Credit pipeline) trained on dataset 'german'; returns (X, y)."""
    return register_credit_model(credit), (credit.creditability == "bad").astype(int)


@pytest.fixture()
def production(ctx, credit):
    """Model 'credit' v1 in production, trained on dataset 'german'; returns its features X."""
    return production_credit_model(credit)
