"""Promises are judged once the payments published before their close are in: the closes waiting
for judgment, and each payment's broker timestamp.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "promise_closes",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "log_time_ms",
            sa.BigInteger(),
            nullable=False,
            comment="the close's broker timestamp (LogAppendTime)",
        ),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("business_date"),
    )
    op.create_index(
        "promise_closes_unjudged",
        "promise_closes",
        ["business_date"],
        postgresql_where=sa.text("judged_at IS NULL"),
    )
    op.add_column(
        "payments",
        sa.Column(
            "log_time_ms",
            sa.BigInteger(),
            nullable=True,
            comment="the payment's broker timestamp (LogAppendTime); null: stored before it was kept",
        ),
    )


def downgrade() -> None:
    op.drop_column("payments", "log_time_ms")
    op.drop_index("promise_closes_unjudged", table_name="promise_closes")
    op.drop_table("promise_closes")
