"""Contact: cases per debtor, their accounts, contact points, holds, permits, inbound contacts,
payments and promises, planned contacts and call tasks.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "call_tasks",
        sa.Column("task_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, comment="the plan step's priority"),
        sa.Column("score", sa.Integer(), server_default="0", nullable=False, comment="domain.priority score"),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False, comment="pending, done, cancelled"),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=255), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("permit_id", sa.String(length=64), nullable=True),
        sa.Column("cancel_reason", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("done_by", sa.String(length=255), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("task_id"),
        sa.UniqueConstraint("customer_id", "stage", "step", "due_at", name="call_tasks_once"),
    )
    op.create_index(
        "call_tasks_customer",
        "call_tasks",
        ["customer_id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "call_tasks_queue",
        "call_tasks",
        ["score", "due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "case_accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=True, comment="null until aging says"),
        sa.Column("dpd", sa.Integer(), server_default="0", nullable=False),
        sa.Column("past_due_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("stage_as_of", sa.Date(), nullable=True),
        sa.Column(
            "flags",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_index("case_accounts_customer", "case_accounts", ["customer_id"], unique=False)
    op.create_table(
        "cases",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=32), server_default="CURRENT", nullable=False),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("language", sa.String(length=16), server_default="zh-CN", nullable=False),
        sa.Column(
            "consents",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("risk_rating", sa.String(length=1), nullable=True),
        sa.Column("signals", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("profile_as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unreachable", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "contact_points",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("owner", sa.String(length=16), nullable=False, comment="debtor, guarantor or third_party"),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=255), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "value", "owner", name="contact_points_unique"),
    )
    op.create_table(
        "holds",
        sa.Column("hold_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("set_by", sa.String(length=255), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("ended_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("hold_id"),
    )
    op.create_index("holds_customer", "holds", ["customer_id"], unique=False)
    op.create_table(
        "inbound_contacts",
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("contact_point", sa.String(length=320), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("recorded_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_index("inbound_history", "inbound_contacts", ["customer_id", "at"], unique=False)
    op.create_table(
        "payments",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True, comment="null: only its reversal was seen"),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("reversed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "payment_id"),
    )
    op.create_table(
        "permits",
        sa.Column("permit_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("contact_point", sa.String(length=320), nullable=False),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=True),
        sa.Column("autodialled", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pack", sa.String(length=32), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("retry_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "outcome",
            sa.String(length=32),
            nullable=True,
            comment="null: pending until expires_at, then unknown",
        ),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recording_ref", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("outcome_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("permit_id"),
    )
    op.create_index("permits_customer_decided", "permits", ["customer_id", "decided_at"], unique=False)
    op.create_index(
        "permits_history", "permits", ["customer_id", "at"], unique=False, postgresql_where=sa.text("allowed")
    )
    op.create_table(
        "planned_contacts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="pending, sending, sent, blocked, cancelled",
        ),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deferred_rule", sa.String(length=64), nullable=True),
        sa.Column("permit_id", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("cancel_reason", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "stage", "step", "due_at", name="planned_contacts_once"),
    )
    op.create_index(
        "planned_contacts_customer",
        "planned_contacts",
        ["customer_id"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index(
        "planned_contacts_due",
        "planned_contacts",
        ["next_try_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_table(
        "promises",
        sa.Column("promise_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("permit_id", sa.String(length=64), nullable=True),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("party_id", sa.String(length=64), nullable=True),
        sa.Column("made_by", sa.String(length=255), nullable=True),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_as_of", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("promise_id"),
    )
    op.create_index("promises_account", "promises", ["account_id"], unique=False)
    op.create_index(
        "promises_open_due", "promises", ["due_on"], unique=False, postgresql_where=sa.text("status = 'open'")
    )


def downgrade() -> None:
    op.drop_index("promises_open_due", table_name="promises", postgresql_where=sa.text("status = 'open'"))
    op.drop_index("promises_account", table_name="promises")
    op.drop_table("promises")
    op.drop_index(
        "planned_contacts_due",
        table_name="planned_contacts",
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.drop_index(
        "planned_contacts_customer",
        table_name="planned_contacts",
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.drop_table("planned_contacts")
    op.drop_index("permits_history", table_name="permits", postgresql_where=sa.text("allowed"))
    op.drop_index("permits_customer_decided", table_name="permits")
    op.drop_table("permits")
    op.drop_table("payments")
    op.drop_index("inbound_history", table_name="inbound_contacts")
    op.drop_table("inbound_contacts")
    op.drop_index("holds_customer", table_name="holds")
    op.drop_table("holds")
    op.drop_table("contact_points")
    op.drop_table("cases")
    op.drop_index("case_accounts_customer", table_name="case_accounts")
    op.drop_table("case_accounts")
    op.drop_index("call_tasks_queue", table_name="call_tasks", postgresql_where=sa.text("status = 'pending'"))
    op.drop_index(
        "call_tasks_customer", table_name="call_tasks", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_table("call_tasks")
