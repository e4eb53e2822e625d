"""The event runtime's index on ``processed_events.processed_at`` (the retention prune deletes by it).

Revision ID: 0007
"""

from collections_common.runtime import schema

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    schema.upgrade_v4()


def downgrade() -> None:
    schema.downgrade_v4()
