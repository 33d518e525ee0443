"""The audit trail: append-only events, each hashed together with the previous event's hash."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

GENESIS_HASH = "0" * 64


class AuditEvent(SQLModel, table=True):
    """One state change: when (`ts`, epoch seconds), who, what action on which entity, the entity
    before and after (JSON), and its hash chained to the previous event's."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ts: float
    actor: str = Field(max_length=250)
    action: str = Field(max_length=64, index=True)
    entity: str = Field(max_length=64)
    entity_id: str = Field(max_length=250)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """One row: the newest event's id and hash. Writers lock it, so the chain never forks.

    `key_id` names the audit key (store.audit_key.key_id), `keyed_from` is the first event hashed with
    it (events before it predate the keyed chain: plain sha256), and `mac` authenticates the row
    (store.audit_key.head_mac). All three are set when the store is created or upgraded (migration 0006).
    """

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_event_id: int = 0
    last_hash: str = Field(default=GENESIS_HASH, max_length=64)
    key_id: str | None = Field(default=None, max_length=16)
    keyed_from: int | None = None
    mac: str | None = Field(default=None, max_length=64)
