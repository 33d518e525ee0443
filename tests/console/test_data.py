"""The Data page: dataset versions with schema, profile and validations; feature definitions with
their source and what changed; scoring batches with findings, profiles and outcomes. Every role sees
it and nobody can change anything from it."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

import mlops_nb as mlops
from mlops_nb.console.views.data import diff_text
from mlops_nb.services.data import features
from mlops_nb.store.db import get_engine, session_scope
from tests import data_story

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    monkeypatch.setattr(features, "_BY_HASH", {})
    monkeypatch.setattr(features, "_BY_NAME", {})


@pytest.fixture()
def story(console_store, credit, tmp_path):
    """The data story in project `credit` of the console's store, told by dana."""
    import os

    mlops.init(project="credit", db_url=console_store, user="dana", artifact_root=os.environ["MLOPS_ARTIFACT_ROOT"])
    return data_story.build(credit)


def _data(logged_in, name: str):
    at = logged_in(name)
    at.switch_page("views/data.py")
    at = at.run()
    assert not at.exception, at.exception
    return at


def _table(at, key: str):
    """The selectable table keyed `key`, as a DataFrame."""
    return at.dataframe(key=key).value


def _with(at, column: str, nth: int = 0):
    """The `nth` table (in page order) that has a column `column`, as a DataFrame."""
    return [d.value for d in at.dataframe if column in d.value.columns][nth]


def _counts(url: str) -> dict[str, int]:
    with session_scope(get_engine(url)) as s:
        return {name: s.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in SQLModel.metadata.tables.items()}


def test_an_empty_project_says_how_to_log_data(console_store, logged_in):
    at = _data(logged_in, "rita")
    assert [t.value for t in at.title] == ["Data"]
    assert "No dataset logged in this project yet" in at.info[0].value
    assert 'mlops.log_dataset(train, name="german"' in at.code[0].value
    assert "No feature defined" in at.info[1].value and "No scoring batch recorded" in at.info[2].value


def test_dataset_versions_show_schema_profile_and_the_findings_of_a_validation(story, logged_in):
    at = _data(logged_in, "rita")
    datasets = _table(at, "data.datasets_table")
    assert datasets[["Dataset", "Version", "Rows", "Columns", "Validations"]].to_dict("records") == [
        {"Dataset": "german", "Version": "v2", "Rows": 600, "Columns": 21, "Validations": 0},
        {"Dataset": "german", "Version": "v1", "Rows": 1000, "Columns": 21, "Validations": 2}]
    assert datasets["Fingerprint"].str.len().tolist() == [12, 12]
    at = at.selectbox(key="data.dataset").select_index(1).run()
    assert not at.exception, at.exception
    schema = _with(at, "Categories or range")
    row = schema[schema["Column"] == "credit_amount"].iloc[0]
    assert (row["Kind"], row["Categories or range"]) == ("numerical", "250 to 18,424")
    purpose = schema[schema["Column"] == "purpose"].iloc[0]
    assert "business" in purpose["Categories or range"]
    profile = _with(at, "Null rate")
    assert profile[profile["Column"] == "credit_amount"].iloc[0]["Min"] == "250"
    reports = _table(at, "data.validations_table")
    assert reports[["OK", "Rows"]].values.tolist() == [[False, 300], [True, 300]]
    found = _with(at, "Rule")
    assert {"missing_column", "out_of_range"} <= set(found["Rule"])
    assert found[found["Rule"] == "missing_column"].iloc[0][["Column", "Severity"]].tolist() == ["purpose", "error"]
    at = at.selectbox(key="data.validation").select_index(1).run()
    assert any("No findings" in c.value for c in at.caption)


def test_features_show_versions_their_models_source_and_the_change(story, logged_in):
    at = _data(logged_in, "rita")
    table = _table(at, "data.features_table")
    assert table[["Feature", "Versions", "Newest"]].values.tolist() == [["amount_per_month", 2, "v2"]]
    assert table["Models using it"].tolist() == ["credit-risk v1 (v1 of the feature)"]
    versions = _with(at, "Model versions naming it")
    assert versions["Model versions naming it"].tolist() == ["credit-risk v1", "—"]
    codes = {c.language: c.value for c in at.code}
    assert ".round(2)" in codes["python"]
    assert "-    return df[\"credit_amount\"] / df[\"duration_in_month\"]" in codes["diff"]
    assert "+    return (df[\"credit_amount\"] / df[\"duration_in_month\"]).round(2)" in codes["diff"]
    at = at.selectbox(key="data.feature_version.amount_per_month").set_value(1).run()
    assert any("The first version" in c.value for c in at.caption)
    assert "diff" not in {c.language for c in at.code}


def test_batches_filter_by_status_and_show_findings_profiles_and_outcomes(story, logged_in):
    at = _data(logged_in, "rita")
    batches = _table(at, "data.batches_table")
    assert batches[["Model", "Version", "Status", "Rows"]].values.tolist() == [
        ["credit-risk", "v1", "refused", 20], ["credit-risk", "v1", "warned", 50],
        ["credit-risk", "v1", "accepted", 400]]
    summary = _with(at, "Latency p95 ms")
    assert summary[["Batches", "Rows", "Refused"]].values.tolist() == [[3, 470, "33%"]]
    assert "default_rate 0.065" in summary["Last outcome"][0]
    findings = _with(at, "Rule")  # german v2 (shown first) has no validation: the newest batch, the refused one
    assert ("purpose", "missing_column", "error") in set(map(tuple, findings[["Column", "Rule", "Severity"]].values))
    at = at.selectbox(key="data.batch_status").set_value("accepted").run()
    assert _table(at, "data.batches_table")["Status"].tolist() == ["accepted"]
    assert at.selectbox(key="data.batch").value == story["batches"]["accepted"]
    outcomes = _with(at, "Rows joined")
    assert outcomes["Rows joined"].tolist() == [400] and "roc_auc" in outcomes["Realised metrics"][0]
    assert "default_rate 0.065" in outcomes["Business metrics"][0]
    inputs = _with(at, "Top values", 1)
    assert inputs[inputs["Column"] == "credit_amount"].iloc[0]["Nulls"] == 0
    assert "mean" in _with(at, "Statistic")["Statistic"].tolist()


def test_a_viewer_sees_the_page_and_can_change_nothing(story, logged_in, console_store):
    before = _counts(console_store)
    at = _data(logged_in, "max")  # a manager: reads only
    assert [t.value for t in at.title] == ["Data"]
    assert [b.key for b in at.button] == ["logout"]  # no action on the page
    at = at.selectbox(key="data.batch_status").set_value("refused").run()
    at = at.selectbox(key="data.feature_version.amount_per_month").set_value(1).run()
    assert not at.exception
    after = _counts(console_store)
    assert {k: v for k, v in after.items() if k != "audit_event"} == \
        {k: v for k, v in before.items() if k != "audit_event"}  # the login is audited, nothing else


def test_user_text_is_shown_as_text(story, logged_in, console_store, credit):
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit.head(50), name=XSS)
    at = _data(logged_in, "rita")
    assert _table(at, "data.datasets_table")["Dataset"][0] == XSS
    assert all(XSS not in m.value for m in at.markdown)
    assert any("\\<img src=x onerror=alert\\(1\\)\\>" in c.value for c in at.caption)


def test_the_diff_names_both_versions():
    text = diff_text("a\nb\n", "a\nc\n", "f v1", "f v2")
    assert text.splitlines()[:2] == ["--- f v1", "+++ f v2"] and "-b" in text and "+c" in text
    assert diff_text("a\n", "a\n", "x", "y") == ""
