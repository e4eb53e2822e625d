"""Drop the index on ``accounts.stage``: no query reads through it (the summaries group every row
by stage and currency and sum their past due from the table), and each account upsert paid for
maintaining it.

Revision ID: 0004
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.drop_index("accounts_stage", table_name="accounts")


def downgrade() -> None:
    op.create_index("accounts_stage", "accounts", ["stage"], unique=False)
