"""mlops.drift_report and mlops.drift_history as users call them (SPEC §4)."""
from __future__ import annotations

import pytest

import mlops_nb as mlops


def _shifted(credit):
    ref, cur = credit.iloc[:500], credit.iloc[500:].copy()
    cur["credit_amount"] = cur["credit_amount"] * 1.6
    return ref, cur


def test_two_frames_need_no_store(credit, tmp_path, monkeypatch):
    """No init, no store opened: a report of two frames is computed and not stored."""
    from mlops_nb.api import context

    monkeypatch.setattr(context, "_current", None)
    home = tmp_path / "home"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    ref, cur = _shifted(credit)
    report = mlops.drift_report(reference=ref, current=cur, exclude=["creditability"])
    assert "credit_amount" in report.drifted_columns and report.id is None
    assert "creditability" not in set(report.to_frame()["column"])
    assert context.current() is None and not home.exists()


def test_the_reference_may_be_a_dataset_name_or_version(ctx, credit):
    ref, cur = _shifted(credit)
    with mlops.start_run(experiment="d"):
        mlops.log_dataset(credit.iloc[:100], name="german")
        version = mlops.log_dataset(ref, name="german")
    by_name = mlops.drift_report(reference="german", current=cur)
    by_version = mlops.drift_report(reference=version, current=cur)
    by_frame = mlops.drift_report(reference=ref, current=cur)
    assert by_name.reference == by_version.reference == "dataset german v2"
    assert by_name.rows == by_version.rows == by_frame.rows and by_name.id is None


@pytest.mark.parametrize("kwargs, error, words", [
    ({"reference": None}, mlops.InvalidInput, r"give reference= \(a DataFrame, a dataset name or a DatasetVersion\)"),
    ({"reference": 3.5}, mlops.InvalidInput, "reference must be a DataFrame, a dataset name or a DatasetVersion, "
                                             "got float"),
    ({"reference": "nope"}, mlops.NotFound, "dataset 'nope' does not exist in this project"),
    ({"current": "x"}, mlops.InvalidInput, "current must be a pandas DataFrame, got str"),
    ({"exclude": [1]}, mlops.InvalidInput, r"exclude must hold column names \(strings\); got 1"),
])
def test_bad_arguments_are_named(ctx, credit, kwargs, error, words):
    arguments = {"reference": credit, "current": credit, **kwargs}
    with pytest.raises(error, match=words):
        mlops.drift_report(**arguments)


def test_a_frame_reference_with_no_rows_is_named(credit):
    with pytest.raises(mlops.InvalidInput, match="reference has no rows; drift needs at least one row"):
        mlops.drift_report(reference=credit.iloc[:0], current=credit)
    with pytest.raises(mlops.InvalidInput, match="current has no rows; drift needs at least one row"):
        mlops.drift_report(reference=credit, current=credit.iloc[:0])  # once "log a dataset with at least one row"


def test_a_stored_report_computes_without_holding_the_write_lock(sqlite_url, tmp_path, credit, monkeypatch):
    """On SQLite a transaction holds the store's write lock: the verdicts on a large frame (and the
    profile of a frame reference) are computed between the read and the write transactions."""
    from pathlib import Path

    from mlops_nb.services.monitoring import drift, drift_reference
    from tests.api.test_store_lock import _lock_is_free
    from tests.factories import production_credit_model

    mlops.init(project="lock", db_url=sqlite_url, user="dana", artifact_root=str(tmp_path / "artifacts"))
    X = production_credit_model(credit)
    db_file, seen = Path(sqlite_url.removeprefix("sqlite:///")), []
    for target, name in ((drift, "compute_report"), (drift_reference, "reference_profile")):
        original = getattr(target, name)

        def probe(*args, _original=original, _name=name, **kwargs):
            seen.append((_name, _lock_is_free(db_file)))
            return _original(*args, **kwargs)
        monkeypatch.setattr(target, name, probe)
    report = mlops.drift_report(reference=X, current=X.assign(age_in_years=X.age_in_years + 20), model="credit")
    assert report.id is not None and "age_in_years" in report.drifted_columns
    assert seen == [("reference_profile", True), ("compute_report", True)]
