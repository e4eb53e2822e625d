"""An account's language, region and risk signals are stored as core banking sends them: the
contract bounds none of them (a letter's language is picked from the holder's,
``effects.letter_language``).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.alter_column("accounts", "language", type_=sa.Text())
    op.alter_column("accounts", "region", type_=sa.Text())
    op.alter_column("accounts", "signals", type_=postgresql.ARRAY(sa.Text()), existing_nullable=False)


def downgrade() -> None:
    op.alter_column("accounts", "language", type_=sa.String(16), postgresql_using="left(language, 16)")
    op.alter_column("accounts", "region", type_=sa.String(64), postgresql_using="left(region, 64)")
    op.alter_column(
        "accounts",
        "signals",
        type_=postgresql.ARRAY(sa.String(64)),
        existing_nullable=False,
        postgresql_using="signals::varchar(64)[]",
    )
