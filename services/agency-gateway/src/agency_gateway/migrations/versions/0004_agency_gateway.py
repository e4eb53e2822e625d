"""The agency gateway: registry, API clients and tokens, placed cases, permits, activities,
idempotency keys.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("placement_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("permit_id", sa.String(length=64), nullable=True),
        sa.Column("promise", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "violation", sa.String(length=64), nullable=True, comment="the rule a reported contact broke"
        ),
        sa.Column("reported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("activity_id"),
    )
    op.create_index(
        "activities_agency_violations",
        "activities",
        ["agency_id"],
        unique=False,
        postgresql_where=sa.text("violation IS NOT NULL"),
    )
    op.create_index("activities_placement", "activities", ["placement_id", "at"], unique=False)
    op.create_table(
        "agencies",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("regions", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("contract_start", sa.Date(), nullable=False),
        sa.Column("contract_end", sa.Date(), nullable=False),
        sa.Column("review_due", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "updated_by",
            sa.String(length=255),
            nullable=False,
            comment="the staff subject of the last change",
        ),
        sa.Column(
            "change_sequence",
            sa.BigInteger(),
            server_default=sa.text("0"),
            nullable=False,
            comment="the last change sequence given to one of its cases (locked while assigning)",
        ),
        sa.PrimaryKeyConstraint("agency_id"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("route", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "key"),
    )
    op.create_table(
        "permits",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "permit_id",
            sa.String(length=64),
            nullable=True,
            comment="the contact service's id; null when it did not answer",
        ),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("placement_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("permits_permit", "permits", ["permit_id"], unique=False)
    op.create_table(
        "placements",
        sa.Column("placement_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="placed, recalled, returned or refused"
        ),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("past_due_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "debtor",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="the PlacedDebtor of case.placed",
        ),
        sa.Column(
            "sequence",
            sa.BigInteger(),
            nullable=False,
            comment="the agency's change sequence of its last change",
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("placement_id"),
    )
    op.create_index("placements_agency_case", "placements", ["agency_id", "case_id"], unique=False)
    op.create_index("placements_agency_sequence", "placements", ["agency_id", "sequence"], unique=False)
    op.create_index("placements_case", "placements", ["case_id"], unique=False)
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column(
            "secret_hash",
            sa.String(length=255),
            nullable=False,
            comment="argon2id; the secret itself is never kept",
        ),
        sa.Column(
            "generation",
            sa.Integer(),
            server_default=sa.text("1"),
            nullable=False,
            comment="raised by each rotation; tokens of an older generation are refused",
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.agency_id"],
        ),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_index("api_clients_agency", "api_clients", ["agency_id"], unique=False)
    op.create_table(
        "placement_accounts",
        sa.Column("placement_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("past_due_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True, comment="the as_of of the figures (null: as placed)"),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placements.placement_id"],
        ),
        sa.PrimaryKeyConstraint("placement_id", "account_id"),
    )
    op.create_index("placement_accounts_account", "placement_accounts", ["account_id"], unique=False)
    op.create_table(
        "access_tokens",
        sa.Column(
            "token_hash", sa.LargeBinary(length=32), nullable=False, comment="SHA-256 of the opaque token"
        ),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.client_id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("access_tokens_expiry", "access_tokens", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("access_tokens")
    op.drop_index("placement_accounts_account", table_name="placement_accounts")
    op.drop_table("placement_accounts")
    op.drop_index("api_clients_agency", table_name="api_clients")
    op.drop_table("api_clients")
    op.drop_index("placements_case", table_name="placements")
    op.drop_index("placements_agency_sequence", table_name="placements")
    op.drop_index("placements_agency_case", table_name="placements")
    op.drop_table("placements")
    op.drop_index("permits_permit", table_name="permits")
    op.drop_table("permits")
    op.drop_table("idempotency_keys")
    op.drop_table("agencies")
    op.drop_index("activities_placement", table_name="activities")
    op.drop_index(
        "activities_agency_violations",
        table_name="activities",
        postgresql_where=sa.text("violation IS NOT NULL"),
    )
    op.drop_table("activities")
