"""The event runtime's index on ``processed_events.processed_at`` (the retention prune deletes by it).

Revision ID: 0005
"""

from collections_common.runtime import schema

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    schema.upgrade_v4()


def downgrade() -> None:
    schema.downgrade_v4()
