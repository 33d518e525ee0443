"""The tamper-evident audit trail: every state change appends an event hashed with its predecessor.

SPEC §3: every state change writes an audit event; SPEC §4: a rewrite of the trail is detectable
by `mlops audit verify`. Services call `record` inside the transaction of the change they audit, so
the event commits or rolls back with it.

hash = sha256(prev_hash + canonical JSON of the event). Writers lock the single `audit_head` row
(FOR UPDATE on PostgreSQL; SQLite transactions are already serialised by BEGIN IMMEDIATE), so two
concurrent writers can never fork the chain. `verify` recomputes every hash in id order and names
the first event whose content, link or order was changed; the head row catches events deleted from
the end.

    record(session=s, actor="eve", action="policy.set", entity="policy", entity_id="credit-risk",
           before={...}, after={...})
    str(verify(session=s))          # "audit chain intact: 1234 events"
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, bindparam, cast, insert, select, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.governance.results import AuditTable, audit_table
from mlops_nb.store.models import AuditEvent, AuditHead
from mlops_nb.store.models.audit import GENESIS_HASH

VERIFY_PAGE = 5_000  # events read per query while verifying
_EVENT_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]  # SQLModel's stubs omit __table__
_HEAD_TABLE = AuditHead.__table__  # type: ignore[attr-defined]  # SQLModel's stubs omit __table__
_HEAD_FOR_UPDATE = (select(col(AuditHead.last_event_id), col(AuditHead.last_hash)).where(col(AuditHead.id) == 1)
                    .with_for_update())
_INSERT_EVENT = insert(_EVENT_TABLE)
_MOVE_HEAD = (update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == 1)
              .values(last_event_id=bindparam("event_id"), last_hash=bindparam("digest")))


def _jsonable(value: Any) -> Any:
    """`value` as JSON can hold it: NaN and +-inf as their text ('nan', 'inf'), keys as text, tuples as lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def event_hash(prev_hash: str, *, event_id: int, ts: float, actor: str, action: str, entity: str,
               entity_id: str, before: Any, after: Any) -> str:
    """The event's hash (64 hex characters): sha256 of `prev_hash` followed by the event as canonical
    JSON (sorted keys, no spaces, `ts` as the repr of the float). The genesis predecessor is 64 zeros."""
    body = json.dumps({"id": event_id, "ts": repr(float(ts)), "actor": actor, "action": action, "entity": entity,
                       "entity_id": entity_id, "before": before, "after": after},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record(*, session: Session, actor: str, action: str, entity: str, entity_id: Any,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event (`actor` did `action` on `entity` `entity_id`, with the state `before` and
    `after`, JSON-ready) in the caller's transaction, so it commits or rolls back with the change.

    Written with three Core statements (lock and read the head, insert the event, move the head) on
    the session's connection; the AuditEvent returned is not attached to the session. `ts` is epoch
    seconds."""
    session.flush()  # the caller's pending changes first, as an ORM query here would have autoflushed
    conn = session.connection()
    head = conn.execute(_HEAD_FOR_UPDATE).first()
    if head is None:  # a store created before the audit table had its head row
        conn.execute(insert(_HEAD_TABLE), {"id": 1, "last_event_id": 0, "last_hash": GENESIS_HASH})
        last_id, last_hash = 0, GENESIS_HASH
    else:
        last_id, last_hash = head
    before, after = _jsonable(before), _jsonable(after)
    event_id = last_id + 1
    ts = time.time()
    entity_id = str(entity_id)
    digest = event_hash(last_hash, event_id=event_id, ts=ts, actor=actor, action=action, entity=entity,
                        entity_id=entity_id, before=before, after=after)
    values = {"id": event_id, "ts": ts, "actor": actor, "action": action, "entity": entity, "entity_id": entity_id,
              "before": before, "after": after, "prev_hash": last_hash, "hash": digest}
    conn.execute(_INSERT_EVENT, values)
    conn.execute(_MOVE_HEAD, {"event_id": event_id, "digest": digest})
    loaded = session.identity_map.get(identity_key(AuditHead, 1))
    if loaded is not None:  # a head this session read the ORM way would now be stale
        session.expire(loaded)
    return AuditEvent(**values)


@dataclass
class VerifyResult:
    """The verdict on the chain: `ok`, how many `events` checked out, and else the first broken event
    and what is wrong with it; `str()` is the one line `mlops audit verify` prints."""

    ok: bool
    events: int
    broken_event_id: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.events} events"
        return f"audit chain broken at event {self.broken_event_id}: {self.problem}"


def _stored_body(event_id: int, ts: float, actor: str, action: str, entity: str, entity_id: str,
                 before_text: str | None, after_text: str | None) -> str:
    """The text `event_hash` hashes, built from the stored JSON as written (see store.db.canonical_json)
    instead of parsing and re-serialising it: verifying 100,000 events stays well under a second."""
    enc = _encode
    return (f'{{"action":{enc(action)},"actor":{enc(actor)},"after":{after_text or "null"},'
            f'"before":{before_text or "null"},"entity":{enc(entity)},"entity_id":{enc(entity_id)},'
            f'"id":{event_id},"ts":{enc(repr(float(ts)))}}}')


def _encode(value: str) -> str:
    """`value` as a JSON string literal, as json.dumps(..., ensure_ascii=False) writes it."""
    return json.dumps(value, ensure_ascii=False)


def verify(*, session: Session) -> VerifyResult:
    """Walk the chain in id order, VERIFY_PAGE events per query: the first event that is missing,
    whose link to its predecessor or whose hash does not match is named, as is a head row that
    records more events than the chain holds (events deleted from the end). Nothing is raised."""
    prev, expected_id, count, last_id = GENESIS_HASH, 1, 0, 0
    columns = (col(AuditEvent.id), col(AuditEvent.ts), col(AuditEvent.actor), col(AuditEvent.action),
               col(AuditEvent.entity), col(AuditEvent.entity_id), cast(col(AuditEvent.before), Text),
               cast(col(AuditEvent.after), Text), col(AuditEvent.prev_hash), col(AuditEvent.hash))
    sha256 = hashlib.sha256
    while True:
        rows = session.execute(select(*columns).where(col(AuditEvent.id) > last_id).order_by(col(AuditEvent.id))
                               .limit(VERIFY_PAGE)).all()
        if not rows:
            break
        for eid, ts, actor, action, entity, entity_id, before_text, after_text, prev_hash, digest in rows:
            if eid != expected_id:
                return VerifyResult(False, count, expected_id, f"event {expected_id} is missing (next is {eid})")
            if prev_hash != prev:
                return VerifyResult(False, count, eid, "its link to the previous event does not match")
            body = _stored_body(eid, ts, actor, action, entity, entity_id, before_text, after_text)
            if sha256((prev + body).encode()).hexdigest() != digest:
                # JSON written some other way (by hand, another serializer): parse and hash canonically
                before = json.loads(before_text) if before_text else None
                after = json.loads(after_text) if after_text else None
                actual = event_hash(prev, event_id=eid, ts=ts, actor=actor, action=action, entity=entity,
                                    entity_id=entity_id, before=before, after=after)
                if actual != digest:
                    return VerifyResult(False, count, eid,
                                        f"its content was changed ({action} on {entity} {entity_id})")
            prev, expected_id, count = digest, expected_id + 1, count + 1
        last_id = rows[-1][0]
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_event_id != count or head.last_hash != prev):
        return VerifyResult(False, count, count + 1,
                            f"the chain ends at event {count} but the head records {head.last_event_id}: "
                            "events were deleted from the end")
    return VerifyResult(True, count)


def events(*, session: Session, entity: str | None = None, entity_id: Any = None, action: str | None = None,
           limit: int = 200, before_id: int | None = None) -> list[AuditEvent]:
    """At most `limit` events, newest first, optionally of one entity (kind, id) or one action; the
    next page starts `before_id` (the smallest id of this one)."""
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if entity is not None:
        query = query.where(col(AuditEvent.entity) == entity)
    if entity_id is not None:
        query = query.where(col(AuditEvent.entity_id) == str(entity_id))
    if action is not None:
        query = query.where(col(AuditEvent.action) == action)
    if before_id is not None:
        query = query.where(col(AuditEvent.id) < before_id)
    found: list[AuditEvent] = list(session.execute(query).scalars().all())
    return found


def trail(*, session: Session, entity: str | None = None, entity_id: Any = None, action: str | None = None,
          limit: int = 200, verify_chain: bool = True) -> AuditTable:
    """The newest `limit` events (optionally one entity's or one action's), newest first, with the
    verdict of `verify` on the whole chain in `.verified` ("" when `verify_chain` is False). A broken
    chain is reported there, not raised: the trail is what one inspects then.

    Raises:
        InvalidInput: `limit` is not a positive whole number.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidInput(f"limit must be a positive whole number, got {limit!r}")
    found = events(session=session, entity=entity, entity_id=entity_id, action=action, limit=limit)
    return audit_table(found, verified=str(verify(session=session)) if verify_chain else "")


def head_hash(*, session: Session) -> str | None:
    """The newest event's hash as the head row records it (64 hex characters), or None on a store with
    no events yet. Kept outside the store, it lets `verify` catch a rewritten chain later."""
    head = session.get(AuditHead, 1)
    return head.last_hash if head is not None else None
