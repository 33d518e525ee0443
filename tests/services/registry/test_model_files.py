"""services.registry.model_files: only fitted scikit-learn estimators are saved; unexpected types are refused."""
from __future__ import annotations

import pytest

from mlops_nb.services import registry
from mlops_nb.services.errors import InvalidInput, PermissionDenied


@pytest.mark.parametrize("thing, kind", [(lambda X: X, "function"), ({"coef": [1, 2]}, "dict")])
def test_non_sklearn_object_is_refused_naming_its_type(ctx, trained, thing, kind, register):
    run, _, _ = trained
    with pytest.raises(InvalidInput, match=f"scikit-learn estimator or pipeline; got builtins.{kind}"):
        register(run.id, thing)


def test_unfitted_estimator_is_refused(ctx, trained, register):
    from sklearn.linear_model import LogisticRegression

    run, _, _ = trained
    with pytest.raises(InvalidInput, match="LogisticRegression given to register_model is not fitted"):
        register(run.id, LogisticRegression())


def test_model_file_with_unexpected_type_is_refused_without_loading(monkeypatch, majority):
    import skops.io as sio

    data = sio.dumps(majority().fit([[0], [1], [1]], [0, 1, 1]))
    monkeypatch.setattr(sio, "loads", lambda *a, **k: pytest.fail("deserialised an unexpected type"))
    with pytest.raises(PermissionDenied, match="the model file holds types nobody trusted: .*MajorityClassifier"):
        registry.model_files.load(data, trusted=[])
