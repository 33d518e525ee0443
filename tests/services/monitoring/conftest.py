import pytest

import mlops_nb as mlops
from tests.factories import fit_credit_model


@pytest.fixture()
def registered(ctx, credit):
    """Model 'credit' v1 (a German Credit pipeline) trained on dataset 'german'; returns (X, y)."""
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german")
        pipe, X = fit_credit_model(credit)
        mlops.register_model(pipe, name="credit", dataset="german", target="creditability")
    return X, (credit.creditability == "bad").astype(int)
