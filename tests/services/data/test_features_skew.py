"""The skew check's comparison, on a plan built by hand (no store): served frames, this process's
definitions, tolerances, and functions that raise."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_nb.services.data import features, skew
from mlops_nb.services.data.feature_results import FeatureDefinitionPublic
from mlops_nb.services.errors import InvalidInput


def _defined(function, name="avg_spend", version=1) -> FeatureDefinitionPublic:
    source = features.source_of(function)
    features.remember(name, function, features.source_hash(source))
    return FeatureDefinitionPublic(id=version, name=name, version=version, source=source,
                                   source_hash=features.source_hash(source))


RECORDS = pd.DataFrame({"spend_7d": [7.0, 14.0, np.nan, 70.0]}, index=["a", "b", "c", "d"])


def _seven():
    def avg_spend(df):
        return df["spend_7d"] / 7

    return _defined(avg_spend)


def test_served_values_within_tolerance_and_nan_agree():
    plan = skew.SkewPlan(model="credit", version=3, definitions=[_seven()])
    served = RECORDS.assign(avg_spend=[1.0 + 1e-12, 2.0, np.nan, 10.0])
    result = skew.skew_check(plan=plan, records=RECORDS, served=served)
    assert result.ok and result.findings == [] and result.rows == 4 and result.serving == "served frame"


def test_served_values_that_differ_are_named_with_examples():
    plan = skew.SkewPlan(model="credit", version=3, definitions=[_seven()])
    served = RECORDS.assign(avg_spend=[1.4, 2.0, 0.0, 14.0])
    result = skew.skew_check(plan=plan, records=RECORDS, served=served)
    [finding] = result.findings
    assert not result.ok and finding.details["rows"] == 3 and finding.details["share"] == 0.75
    assert [e["row"] for e in finding.examples] == ["a", "c", "d"]
    assert finding.examples[1] == {"row": "c", "training": "nan", "serving": 0.0}
    assert finding.message.startswith("feature 'avg_spend': the served value differs from the training "
                                      "computation on 3 of 4 rows (75%)")


def test_this_process_edited_definition_is_compared_and_the_versions_named():
    trained = _seven()

    def avg_spend(df):
        return df["spend_7d"] / 5

    now = _defined(avg_spend, version=2)
    plan = skew.SkewPlan(model="credit", version=3, definitions=[trained], serving={"avg_spend": now})
    result = skew.skew_check(plan=plan, records=RECORDS)
    [finding] = result.findings
    assert finding.details["training_version"] == 1 and finding.details["serving_version"] == 2
    assert "this process's definition (trained with v1, this process defines v2)" in finding.message
    unregistered = FeatureDefinitionPublic(id=0, name="avg_spend", version=0, source="", source_hash=now.source_hash)
    plan.serving = {"avg_spend": unregistered}
    [finding] = skew.skew_check(plan=plan, records=RECORDS).findings
    assert f"an unregistered source {now.source_hash[:12]}" in finding.message


def test_a_function_raising_is_a_feature_error_finding():
    def avg_spend(df):
        if df["spend_7d"].isna().any():
            raise ValueError("no spend")
        return df["spend_7d"] / 7

    plan = skew.SkewPlan(model="credit", version=1, definitions=[_defined(avg_spend)])
    [finding] = skew.skew_check(plan=plan, records=RECORDS, served=RECORDS).findings
    assert (finding.rule, finding.severity) == ("feature_error", "error")
    assert finding.message == "training way: feature 'avg_spend' v1 failed on 1 of 4 rows (row c): ValueError: no spend"


def test_no_features_is_a_warning_and_bad_frames_are_refused():
    plan = skew.SkewPlan(model="credit", version=1, definitions=[])
    result = skew.skew_check(plan=plan, records=RECORDS)
    assert result.ok and result.findings[0].severity == "warning"
    with pytest.raises(InvalidInput, match="got an empty frame"):
        skew.skew_check(plan=plan, records=RECORDS.iloc[:0])
    with pytest.raises(InvalidInput, match="served must be a DataFrame with one row per record \\(4 rows\\), got list"):
        skew.skew_check(plan=plan, records=RECORDS, served=[1, 2])


def test_a_missing_served_value_reads_as_nan_not_as_text():
    from mlops_nb.services.data.feature_pipeline import skew_finding

    finding = skew_finding(None, "burden", pd.Series([1.5, 2.0, 3.0]), pd.Series([np.nan, 2.0, "a"]), how="served")
    assert finding.message.endswith("e.g. row 0: 1.5 vs nan; row 2: 3.0 vs 'a'")
