"""services.registry.lookups: models and versions by name, number and stage; what is not there is named."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from mlops_nb.services import registry
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import ModelVersion


def test_unknown_model_is_not_found_naming_the_models(ctx, trained, register):
    run, model, _ = trained
    register(run.id, model)
    with session_scope(ctx.engine) as session, pytest.raises(NotFound, match="model 'credt' is not registered.*models: credit"):
        registry.get_version(session=session, project_id=ctx.project_id, name="credt")


def test_unknown_version_names_the_versions_there_are(ctx, trained, register):
    run, model, _ = trained
    for _ in range(2):
        register(run.id, model)
    with session_scope(ctx.engine) as session, pytest.raises(NotFound, match="model 'credit' has no version 7; versions are 1-2"):
        registry.get_version(session=session, project_id=ctx.project_id, name="credit", version=7)


def test_no_version_in_stage_is_not_found(ctx, trained, register):
    run, model, _ = trained
    register(run.id, model)
    with session_scope(ctx.engine) as session, pytest.raises(NotFound, match="no version in production; versions: v1 none"):
        registry.get_version(session=session, project_id=ctx.project_id, name="credit", stage="production")


def test_ranges_are_compact():
    assert registry.lookups._ranges([3, 1, 2, 5, 7, 8]) == "1-3, 5, 7-8"
    assert registry.lookups._ranges([4]) == "4"


def test_stage_lookups_for_promotion(ctx, trained, register):
    run, model, _ = trained
    for _ in range(3):
        register(run.id, model)
    with session_scope(ctx.engine) as session:
        m = registry.get_model(session=session, project_id=ctx.project_id, name="credit")
        assert registry.production_version_row(session=session, model_id=m.id) is None
        row = registry.get_version_row(session=session, model_id=m.id, version=2)
        row.stage = "production"
        session.add(row)
        session.flush()
        assert registry.production_version_row(session=session, model_id=m.id).version == 2
        with pytest.raises(InvalidInput, match="give version or stage"):
            registry.find_version_row(session=session, model=m, version=1, stage="production")
        with pytest.raises(InvalidInput, match="stage 'live' is not one of"):
            registry.find_version_row(session=session, model=m, stage="live")
        assert session.execute(select(ModelVersion.stage).where(ModelVersion.model_id == m.id)
                               .order_by(ModelVersion.version)).scalars().all() == ["none", "production", "none"]
