"""The event runtime's tables as Alembic operations, frozen per version.

Each service's first migration calls :func:`create_v1`. A later change to the runtime's tables
comes as a new function here (``upgrade_v2``...) called by a new migration in every service, so a
migration always creates exactly what it created when it was written: :func:`upgrade_v3` adds the
audit of personal-data reads, :func:`upgrade_v4` the index the retention prune reads
``processed_events`` by. ``tables.py`` holds the
same tables for the code that reads and writes them; a test checks that the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql


def create_v1() -> None:
    op.create_table(
        "consumer_positions",
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "topic", "partition"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("lane", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "outbox_pending",
        "outbox",
        ["lane", "id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "outbox_published",
        "outbox",
        ["published_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("consumer", "source", "event_id"),
    )


def drop_v1() -> None:
    op.drop_table("processed_events")
    op.drop_table("outbox")
    op.drop_table("consumer_positions")


_B64 = "translate(encode({}, 'base64'), E'\\n', '')"


def upgrade_v2() -> None:
    """Outbox headers as ``[[name, value], ...]`` in base64: JSONB refuses NUL, so a header value
    holding one could not be stored (and a dead letter carrying it could not be written)."""
    name = _B64.format("convert_to(h->>0, 'UTF8')")
    value = _B64.format("convert_to(h->>1, 'UTF8')")
    op.execute(
        "UPDATE outbox SET headers = (SELECT coalesce(jsonb_agg(jsonb_build_array("
        f"{name}, {value}) ORDER BY n), '[]'::jsonb)"
        " FROM jsonb_array_elements(headers) WITH ORDINALITY AS e(h, n))"
        " WHERE published_at IS NULL"
    )


def downgrade_v2() -> None:
    """Headers back to text. It fails on an unpublished header that is not NUL-free UTF-8 (which
    the first version cannot hold): let the relay publish the outbox first."""
    op.execute(
        "UPDATE outbox SET headers = (SELECT coalesce(jsonb_agg(jsonb_build_array("
        "convert_from(decode(h->>0, 'base64'), 'UTF8'), convert_from(decode(h->>1, 'base64'), 'UTF8'))"
        " ORDER BY n), '[]'::jsonb) FROM jsonb_array_elements(headers) WITH ORDINALITY AS e(h, n))"
        " WHERE published_at IS NULL"
    )


def upgrade_v3() -> None:
    """The audit of personal-data reads (``personal_data_reads``)."""
    op.create_table(
        "personal_data_reads",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False, comment="staff or agency_client"),
        sa.Column(
            "actor_id",
            sa.String(length=255),
            nullable=False,
            comment="the token's subject, or the agency client id",
        ),
        sa.Column(
            "actor_roles",
            postgresql.ARRAY(sa.String(length=64)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("agency_id", sa.String(length=64), nullable=True, comment="the agency of an agency client"),
        sa.Column("subject_kind", sa.String(length=32), nullable=False, comment="customer, case, account..."),
        sa.Column("subject_id", sa.String(length=255), nullable=False),
        sa.Column("fields", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column(
            "route",
            sa.String(length=255),
            nullable=False,
            comment="method and route template",
        ),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "personal_data_reads_subject", "personal_data_reads", ["subject_kind", "subject_id", "at"]
    )
    op.create_index("personal_data_reads_actor", "personal_data_reads", ["actor_id", "at"])
    op.create_index("personal_data_reads_at", "personal_data_reads", ["at"])


def downgrade_v3() -> None:
    op.drop_table("personal_data_reads")


def upgrade_v4() -> None:
    """An index on ``processed_events.processed_at``: the retention prune deletes by it."""
    op.create_index("processed_events_processed_at", "processed_events", ["processed_at"])


def downgrade_v4() -> None:
    op.drop_index("processed_events_processed_at", table_name="processed_events")
