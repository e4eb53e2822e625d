"""Tables of the escalation service (the event runtime's tables come from collections_common).

- ``accounts``, ``debtors``: what escalation knows of each account (holder, flags, signals, its
  stage and its delinquency episode) and of each debtor (their episode);
- ``stage_changes_seen``: the facts of every stage change applied, so the same change sent again
  under another event id changes nothing;
- ``decisions``: every decision with the rule that made it and the facts it used, keyed by its
  idempotency key (a rule run twice on the same facts acts once);
- ``letters``, ``visits``, ``offers``, ``legal_files`` / ``legal_steps``, ``placements``,
  ``bureau_flags``: what the decisions opened, and how the bank's teams worked them;
- ``agencies``: the copy of the agency gateway's registry; ``payments``: payments seen, for each
  agency's recovery rate; ``contact_facts``: contact outcomes kept as facts;
- ``business_clock``: the last business day core banking closed.

Every list the API pages through has a ``seq`` (an identity column) its cursor points at.
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

ID = String(64)
STAGE = String(32)


def _seq() -> Column[int]:
    return Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True)


def _created() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


accounts = Table(
    "accounts",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("customer_id", ID),
    Column("holder_name", Text),
    Column("national_id_last4", String(4)),
    Column("phones", ARRAY(String(32)), nullable=False, server_default=text("'{}'")),
    Column("email", Text),
    Column("address", JSONB),
    Column("region", Text),
    Column("language", Text),
    Column("flags", ARRAY(String(64)), nullable=False, server_default=text("'{}'")),
    Column("signals", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("stage", STAGE),
    Column("dpd", Integer, nullable=False, server_default=text("0")),
    Column("past_due_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("currency", String(3)),
    Column("oldest_unpaid_due_date", Date),
    Column("as_of", Date),
    Column("episode_number", Integer, nullable=False, server_default=text("0")),
    Column("episode_open", Boolean, nullable=False, server_default=text("false")),
    Column("episode_reached", Integer, nullable=False, server_default=text("0")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("accounts_customer", "customer_id"),
)

debtors = Table(
    "debtors",
    metadata,
    Column("customer_id", ID, primary_key=True),
    Column("episode_number", Integer, nullable=False, server_default=text("0")),
    Column("episode_open", Boolean, nullable=False, server_default=text("false")),
    Column("episode_reached", Integer, nullable=False, server_default=text("0")),
)

stage_changes_seen = Table(
    "stage_changes_seen",
    metadata,
    Column("account_id", ID, nullable=False),
    Column("cause_event_id", String(255), nullable=False),
    Column("from_stage", STAGE, nullable=False),
    Column("to_stage", STAGE, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("event_id", String(255), nullable=False),
    _created(),
    PrimaryKeyConstraint("account_id", "cause_event_id", "from_stage", "to_stage", "as_of"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("key", String(255), primary_key=True, comment="the decision's idempotency key"),
    _seq(),
    Column("rule_id", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("effect", String(8), nullable=False, comment="open or close"),
    Column("scope", String(8), nullable=False),
    Column("subject_id", ID, nullable=False),
    Column("account_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("facts", JSONB, nullable=False),
    Column("closes", String(255)),
    Column("reason", String(64)),
    Column("outcome", JSONB, comment="what acting on it did (the allocation explained, the letter id...)"),
    Column("closed_by", String(255), comment="for an open decision: what closed it"),
    Column("cause_event_id", String(255), nullable=False),
    _created(),
    Index("decisions_subject", "scope", "subject_id"),
)

letters = Table(
    "letters",
    metadata,
    Column("letter_id", ID, primary_key=True),
    _seq(),
    Column("decision_key", String(255), nullable=False, unique=True),
    Column("rule_id", String(128), nullable=False),
    Column("account_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("language", String(16), nullable=False),
    Column("past_due_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("dpd", Integer, nullable=False),
    Column("overdue_since", Date, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("pay_by", Date, nullable=False),
    Column("status", String(16), nullable=False, comment="pending, sent, failed, cancelled"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("provider_ref", String(255)),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Column("pdf_bytes", Integer),
    Column("updated_by", String(255), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _created(),
    Index("letters_status", "status", "next_attempt_at"),
)

visits = Table(
    "visits",
    metadata,
    Column("visit_id", ID, primary_key=True),
    _seq(),
    Column("decision_key", String(255), unique=True),
    Column("customer_id", ID, nullable=False),
    Column("account_id", ID, nullable=False),
    Column("status", String(16), nullable=False),
    Column("scheduled_on", Date, nullable=False),
    Column("materials", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("plan", Text),
    Column("visit_at", DateTime(timezone=True)),
    Column("arranged_at", DateTime(timezone=True)),
    Column("permit_id", ID),
    Column("staff", JSONB, comment="[{staff_id, name}] of a completed visit"),
    Column("outcome", String(32)),
    Column("record_ref", String(255)),
    Column("completed_at", DateTime(timezone=True)),
    Column("notes", Text),
    Column("cancel_reason", Text),
    Column("updated_by", String(255), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _created(),
    Index("visits_status", "status"),
)

offers = Table(
    "offers",
    metadata,
    Column("offer_id", ID, primary_key=True),
    _seq(),
    Column("decision_key", String(255), unique=True),
    Column("rule_id", String(128), nullable=False),
    Column("account_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column(
        "status",
        String(16),
        nullable=False,
        comment="offered, accepted, declined, expired, withdrawn, broken",
    ),
    Column("outstanding_minor", BigInteger, nullable=False),
    Column("instalments", Integer, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("fee_reduction_amount_minor", BigInteger),
    Column("fee_reduction_basis_points", Integer),
    Column("first_due_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("offered_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("answered_on", Date),
    Column("made_by", String(255), nullable=False),
    Column("answered_by", String(255)),
    _created(),
    Index("offers_status", "status", "expires_on"),
)

legal_files = Table(
    "legal_files",
    metadata,
    Column("file_id", ID, primary_key=True),
    _seq(),
    Column("decision_key", String(255), unique=True),
    Column("rule_id", String(128), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("account_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date),
    Column("close_reason", Text),
    Column("closed_by", String(255)),
    _created(),
)

legal_steps = Table(
    "legal_steps",
    metadata,
    Column("file_id", ID, nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("on", Date, nullable=False),
    Column("reference", Text, nullable=False, server_default=text("''")),
    Column("recorded_by", String(255), nullable=False),
    _created(),
    PrimaryKeyConstraint("file_id", "number"),
)

placements = Table(
    "placements",
    metadata,
    Column("placement_id", ID, primary_key=True),
    _seq(),
    Column("decision_key", String(255), nullable=False, unique=True),
    Column("rule_id", String(128), nullable=False),
    Column("agency_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("account_id", ID, nullable=False),
    Column("placed_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("past_due_at_placement_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("recalled_on", Date),
    Column("recall_reason", String(32)),
    Column("recalled_by", String(255)),
    _created(),
    Index("placements_agency_active", "agency_id", postgresql_where=text("recalled_on IS NULL")),
    Index(
        "placements_one_active_per_debtor",
        "customer_id",
        unique=True,
        postgresql_where=text("recalled_on IS NULL"),
    ),
)

bureau_flags = Table(
    "bureau_flags",
    metadata,
    Column("decision_key", String(255), primary_key=True),
    _seq(),
    Column("rule_id", String(128), nullable=False),
    Column("account_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("flagged_on", Date, nullable=False),
    Column("cleared_on", Date),
    Column("cleared_by_rule", String(128)),
    _created(),
    Index("bureau_flags_account", "account_id"),
)

agencies = Table(
    "agencies",
    metadata,
    Column("agency_id", ID, primary_key=True),
    Column("name", Text, nullable=False),
    Column("regions", ARRAY(String(64)), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("contract_start", Date, nullable=False),
    Column("contract_end", Date, nullable=False),
    Column("review_due", Date, nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

payments = Table(
    "payments",
    metadata,
    Column("account_id", ID, nullable=False),
    Column("payment_id", ID, nullable=False),
    Column("customer_id", ID),
    Column("amount_minor", BigInteger, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("reversed", Boolean, nullable=False, server_default=text("false")),
    PrimaryKeyConstraint("account_id", "payment_id"),
    Index("payments_customer", "customer_id", "value_date"),
)

contact_facts = Table(
    "contact_facts",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("account_id", ID, nullable=False),
    Column("customer_id", ID, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("at", DateTime(timezone=True)),
    Column("detail", JSONB, nullable=False),
    Index("contact_facts_account", "account_id", "kind"),
)

business_clock = Table(
    "business_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("closed_through", Date, nullable=False),
)
