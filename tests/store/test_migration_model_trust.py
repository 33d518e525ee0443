"""Migration 0005 (model trust): a store with registered models upgrades, and downgrades again."""
from __future__ import annotations

from sqlalchemy import inspect, text

from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import current_revision, downgrade, upgrade
from mlops_nb.store.migrations import HEAD


def test_a_store_with_models_gains_the_trust_table_and_loses_it_on_downgrade(db_url):
    engine = get_engine(db_url)
    upgrade(engine, "0002")
    with session_scope(engine) as session:
        session.execute(text("INSERT INTO project (id, name, created_at) VALUES (1, 'p', 1.0)"))
        session.execute(text("INSERT INTO registered_model (id, project_id, name, created_by, created_at) "
                             "VALUES (1, 1, 'credit', 'dana', 1.0)"))
    upgrade(engine)
    assert current_revision(engine) == HEAD
    with session_scope(engine) as session:
        session.execute(text("INSERT INTO trusted_type (model_id, type_name, trusted_by, role, reason, trusted_at) "
                             "VALUES (1, 'mypkg.Scaler', 'eve', 'ml_engineer', 'PR 42', 2.0)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT type_name FROM trusted_type WHERE model_id = 1")).scalar() == "mypkg.Scaler"
    downgrade(engine, "0002")
    tables = set(inspect(engine).get_table_names())
    assert "trusted_type" not in tables and "registered_model" in tables
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM registered_model WHERE id = 1")).scalar() == "credit"
        assert conn.execute(text("SELECT count(*) FROM trusted_type")).scalar() == 0
