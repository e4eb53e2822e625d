"""The event runtime's audit of personal-data reads (``personal_data_reads``).

Revision ID: 0006
"""

from collections_common.runtime import schema

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    schema.upgrade_v3()


def downgrade() -> None:
    schema.downgrade_v3()
