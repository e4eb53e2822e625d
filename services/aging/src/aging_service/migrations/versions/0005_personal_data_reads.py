"""The event runtime's audit of personal-data reads (``personal_data_reads``).

Revision ID: 0005
"""

from collections_common.runtime import schema

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    schema.upgrade_v2()


def downgrade() -> None:
    schema.downgrade_v2()
