"""Facts and stage history name their account without a foreign key (see adapters/orm.py).

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"

_TABLES = ("statements", "payments", "reversals", "reages", "stage_changes")


def upgrade() -> None:
    for table in _TABLES:
        op.drop_constraint(f"{table}_account_id_fkey", table, type_="foreignkey")


def downgrade() -> None:
    for table in _TABLES:
        op.create_foreign_key(f"{table}_account_id_fkey", table, "accounts", ["account_id"], ["account_id"])
