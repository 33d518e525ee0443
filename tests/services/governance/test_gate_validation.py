"""The data_validated gate's contract: a candidate trained on other data than the production version
must validate against the production version's training data, by a recorded report or one made at
the request (from the stored sample)."""
from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from mlops_nb.services import data, governance
from mlops_nb.services.governance.policies import EffectivePolicy
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import DatasetVersion, ValidationRecord
from tests import factories as g

CODES = {"for free": 0, "own": 1, "rent": 2}


def _policy() -> EffectivePolicy:
    return EffectivePolicy(governance.merge(governance.DEFAULT_RULES, {"data_validated": {"min_rows": 100}}), "test")


def _log(ctx, session, df: pd.DataFrame, name: str) -> DatasetVersion:
    v = data.log_dataset(session=session, store=ctx.artifacts, project_id=ctx.project_id, df=df, name=name, user="dana")
    return session.get(DatasetVersion, v.id)


def _gate(session, ctx, version, *, record: bool, store=True):
    results = governance.evaluate(session=session, version=version, target_stage="staging", policy=_policy(),
                                  store=ctx.artifacts if store else None, record=record, actor="eve")
    return next(r for r in results if r.name == "data_validated")


def _reports(session) -> int:
    return session.execute(select(func.count()).select_from(ValidationRecord)).scalar()


@pytest.fixture()
def split(credit):
    """German Credit in two random parts (its row order is not random: the last rows hold other levels)."""
    first = credit.sample(600, random_state=0)
    return first, credit.drop(first.index)


@pytest.fixture()
def production(ctx, split):
    """A model whose production version was trained on 600 rows of German Credit."""
    with session_scope(ctx.engine) as session:
        model = g.model(session, ctx.project_id, name="credit")
        g.version(session, model, stage="production", target="creditability",
                  dataset_row=_log(ctx, session, split[0], "german"))
        return model.id


def _candidate(ctx, session, model_id, df, name):
    from mlops_nb.store.models import RegisteredModel

    return g.version(session, session.get(RegisteredModel, model_id), target="creditability",
                     dataset_row=_log(ctx, session, df, name))


def test_a_recoded_training_set_fails_naming_the_column_and_rule_and_is_recorded(ctx, split, production):
    recoded = split[1].assign(housing=split[1].housing.map(CODES))
    with session_scope(ctx.engine) as session:
        candidate = _candidate(ctx, session, production, recoded, "german-recoded")
        result = _gate(session, ctx, candidate, record=True)
        assert not result.passed
        assert "against german v1, the training data of production version 1" in result.detail
        assert "housing dtype_changed" in result.detail
        report = result.data["validation"]["report"]
        assert result.data["validation"]["failing"] == [{"column": "housing", "rule": "dtype_changed"}]
        assert f"validation report {report}" in result.detail
        row = session.get(ValidationRecord, report)
        assert (row.subject, row.model_version_id, row.created_by, row.ok) == (
            "dataset german-recoded v1", candidate.id, "eve", False)
        again = _gate(session, ctx, candidate, record=True)  # the recorded report is read, not made again
        assert again.data["validation"]["report"] == report and _reports(session) == 1


def test_a_clean_training_set_passes_and_names_its_report(ctx, split, production):
    with session_scope(ctx.engine) as session:
        candidate = _candidate(ctx, session, production, split[1], "german-q2")
        result = _gate(session, ctx, candidate, record=True)
        assert result.passed, result.detail
        assert f"valid against german v1, the training data of production version 1 (validation report " \
               f"{result.data['validation']['report']}" in result.detail


def test_a_preview_validates_without_recording(ctx, split, production):
    recoded = split[1].assign(housing=split[1].housing.map(CODES))
    with session_scope(ctx.engine) as session:
        candidate = _candidate(ctx, session, production, recoded, "german-recoded")
        result = _gate(session, ctx, candidate, record=False)
        assert not result.passed and "validated now, not recorded" in result.detail and _reports(session) == 0


def test_a_recorded_validation_is_used_without_a_store(ctx, split, production):
    recoded = split[1].assign(housing=split[1].housing.map(CODES))
    with session_scope(ctx.engine) as session:
        candidate = _candidate(ctx, session, production, recoded, "german-recoded")
        assert not _gate(session, ctx, candidate, record=False, store=False).passed  # no report, no sample
        assert "no artifact store to read its sample from" in _gate(session, ctx, candidate, record=False,
                                                                     store=False).detail
        _gate(session, ctx, candidate, record=True)
        result = _gate(session, ctx, candidate, record=False, store=False)
        assert not result.passed and "housing dtype_changed" in result.detail


def test_same_training_data_as_production_needs_no_contract_check(ctx, split, production):
    with session_scope(ctx.engine) as session:
        candidate = _candidate(ctx, session, production, split[0], "german")  # the same version
        result = _gate(session, ctx, candidate, record=True)
        assert result.passed and "no production version trained on other data" in result.detail
        assert "validation" not in result.data and _reports(session) == 0


def test_a_request_records_the_validation_and_its_gate_fails(ctx, split, production):
    recoded = split[1].assign(housing=split[1].housing.map(CODES))
    with session_scope(ctx.engine) as session:
        candidate = _candidate(ctx, session, production, recoded, "german-recoded")
        governance.set_policy(session=session, actor=g.proven(session, "ada", "admin"), project_id=ctx.project_id,
                              model_id=production, rules={"data_validated": {"min_rows": 100}})
        request = governance.request_promotion(session=session, actor=g.proven(session, "eve", "ml_engineer"),
                                               project_id=ctx.project_id, model="credit",
                                               version=candidate.version, to="staging", reason="q2 data",
                                               store=ctx.artifacts)
        gate = next(r for r in request.gates if r["name"] == "data_validated")
        assert not gate["passed"] and "housing dtype_changed" in gate["detail"]
        assert _reports(session) == 1
