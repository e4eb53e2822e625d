"""The event runtime's tables and the ledger's own: balances and applications per event.

Revision ID: 0001
"""

from alembic import op

from collections_common.runtime import schema
from tests.runtime.ledger_service import metadata

revision = "0001"
down_revision = None


def upgrade() -> None:
    schema.create_v1()
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
    schema.drop_v1()
