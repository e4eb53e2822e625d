"""The event runtime's tables: processed events, consumer positions, outbox.

Revision ID: 0001
"""

from alembic import op

from collections_common.runtime import create_runtime_tables, drop_runtime_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_runtime_tables(op.get_bind())


def downgrade() -> None:
    drop_runtime_tables(op.get_bind())
