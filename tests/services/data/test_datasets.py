"""Dataset versions: content fingerprints, schema, profile and a hash-checked sample."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlops_nb as mlops
from mlops_nb.services import data
from mlops_nb.services.errors import IntegrityFailure, InvalidInput, NotFound
from mlops_nb.store.artifacts import uri_to_path
from mlops_nb.store.db import session_scope


@pytest.fixture()
def frame() -> pd.DataFrame:
    return pd.DataFrame({"age": [25, 40, 33, np.nan], "income": [1.5, 2.5, 3.5, 4.5],
                         "purpose": pd.Categorical(["car", "tv", "car", None], categories=["car", "tv", "radio"]),
                         "city": ["a", "b", "a", "c"], "ok": [True, False, True, True]})


def test_same_data_twice_is_one_version_changed_data_a_new_one(ctx, frame):
    with mlops.start_run(experiment="e") as run:
        first = mlops.log_dataset(frame, name="loans")
        copy = frame.copy()
        copy.index = copy.index + 100  # the index is not data
        assert mlops.log_dataset(copy, name="loans").version == first.version == 1
        changed = frame.assign(income=frame.income * 2)
        second = mlops.log_dataset(changed, name="loans", role="validation")
        assert second.version == 2 and second.fingerprint != first.fingerprint
        assert mlops.log_dataset(frame.iloc[::-1], name="loans").version == 3  # row order is content
    linked = {(d["version"], d["role"]) for d in mlops.get_run(run.id).datasets}
    assert linked == {(1, "train"), (2, "validation"), (3, "train")}
    assert mlops.get_dataset("loans").version == 3 and mlops.get_dataset("loans", version=1).rows == 4


def test_dtype_change_is_a_new_version(ctx, frame):
    with mlops.start_run(experiment="e"):
        first = mlops.log_dataset(frame, name="loans")
        second = mlops.log_dataset(frame.astype({"income": "float32"}), name="loans")
    assert second.fingerprint != first.fingerprint


def test_schema_records_dtypes_kinds_and_categories(ctx, frame):
    with mlops.start_run(experiment="e"):
        version = mlops.log_dataset(frame, name="loans")
    columns = {c["name"]: c for c in version.schema["columns"]}
    assert [c["name"] for c in version.schema["columns"]] == ["age", "income", "purpose", "city", "ok"]
    assert columns["age"] == {"name": "age", "dtype": "float64", "kind": "numerical", "nullable": True}
    assert columns["purpose"]["dtype"] == "category" and columns["purpose"]["categories"] == ["car", "tv"]
    assert columns["city"]["categories"] == ["a", "b", "c"] and columns["city"]["kind"] == "categorical"
    assert columns["ok"]["kind"] == "categorical"
    assert version.rows == 4 and version.columns == 5


def test_profile_holds_statistics(ctx, frame):
    with mlops.start_run(experiment="e"):
        profile = mlops.log_dataset(frame, name="loans").profile
    assert profile["age"]["nulls"] == 1 and profile["age"]["null_rate"] == 0.25
    assert profile["age"]["min"] == 25 and profile["age"]["max"] == 40 and len(profile["age"]["quantiles"]) == 5
    assert profile["income"]["mean"] == pytest.approx(3.0)
    assert profile["city"]["top"] == {"a": 2, "b": 1, "c": 1} and profile["city"]["unique"] == 3


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_infinite_values_do_not_break_the_profile(ctx):
    with mlops.start_run(experiment="e"):
        profile = mlops.log_dataset(pd.DataFrame({"x": [1.0, np.inf, -np.inf, 3.0]}), name="inf").profile
    assert profile["x"]["infinite"] == 2
    assert profile["x"]["min"] == 1.0 and profile["x"]["max"] == 3.0  # profiled on the finite values


@pytest.mark.parametrize("df, words", [
    (pd.DataFrame({"a": []}), "df has no rows; log a dataset with at least one row"),
    (pd.DataFrame(index=[0, 1]), "df has no columns"),
    (pd.DataFrame([[1, 2, 3]], columns=["dupcol", "x", "dupcol"]), "df has duplicate column names: dupcol"),
    (pd.DataFrame([[1, 2]], columns=[1, "1"]), "df has duplicate column names: 1"),
    ([[1, 2]], "df must be a pandas DataFrame, got list"),
    (pd.Series([1, 2]), "df must be a pandas DataFrame, got Series"),
])
def test_bad_frames_are_refused(ctx, df, words):
    with mlops.start_run(experiment="e") as run:
        with pytest.raises(mlops.InvalidInput, match=words):
            mlops.log_dataset(df, name="bad")
    assert mlops.get_run(run.id).datasets == []
    with pytest.raises(mlops.NotFound, match="dataset 'bad' does not exist"):
        mlops.get_dataset("bad")


def test_role_must_be_known(ctx, frame):
    with mlops.start_run(experiment="e"):
        with pytest.raises(mlops.InvalidInput,
                           match="dataset role 'training' is not one of train, validation, test, serving, reference"):
            mlops.log_dataset(frame, name="loans", role="training")


def test_log_dataset_needs_an_active_run(ctx, frame):
    with pytest.raises(mlops.InvalidInput, match="no active run"):
        mlops.log_dataset(frame, name="loans")


def test_unknown_version_names_the_known_ones(ctx, frame):
    with mlops.start_run(experiment="e"):
        mlops.log_dataset(frame, name="loans")
    with pytest.raises(mlops.NotFound, match="dataset 'loans' has no version 7; versions: 1"):
        mlops.get_dataset("loans", version=7)


def test_sample_is_stored_readable_and_hash_checked(ctx, frame):
    with mlops.start_run(experiment="e"):
        version = mlops.log_dataset(frame, name="loans")
    assert len(version.sample_sha256) == 64
    with session_scope(ctx.engine) as session:
        sample = data.load_sample(session=session, store=ctx.artifacts, dataset_version_id=version.id)
    pd.testing.assert_frame_equal(sample, frame.reset_index(drop=True))
    path = uri_to_path(version.sample_uri)
    path.write_bytes(path.read_bytes() + b"tampered")
    with session_scope(ctx.engine) as session:
        with pytest.raises(IntegrityFailure, match="the file was changed after it was recorded; refusing to use it"):
            data.load_sample(session=session, store=ctx.artifacts, dataset_version_id=version.id)
        path.unlink()
        with pytest.raises(NotFound, match="is missing from the artifact store"):
            data.load_sample(session=session, store=ctx.artifacts, dataset_version_id=version.id)
        with pytest.raises(NotFound, match="dataset version 999 has no stored sample"):
            data.load_sample(session=session, store=ctx.artifacts, dataset_version_id=999)


def test_large_frames_store_a_bounded_sample(ctx, monkeypatch):
    monkeypatch.setattr(data.datasets, "SAMPLE_ROWS", 100)
    big = pd.DataFrame({"x": np.arange(1000)})
    with mlops.start_run(experiment="e"):
        version = mlops.log_dataset(big, name="big")
    with session_scope(ctx.engine) as session:
        sample = data.load_sample(session=session, store=ctx.artifacts, dataset_version_id=version.id)
    assert version.rows == 1000 and len(sample) == 100


def test_credit_data_round_trip(ctx, credit):
    with mlops.start_run(experiment="e") as run:
        version = mlops.log_dataset(credit, name="german")
    assert version.rows == len(credit) and mlops.get_run(run.id).datasets[0]["fingerprint"] == version.fingerprint
    assert Path(uri_to_path(version.sample_uri)).is_file()


def test_check_frame_names_columns_as_strings():
    df = data.check_frame(pd.DataFrame([[1, 2]], columns=[0, "b"]))
    assert list(df.columns) == ["0", "b"]
    with pytest.raises(InvalidInput, match="train has no rows"):
        data.check_frame(pd.DataFrame({"a": []}), "train")


def test_columns_mixing_types_are_versioned_with_a_text_sample(ctx):
    mixed = pd.DataFrame({"code": [1, "x", None], "n": [1, 2, 3]})
    with mlops.start_run(experiment="e"):
        version = mlops.log_dataset(mixed, name="mixed")
    with session_scope(ctx.engine) as session:
        sample = data.load_sample(session=session, store=ctx.artifacts, dataset_version_id=version.id)
    assert list(sample["code"][:2]) == ["1", "x"] and sample["code"].isna()[2]
    assert list(sample["n"]) == [1, 2, 3]


def test_dataset_samples_live_under_their_version_id(ctx, credit):
    """'german' and 'german/' are two datasets; their samples never share a path."""
    with mlops.start_run(experiment="credit"):
        a = mlops.log_dataset(credit.head(100), name="german", role="train")
        b = mlops.log_dataset(credit.tail(100), name="german/", role="train")
    assert a.sample_uri != b.sample_uri and a.sample_uri.endswith(f"datasets/{a.id}/sample.parquet")
    assert len(mlops.get_dataset("german").sample_uri) and mlops.get_dataset("german/").fingerprint == b.fingerprint
