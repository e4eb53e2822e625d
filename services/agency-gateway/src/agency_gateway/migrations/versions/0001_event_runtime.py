"""The event runtime's tables: processed events, consumer positions, outbox.

Revision ID: 0001
"""

from collections_common.runtime import schema

revision = "0001"
down_revision = None


def upgrade() -> None:
    schema.create_v1()


def downgrade() -> None:
    schema.drop_v1()
