"""Aging: accounts, their facts, stage history, day closes and per-partition clocks.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False, comment="partition of the account-keyed topics"),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("opened", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("dpd", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("past_due_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("oldest_unpaid_due_date", sa.Date(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("next_change_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_index(
        "accounts_next_change",
        "accounts",
        ["partition", "next_change_on"],
        unique=False,
        postgresql_where=sa.text("next_change_on IS NOT NULL"),
    )
    op.create_index("accounts_stage", "accounts", ["stage"], unique=False)
    op.create_table(
        "business_day_closes",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column(
            "barrier",
            postgresql.JSONB(astext_type=Text()),
            nullable=False,
            comment='{"topic": {"partition": end offset when the close was read}}',
        ),
        sa.Column("noted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("business_date"),
    )
    op.create_table(
        "partition_clocks",
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column(
            "closed_through",
            sa.Date(),
            nullable=False,
            comment="the last business date closed for this partition",
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("partition"),
    )
    op.create_table(
        "payments",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "payment_id"),
    )
    op.create_table(
        "reages",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("reage_id", sa.String(length=64), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "reage_id"),
    )
    op.create_table(
        "reversals",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column(
            "payment_id", sa.String(length=64), nullable=False, comment="may name a payment not received yet"
        ),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "payment_id"),
    )
    op.create_table(
        "stage_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=False),
        sa.Column("to_stage", sa.String(length=32), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("past_due_minor", sa.BigInteger(), nullable=False),
        sa.Column("oldest_unpaid_due_date", sa.Date(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("cause_event_id", sa.String(length=255), nullable=False),
        sa.Column(
            "event_id",
            sa.String(length=255),
            nullable=False,
            comment="id of the collections.stage.changed event",
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("stage_changes_account", "stage_changes", ["account_id", "id"], unique=False)
    op.create_index("stage_changes_as_of", "stage_changes", ["as_of"], unique=False)
    op.create_table(
        "statements",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("statement_id", sa.String(length=64), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("minimum_due_minor", sa.BigInteger(), nullable=False),
        sa.Column("statement_balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
        ),
        sa.PrimaryKeyConstraint("account_id", "statement_id"),
    )


def downgrade() -> None:
    for table in (
        "partition_clocks",
        "business_day_closes",
        "stage_changes",
        "reages",
        "reversals",
        "payments",
        "statements",
        "accounts",
    ):
        op.drop_table(table)
