"""A debtor's language is stored as core banking sends it: the contract's `holder.language` is
any string, and the templates' language is picked from it (``plans.pick_language``).

Revision ID: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.alter_column("cases", "language", type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    op.alter_column(
        "cases",
        "language",
        type_=sa.String(16),
        existing_nullable=False,
        postgresql_using="left(language, 16)",
    )
