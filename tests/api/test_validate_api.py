"""mlops.validate: the report a person reads, what is recorded, and bad input refused with nothing stored."""
from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

import mlops_nb as mlops
from mlops_nb.display.data import ValidationReport
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import ValidationRecord


def _reports(ctx) -> int:
    with session_scope(ctx.engine) as session:
        return session.execute(select(func.count()).select_from(ValidationRecord)).scalar()


@pytest.fixture()
def german(ctx, credit):
    ref = credit.sample(500, random_state=0)
    with mlops.start_run(experiment="data"):
        version = mlops.log_dataset(ref, name="german")
    return version, credit.drop(ref.index)


def test_validate_returns_a_report_and_records_it(ctx, german):
    version, rest = german
    codes = {v: i for i, v in enumerate(sorted(rest.housing.unique()))}
    report = mlops.validate(rest.assign(housing=rest.housing.map(codes)).drop(columns="job"), against="german")
    assert isinstance(report, ValidationReport) and not report.ok
    assert [(f.column, f.rule) for f in report.errors] == [("housing", "dtype_changed"), ("job", "missing_column")]
    assert report.headline.startswith("2 errors, ") and "against german v1 (500 rows)" in report.headline
    frame = report.to_frame()
    assert list(frame.columns) == ["column", "rule", "severity", "message", "examples", "details"]
    assert len(frame) == len(report.findings)
    assert frame.set_index("column").loc["housing", "details"]["mapping"] == {"0": "for free", "1": "own", "2": "rent"}
    assert "appears re-encoded as integer codes" in repr(report)
    with session_scope(ctx.engine) as session:
        row = session.get(ValidationRecord, report.id)
        assert row.dataset_version_id == version.id and row.errors == 2 and row.created_by == "dana"


def test_validate_against_a_dataset_version_object_and_a_version_number(ctx, german):
    version, rest = german
    assert mlops.validate(rest, against=version).ok
    assert mlops.validate(rest, against="german:1").ok
    assert _reports(ctx) == 2


def test_a_dataset_version_validates_without_any_store(german, tmp_path):
    from mlops_nb.api.context import set_current

    version, rest = german
    set_current(None)  # a fresh kernel holding a DatasetVersion from before
    report = mlops.validate(rest.drop(columns="job"), against=version)
    assert report.id is None and [(f.column, f.rule) for f in report.errors] == [("job", "missing_column")]
    from mlops_nb.api.context import current

    assert current() is None  # no store was opened for it


def test_html_escapes_user_text_and_colours_severities(ctx, german):
    _, rest = german
    report = mlops.validate(rest.assign(**{"<b>x</b>": "<script>alert(1)</script>"}).drop(columns="job"),
                            against="german")
    html = report._repr_mimebundle_()["text/html"]
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "column &#x27;&lt;b&gt;x&lt;/b&gt;&#x27; (object) is not in the contract" in html
    assert "#b3261e" in html and "#9a6700" in html  # an error in red, a warning in amber
    assert "1 error, " in html and " against german v1" in html
    assert html.index("missing_column") < html.index("extra_column")  # errors first


def test_a_clean_report_says_so(ctx, german):
    version, _ = german
    report = mlops.validate(_sample(ctx, version), against="german")
    assert report.ok and report.findings == [] and repr(report) == "valid against german v1: no findings (500 rows)"
    assert "valid against german v1" in report._repr_html_() and "<table" not in report._repr_html_()


def _sample(ctx, version):
    from mlops_nb.services import data

    with session_scope(ctx.engine) as session:
        return data.load_sample(session=session, store=ctx.artifacts, dataset_version_id=version.id)


@pytest.mark.parametrize("df, against, error, words", [
    (pd.DataFrame(), "german", mlops.InvalidInput, "df has no columns"),
    (pd.DataFrame({"age_in_years": pd.Series([], dtype=int)}), "german", mlops.InvalidInput, "df has no rows"),
    ("not a frame", "german", mlops.InvalidInput, "must be a pandas DataFrame"),
    (pd.DataFrame({"a": [1]}), "no-such", mlops.NotFound, "dataset 'no-such' does not exist"),
    (pd.DataFrame({"a": [1]}), None, mlops.InvalidInput, "against must be a dataset name"),
])
def test_bad_input_is_refused_and_records_nothing(ctx, german, df, against, error, words):
    with pytest.raises(error, match=words):
        mlops.validate(df, against=against)
    assert _reports(ctx) == 0


def test_exclude_leaves_the_target_out_of_the_contract(ctx, german):
    """A scoring batch has no target column: `exclude` says so, and a frame that still holds it is
    not checked on it either (no missing_column, no extra_column for it)."""
    version, rest = german
    features = rest.drop(columns="creditability")
    assert ("creditability", "missing_column") in [(f.column, f.rule) for f in mlops.validate(features, against="german").errors]
    assert mlops.validate(features, against="german", exclude=["creditability"]).ok
    assert not [f for f in mlops.validate(rest, against="german", exclude=["creditability"]).findings
                if f.column == "creditability"]
    assert mlops.validate(features, against=version, exclude=["creditability"]).ok
    recorded = _reports(ctx)
    for bad, words in (("creditability", "exclude must be a list"), (["no_such"], "does not hold: no_such")):
        with pytest.raises(mlops.InvalidInput, match=words):
            mlops.validate(features, against="german", exclude=bad)
    assert _reports(ctx) == recorded
