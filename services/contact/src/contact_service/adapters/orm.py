"""Tables of the contact service (the event runtime's tables come from collections_common)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

ID = 64
NOW = text("now()")

cases = Table(
    "cases",
    metadata,
    Column("customer_id", String(ID), primary_key=True),
    Column("stage", String(32), nullable=False, server_default="CURRENT"),
    Column("stage_entered_at", DateTime(timezone=True), nullable=True),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("language", Text, nullable=False, server_default="zh-CN"),
    Column("consents", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("risk_rating", String(1), nullable=True),
    Column("signals", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("profile_as_of", DateTime(timezone=True), nullable=True),
    Column("unreachable", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=NOW),
)

case_accounts = Table(
    "case_accounts",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("customer_id", String(ID), nullable=False),
    Column("currency", String(3), nullable=True),
    Column("stage", String(32), nullable=True, comment="null until aging says"),
    Column("dpd", Integer, nullable=False, server_default="0"),
    Column("past_due_minor", BigInteger, nullable=False, server_default="0"),
    Column("stage_as_of", Date, nullable=True),
    Column("flags", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("case_accounts_customer", "customer_id"),
)

contact_points = Table(
    "contact_points",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("customer_id", String(ID), nullable=False),
    Column("value", String(320), nullable=False),
    Column("owner", String(16), nullable=False, comment="debtor, guarantor or third_party"),
    Column("source", String(64), nullable=False),
    Column("added_by", String(255), nullable=True),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    UniqueConstraint("customer_id", "value", "owner", name="contact_points_unique"),
)

holds = Table(
    "holds",
    metadata,
    Column("hold_id", String(ID), primary_key=True),
    Column("customer_id", String(ID), nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("reason", Text, nullable=False),
    Column("starts_on", Date, nullable=True),
    Column("ends_on", Date, nullable=False),
    Column("set_by", String(255), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
    Column("ended_on", Date, nullable=True),
    Column("ended_by", String(255), nullable=True),
    Index("holds_customer", "customer_id"),
)

permits = Table(
    "permits",
    metadata,
    Column("permit_id", String(ID), primary_key=True),
    Column("customer_id", String(ID), nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("contact_point", String(320), nullable=False),
    Column("party_kind", String(16), nullable=False),
    Column("party_id", String(ID), nullable=True),
    Column("autodialled", Boolean, nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("pack", String(32), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("rule", String(64), nullable=True),
    Column("retry_after", DateTime(timezone=True), nullable=True),
    Column("requested_by", String(255), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("outcome", String(32), nullable=True, comment="null: pending until expires_at, then unknown"),
    Column("outcome_at", DateTime(timezone=True), nullable=True),
    Column("recording_ref", Text, nullable=True),
    Column("details", JSONB, nullable=True),
    Column("outcome_by", String(255), nullable=True),
    Index("permits_history", "customer_id", "at", postgresql_where=text("allowed")),
    Index("permits_customer_decided", "customer_id", "decided_at"),
    Index("permits_unanswered", "expires_at", postgresql_where=text("allowed AND outcome IS NULL")),
)

inbound_contacts = Table(
    "inbound_contacts",
    metadata,
    Column("contact_id", String(ID), primary_key=True),
    Column("customer_id", String(ID), nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("contact_point", String(320), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("recorded_by", String(255), nullable=True),
    Index("inbound_history", "customer_id", "at"),
)

payments = Table(
    "payments",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("payment_id", String(ID), primary_key=True),
    Column("amount_minor", BigInteger, nullable=True, comment="null: only its reversal was seen"),
    Column("currency", String(3), nullable=True),
    Column("value_date", Date, nullable=True),
    Column("reversed", Boolean, nullable=False, server_default=text("false")),
    Column(
        "log_time_ms",
        BigInteger,
        nullable=True,
        comment="the payment's broker timestamp (LogAppendTime); null: stored before it was kept",
    ),
)

promise_closes = Table(
    "promise_closes",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("log_time_ms", BigInteger, nullable=False, comment="the close's broker timestamp (LogAppendTime)"),
    Column("judged_at", DateTime(timezone=True), nullable=True),
    Index("promise_closes_unjudged", "business_date", postgresql_where=text("judged_at IS NULL")),
)

promises = Table(
    "promises",
    metadata,
    Column("promise_id", String(ID), primary_key=True),
    Column("customer_id", String(ID), nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("made_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("paid_minor", BigInteger, nullable=False, server_default="0"),
    Column("permit_id", String(ID), nullable=True),
    Column("party_kind", String(16), nullable=False),
    Column("party_id", String(ID), nullable=True),
    Column("made_by", String(255), nullable=True),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("decided_as_of", Date, nullable=True),
    Index("promises_open_due", "due_on", postgresql_where=text("status = 'open'")),
    Index("promises_account", "account_id"),
)

planned_contacts = Table(
    "planned_contacts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("customer_id", String(ID), nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("step", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("template", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, comment="pending, sending, sent, blocked, cancelled"),
    Column("next_try_at", DateTime(timezone=True), nullable=False),
    Column("tries", Integer, nullable=False, server_default="0"),
    Column("deferred_rule", String(64), nullable=True),
    Column("permit_id", String(ID), nullable=True),
    Column("language", String(16), nullable=True),
    Column("cancel_reason", String(64), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    UniqueConstraint("customer_id", "stage", "step", "due_at", name="planned_contacts_once"),
    Index("planned_contacts_due", "next_try_at", postgresql_where=text("status IN ('pending', 'sending')")),
    Index(
        "planned_contacts_customer", "customer_id", postgresql_where=text("status IN ('pending', 'sending')")
    ),
)

call_tasks = Table(
    "call_tasks",
    metadata,
    Column("task_id", BigInteger, Identity(), primary_key=True),
    Column("customer_id", String(ID), nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("step", Integer, nullable=False),
    Column("template", String(64), nullable=False),
    Column("priority", Integer, nullable=False, comment="the plan step's priority"),
    Column("score", Integer, nullable=False, server_default="0", comment="domain.priority score"),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, comment="pending, done, cancelled"),
    Column("not_before", DateTime(timezone=True), nullable=False),
    Column("locked_by", String(255), nullable=True),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("permit_id", String(ID), nullable=True),
    Column("cancel_reason", String(64), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("done_by", String(255), nullable=True),
    Column("done_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("customer_id", "stage", "step", "due_at", name="call_tasks_once"),
    Index("call_tasks_queue", "score", "due_at", postgresql_where=text("status = 'pending'")),
    Index("call_tasks_customer", "customer_id", postgresql_where=text("status = 'pending'")),
)

cures = Table(
    "cures",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column(
        "as_of", Date, primary_key=True, comment="the business date of the stage change to the first stage"
    ),
    Column("customer_id", String(ID), nullable=False),
    Column("from_stage", String(32), nullable=False),
    Column("event_id", String(255), nullable=False, comment="the collections.stage.changed event"),
    Index("cures_as_of", "as_of"),
)

waiting_stage_changes = Table(
    "waiting_stage_changes",
    metadata,
    Column("source", String(255), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("account_id", String(ID), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("key", LargeBinary, nullable=True),
    Column("value", LargeBinary, nullable=False, comment="the record's value as consumed"),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("timestamp_type", SmallInteger, nullable=False),
    Column("kept_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Index("waiting_stage_changes_account", "account_id"),
    comment="stage changes of accounts not linked to a debtor yet, until the account's opening",
)
