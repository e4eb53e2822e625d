"""Escalation: accounts and debtors with their episodes, decisions, letters, visits, offers, legal
files and steps, placements, bureau flags, the agency registry copy, payments, contact facts and
the business clock.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"

TABLES = (
    "accounts",
    "agencies",
    "bureau_flags",
    "business_clock",
    "contact_facts",
    "debtors",
    "decisions",
    "legal_files",
    "legal_steps",
    "letters",
    "offers",
    "payments",
    "placements",
    "stage_changes_seen",
    "visits",
)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("holder_name", sa.Text(), nullable=True),
        sa.Column("national_id_last4", sa.String(length=4), nullable=True),
        sa.Column("phones", sa.ARRAY(sa.String(length=32)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("address", postgresql.JSONB(astext_type=Text()), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("flags", sa.ARRAY(sa.String(length=64)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("signals", sa.ARRAY(sa.String(length=64)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("dpd", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("past_due_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("oldest_unpaid_due_date", sa.Date(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("episode_number", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("episode_open", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("episode_reached", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_index("accounts_customer", "accounts", ["customer_id"], unique=False)
    op.create_table(
        "agencies",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("regions", sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("contract_start", sa.Date(), nullable=False),
        sa.Column("contract_end", sa.Date(), nullable=False),
        sa.Column("review_due", sa.Date(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("agency_id"),
    )
    op.create_table(
        "bureau_flags",
        sa.Column("decision_key", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("flagged_on", sa.Date(), nullable=False),
        sa.Column("cleared_on", sa.Date(), nullable=True),
        sa.Column("cleared_by_rule", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("decision_key"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("bureau_flags_account", "bureau_flags", ["account_id"], unique=False)
    op.create_table(
        "business_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("closed_through", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "contact_facts",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("contact_facts_account", "contact_facts", ["account_id", "kind"], unique=False)
    op.create_table(
        "debtors",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("episode_number", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("episode_open", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("episode_reached", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "decisions",
        sa.Column("key", sa.String(length=255), nullable=False, comment="the decision's idempotency key"),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("effect", sa.String(length=8), nullable=False, comment="open or close"),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("closes", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column(
            "outcome",
            postgresql.JSONB(astext_type=Text()),
            nullable=True,
            comment="what acting on it did (the allocation explained, the letter id...)",
        ),
        sa.Column(
            "closed_by", sa.String(length=255), nullable=True, comment="for an open decision: what closed it"
        ),
        sa.Column("cause_event_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("decisions_subject", "decisions", ["scope", "subject_id"], unique=False)
    op.create_table(
        "legal_files",
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("decision_key", sa.String(length=255), nullable=True),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("file_id"),
        sa.UniqueConstraint("decision_key"),
        sa.UniqueConstraint("seq"),
    )
    op.create_table(
        "legal_steps",
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("reference", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("recorded_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("file_id", "number"),
    )
    op.create_table(
        "letters",
        sa.Column("letter_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("decision_key", sa.String(length=255), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("past_due_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("overdue_since", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("pay_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False, comment="pending, sent, failed, cancelled"),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pdf_bytes", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("letter_id"),
        sa.UniqueConstraint("decision_key"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("letters_status", "letters", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "offers",
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("decision_key", sa.String(length=255), nullable=True),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="offered, accepted, declined, expired, withdrawn, broken",
        ),
        sa.Column("outstanding_minor", sa.BigInteger(), nullable=False),
        sa.Column("instalments", sa.Integer(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_reduction_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("fee_reduction_basis_points", sa.Integer(), nullable=True),
        sa.Column("first_due_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("offered_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("made_by", sa.String(length=255), nullable=False),
        sa.Column("answered_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("offer_id"),
        sa.UniqueConstraint("decision_key"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("offers_status", "offers", ["status", "expires_on"], unique=False)
    op.create_table(
        "payments",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("reversed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "payment_id"),
    )
    op.create_index("payments_customer", "payments", ["customer_id", "value_date"], unique=False)
    op.create_table(
        "placements",
        sa.Column("placement_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("decision_key", sa.String(length=255), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("past_due_at_placement_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("recalled_on", sa.Date(), nullable=True),
        sa.Column("recall_reason", sa.String(length=32), nullable=True),
        sa.Column("recalled_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("placement_id"),
        sa.UniqueConstraint("decision_key"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index(
        "placements_agency_active",
        "placements",
        ["agency_id"],
        unique=False,
        postgresql_where=sa.text("recalled_on IS NULL"),
    )
    op.create_index(
        "placements_one_active_per_debtor",
        "placements",
        ["customer_id"],
        unique=True,
        postgresql_where=sa.text("recalled_on IS NULL"),
    )
    op.create_table(
        "stage_changes_seen",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("cause_event_id", sa.String(length=255), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=False),
        sa.Column("to_stage", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "cause_event_id", "from_stage", "to_stage", "as_of"),
    )
    op.create_table(
        "visits",
        sa.Column("visit_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("decision_key", sa.String(length=255), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column("materials", sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("visit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arranged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("permit_id", sa.String(length=64), nullable=True),
        sa.Column(
            "staff",
            postgresql.JSONB(astext_type=Text()),
            nullable=True,
            comment="[{staff_id, name}] of a completed visit",
        ),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("record_ref", sa.String(length=255), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("visit_id"),
        sa.UniqueConstraint("decision_key"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("visits_status", "visits", ["status"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
