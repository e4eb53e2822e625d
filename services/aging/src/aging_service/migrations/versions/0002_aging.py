"""Aging: accounts, their facts, stage history, day closes and per-partition clocks.

Revision ID: 0002
"""

from alembic import op

from aging_service.adapters.orm import metadata

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
