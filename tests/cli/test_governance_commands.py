"""`mlops audit verify` and `mlops policy show/set`, as an operator runs them."""
from __future__ import annotations

import re

from sqlalchemy import JSON, bindparam, select, text

from mlops_nb.cli import main
from mlops_nb.services import governance
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import AuditEvent
from tests import factories as g


def _store(engine) -> int:
    with session_scope(engine) as session:
        people = g.add_users(session)
        pid = g.project(session, "credit")
        m = g.model(session, pid, "credit-risk")
        g.version(session, m, stage="production")
        governance.set_policy(session=session, actor=people["admin"], project_id=pid, model_id=m.id,
                            rules={"metric_thresholds": {"auc": ">= 0.7"}})
        return governance.verify(session=session).events


def test_audit_verify_reports_an_intact_chain(engine, db_url, capsys):
    count = _store(engine)
    assert main(["--db", db_url, "audit", "verify"]) == 0
    assert capsys.readouterr().out == f"audit chain intact: {count} events\n"
    assert main(["audit", "verify", "--db", db_url, "--head"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"audit chain intact: {count} events" and out[1].startswith("head hash: ") and len(out[1]) == 75


def test_audit_verify_names_an_edited_event(engine, db_url, capsys):
    _store(engine)
    with engine.begin() as conn:  # the version's move into production (after the users were added)
        moved = conn.execute(text("SELECT max(id) FROM audit_event WHERE action = 'model.stage'")).scalar_one()
        conn.execute(text("UPDATE audit_event SET after = :after WHERE id = :id")
                     .bindparams(bindparam("after", type_=JSON)), {"after": {"stage": "staging"}, "id": moved})
    assert main(["--db", db_url, "audit", "verify"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"mlops: audit chain broken at event {moved}: its content was changed "
                                   "(model.stage on")
    assert captured.err.count("\n") == 1


def test_audit_verify_detects_a_deleted_last_event(engine, db_url, capsys):
    count = _store(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": count})
    assert main(["--db", db_url, "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"audit chain broken at event {count}" in err and "events were deleted from the end" in err


def test_audit_verify_without_the_key_says_where_it_looked_in_one_line(engine, db_url, capsys):
    from mlops_nb.store.audit_key import key_path

    _store(engine)
    path = key_path(engine.url)
    path.unlink()
    assert main(["--db", db_url, "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mlops: no audit key at {path}: ") and "MLOPS_AUDIT_KEY_FILE" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_audit_verify_names_a_deleted_head_row(engine, db_url, capsys):
    _store(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    assert main(["--db", db_url, "audit", "verify"]) == 1
    assert capsys.readouterr().err.startswith("mlops: audit chain broken: the head row (audit_head) is missing")


def test_policy_show_and_set(engine, db_url, capsys):
    _store(engine)
    assert main(["--db", db_url, "policy", "show", "--project", "credit", "--model", "credit-risk"]) == 0
    out = capsys.readouterr().out
    assert "Promotion policy of model 'credit-risk'" in out and "auc >= 0.7" in out
    assert re.search(r"approvals for production +1 ml_engineer, 1 reviewer\n", out)
    assert re.search(r"env_mismatch +warn\n", out)
    assert main(["--db", db_url, "policy", "set", "--project", "credit",
                 "--json", '{"approvals": {"production": {"reviewer": 2}}}']) == 0
    assert re.search(r"approvals for production +2 reviewer\n", capsys.readouterr().out)
    with session_scope(engine) as session:
        event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalars().one()
    assert event.action == "policy.set" and event.actor == "operator (cli)" and event.entity_id == "project:credit"


def test_policy_set_refuses_bad_input_in_one_line(engine, db_url, capsys):
    _store(engine)
    assert main(["--db", db_url, "policy", "set", "--project", "credit", "--json", "{not json"]) == 1
    assert capsys.readouterr().err.startswith("mlops: --json is not valid JSON")
    assert main(["--db", db_url, "policy", "set", "--project", "credit", "--model", "nope", "--json", "{}"]) == 1
    assert "model 'nope' is not registered" in capsys.readouterr().err
    assert main(["--db", db_url, "policy", "set", "--project", "credit",
                 "--json", '{"approvals": {"production": {"wizard": 1}}}']) == 1
    assert "role 'wizard' is not one of" in capsys.readouterr().err


def test_audit_log_lists_the_newest_events_and_says_the_chain_is_intact(engine, db_url, capsys):
    count = _store(engine)
    assert main(["--db", db_url, "audit", "log", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"Audit trail (2 shown) · audit chain intact: {count} events"
    assert "policy.set" in out
    assert main(["--db", db_url, "audit", "log", "--action", "policy.set"]) == 0
    assert "(1 shown)" in capsys.readouterr().out


def test_audit_log_refuses_a_limit_below_one(engine, db_url, capsys):
    _store(engine)
    assert main(["--db", db_url, "audit", "log", "--limit", "0"]) == 1
    assert capsys.readouterr().err.strip() == "mlops: --limit must be at least 1, got 0"
