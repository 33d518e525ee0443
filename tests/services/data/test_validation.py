"""Validation against a contract: each rule of SPEC §4, each bad input, re-encoded categoricals,
German Credit, and what is recorded (nothing, for a refused frame)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from mlops_nb.services import data
from mlops_nb.services.data.validation import validate_frame
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import ValidationRecord


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2_000
    return pd.DataFrame({
        "amount": rng.uniform(100, 5_000, n).round(2),
        "age": rng.integers(18, 80, n),
        "housing": rng.choice(["own", "rent", "for free"], n, p=[0.7, 0.2, 0.1]),
        "purpose": rng.choice(["car", "tv", "education", "business"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "note": np.where(rng.random(n) < 0.05, None, "x"),
        "y": rng.choice(["good", "bad"], n, p=[0.7, 0.3]),
    })


@pytest.fixture(scope="module")
def contract(train):
    schema, profile = data.schema_and_profile(train)
    return {"schema": schema, "profile": profile, "contract": "loans v1"}


def check(df, contract, **kw):
    return validate_frame(df, **contract, **kw)


def only(result, column, rule):
    found = [f for f in result.findings if f.column == column and f.rule == rule]
    assert len(found) == 1, [(f.column, f.rule) for f in result.findings]
    return found[0]


def rules(result):
    return {(f.column, f.rule) for f in result.findings}


# --- a clean frame, and frames that differ harmlessly ----------------------------------------------

def test_the_training_frame_meets_its_own_contract(train, contract):
    result = check(train, contract)
    assert result.ok and result.findings == [] and result.rows == len(train) and result.contract == "loans v1"


def test_reordered_columns_are_matched_by_name(train, contract):
    assert check(train[list(reversed(train.columns))], contract).findings == []


def test_a_batch_of_one_row_is_valid_and_reports_no_vanished_levels(train, contract):
    result = check(train.iloc[[3]], contract)
    assert result.ok and result.findings == [] and result.rows == 1


def test_a_categorical_dtype_with_unused_levels_is_not_a_new_or_vanished_level(train, contract):
    batch = train.assign(purpose=pd.Categorical(train.purpose, categories=["car", "tv", "education", "business", "x"]))
    assert check(batch, contract).findings == []


# --- bad input: refused with a named error -------------------------------------------------------------

@pytest.mark.parametrize("df, words", [
    (pd.DataFrame({"amount": pd.Series([], dtype=float)}), "df has no rows: nothing to validate against loans v1"),
    (pd.DataFrame(index=[0, 1]), "df has no columns"),
    (pd.DataFrame([[1, 2]], columns=["age", "age"]), "duplicate column names: age"),
    ([{"age": 1}], "df must be a pandas DataFrame, got list"),
])
def test_frames_that_cannot_be_validated_are_refused(contract, df, words):
    with pytest.raises(InvalidInput, match=words):
        check(df, contract)


def test_a_schema_without_columns_is_refused(train):
    with pytest.raises(InvalidInput, match="no 'columns' list"):
        validate_frame(train, schema={}, profile={}, contract="x")


# --- each rule ---------------------------------------------------------------------------------------

def test_missing_and_extra_columns(train, contract):
    result = check(train.drop(columns="purpose").assign(channel="web"), contract)
    missing = only(result, "purpose", "missing_column")
    assert missing.severity == "error" and missing.message == "column 'purpose' (object) of the contract is not in the frame"
    extra = only(result, "channel", "extra_column")
    assert extra.severity == "warning" and extra.examples == ["web"]
    assert not result.ok and len(result.errors) == 1 and len(result.warnings) == 1


def test_columns_restricts_the_contract_and_the_rest_is_extra(train, contract):
    features = [c for c in train.columns if c != "y"]
    assert check(train.drop(columns="y"), contract, columns=features).findings == []
    result = check(train, contract, columns=features)
    assert rules(result) == {("y", "extra_column")} and result.ok


def test_numbers_delivered_as_text_that_parse(train, contract):
    result = check(train.assign(amount=train.amount.map(lambda v: f"{v:.2f}")), contract)
    f = only(result, "amount", "dtype_changed")
    assert f.severity == "error" and not result.ok
    assert "the values parse as numbers" in f.message and "pd.to_numeric" in f.message
    assert f.details["parses_as_number"] is True and f.details["expected"] == "float64"
    assert all(isinstance(v, str) for v in f.examples) and len(f.examples) == 5


def test_numbers_delivered_as_text_that_partly_parse(train, contract):
    text = train.amount.map(lambda v: f"{v:.2f}").where(train.index % 4 != 0, "n/a")
    f = only(check(train.assign(amount=text), contract), "amount", "dtype_changed")
    assert "75% of the values parse as numbers" in f.message and "'n/a'" in f.message
    assert f.details["parses_as_number"] is False


def test_new_categories_are_an_error_with_the_most_frequent_first(train, contract):
    purpose = train.purpose.copy()
    purpose.iloc[:30] = "boat"
    purpose.iloc[30:40] = "horse"
    f = only(check(train.assign(purpose=purpose), contract), "purpose", "new_categories")
    assert f.severity == "error" and f.examples == ["boat", "horse"]
    assert f.message == "2 level(s) the contract never saw: 'boat', 'horse' in 40 of 2,000 rows"
    assert f.details["count"] == 40


def test_vanished_categories_only_when_the_batch_should_have_held_them(train, contract):
    no_free = train[train.housing != "for free"]
    f = only(check(no_free, contract), "housing", "vanished_categories")
    assert f.severity == "warning" and f.examples == ["for free"]
    assert f.details["expected"]["for free"] >= 5
    small = no_free.iloc[:20]  # 'for free' is ~10%: expected twice in 20 rows, its absence says little
    assert ("housing", "vanished_categories") not in rules(check(small, contract))


def test_out_of_range_counts_and_names_the_most_frequent_offenders(train, contract):
    amount = train.amount.copy()
    amount.iloc[:3] = 99_999.0
    amount.iloc[3] = -1.0
    f = only(check(train.assign(amount=amount), contract), "amount", "out_of_range")
    assert f.severity == "warning"
    assert f.details["count"] == 4 and f.details["below"] == 1 and f.details["above"] == 3
    assert f.examples == [99_999.0, -1.0]
    assert "4 value(s) outside the contract's range" in f.message


def test_integer_columns_keep_their_values_as_examples(train, contract):
    f = only(check(train.assign(age=train.age + 100), contract), "age", "out_of_range")
    assert all(type(v) is int for v in f.examples)


def test_inf_is_out_of_range_with_non_finite_details(train, contract):
    amount = train.amount.copy()
    amount.iloc[:2] = np.inf
    amount.iloc[2] = -np.inf
    f = only(check(train.assign(amount=amount), contract), "amount", "out_of_range")
    assert f.details["non_finite"] == {"+inf": 2, "-inf": 1} and f.details["count"] == 0
    assert f.examples == ["inf", "-inf"]  # JSON has no infinity
    assert "3 infinite value(s)" in f.message


def test_inf_that_the_contract_held_is_not_a_finding(train):
    with_inf = train.assign(amount=train.amount.where(train.index != 0, np.inf))
    schema, profile = data.schema_and_profile(with_inf)
    assert validate_frame(with_inf, schema=schema, profile=profile, contract="c").findings == []


def test_null_rate_up_by_more_than_a_tenth(train, contract):
    base = contract["profile"]["note"]["null_rate"]
    note = train.note.copy()
    note.iloc[: int(len(train) * 0.2)] = None
    f = only(check(train.assign(note=note), contract), "note", "null_rate")
    assert f.severity == "warning" and f.details["contract_rate"] == base and f.details["rate"] > base + 0.1
    slightly = train.note.copy()
    slightly.iloc[: int(len(train) * 0.08)] = None  # ~13% null: over 0.1, but up by less than 0.1
    assert slightly.isna().mean() > 0.1
    assert ("note", "null_rate") not in rules(check(train.assign(note=slightly), contract))


def test_a_column_entirely_nan_is_named_by_null_rate_not_by_dtype(train, contract):
    result = check(train.assign(purpose=np.nan, amount=np.nan), contract)
    for column in ("purpose", "amount"):
        f = only(result, column, "null_rate")
        assert f.message.startswith("entirely null")
    assert rules(result) == {("purpose", "null_rate"), ("amount", "null_rate")} and result.ok


# --- re-encoded categoricals ------------------------------------------------------------------------

def test_a_categorical_delivered_as_integer_codes_is_named_with_its_mapping(train, contract):
    codes = {level: i for i, level in enumerate(sorted(train.housing.unique()))}  # for free 0, own 1, rent 2
    result = check(train.assign(housing=train.housing.map(codes)), contract)
    f = only(result, "housing", "dtype_changed")
    assert f.severity == "error" and not result.ok
    assert f.message.startswith("appears re-encoded as integer codes")
    assert f.details["mapping"] == {"0": "for free", "1": "own", "2": "rent"}
    assert f.details["reencoded"] is True and f.details["mapping_by"].startswith("sorted order")
    assert rules(result) == {("housing", "dtype_changed")}  # no new/vanished levels on top


def test_codes_in_another_order_are_mapped_by_frequency(train, contract):
    by_frequency = {"own": 0, "rent": 1, "for free": 2}  # not sorted order
    f = only(check(train.assign(housing=train.housing.map(by_frequency)), contract), "housing", "dtype_changed")
    assert f.details["mapping"] == {"0": "own", "1": "rent", "2": "for free"} and f.details["mapping_by"] == "frequency"


def test_codes_in_one_row_fall_back_to_sorted_order(train, contract):
    f = only(check(train.iloc[:1].assign(housing=[1]), contract), "housing", "dtype_changed")
    assert f.details["mapping"] == {"1": "own"} and f.details["mapping_by"] == "sorted order"


def test_numbers_that_are_not_codes_are_still_a_dtype_change(train, contract):
    f = only(check(train.assign(housing=7), contract), "housing", "dtype_changed")
    assert "not codes of its levels" in f.message and "mapping" not in f.details


def test_a_renamed_level_is_named_with_its_mapping(train, contract):
    result = check(train.assign(housing=train.housing.replace({"own": "owner"})), contract)
    new = only(result, "housing", "new_categories")
    assert new.details["mapping"] == {"owner": "own"} and "appears renamed: 'own' -> 'owner'" in new.message
    assert only(result, "housing", "vanished_categories").details["mapping"] == {"owner": "own"}


# --- the report as data ------------------------------------------------------------------------------

def test_findings_are_json_safe_and_keep_at_most_five_examples(train, contract):
    messy = train.assign(purpose=[f"p{i}" for i in range(len(train))], amount=np.where(train.index % 2, np.inf, -5.0),
                         note=np.nan, when=pd.Timestamp("2026-01-01"), housing=train.housing.map({"own": 0, "rent": 1,
                                                                                                 "for free": 2}))
    result = check(messy.drop(columns="age"), contract)
    assert {f.rule for f in result.findings} >= {"missing_column", "extra_column", "dtype_changed",
                                                  "new_categories", "out_of_range", "null_rate"}
    for f in result.findings:
        json.dumps(f.to_dict(), allow_nan=False)
        assert len(f.examples) <= 5 and f.rule in data.results.RULES
        assert data.Finding.from_dict(f.to_dict()) == f


def test_german_credit_recoded_housing(credit):
    ref = credit.sample(500, random_state=0)
    rest = credit.drop(ref.index)
    schema, profile = data.schema_and_profile(ref)
    clean = validate_frame(rest, schema=schema, profile=profile, contract="german v1")
    assert clean.ok and not any(f.column == "housing" for f in clean.findings)
    codes = {v: i for i, v in enumerate(sorted(credit.housing.unique()))}
    result = validate_frame(rest.assign(housing=rest.housing.map(codes)), schema=schema, profile=profile,
                            contract="german v1")
    f = only(result, "housing", "dtype_changed")
    assert f.details["mapping"] == {"0": "for free", "1": "own", "2": "rent"}
    assert "frequencies agree" in f.details["mapping_by"]


# --- recording ---------------------------------------------------------------------------------------

def _reports(engine) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(ValidationRecord)).scalar()


@pytest.fixture()
def logged(ctx, train):
    with session_scope(ctx.engine) as session:
        return data.log_dataset(session=session, store=ctx.artifacts, project_id=ctx.project_id, df=train,
                                name="loans", user="dana")


def test_validate_against_records_the_report(ctx, logged, train):
    batch = train.drop(columns="purpose")
    with session_scope(ctx.engine) as session:
        result = data.validate_against(session=session, project_id=ctx.project_id, df=batch, against="loans",
                                       user="dana")
    assert result.id is not None and result.contract == "loans v1" and not result.ok
    with session_scope(ctx.engine) as session:
        row = session.get(ValidationRecord, result.id)
        assert (row.dataset_version_id, row.subject, row.ok, row.errors, row.warnings, row.rows, row.created_by) == (
            logged.id, "frame", False, 1, 0, len(train), "dana")
        assert row.findings[0]["column"] == "purpose" and row.findings[0]["rule"] == "missing_column"
        assert data.validation.result_of(row, "loans v1").findings == result.findings


@pytest.mark.parametrize("against", ["loans:1", ("loans", 1)])
def test_a_version_can_be_named(ctx, logged, train, against):
    with session_scope(ctx.engine) as session:
        result = data.validate_against(session=session, project_id=ctx.project_id, df=train, against=against,
                                       user="dana", record=False)
    assert result.ok and result.id is None and _reports(ctx.engine) == 0


@pytest.mark.parametrize("df, against, error, words", [
    (pd.DataFrame({"a": []}), "loans", InvalidInput, "no rows"),
    (pd.DataFrame({"a": [1]}), "nope", NotFound, "dataset 'nope' does not exist"),
    (pd.DataFrame({"a": [1]}), "loans:7", NotFound, "dataset 'loans' has no version 7; versions: 1"),
    (pd.DataFrame({"a": [1]}), 42, InvalidInput, "against must be a dataset name"),
    (pd.DataFrame({"a": [1]}), ("loans", "1"), InvalidInput, "needs an integer version"),
])
def test_bad_input_is_named_and_records_nothing(ctx, logged, df, against, error, words):
    with pytest.raises(error, match=words):
        with session_scope(ctx.engine) as session:
            data.validate_against(session=session, project_id=ctx.project_id, df=df, against=against, user="dana")
    assert _reports(ctx.engine) == 0


def test_validate_version_reads_the_stored_sample(ctx, logged, train):
    with session_scope(ctx.engine) as session:
        other = data.log_dataset(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                 df=train.assign(housing=train.housing.map({"own": 1, "rent": 2, "for free": 0})),
                                 name="loans-q2", user="dana")
        result = data.validate_version(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                       subject_version_id=other.id, contract_version_id=logged.id, user="gates")
        row = data.latest_validation(session=session, subject_version_id=other.id, contract_version_id=logged.id)
    assert not result.ok and row.id == result.id and row.subject == "dataset loans-q2 v1"
    assert rules(result) == {("housing", "dtype_changed")}


def test_small_batches_take_the_plain_python_path_to_the_same_findings(train, contract, monkeypatch):
    from mlops_nb.services.data import checks

    batch = train.iloc[:60].copy()
    batch["purpose"] = ["boat"] * 5 + ["horse"] * 2 + list(batch["purpose"].iloc[7:])
    batch["amount"] = [1e9] * 3 + [np.inf] + [-1.0] * 2 + list(batch["amount"].iloc[6:])
    batch["note"] = [None] * 30 + list(batch["note"].iloc[30:])
    batch["housing"] = batch["housing"].map({"for free": 0, "own": 1, "rent": 2})
    assert len(batch) <= checks.SMALL
    python_path = check(batch, contract)
    monkeypatch.setattr(checks, "SMALL", 0)  # every column through pandas' hash tables and numpy
    assert check(batch, contract).findings == python_path.findings
    assert {f.rule for f in python_path.findings} == {"new_categories", "out_of_range", "null_rate", "dtype_changed"}


def test_validate_profiled_hands_back_the_batch_profile_of_what_it_read(train, contract):
    from mlops_nb.services.data.validation import validate_profiled
    from mlops_nb.services.monitoring.profiles import input_profile

    batch = train.drop(columns="y").sample(300, random_state=3).reset_index(drop=True)
    batch.loc[::7, "amount"] = np.nan
    batch.loc[5, "amount"] = np.inf
    batch.loc[::11, "purpose"] = None
    batch.loc[1::4, "purpose"] = [f"new-{i % 6}" for i in range(len(batch.loc[1::4]))]  # > 5 levels: top 5 kept
    batch["housing"] = batch["housing"].astype("category")
    batch["extra"] = 1.5  # not in the contract: left to the profiler
    for frame in (batch, batch.iloc[[4]], batch.iloc[:3], batch.assign(age=batch["age"].astype("Int64"))):
        stats: dict = {}
        result = validate_profiled(frame, **contract, columns=["amount", "age", "housing", "purpose", "note"],
                                   stats=stats)
        assert result == check(frame, contract, columns=["amount", "age", "housing", "purpose", "note"])
        assert "extra" not in stats and {"amount", "housing", "purpose", "note"} <= set(stats)
        full = input_profile(frame)
        assert {name: full[name] for name in stats} == stats  # exact: the same numbers input_profile computes
        assert input_profile(frame, known=stats) == full


def test_validate_profiled_leaves_a_changed_dtype_to_the_profiler(contract, train):
    from mlops_nb.services.data.validation import validate_profiled

    frame = train.drop(columns="y").head(20).assign(amount=lambda d: d["amount"].astype(str))
    stats: dict = {}
    validate_profiled(frame, **contract, stats=stats)
    assert "amount" not in stats and "age" in stats
    with pytest.raises(InvalidInput):
        validate_profiled(frame.iloc[:0], **contract, stats=stats)


def test_a_long_text_example_is_cut():
    """A 100,000-character level is named, not stored and shown whole."""
    import pandas as pd

    from mlops_nb.services.data.checks import EXAMPLE_CHARS
    from mlops_nb.services.data.datasets import schema_and_profile
    from mlops_nb.services.data.validation import validate_frame

    schema, profile = schema_and_profile(pd.DataFrame({"purpose": ["car", "tv"] * 20}))
    result = validate_frame(pd.DataFrame({"purpose": ["x" * 100_000]}), schema=schema, profile=profile, contract="c")
    (example,) = result.findings[0].examples
    assert example.startswith("x" * EXAMPLE_CHARS) and example.endswith("(99880 more characters)")
    assert len(result.findings[0].message) < 400


def test_dates_where_the_contract_has_numbers_are_named_as_dates():
    """Not 'the values parse as numbers, convert them with pd.to_numeric': a date is not a number to parse."""
    import pandas as pd

    from mlops_nb.services.data.datasets import schema_and_profile
    from mlops_nb.services.data.validation import validate_frame

    schema, profile = schema_and_profile(pd.DataFrame({"duration_in_month": [6, 12, 24] * 10}))
    batch = pd.DataFrame({"duration_in_month": pd.to_datetime(["2024-01-01"] * 5 + ["2024-02-03"])})
    (found,) = validate_frame(batch, schema=schema, profile=profile, contract="c").findings
    assert (found.rule, found.severity) == ("dtype_changed", "error")
    assert found.message.startswith("dates delivered as datetime64") and "to_numeric" not in found.message
    assert found.examples == ["2024-01-01 00:00:00", "2024-02-03 00:00:00"]


def test_a_rare_level_merely_absent_is_no_evidence_of_a_rename():
    """A new level beside a training level too rare to be expected in this batch is a new level,
    not 'appears renamed' (a confident guess on no evidence)."""
    import pandas as pd

    from mlops_nb.services.data.datasets import schema_and_profile
    from mlops_nb.services.data.validation import validate_frame

    schema, profile = schema_and_profile(pd.DataFrame({"purpose": ["car"] * 600 + ["tv"] * 390 + ["retraining"] * 10}))
    batch = pd.DataFrame({"purpose": ["car"] * 60 + ["tv"] * 39 + ["crypto"]})
    (found,) = validate_frame(batch, schema=schema, profile=profile, contract="c").findings
    assert found.rule == "new_categories" and "renamed" not in found.message and "mapping" not in found.details


def test_dates_are_checked_for_range_and_time_zone():
    import pandas as pd

    from mlops_nb.services.data.datasets import schema_and_profile
    from mlops_nb.services.data.validation import validate_frame

    train = pd.DataFrame({"applied": pd.date_range("2020-01-01", periods=30, freq="D")})
    schema, profile = schema_and_profile(train)
    assert (profile["applied"]["min"], profile["applied"]["max"]) == ("2020-01-01 00:00:00", "2020-01-30 00:00:00")

    def found(batch):
        return [(f.rule, f.severity, f.examples) for f in
                validate_frame(batch, schema=schema, profile=profile, contract="c").findings]

    assert found(train) == []
    assert found(pd.DataFrame({"applied": pd.to_datetime(["2262-01-01", "2020-01-05"])})) == [
        ("out_of_range", "warning", ["2262-01-01 00:00:00"])]
    assert found(pd.DataFrame({"applied": pd.date_range("2020-01-01", periods=2, tz="UTC")})) == [
        ("dtype_changed", "error", ["2020-01-01 00:00:00+00:00", "2020-01-02 00:00:00+00:00"])]
