"""The event runtime's tables and the ledger's own: balances and applications per event.

Revision ID: 0001
"""

from alembic import op

from collections_common.runtime import create_runtime_tables, drop_runtime_tables
from tests.runtime.ledger_service import metadata

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_runtime_tables(op.get_bind())
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
    drop_runtime_tables(op.get_bind())
