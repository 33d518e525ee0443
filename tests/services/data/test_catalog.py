"""The project's data catalogue: dataset versions with their validation counts, a version's
validation reports, and feature definitions with the model versions that name each version."""
from __future__ import annotations

import pytest

import mlops_nb as mlops
from mlops_nb.services.data import catalog
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.store.db import session_scope
from tests import data_story


@pytest.fixture()
def story(ctx, credit):
    return data_story.build(credit)


def test_dataset_versions_newest_first_with_their_validation_counts(ctx, story):
    with session_scope(ctx.engine) as s:
        rows = catalog.dataset_versions(session=s, project_id=ctx.project_id)
    assert [(r["name"], r["version"], r["rows"], r["validations"]) for r in rows] == [
        ("german", 2, 600, 0), ("german", 1, 1000, 2)]
    assert len(rows[0]["fingerprint"]) == 64 and rows[0]["created_by"] == "dana"


def test_a_versions_validations_carry_their_findings(ctx, story):
    with session_scope(ctx.engine) as s:
        first = next(r for r in catalog.dataset_versions(session=s, project_id=ctx.project_id) if r["version"] == 1)
        reports = catalog.validations_of(session=s, project_id=ctx.project_id, dataset_version_id=first["id"])
        detail = catalog.dataset_version(session=s, project_id=ctx.project_id, dataset_version_id=first["id"])
        # each report names the version it was checked against (what a link to it opens on the Data page)
        assert {catalog.validation_contract(session=s, project_id=ctx.project_id, validation_id=r["id"])
                for r in reports} == {first["id"]}
        with pytest.raises(NotFound, match=rf"validation report {reports[0]['id']} is not in this project"):
            catalog.validation_contract(session=s, project_id=ctx.project_id + 1, validation_id=reports[0]["id"])
        with pytest.raises(NotFound, match="validation report 'x' is not in this project"):
            catalog.validation_contract(session=s, project_id=ctx.project_id, validation_id="x")  # type: ignore[arg-type]
    assert [(r["ok"], r["rows"]) for r in reports] == [(False, 300), (True, 300)]  # newest first
    rules = {(f["column"], f["rule"], f["severity"]) for f in reports[0]["findings"]}
    assert ("purpose", "missing_column", "error") in rules and ("age_in_years", "out_of_range", "warning") in rules
    assert reports[0]["errors"] >= 1 and reports[1]["findings"] == []
    assert [c["name"] for c in detail.schema["columns"]][:2] == ["status_of_existing_checking_account",
                                                                 "duration_in_month"]
    assert detail.profile["credit_amount"]["min"] == 250


def test_a_dataset_version_of_another_project_is_not_found(ctx, story):
    with session_scope(ctx.engine) as s:
        first = catalog.dataset_versions(session=s, project_id=ctx.project_id)[0]
        with pytest.raises(NotFound, match=r"dataset version \d+ is not in this project"):
            catalog.validations_of(session=s, project_id=ctx.project_id + 1, dataset_version_id=first["id"])
        with pytest.raises(NotFound, match="dataset version 'x' is not in this project"):
            catalog.dataset_version(session=s, project_id=ctx.project_id, dataset_version_id="x")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="limit must be a whole number from 1 to 1000, got 0"):
            catalog.dataset_versions(session=s, project_id=ctx.project_id, limit=0)


def test_features_list_their_versions_and_the_model_versions_naming_each(ctx, story):
    with session_scope(ctx.engine) as s:
        found = catalog.feature_catalog(session=s, project_id=ctx.project_id)
    assert [f["name"] for f in found] == ["amount_per_month"]
    feature = found[0]
    assert [d.version for d in feature["versions"]] == [1, 2] and feature["newest"].version == 2
    assert feature["used_by"] == {1: ["credit-risk v1"], 2: []}
    assert ".round(2)" in feature["newest"].source and ".round(2)" not in feature["versions"][0].source


def test_an_empty_project_has_no_data(ctx):
    with session_scope(ctx.engine) as s:
        assert catalog.dataset_versions(session=s, project_id=ctx.project_id) == []
        assert catalog.feature_catalog(session=s, project_id=ctx.project_id) == []
    assert mlops  # the API initialised the store
