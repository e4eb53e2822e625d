"""Contact: an index for the permits that expire unanswered (the expiry worker's query).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_index(
        "permits_unanswered",
        "permits",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("allowed AND outcome IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "permits_unanswered", table_name="permits", postgresql_where=sa.text("allowed AND outcome IS NULL")
    )
