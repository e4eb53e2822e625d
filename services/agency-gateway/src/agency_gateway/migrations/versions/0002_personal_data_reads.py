"""The event runtime's audit of personal-data reads (``personal_data_reads``).

Revision ID: 0002
"""

from collections_common.runtime import schema

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    schema.upgrade_v2()


def downgrade() -> None:
    schema.downgrade_v2()
