"""scikit-learn autologging: what a fit records, where it goes, and that it never breaks a fit."""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import mlops_nb as mlops
from mlops_nb.services.tracking import autolog as service


@pytest.fixture()
def autologged(sqlite_url, tmp_path):
    ctx = mlops.init(project="auto", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "a"))
    mlops.autolog()
    yield ctx
    mlops.autolog(disable=True)


@pytest.fixture(scope="module")
def binary():
    from sklearn.datasets import make_classification

    return make_classification(n_samples=120, n_features=5, random_state=0)


@pytest.fixture(scope="module")
def regression():
    from sklearn.datasets import make_regression

    return make_regression(n_samples=80, n_features=4, noise=0.1, random_state=0)


def test_fit_inside_a_run_logs_params_metrics_and_class(autologged, binary):
    from sklearn.linear_model import LogisticRegression

    X, y = binary
    with mlops.start_run(experiment="e", name="lr") as run:
        model = LogisticRegression(C=0.5, max_iter=200).fit(X, y)
    got = mlops.get_run(run.id)
    assert got.params["C"] == "0.5" and got.params["max_iter"] == "200" and got.params["class_weight"] == "None"
    assert got.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert got.tags["estimator_name"] == "LogisticRegression"
    assert set(got.metrics) == {"training_score", "training_accuracy", "training_roc_auc"}
    assert got.metrics["training_accuracy"] == pytest.approx(model.score(X, y))
    from sklearn.metrics import roc_auc_score

    assert got.metrics["training_roc_auc"] == pytest.approx(roc_auc_score(y, model.predict_proba(X)[:, 1]))
    assert len(mlops.runs()) == 1


def test_fit_without_a_run_starts_and_ends_one_named_after_the_estimator(autologged, regression):
    from sklearn.linear_model import Ridge

    X, y = regression
    Ridge(alpha=2.0).fit(X, y)
    assert mlops.active_run() is None
    table = mlops.runs().to_frame()
    assert list(table["name"]) == ["Ridge"] and list(table["status"]) == ["finished"]
    assert table["params.alpha"][0] == "2.0"
    assert {"metrics.training_score", "metrics.training_r2", "metrics.training_mse"} <= set(table.columns)
    assert table["metrics.training_r2"][0] == pytest.approx(table["metrics.training_score"][0])
    assert "metrics.training_accuracy" not in table.columns


def test_a_failing_fit_fails_its_automatic_run_and_raises(autologged):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError):
        LogisticRegression().fit(np.array([[1.0], [2.0]]), np.array([0, 0]))  # one class only
    assert list(mlops.runs().to_frame()["status"]) == ["failed"]


def test_pipeline_inner_steps_are_not_logged_separately(autologged, binary):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = binary
    make_pipeline(StandardScaler(), LogisticRegression(C=2.0)).fit(X, y)
    table = mlops.runs().to_frame()
    assert list(table["name"]) == ["Pipeline"]
    run = mlops.get_run(table["run_id"][0])
    assert run.params["steps"] == '[["standardscaler", "StandardScaler"], ["logisticregression", "LogisticRegression"]]'
    assert run.params["logisticregression"] == "LogisticRegression"  # an estimator: its class name
    assert run.params["logisticregression__C"] == "2.0"
    assert "training_roc_auc" in run.metrics


def test_search_over_threads_logs_only_the_outer_fit(autologged, binary):
    from joblib import parallel_backend
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = binary
    with parallel_backend("threading", n_jobs=2):
        GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2, n_jobs=2).fit(X, y)
    table = mlops.runs().to_frame()
    assert list(table["name"]) == ["GridSearchCV"]
    assert table["params.estimator"][0] == "LogisticRegression"
    assert table["params.param_grid"][0] == '{"C": [0.1, 1.0]}'


def test_forest_logs_once_with_its_params(autologged, binary):
    from sklearn.ensemble import RandomForestClassifier

    X, y = binary
    RandomForestClassifier(n_estimators=5, n_jobs=2, random_state=0).fit(X, y)
    table = mlops.runs().to_frame()
    assert list(table["name"]) == ["RandomForestClassifier"] and table["params.n_estimators"][0] == "5"


def test_unsupervised_fit_logs_params_without_training_metrics(autologged, binary):
    from sklearn.cluster import KMeans

    X, _ = binary
    KMeans(n_clusters=2, n_init=2, random_state=0).fit(X)
    run = mlops.get_run(mlops.runs().to_frame()["run_id"][0])
    assert run.params["n_clusters"] == "2" and run.metrics == {}


def test_multiclass_classifier_has_no_roc_auc(autologged):
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    with mlops.start_run(experiment="e") as run:
        DecisionTreeClassifier(max_depth=2).fit(X, y)
    assert set(mlops.get_run(run.id).metrics) == {"training_score", "training_accuracy"}


def test_long_params_are_truncated_to_the_limit():
    text = service.param_value("x" * 10_000)
    assert len(text) == 6000 and text.endswith("…")
    assert service.param_value(list(range(5000))).endswith("…")


def test_param_values_are_stringified_safely():
    from sklearn.linear_model import LogisticRegression

    def my_metric(a, b):
        return 0

    assert service.param_value(None) == "None"
    assert service.param_value(LogisticRegression()) == "LogisticRegression"
    assert service.param_value(my_metric).endswith("my_metric")
    assert service.param_value(("a", 1)) == '["a", 1]'
    assert service.param_value({"k": LogisticRegression()}) == '{"k": "LogisticRegression"}'
    assert service.param_value(np.float64(0.5)) == "0.5"


def test_estimator_params_leave_out_keys_over_the_limit():
    class Odd:
        def get_params(self, deep=True):
            return {"k" * 251: 1, "ok": [1, 2]}

        def fit(self, X, y=None):
            return self

    assert service.estimator_params(Odd()) == {"ok": "[1, 2]"}


def test_a_second_fit_in_the_same_run_keeps_the_first_params_and_logs_more_metrics(autologged, binary):
    from sklearn.linear_model import LogisticRegression

    X, y = binary
    with mlops.start_run(experiment="e") as run:
        LogisticRegression(C=1.0).fit(X, y)
        with pytest.warns(service.AutologWarning, match="param 'C' was already logged"):
            LogisticRegression(C=3.0).fit(X, y)
    assert mlops.get_run(run.id).params["C"] == "1.0"
    assert [m.step for m in mlops.get_metric_history(run.id, "training_accuracy")] == [0, 1]


def test_logging_failures_warn_and_never_break_the_fit(autologged, binary, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    from mlops_nb.api import tracking

    def broken(*args, **kwargs):
        raise RuntimeError("store is down")

    monkeypatch.setattr(tracking, "log_metrics", broken)
    X, y = binary
    with mlops.start_run(experiment="e") as run:
        with pytest.warns(service.AutologWarning, match="could not log the fit of LogisticRegression.*store is down"):
            model = LogisticRegression().fit(X, y)
    assert hasattr(model, "coef_")
    assert mlops.get_run(run.id).params["C"] == "1.0"


def test_a_sink_that_cannot_start_a_run_still_fits(binary):
    from sklearn.linear_model import LogisticRegression

    class Down:
        def begin(self, estimator):
            raise ConnectionError("no store")

    service.patch(Down())
    try:
        X, y = binary
        with pytest.warns(service.AutologWarning, match="could not start a run: ConnectionError: no store"):
            assert hasattr(LogisticRegression().fit(X, y), "coef_")
    finally:
        service.unpatch()


def test_disable_restores_every_original_fit(sqlite_url, tmp_path, binary):
    from sklearn.base import BaseEstimator
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    before = {cls: cls.__dict__.get("fit") for cls in service.estimator_classes()}
    mlops.init(project="auto", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "a"))
    mlops.autolog()
    mlops.autolog()  # twice is the same as once
    assert service.is_patched()
    assert Pipeline in before and hasattr(Pipeline.fit, "__mlops_autolog_original__")
    assert hasattr(RandomForestClassifier.fit, "__mlops_autolog_original__")
    mlops.autolog(disable=True)
    assert not service.is_patched()
    assert {cls: cls.__dict__.get("fit") for cls in service.estimator_classes()} == before
    assert not hasattr(BaseEstimator, "fit")
    X, y = binary
    LogisticRegression().fit(X, y)
    assert len(mlops.runs()) == 0


def test_autolog_is_opt_in(sqlite_url, tmp_path, binary):
    from sklearn.linear_model import LogisticRegression

    assert not service.is_patched()
    mlops.init(project="auto", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "a"))
    X, y = binary
    LogisticRegression().fit(X, y)
    assert len(mlops.runs()) == 0


def test_depth_is_per_thread(autologged, binary):
    """A fit running in another thread after the first finished is recorded on its own."""
    from sklearn.linear_model import LogisticRegression

    X, y = binary
    LogisticRegression().fit(X, y)
    thread = threading.Thread(target=lambda: LogisticRegression(C=2.0).fit(X, y))
    thread.start()
    thread.join()
    assert sorted(mlops.runs().to_frame()["params.C"]) == ["1.0", "2.0"]


def test_log_models_stores_the_fitted_estimator(sqlite_url, tmp_path, binary):
    from sklearn.linear_model import LogisticRegression

    mlops.init(project="auto", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "a"))
    mlops.autolog(log_models=True)
    try:
        X, y = binary
        with mlops.start_run(experiment="e") as run:
            LogisticRegression().fit(X, y)
    finally:
        mlops.autolog(disable=True)
    artifacts = mlops.get_run(run.id).artifacts
    assert [a.name for a in artifacts] == ["model/LogisticRegression.skops"] and artifacts[0].size > 0


def test_every_estimator_class_is_patched(autologged):
    classes = service.estimator_classes()
    assert len(classes) > 150
    unpatched = [cls.__name__ for cls in classes if not hasattr(cls.fit, "__mlops_autolog_original__")]
    assert unpatched == []


def test_services_autolog_does_not_import_ipython():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(service))
    imported = {n.module if isinstance(n, ast.ImportFrom) else a.name
                for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in (n.names if isinstance(n, ast.Import) else [n])}
    assert not any(m and (m.startswith("IPython") or m.startswith("mlops_nb.api")) for m in imported)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mlops.autolog.__doc__ and ">>> mlops.autolog()" in mlops.autolog.__doc__
