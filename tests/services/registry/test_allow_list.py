"""services.registry.allow_list: the loader decides which types a model file may create, by a precise rule."""
from __future__ import annotations

import functools
import os
import subprocess

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import SelectKBest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, SplineTransformer, StandardScaler

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.registry import allow_list
from tests.services.registry.payload import Detonator, touch_marker

X = np.random.default_rng(0).random((40, 3))
Y = (X[:, 0] > 0.5).astype(int)


def _beyond(model) -> list[str]:
    data = sio.dumps(model)
    return allow_list.types_beyond(data, sio.get_untrusted_types(data=data))


@pytest.mark.parametrize("model", [
    make_pipeline(StandardScaler(), LogisticRegression()),
    make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()),  # a ufunc: skops trusts it
    HistGradientBoostingClassifier(max_iter=3),  # TreePredictor objects
    RandomForestClassifier(n_estimators=2),  # sklearn.tree._tree.Tree in its own skops node
    make_pipeline(SelectKBest(k=2), LogisticRegression()),  # f_classif, a pure scikit-learn function
    make_pipeline(SplineTransformer(), LogisticRegression()),  # scipy's BSpline and its asarray shim
], ids=["scaler", "log1p", "hist-gb", "forest", "select-k-best", "spline"])
def test_scikit_learn_models_need_nothing_beyond_the_allow_list(model):
    assert _beyond(model.fit(X, Y)) == []


def test_a_pandas_pipeline_needs_nothing_beyond_the_allow_list():
    frame = pd.DataFrame({"a": X[:, 0], "c": np.where(X[:, 1] > 0.5, "x", "y")})
    pipe = make_pipeline(make_column_transformer((StandardScaler(), ["a"]),
                                                 (OneHotEncoder(dtype=np.float32), ["c"])), LogisticRegression())
    assert _beyond(pipe.fit(frame, Y)) == []


def test_dtype_object_is_allowed_as_a_value_only():
    """`dtype=object` stores builtins.object as a class, which skops leaves out (notebooks/registry.ipynb)."""
    frame = pd.DataFrame({"c": np.where(X[:, 1] > 0.5, "x", "y")})
    encoder = OneHotEncoder(dtype=object, sparse_output=False).fit(frame)
    assert _beyond(encoder) == []
    assert not allow_list.allows("builtins", "object", "ObjectNode")


@pytest.mark.parametrize("func, names", [
    (os.system, ["posix.system"]),
    (subprocess.call, ["subprocess.call"]),
    (eval, ["builtins.eval"]),
    (np.sum, ["numpy.sum"]),  # a numpy function skops does not trust: not on the allow-list either
    (functools.partial(np.round, decimals=2), ["functools.partial", "numpy.round"]),
    (touch_marker, ["tests.services.registry.payload.touch_marker"]),
])
def test_functions_skops_flags_are_beyond_the_allow_list(func, names):
    assert _beyond(FunctionTransformer(func)) == names


def test_a_class_outside_the_allowed_packages_is_beyond_the_allow_list():
    assert _beyond(make_pipeline(Detonator(), LogisticRegression()).fit(X, Y)) == [
        "tests.services.registry.payload.Detonator"]


def test_a_class_imported_into_an_allowed_module_is_not_that_module_s(monkeypatch):
    """`sklearn.base.Popen` would name subprocess's class, found through a scikit-learn module."""
    import sklearn.base

    monkeypatch.setattr(sklearn.base, "Popen", subprocess.Popen, raising=False)
    assert not allow_list.allows("sklearn.base", "Popen", "ObjectNode")
    assert allow_list.allows("sklearn.linear_model._logistic", "LogisticRegression", "ObjectNode")


def test_an_allowed_class_is_refused_in_a_node_that_calls_it_with_arguments():
    """numpy.memmap(path, mode='w+') writes a file: skops' reduce and tuple nodes call the class."""
    assert allow_list.allows("numpy", "memmap", "TypeNode")
    for loader in ("ConstructorFromReduceNode", "TupleNode", "ListNode", "DictNode", "TreeNode"):
        assert not allow_list.allows("numpy", "memmap", loader), loader


def test_a_numpy_function_is_not_allowed_as_a_function():
    assert not allow_list.allows("numpy", "sum", "FunctionNode")
    assert allow_list.allows("sklearn.feature_selection._univariate_selection", "f_classif", "FunctionNode")


@pytest.mark.parametrize("name, words", [
    ("os.system", "no one may trust it"),
    ("posix.system", "no one may trust it"),
    ("builtins.eval", "no one may trust it"),
    ("subprocess.Popen", "no one may trust it"),
    ("__main__.MyScaler", "defined in the notebook (__main__)"),
    ("MyScaler", "not a type name: 'MyScaler'"),
])
def test_some_names_may_never_be_trusted(name, words):
    with pytest.raises(InvalidInput, match=words.replace("(", r"\(").replace(")", r"\)")):
        allow_list.check_trustable([name])


def test_trust_types_takes_a_list_not_a_string():
    with pytest.raises(InvalidInput, match="takes a list of type names"):
        allow_list.check_trustable("mypkg.Scaler")
