"""A stage change of an account whose debtor is not known yet (its opening not applied) waits
here until the account's ``account.opened`` is applied, instead of going to the dead-letter topic.

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "waiting_stage_changes",
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False, comment="the record's value as consumed"),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("timestamp_type", sa.SmallInteger(), nullable=False),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("source", "event_id"),
        comment="stage changes of accounts not linked to a debtor yet, until the account's opening",
    )
    op.create_index("waiting_stage_changes_account", "waiting_stage_changes", ["account_id"])


def downgrade() -> None:
    op.drop_index("waiting_stage_changes_account", table_name="waiting_stage_changes")
    op.drop_table("waiting_stage_changes")
