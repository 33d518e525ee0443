"""The tamper-evident audit trail: every state change appends an event hashed with its predecessor.

SPEC §3: every state change writes an audit event; SPEC §4: a rewrite of the trail is detectable
by `mlops audit verify`. Services call `record` inside the transaction of the change they audit, so
the event commits or rolls back with it.

hash = HMAC-SHA256(key, prev_hash + canonical JSON of the event), with the store's audit key, kept
outside the database (store.audit_key: where it lives, how it is made). Without the key, someone who
can write the database cannot recompute the chain after changing it; with both, they can (the
threat model in docs/governance.md). Events older than the keyed chain (stores upgraded from an
unkeyed release; the head's `keyed_from` says where keying began) keep their sha256 hashes and are
verified as such, with a warning.

Writers lock the single `audit_head` row (FOR UPDATE on PostgreSQL; SQLite transactions are already
serialised by BEGIN IMMEDIATE), so two concurrent writers can never fork the chain. The head row is
itself authenticated (a MAC over key id, keyed_from, last id and hash): a writer refuses to chain onto
a head that is missing or was changed outside mlops (IntegrityFailure, nothing written), since
chaining onto it would launder the change; after events were deleted from the end under an authentic
head, writes continue and `verify` keeps naming the gap. `verify` recomputes every hash in id order
and names the first event whose content, link or order was changed; the head row catches events
deleted from the end, a missing head, and an emptied trail on a store that had history.

    record(session=s, actor="eve", action="policy.set", entity="policy", entity_id="credit-risk",
           before={...}, after={...})
    str(verify(session=s))          # "audit chain intact: 1234 events"
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, insert, select, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col

from mlops_nb.services.errors import IntegrityFailure, InvalidInput, NotFound
from mlops_nb.services.governance.results import AuditTable, audit_table
from mlops_nb.store.audit_key import AuditKeyError, AuditKeyMissing, head_mac, key_id, key_path, load_key
from mlops_nb.store.models import AuditEvent, AuditHead, RegisteredModel
from mlops_nb.store.models.audit import GENESIS_HASH

VERIFY_PAGE = 5_000  # events read per query while verifying
_EVENT_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]  # SQLModel's stubs omit __table__
_HEAD_TABLE = AuditHead.__table__  # type: ignore[attr-defined]  # SQLModel's stubs omit __table__
_HEAD_COLUMNS = (col(AuditHead.last_event_id), col(AuditHead.last_hash), col(AuditHead.key_id),
                 col(AuditHead.keyed_from), col(AuditHead.mac))
_HEAD = select(*_HEAD_COLUMNS).where(col(AuditHead.id) == 1)
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
_INSERT_EVENT = insert(_EVENT_TABLE)
_MOVE_HEAD = (update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == 1)
              .values(last_event_id=bindparam("event_id"), last_hash=bindparam("digest"), mac=bindparam("head_mac")))
_EVENT_AFTER_HEAD = select(col(AuditEvent.id)).where(col(AuditEvent.id) > bindparam("last_id")).limit(1)
_RESTORE = ("restore the database from a backup (or its audit_head row), then run `mlops audit verify`; "
            "docs/governance.md, Threat model")


def store_key(session: Session) -> bytes:
    """The audit key of the store `session` is bound to (see mlops_nb.store.audit_key for where).

    Raises:
        NotFound: no key file where it is looked for; the message names the path and what to do.
        IntegrityFailure: the key file is unreadable, open to group or others, or not a key.
    """
    url = session.connection().engine.url
    try:
        return load_key(url)
    except AuditKeyMissing as err:
        raise NotFound(str(err)) from None
    except AuditKeyError as err:
        raise IntegrityFailure(str(err)) from None


def _head_problem(head: Any, key: bytes, path: Any) -> str:
    """Why the head row (last id, last hash, key id, keyed_from, mac) cannot be trusted, or ""."""
    if head is None:
        return ("the head row (audit_head) is missing: every store made by mlops has one, so it was deleted "
                "(and events deleted from the end would go unseen)")
    last_id, last_hash, name, keyed_from, mac = head
    if name is None or keyed_from is None or mac is None:
        return "the head row (audit_head) has no key marker: it was changed outside mlops"
    if name != key_id(key):
        return (f"the head row names audit key {name}, but the key at {path} is {key_id(key)}: "
                "a key file of another store, or a head changed outside mlops")
    if not hmac.compare_digest(mac, head_mac(key, key_name=name, keyed_from=keyed_from, last_event_id=last_id,
                                             last_hash=last_hash)):
        return "the head row (audit_head) was changed outside mlops (its MAC does not match)"
    return ""


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
               entity_id: str, before: Any, after: Any, key: bytes | None) -> str:
    """The event's hash (64 hex characters): HMAC-SHA256 under `key` (RFC 2104) of `prev_hash` followed
    by the event as canonical JSON (sorted keys, no spaces, `ts` as the repr of the float); with
    `key=None`, plain sha256, as events written before the keyed chain were. The genesis predecessor
    is 64 zeros."""
    body = json.dumps({"id": event_id, "ts": repr(float(ts)), "actor": actor, "action": action, "entity": entity,
                       "entity_id": entity_id, "before": before, "after": after},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    message = (prev_hash + body).encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.digest(key, message, "sha256").hex()


def record(*, session: Session, actor: str, action: str, entity: str, entity_id: Any,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event (`actor` did `action` on `entity` `entity_id`, with the state `before` and
    `after`, JSON-ready) in the caller's transaction, so it commits or rolls back with the change.

    Written with three Core statements (lock and read the head, insert the event, move the head) on
    the session's connection; the AuditEvent returned is not attached to the session. `ts` is epoch
    seconds. The event is keyed with the store's audit key.

    Raises:
        NotFound: the store's audit key is not where it is looked for (the message names the path).
        IntegrityFailure: the key file is unusable, or the head row is missing or was changed outside
            mlops; nothing is written (the caller's transaction rolls back).
    """
    session.flush()  # the caller's pending changes first, as an ORM query here would have autoflushed
    key = store_key(session)
    conn = session.connection()
    head = conn.execute(_HEAD_FOR_UPDATE).first()
    problem = _head_problem(head, key, key_path(conn.engine.url))
    if problem:
        raise IntegrityFailure(f"audit chain broken: {problem}; governance changes are refused until it is "
                               f"repaired: {_RESTORE}")
    assert head is not None  # _head_problem names a missing head, and one without its marker
    last_id, last_hash, name, keyed_from, _mac = head
    assert name is not None and keyed_from is not None
    if conn.execute(_EVENT_AFTER_HEAD, {"last_id": last_id}).first() is not None:  # else: a raw duplicate-key error
        raise IntegrityFailure(f"audit chain broken: events after the head's last event {last_id} exist, added "
                               f"outside mlops; governance changes are refused until it is repaired: {_RESTORE}")
    before, after = _jsonable(before), _jsonable(after)
    event_id = last_id + 1
    ts = time.time()
    entity_id = str(entity_id)
    digest = event_hash(last_hash, event_id=event_id, ts=ts, actor=actor, action=action, entity=entity,
                        entity_id=entity_id, before=before, after=after, key=key)
    values = {"id": event_id, "ts": ts, "actor": actor, "action": action, "entity": entity, "entity_id": entity_id,
              "before": before, "after": after, "prev_hash": last_hash, "hash": digest}
    conn.execute(_INSERT_EVENT, values)
    conn.execute(_MOVE_HEAD, {"event_id": event_id, "digest": digest,
                              "head_mac": head_mac(key, key_name=name, keyed_from=keyed_from, last_event_id=event_id,
                                                   last_hash=digest)})
    loaded = session.identity_map.get(identity_key(AuditHead, 1))
    if loaded is not None:  # a head this session read the ORM way would now be stale
        session.expire(loaded)
    return AuditEvent(**values)


@dataclass
class VerifyResult:
    """The verdict on the chain: `ok`, how many `events` checked out, and else the first broken event
    (None when what is broken is no event: a missing or changed head row, an emptied trail) and what
    is wrong; `legacy_events` counts events from before the keyed chain (checked with plain sha256),
    and `warning` says what that means. `str()` is the one line `mlops audit verify` prints."""

    ok: bool
    events: int
    broken_event_id: int | None = None
    problem: str = ""
    legacy_events: int = 0

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.events} events"
        if self.broken_event_id is None:
            return f"audit chain broken: {self.problem}"
        return f"audit chain broken at event {self.broken_event_id}: {self.problem}"

    @property
    def warning(self) -> str:
        """"" when every event is keyed; else what the unkeyed (pre-upgrade) events can and cannot prove."""
        if not self.legacy_events:
            return ""
        return (f"warning: events 1-{self.legacy_events} predate the keyed chain (plain sha256): whoever could write "
                "the database before the upgrade could have rewritten them undetected; later events are keyed")


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


def _digest(key: bytes | None, message: bytes) -> str:
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.digest(key, message, "sha256").hex()


def verify(*, session: Session) -> VerifyResult:
    """Walk the chain in id order, VERIFY_PAGE events per query, with the store's audit key: the first
    event that is missing, whose link to its predecessor or whose hash does not match is named; so
    are a head row that is missing, was changed outside mlops, or records more events than the chain
    holds (events deleted from the end), and an empty trail on a store holding registered models
    (each registration is audited). Events before the head's `keyed_from` are checked with plain
    sha256 and counted in `legacy_events`.

    Raises:
        NotFound: the store's audit key is not where it is looked for (the message names the path).
        IntegrityFailure: the key file is unusable (open to others, not a key).
    """
    key = store_key(session)
    head = session.execute(_HEAD).first()
    head_problem = _head_problem(head, key, key_path(session.connection().engine.url))
    # an untrusted head's keyed_from is not believed: every event must then be keyed
    keyed_from = 1 if head_problem or head is None else head[3]
    walked = _walk(session, key, keyed_from)
    if not walked.ok:
        return walked
    count = walked.events
    if head_problem:
        return VerifyResult(False, count, None, head_problem)
    assert head is not None  # _head_problem names a missing head
    if count > head[0]:
        return VerifyResult(False, count, head[0] + 1,
                            f"the head records {head[0]} events but the chain goes on to event {count}: "
                            "events were added outside mlops", walked.legacy_events)
    if head[0] != count or head[1] != walked.problem:
        return VerifyResult(False, count, count + 1,
                            f"the chain ends at event {count} but the head records {head[0]}: "
                            "events were deleted from the end", walked.legacy_events)
    if count == 0:
        models = session.execute(select(func.count()).select_from(RegisteredModel)).scalar_one()
        if models:
            return VerifyResult(False, 0, None, f"the trail is empty but the store holds {models} registered "
                                "models, and every registration is audited: the trail was emptied")
    return VerifyResult(True, count, legacy_events=walked.legacy_events)


def _walk(session: Session, key: bytes, keyed_from: int) -> VerifyResult:
    """Check every event in id order; ok carries the count, the legacy count and (in `problem`) the
    last hash, for the head check; else the first broken event."""
    prev, expected_id, count, last_id = GENESIS_HASH, 1, 0, 0
    columns = (col(AuditEvent.id), col(AuditEvent.ts), col(AuditEvent.actor), col(AuditEvent.action),
               col(AuditEvent.entity), col(AuditEvent.entity_id), cast(col(AuditEvent.before), Text),
               cast(col(AuditEvent.after), Text), col(AuditEvent.prev_hash), col(AuditEvent.hash))
    digest_of = _digest
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
            event_key = key if eid >= keyed_from else None
            body = _stored_body(eid, ts, actor, action, entity, entity_id, before_text, after_text)
            if digest_of(event_key, (prev + body).encode()) != digest:
                # JSON written some other way (by hand, another serializer): parse and hash canonically
                before = json.loads(before_text) if before_text else None
                after = json.loads(after_text) if after_text else None
                actual = event_hash(prev, event_id=eid, ts=ts, actor=actor, action=action, entity=entity,
                                    entity_id=entity_id, before=before, after=after, key=event_key)
                if actual != digest:
                    return VerifyResult(False, count, eid,
                                        f"its content was changed ({action} on {entity} {entity_id})")
            prev, expected_id, count = digest, expected_id + 1, count + 1
        last_id = rows[-1][0]
    return VerifyResult(True, count, problem=prev, legacy_events=min(count, keyed_from - 1))


def _filtered(query: Any, *, entity: str | None, entity_id: Any, action: str | None, actor: str | None,
              action_prefix: str | None, since: float | None, until: float | None) -> Any:
    """`query` narrowed to the events that match every filter given (see `events`)."""
    if entity is not None:
        query = query.where(col(AuditEvent.entity) == entity)
    if entity_id is not None:
        query = query.where(col(AuditEvent.entity_id) == str(entity_id))
    if action is not None:
        query = query.where(col(AuditEvent.action) == action)
    if action_prefix is not None:
        query = query.where(col(AuditEvent.action).startswith(action_prefix, autoescape=True))
    if actor is not None:
        query = query.where(col(AuditEvent.actor) == actor)
    if since is not None:
        query = query.where(col(AuditEvent.ts) >= since)
    if until is not None:
        query = query.where(col(AuditEvent.ts) < until)
    return query


def _check_window(limit: int, offset: int, since: float | None, until: float | None) -> None:
    for name, value, least in (("limit", limit, 1), ("offset", offset, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise InvalidInput(f"{name} must be a whole number of at least {least}, got {value!r}")
    for name, bound in (("since", since), ("until", until)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            raise InvalidInput(f"{name} must be epoch seconds (a number), got {bound!r}")


def events(*, session: Session, entity: str | None = None, entity_id: Any = None, action: str | None = None,
           limit: int = 200, before_id: int | None = None, actor: str | None = None,
           action_prefix: str | None = None, since: float | None = None, until: float | None = None,
           offset: int = 0) -> list[AuditEvent]:
    """At most `limit` events, newest first, skipping the first `offset`, of those that match every
    filter given: one entity kind and id, one `action` (exact) or every action starting with
    `action_prefix` ("promotion." for all of a request's steps), one `actor` (exact name), a time
    window `since` <= ts < `until` (epoch seconds). Pages go by `offset`, or by `before_id` (the
    smallest id of the page before), which stays cheap however deep the trail.

        events(session=s, actor="rita", action_prefix="promotion.", since=t0, limit=50, offset=50)

    Raises:
        InvalidInput: `limit` below 1, `offset` below 0, or `since`/`until` not numbers.
    """
    _check_window(limit, offset, since, until)
    query = _filtered(select(AuditEvent), entity=entity, entity_id=entity_id, action=action, actor=actor,
                      action_prefix=action_prefix, since=since, until=until)
    if before_id is not None:
        query = query.where(col(AuditEvent.id) < before_id)
    query = query.order_by(col(AuditEvent.id).desc()).limit(limit).offset(offset)
    found: list[AuditEvent] = list(session.execute(query).scalars().all())
    return found


def count_events(*, session: Session, entity: str | None = None, entity_id: Any = None, action: str | None = None,
                 actor: str | None = None, action_prefix: str | None = None, since: float | None = None,
                 until: float | None = None) -> int:
    """How many events match the filters (as `events` takes them): what a paged view counts pages by.

    Raises:
        InvalidInput: `since`/`until` not numbers.
    """
    _check_window(1, 0, since, until)
    query = _filtered(select(func.count()).select_from(AuditEvent), entity=entity, entity_id=entity_id,
                      action=action, actor=actor, action_prefix=action_prefix, since=since, until=until)
    return int(session.execute(query).scalar_one())


def event_facets(*, session: Session) -> dict[str, list[str]]:
    """The values the trail holds, for filter choices: {"actors": [...], "actions": [...],
    "entities": [...]}, each distinct and sorted."""
    facets: dict[str, list[str]] = {}
    for key, column in (("actors", AuditEvent.actor), ("actions", AuditEvent.action),
                        ("entities", AuditEvent.entity)):
        facets[key] = [str(v) for v in session.execute(select(col(column)).distinct().order_by(col(column)))
                       .scalars().all()]
    return facets


def trail(*, session: Session, entity: str | None = None, entity_id: Any = None, action: str | None = None,
          limit: int = 200, verify_chain: bool = True, actor: str | None = None, action_prefix: str | None = None,
          since: float | None = None, until: float | None = None, offset: int = 0) -> AuditTable:
    """The newest `limit` events matching the filters (as `events` takes them), newest first, with
    the verdict of `verify` on the whole chain in `.verified` ("" when `verify_chain` is False). A
    broken chain is reported there, not raised: the trail is what one inspects then.

    Raises:
        InvalidInput: `limit` is not a positive whole number, `offset` below 0, `since`/`until` not numbers.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidInput(f"limit must be a positive whole number, got {limit!r}")
    found = events(session=session, entity=entity, entity_id=entity_id, action=action, limit=limit, actor=actor,
                   action_prefix=action_prefix, since=since, until=until, offset=offset)
    verdict = ""
    if verify_chain:
        try:
            verdict = str(verify(session=session))
        except (NotFound, IntegrityFailure) as err:  # no usable key: say so where the verdict goes
            verdict = f"audit chain not verified: {err}"
    return audit_table(found, verified=verdict)


def head_hash(*, session: Session) -> str | None:
    """The newest event's hash as the head row records it (64 hex characters), or None on a store with
    no events yet. Kept outside the store, it lets `verify` catch a rewritten chain later."""
    head = session.get(AuditHead, 1)
    return head.last_hash if head is not None else None


def latest_event_id(*, session: Session) -> int:
    """The id of the newest audit event, 0 on a store with none: it changes with every audited change,
    so readers (the console's caches) can tell that something changed with one cheap query."""
    return int(session.execute(select(func.coalesce(func.max(col(AuditEvent.id)), 0))).scalar_one())
