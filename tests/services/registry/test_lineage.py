"""services.registry.lineage: the training dataset, target and signature a version records."""
from __future__ import annotations

import pytest

import mlops_nb as mlops
from mlops_nb.services.errors import InvalidInput


def test_target_missing_from_dataset_is_refused(ctx, trained, register):
    run, model, _ = trained
    with pytest.raises(InvalidInput, match="target 'default' is not a column of dataset 'german' v1"):
        register(run.id, model, target="default")


def test_dataset_by_name_is_the_version_the_run_used(ctx, trained, credit, register):
    run, model, _ = trained
    mlops.end_run()
    with mlops.start_run(experiment="credit", name="newer data"):
        mlops.log_dataset(credit.head(500), name="german")  # version 2, used by another run
    assert register(run.id, model, dataset="german").dataset.version == 1
    assert register(mlops.runs().rows[0]["run_id"], model, dataset="german").dataset.version == 2


def test_signature_comes_from_input_example(ctx, trained, register):
    run, model, X = trained
    v = register(run.id, model, input_example=X.head(20))
    assert [c["name"] for c in v.signature["inputs"]["columns"]] == list(X.columns)
    assert v.signature["outputs"]["predict"]["dtype"] == "int64"
