"""The canary gate: production only after scoring batches were recorded while the version was in staging."""
from __future__ import annotations

import time
import uuid

import pytest

from mlops_nb.services import governance
from mlops_nb.services.governance.policies import EffectivePolicy
from mlops_nb.store.models.monitoring import ScoringBatch
from tests import factories as g


def _eval(session, version, to="production", **canary):
    policy = EffectivePolicy(governance.merge(governance.DEFAULT_RULES, {"canary": canary or True}), "test")
    return {r.name: r for r in governance.evaluate(session=session, version=version, target_stage=to, policy=policy)}


def _batch(session, version, *, stage="staging", status="accepted", rows=10, findings=()):
    session.add(ScoringBatch(id=uuid.uuid4().hex, model_version_id=version.id, stage=stage, method="predict_proba",
                             status=status, rows=rows, latency_ms=1.0, created_by="dana", created_at=time.time(),
                             findings=[{"column": "housing", "rule": "dtype_changed", "severity": s, "message": ""}
                                       for s in findings]))
    session.flush()


def test_canary_is_off_by_default(session):
    v = g.version(session, g.model(session, g.project(session)), stage="staging")
    assert governance.DEFAULT_RULES["gates"]["canary"] is None
    names = [r.name for r in governance.evaluate(session=session, version=v, target_stage="production",
                                                 policy=EffectivePolicy(governance.DEFAULT_RULES, "default"))]
    assert "canary" not in names


def test_canary_fails_without_staging_traffic_and_says_what_to_do(session):
    v = g.version(session, g.model(session, g.project(session)), stage="staging")
    result = _eval(session, v)["canary"]
    assert not result.passed
    assert result.detail == ("version 1: 0 accepted or warned (warnings only) scoring batch(es), 0 rows, scored in staging; needs at "
                             "least 1 batch(es): score live traffic with "
                             "mlops.load_model(name, stage='staging') first")
    assert result.data == {"batches": 0, "rows": 0, "min_batches": 1, "min_rows": 0}


def test_canary_counts_accepted_and_warned_staging_batches_only(session):
    m = g.model(session, g.project(session))
    v, other = g.version(session, m, stage="staging"), g.version(session, m)
    _batch(session, v, status="refused", rows=500)
    _batch(session, v, status="failed", rows=500)
    _batch(session, v, stage="none", rows=500)  # scored before it reached staging
    _batch(session, v, status="warned", rows=500, findings=["error"])  # scored under 'warn' but broke the contract
    _batch(session, other, rows=500)  # another version's traffic
    assert not _eval(session, v)["canary"].passed
    _batch(session, v, status="warned", rows=40, findings=["warning"])
    _batch(session, v, rows=30)
    result = _eval(session, v, min_batches=2, min_rows=70)["canary"]
    assert result.passed and result.data["batches"] == 2 and result.data["rows"] == 70
    assert result.detail == "version 1: 2 accepted or warned (warnings only) scoring batch(es), 70 rows, scored in staging"
    short = _eval(session, v, min_batches=2, min_rows=71)["canary"]
    assert not short.passed and "needs at least 2 batch(es) and 71 rows" in short.detail


def test_canary_applies_to_production_requests_only(session):
    v = g.version(session, g.model(session, g.project(session)))
    assert "canary" not in _eval(session, v, to="staging")


@pytest.mark.parametrize(("setting", "words"), [
    ({"min_batches": 0}, "canary's min_batches must be a whole number >= 1, got 0"),
    ({"min_rows": 1.5}, "canary's min_rows must be a whole number >= 0, got 1.5"),
    ({"batches": 1}, "gate 'canary' has no option 'batches'; options are min_batches, min_rows"),
])
def test_canary_options_are_checked(setting, words):
    from mlops_nb.services.errors import InvalidInput

    with pytest.raises(InvalidInput, match=words):
        governance.merge(governance.DEFAULT_RULES, {"canary": setting})


def test_scoring_policy_section_is_validated():
    rules = governance.merge(governance.DEFAULT_RULES, {"scoring": {"on_invalid": "refuse"}})
    assert rules["scoring"] == {"on_invalid": "refuse"}
    assert governance.validate({"approvals": governance.DEFAULT_RULES["approvals"]})["scoring"] == {"on_invalid": "warn"}
    from mlops_nb.services.errors import InvalidInput

    with pytest.raises(InvalidInput, match="scoring.on_invalid must be 'warn' or 'refuse', got 'ignore'"):
        governance.merge(governance.DEFAULT_RULES, {"scoring": {"on_invalid": "ignore"}})
    with pytest.raises(InvalidInput, match="scoring has no setting 'sample'"):
        governance.merge(governance.DEFAULT_RULES, {"scoring": {"sample": 5}})
