"""The integration tables (migration 0012_integration), on the schema's shared metadata.

Kept here rather than in store/schema.py so that the integration package owns its storage; they are
registered on the same `metadata`, so `mianshen db` and autogenerate see them.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from mianshen.store.schema import metadata

# A department system that wants to be told: where to post, which events, how to sign.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("department", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event types
    Column("algorithm", String(16), nullable=False),  # hmac-sm3 | hmac-sha256
    Column("secret", Text, nullable=False),  # SM4-sealed (integration/secrets.py)
    Column("previous_secret", Text),  # still accepted by receivers until previous_until (rotation)
    Column("previous_until", DateTime(timezone=True)),
    Column("active", Integer, nullable=False),
    Column("from_audit_id", Integer, nullable=False),  # gets the events of audit rows after this one
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One business event, derived from one audit row (so it exists iff the change committed).
integration_events = Table(
    "integration_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_key", String(96), nullable=False, unique=True),  # the idempotency key receivers dedup on
    Column("kind", String(48), nullable=False),
    Column("audit_id", Integer, nullable=False, index=True),
    Column("department", Text),  # the policy's department; None for a data request (see `source`)
    Column("source", Text),  # a data request: the catalogue source that holds the field
    Column("region", String(12)),
    Column("policy_id", String(64)),
    Column("payload", Text, nullable=False),  # JSON, exactly what is posted
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One event to one subscription: the unit of at-least-once delivery.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("event_id", Integer, ForeignKey("integration_events.id"), nullable=False),
    Column("status", String(16), nullable=False),  # pending | sending | sent | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("subscription_id", "event_id", name="uq_delivery_once"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

# How far the publisher has read the audit log.
integration_cursor = Table(
    "integration_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
)

# A department system's credential for the inbound API: only the hash of the secret is kept.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_id", String(32), nullable=False, unique=True),  # the public half, e.g. msk_3f9a…
    Column("secret_hash", String(64), nullable=False),  # SM3 of the secret half
    Column("department", Text, nullable=False),
    Column("role", String(24), nullable=False),  # department (its policies and data) | finance (payments)
    Column("region", String(6)),  # None: the whole province
    Column("label", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)
