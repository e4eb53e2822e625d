"""The event runtime's audit of personal-data reads (``personal_data_reads``).

Revision ID: 0003
"""

from collections_common.runtime import schema

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    schema.upgrade_v3()


def downgrade() -> None:
    schema.downgrade_v3()
