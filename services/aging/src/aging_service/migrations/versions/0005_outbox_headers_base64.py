"""Outbox headers stored in base64, so a header of any bytes fits (JSONB refuses NUL).

Revision ID: 0005
"""

from collections_common.runtime import schema

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    schema.upgrade_v2()


def downgrade() -> None:
    schema.downgrade_v2()
