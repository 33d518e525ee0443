import pytest

from tests.factories import register_credit_model


@pytest.fixture()
def registered(ctx, credit):
    """Model 'credit' v1 (a German Credit pipeline) trained on dataset 'german'; returns (X, y)."""
    return register_credit_model(credit), (credit.creditability == "bad").astype(int)
