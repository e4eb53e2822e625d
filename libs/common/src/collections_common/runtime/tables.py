"""Tables the event runtime keeps in every service's database.

- ``processed_events``: identities (consumer, source, id) of applied events; a redelivery is a no-op.
- ``consumer_positions``: the next offset to read per (consumer, topic, partition), committed in the
  same transaction as the work; on assignment the consumer seeks here, not to Kafka's offsets.
- ``outbox``: events (and dead letters) to publish, written in the handler's transaction and
  published by the relay in id order per lane (a lane is a hash of the key).
- ``personal_data_reads``: who read which personal fields of whom, when (``collections_common.audit``),
  written in the transaction of the read.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

RUNTIME_METADATA = MetaData()

processed_events = Table(
    "processed_events",
    RUNTIME_METADATA,
    Column("consumer", String(120), nullable=False),
    Column("source", String(255), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "source", "event_id"),
    Index("processed_events_processed_at", "processed_at"),  # the retention prune deletes by it
)

consumer_positions = Table(
    "consumer_positions",
    RUNTIME_METADATA,
    Column("consumer", String(120), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("next_offset", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "topic", "partition"),
)

outbox = Table(
    "outbox",
    RUNTIME_METADATA,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("lane", Integer, nullable=False),
    Column("topic", String(255), nullable=False),
    Column("key", LargeBinary, nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("event_id", String(255), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Index("outbox_pending", "lane", "id", postgresql_where=text("published_at IS NULL")),
    Index("outbox_published", "published_at", postgresql_where=text("published_at IS NOT NULL")),
)

personal_data_reads = Table(
    "personal_data_reads",
    RUNTIME_METADATA,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_kind", String(16), nullable=False, comment="staff or agency_client"),
    Column("actor_id", String(255), nullable=False, comment="the token's subject, or the agency client id"),
    Column("actor_roles", ARRAY(String(64)), nullable=False, server_default=text("'{}'")),
    Column("agency_id", String(64), nullable=True, comment="the agency of an agency client"),
    Column("subject_kind", String(32), nullable=False, comment="customer, case, account..."),
    Column("subject_id", String(255), nullable=False),
    Column("fields", ARRAY(String(64)), nullable=False),
    Column("route", String(255), nullable=False, comment="method and route template"),
    Column("request_id", String(64), nullable=True),
    Index("personal_data_reads_subject", "subject_kind", "subject_id", "at"),
    Index("personal_data_reads_actor", "actor_id", "at"),
    Index("personal_data_reads_at", "at"),
)
