"""Cures: the stage changes to the first stage the contact service consumed (for contacts per cure).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "cures",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column(
            "as_of",
            sa.Date(),
            nullable=False,
            comment="the business date of the stage change to the first stage",
        ),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=False),
        sa.Column(
            "event_id", sa.String(length=255), nullable=False, comment="the collections.stage.changed event"
        ),
        sa.PrimaryKeyConstraint("account_id", "as_of"),
    )
    op.create_index("cures_as_of", "cures", ["as_of"])


def downgrade() -> None:
    op.drop_index("cures_as_of", table_name="cures")
    op.drop_table("cures")
