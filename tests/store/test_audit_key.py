"""The audit key: created with the store, owner-only, outside the database; a missing or exposed key is
named; a store upgraded from the unkeyed chain stays verifiable."""
from __future__ import annotations

import hashlib
import json
import stat

import pytest
from sqlalchemy import text

from mlops_nb.services import governance
from mlops_nb.services.errors import IntegrityFailure, NotFound
from mlops_nb.store.audit_key import key_id, key_path
from mlops_nb.store.db import get_engine, session_scope
from mlops_nb.store.migrate import ensure_schema, upgrade


def _record(engine, n: int = 1) -> None:
    with session_scope(engine) as session:
        for i in range(n):
            governance.record(session=session, actor="eve", action="policy.set", entity="policy", entity_id=i)


def test_the_key_is_created_with_the_store_readable_by_its_owner_only(db_url, tmp_path):
    engine = get_engine(db_url)
    ensure_schema(engine)
    path = key_path(engine.url)
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    if db_url.startswith("sqlite"):
        assert path == tmp_path / "store.db.audit-key"  # beside the database file
    else:
        assert path.parent == tmp_path / "home" / "audit-keys"  # under MLOPS_HOME, named by host, port, database
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_id, keyed_from FROM audit_head")).one()
        assert path.read_text().strip() not in str(conn.execute(text("SELECT * FROM audit_head")).all())
    assert tuple(stored) == (key_id(bytes.fromhex(path.read_text().strip())), 1)


def test_mlops_audit_key_file_names_where_the_key_is_made_and_read(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_AUDIT_KEY_FILE", str(tmp_path / "keys" / "team.key"))
    engine = get_engine(db_url)
    ensure_schema(engine)
    assert (tmp_path / "keys" / "team.key").is_file()
    _record(engine)
    with session_scope(engine) as session:
        assert str(governance.verify(session=session)) == "audit chain intact: 1 events"


def test_a_missing_key_is_a_named_error_on_write_and_verify(db_url):
    engine = get_engine(db_url)
    ensure_schema(engine)
    _record(engine)
    path = key_path(engine.url)
    path.unlink()
    message = rf"^no audit key at {path}: .*Copy the store's key there .* or set MLOPS_AUDIT_KEY_FILE"
    with pytest.raises(NotFound, match=message):
        _record(engine)
    with session_scope(engine) as session, pytest.raises(NotFound, match=message):
        governance.verify(session=session)
    with session_scope(engine) as session:  # the trail is still readable, and says why it is not verified
        assert governance.trail(session=session).verified.startswith(f"audit chain not verified: no audit key at {path}")
        assert session.execute(text("SELECT count(*) FROM audit_event")).scalar_one() == 1  # nothing written


def test_a_key_open_to_group_or_others_is_refused(db_url):
    engine = get_engine(db_url)
    ensure_schema(engine)
    path = key_path(engine.url)
    path.chmod(0o640)
    with pytest.raises(IntegrityFailure, match=rf"the audit key at {path} is open to group or others \(mode 0640\); "
                                               rf"make it readable by its owner only: chmod 600 {path}"):
        _record(engine)


def test_a_key_of_another_store_is_named(db_url):
    engine = get_engine(db_url)
    ensure_schema(engine)
    path = key_path(engine.url)
    path.write_text("ab" * 32 + "\n")
    with session_scope(engine) as session:
        result = governance.verify(session=session)
    assert not result.ok and "a key file of another store, or a head changed outside mlops" in str(result)


def _legacy_chain(engine, n: int) -> None:
    """Events as the unkeyed release wrote them: sha256 chained, head moved, no key marker."""
    prev = "0" * 64
    with engine.begin() as conn:
        for eid in range(1, n + 1):
            after = {"n": eid}
            body = json.dumps({"id": eid, "ts": repr(1.5 * eid), "actor": "old", "action": "policy.set",
                               "entity": "policy", "entity_id": str(eid), "before": None, "after": after},
                              sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256((prev + body).encode()).hexdigest()
            conn.execute(text("INSERT INTO audit_event (id, ts, actor, action, entity, entity_id, before, after, "
                              "prev_hash, hash) VALUES (:id, :ts, 'old', 'policy.set', 'policy', :eid, NULL, :after, "
                              ":prev, :hash)"),
                         {"id": eid, "ts": 1.5 * eid, "eid": str(eid), "after": json.dumps(after, separators=(",", ":")),
                          "prev": prev, "hash": digest})
            prev = digest
        conn.execute(text("UPDATE audit_head SET last_event_id = :n, last_hash = :h"), {"n": n, "h": prev})


def test_a_store_upgraded_from_the_unkeyed_chain_stays_verifiable_with_a_warning(db_url):
    engine = get_engine(db_url)
    upgrade(engine, "0002")
    _legacy_chain(engine, 3)
    ensure_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT keyed_from FROM audit_head")).scalar_one() == 4
    _record(engine, 2)
    with session_scope(engine) as session:
        result = governance.verify(session=session)
    assert str(result) == "audit chain intact: 5 events" and result.legacy_events == 3
    assert result.warning.startswith("warning: events 1-3 predate the keyed chain (plain sha256)")


def test_a_legacy_event_rehashed_after_the_upgrade_breaks_the_first_keyed_link(db_url):
    engine = get_engine(db_url)
    upgrade(engine, "0002")
    _legacy_chain(engine, 3)
    ensure_schema(engine)
    _record(engine)
    with engine.begin() as conn:  # rewrite event 3 and its sha256 hash: the keyed event 4 links to the old one
        prev = conn.execute(text("SELECT prev_hash FROM audit_event WHERE id = 3")).scalar_one()
        body = json.dumps({"id": 3, "ts": repr(4.5), "actor": "mallory", "action": "policy.set", "entity": "policy",
                           "entity_id": "3", "before": None, "after": {"n": 3}},
                          sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        conn.execute(text("UPDATE audit_event SET actor = 'mallory', hash = :h WHERE id = 3"),
                     {"h": hashlib.sha256((prev + body).encode()).hexdigest()})
    with session_scope(engine) as session:
        result = governance.verify(session=session)
    assert not result.ok and str(result) == "audit chain broken at event 4: its link to the previous event does not match"
