# ruff: noqa: F811  (a feature redefined under one name is what a re-run notebook cell does)
"""@mlops.feature, mlops.features, register_model's feature links and mlops.skew_check.

The story: a credit model trained with a seven-day average spend; production computes a five-day one."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

import mlops_nb as mlops
from mlops_nb.api import context as api_context
from mlops_nb.services.data import feature_pipeline, features
from mlops_nb.store.artifacts import uri_to_path
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import Artifact, RunFeature
from tests.factories import without_styles


@pytest.fixture()
def loans() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    spend = rng.gamma(2.0, 50.0, 300).round(2)
    income = rng.normal(3000, 600, 300).round(0)
    late = (spend / 7 + rng.normal(0, 5, 300) > 16).astype(int)
    return pd.DataFrame({"spend_7d": spend, "income": income, "late": late},
                        index=pd.RangeIndex(1000, 1300, name="applicant"))


def _applied(ctx) -> list[tuple[str, int]]:
    with session_scope(ctx.engine) as s:
        return [(features.public(d).name, features.public(d).version) for d in
                s.exec(select(features.FeatureDefinition).join(
                    RunFeature, RunFeature.feature_definition_id == features.FeatureDefinition.id)).all()]


def _train(ctx, loans, **register):
    from sklearn.linear_model import LogisticRegression

    @mlops.feature("avg_spend")
    def seven_day(df):
        return df["spend_7d"] / 7

    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(loans, name="loans")
        X = loans[["income"]].assign(avg_spend=seven_day(loans))
        model = LogisticRegression(max_iter=1000).fit(X, loans.late)
        version = mlops.register_model(model, name="credit", target="late", **register)
    return version, seven_day


def test_a_decorated_function_is_a_versioned_definition(ctx):
    @mlops.feature
    def avg_spend(df):
        return df["spend_7d"] / 7

    assert avg_spend.version == 1 and avg_spend.name == "avg_spend" and len(avg_spend.source_hash) == 64
    assert avg_spend.source.startswith("def avg_spend(df):")  # the decorator line is not part of it
    shown = repr(avg_spend.definition)
    assert shown.startswith("Feature avg_spend v1") and 'return df["spend_7d"] / 7' in shown

    # the cell run again: the same source
    @mlops.feature()
    def avg_spend(df):
        return df["spend_7d"] / 7

    assert avg_spend.version == 1

    # edited: a new version, the old one kept
    @mlops.feature("avg_spend")
    def avg_spend(df):
        return df["spend_7d"] / 5

    assert avg_spend.version == 2
    table = mlops.features()
    assert [(r.name, r.version) for r in table] == [("avg_spend", 1), ("avg_spend", 2)]
    assert table.to_frame()["source"].str.contains("/ 5").tolist() == [False, True]
    assert len(mlops.features("avg_spend")) == 2
    with pytest.raises(mlops.NotFound, match="feature 'nope' is not defined"):
        mlops.features("nope")


def test_a_function_defined_before_init_registers_on_first_use(ctx, db_url):
    api_context.set_current(None)

    @mlops.feature
    def ratio(df):
        return df["a"] / df["b"]

    assert ratio.version is None
    assert ratio(pd.DataFrame({"a": [1.0], "b": [2.0]})).tolist() == [0.5]  # no store: it only computes
    api_context.set_current(ctx)
    with mlops.start_run(experiment="e"):
        assert ratio(pd.DataFrame({"a": [3.0], "b": [1.0]})).name == "ratio"
    assert ratio.version == 1 and _applied(ctx) == [("ratio", 1)]


def test_calls_in_a_run_record_the_application_once(ctx, loans):
    @mlops.feature
    def avg_spend(df):
        return df["spend_7d"] / 7

    avg_spend(loans)  # outside a run: computed, nothing recorded
    assert _applied(ctx) == []
    with mlops.start_run(experiment="e"):
        avg_spend(loans)
        avg_spend(loans.head(1))  # a batch of one row
    assert _applied(ctx) == [("avg_spend", 1)]
    assert mlops.features("avg_spend").rows[0].outputs == ["avg_spend"]


def test_bad_frames_and_failing_rows_are_named_and_nothing_is_recorded(ctx, loans):
    @mlops.feature
    def per_day(df):
        if (df["days"] == 0).any():
            raise ZeroDivisionError("division by zero")
        return df["spend_7d"] / df["days"]

    frame = loans.head(10).assign(days=[7, 7, 0, 7, 7, 7, 7, 0, 7, 7])
    with mlops.start_run(experiment="e"):
        with pytest.raises(mlops.InvalidInput, match=r"feature 'per_day' v1 failed on 2 of 10 rows "
                                                     r"\(rows 1002, 1007\): ZeroDivisionError: division by zero"):
            per_day(frame)
        with pytest.raises(mlops.InvalidInput, match="got an empty frame"):
            per_day(frame.iloc[:0])
        with pytest.raises(mlops.InvalidInput, match="must be a pandas DataFrame|computed on a pandas DataFrame"):
            per_day([1, 2])
    assert _applied(ctx) == []


def test_register_links_the_applied_versions_and_stores_model_inputs(ctx, loans):
    version, _ = _train(ctx, loans)
    [ref] = version.features
    assert ref == {"name": "avg_spend", "version": 1, "source_hash": features.source_hash(
        'def seven_day(df):\n    return df["spend_7d"] / 7\n')}
    reference = version.signature["reference_inputs"]
    with session_scope(ctx.engine) as s:
        artifact = s.get(Artifact, reference["artifact_id"])
        assert artifact.sha256 == reference["sha256"]
    stored = pd.read_parquet(uri_to_path(artifact.uri))
    assert list(stored.columns) == ["spend_7d", "income", "late", "avg_spend"]
    assert np.allclose(stored.avg_spend, stored.spend_7d / 7)
    assert mlops.get_model_version("credit").features == [ref]


def test_register_with_named_features_and_unknown_names(ctx, loans):
    version, _ = _train(ctx, loans, features=["avg_spend"])
    assert [f["version"] for f in version.features] == [1]
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(loans, name="loans")
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression().fit(loans[["income"]], loans.late)
        with pytest.raises(mlops.NotFound, match="feature 'nope' is not defined in this project"):
            mlops.register_model(model, name="credit", target="late", features=["nope"])
        with pytest.raises(mlops.InvalidInput, match="features must be a list of feature definition names"):
            mlops.register_model(model, name="credit", target="late", features="avg_spend")
        plain = mlops.register_model(model, name="credit", target="late", features=[])
    assert plain.features == [] and "reference_inputs" not in plain.signature
    assert [v["version"] for v in mlops.models("credit")] == [2, 1]  # the refused ones stored nothing


def test_register_refuses_a_feature_edited_since_the_run_applied_it(ctx, loans):
    from sklearn.linear_model import LogisticRegression

    @mlops.feature("avg_spend")
    def seven(df):
        return df["spend_7d"] / 7

    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(loans, name="loans")
        X = loans[["income"]].assign(avg_spend=seven(loans))
        model = LogisticRegression().fit(X, loans.late)

        @mlops.feature("avg_spend")
        def five(df):
            return df["spend_7d"] / 5

        features._BY_HASH.pop(seven.source_hash)  # the cell defining v1 is gone from the kernel
        with pytest.raises(mlops.Conflict, match="feature 'avg_spend' was edited since training: trained with v1"):
            mlops.register_model(model, name="credit", target="late")
    with pytest.raises(mlops.NotFound):
        mlops.models("credit")  # nothing was registered


def test_an_old_version_naming_plain_features_still_reads(ctx, loans):
    version, _ = _train(ctx, loans)
    from mlops_nb.store.models import ModelVersion

    with session_scope(ctx.engine) as s:
        row = s.get(ModelVersion, version.id)
        row.features = ["avg_spend"]
        s.add(row)
    assert mlops.get_model_version("credit").features == [{"name": "avg_spend", "version": None, "source_hash": None}]


def test_the_distribution_gate_scores_the_stored_inputs_without_running_feature_code(ctx, loans, monkeypatch):
    from mlops_nb.services import governance, registry
    from mlops_nb.services.governance.policies import EffectivePolicy

    version, _ = _train(ctx, loans)
    monkeypatch.setattr(features, "_BY_HASH", {})  # a reviewer's process: it defines no feature
    monkeypatch.setattr(features, "_BY_NAME", {})

    def never(*args, **kwargs):
        raise AssertionError("feature code ran in the gate")

    monkeypatch.setattr(feature_pipeline, "_load_stored", never)
    monkeypatch.setattr(feature_pipeline, "find_function", never)
    policy = EffectivePolicy(governance.merge(governance.DEFAULT_RULES,
                                              {"prediction_distribution": {"max_shift": 0.05}}), "test")
    with session_scope(ctx.engine) as s:
        model = registry.get_model(session=s, project_id=ctx.project_id, name="credit")
        row = registry.get_version_row(session=s, model_id=model.id, version=version.version)
        [result] = [r for r in governance.evaluate(session=s, version=row, target_stage="staging", store=ctx.artifacts,
                                                   policy=policy) if r.name == "prediction_distribution"]
    assert result.passed, result.detail
    assert result.data["rows"] == len(loans)


def test_skew_check_names_the_five_day_average_served_in_production(ctx, loans):
    _train(ctx, loans)
    applicants = loans.head(20).drop(columns="late")
    served = applicants.assign(avg_spend=applicants.spend_7d / 5)  # what production computes
    report = mlops.skew_check("credit", applicants, served=served)
    assert not report.ok
    [finding] = report.findings
    assert (finding.rule, finding.severity, finding.column) == ("feature_skew", "error", "avg_spend")
    assert finding.details["rows"] == 20 and finding.details["share"] == 1.0
    first = finding.examples[0]
    assert first["row"] == 1000 and np.isclose(first["training"], loans.spend_7d.iloc[0] / 7)
    assert np.isclose(first["serving"], loans.spend_7d.iloc[0] / 5) and len(finding.examples) == 5
    frame = report.to_frame()
    assert frame.loc[0, "feature"] == "avg_spend" and frame.loc[0, "rows"] == 20
    agreed = applicants.assign(avg_spend=applicants.spend_7d / 7)
    assert mlops.skew_check("credit", applicants, served=agreed).ok
    missing = mlops.skew_check("credit", applicants, served=applicants)
    assert not missing.ok and "the served frame has no column 'avg_spend'" in missing.findings[0].message


def test_skew_check_against_this_process_names_the_versions(ctx, loans):
    _train(ctx, loans)
    applicants = loans.head(8).drop(columns="late")
    assert mlops.skew_check("credit", applicants).ok  # this process defines the trained source

    @mlops.feature("avg_spend")
    def five_day(df):
        return df["spend_7d"] / 5

    features._BY_HASH.pop(next(h for h, f in features._BY_HASH.items() if f.__name__ == "seven_day"))
    blocked = mlops.skew_check("credit", applicants)
    [finding] = blocked.findings
    assert not blocked.ok and "trained with v1" in finding.message and "run_stored_source=True" in finding.message
    assert finding.details["serving_version"] == 2
    report = mlops.skew_check("credit", applicants, run_stored_source=True)
    [finding] = report.findings
    assert finding.details["training_version"] == 1 and finding.details["serving_version"] == 2
    assert finding.details["rows"] == 8 and "trained with v1, this process defines v2" in finding.message
    assert report.to_frame().loc[0, "versions"] == "v1 -> v2"


def test_skew_check_bad_input(ctx, loans):
    _train(ctx, loans)
    applicants = loans.head(3)
    with pytest.raises(mlops.InvalidInput, match="got an empty frame"):
        mlops.skew_check("credit", applicants.iloc[:0])
    with pytest.raises(mlops.InvalidInput, match=r"served must be a DataFrame with one row per record \(3 rows\), "
                                                 "got 2 rows"):
        mlops.skew_check("credit", applicants, served=applicants.head(2))
    with pytest.raises(mlops.NotFound, match="model 'nope' is not registered"):
        mlops.skew_check("nope", applicants)
    one = mlops.skew_check("credit", applicants.head(1), served=applicants.head(1).assign(
        avg_spend=applicants.spend_7d.head(1) / 7))
    assert one.ok and one.rows == 1


def test_skew_report_html_escapes_names_and_values(ctx, loans):
    from sklearn.linear_model import LogisticRegression

    @mlops.feature("<b>band</b>")
    def band(df):
        return pd.Series(np.where(df["income"] > 3000, "<i>high</i>", "low"), index=df.index)

    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(loans, name="loans")
        band(loans)
        model = LogisticRegression().fit(loans[["income"]], loans.late)
        mlops.register_model(model, name="credit", target="late")
    rows = loans.head(5).drop(columns="late")
    report = mlops.skew_check("credit", rows, served=rows.assign(**{"<b>band</b>": "<script>x</script>"}))
    html = without_styles(report._repr_mimebundle_()["text/html"])
    assert "<b>band</b>" not in html and "&lt;b&gt;band&lt;/b&gt;" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Skew check of credit v1 on 5 rows" in repr(report)
    listed = without_styles(mlops.features()._repr_html_())
    assert "<b>band</b>" not in listed and "&lt;b&gt;band&lt;/b&gt;" in listed


def test_registration_runs_feature_code_without_holding_the_write_lock(ctx, loans, db_url):
    import sqlite3

    from sklearn.linear_model import LogisticRegression

    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock is what this checks")
    path = db_url.removeprefix("sqlite:///")
    free: list[bool] = []

    @mlops.feature
    def avg_spend(df):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once while another writer holds the lock
            other.execute("ROLLBACK")
            free.append(True)
        except sqlite3.OperationalError:
            free.append(False)
        finally:
            other.close()
        return df["spend_7d"] / 7

    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(loans, name="loans")
        X = loans[["income"]].assign(avg_spend=avg_spend(loans))
        version = mlops.register_model(LogisticRegression().fit(X, loans.late), name="credit", target="late")
    assert "reference_inputs" in version.signature
    assert free == [True, True]  # training, then the sample at registration: never under the lock


def test_a_feature_is_a_def_function(ctx):
    import functools

    def scaled(df, k):
        return df["income"] * k

    for bad in (functools.partial(scaled, k=2), np.log):
        with pytest.raises(mlops.InvalidInput, match="a feature is a function defined with def"):
            mlops.feature(bad)


def test_a_feature_that_assigns_into_its_argument_leaves_the_scored_frame_alone(ctx, loans):
    """Scoring hands each feature a shallow copy: a function doing df[col] = ... changes neither the
    caller's frame nor the input the batch records."""
    @mlops.feature
    def spend_per_day(df):
        df["spend_7d"] = df["spend_7d"] / 7
        return df["spend_7d"]

    frame = loans.drop(columns="late")
    before = frame.copy()
    pipeline = feature_pipeline.bind([spend_per_day.definition or _definition_of(spend_per_day)])
    out, findings = pipeline.compute(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert out["spend_per_day"].tolist() == (before["spend_7d"] / 7).tolist() and findings == []


def _definition_of(function):
    with mlops.start_run(experiment="features"):
        function(pd.DataFrame({"spend_7d": [7.0], "income": [1.0]}))
    return function.definition
