"""Tables of the aging service (the event runtime's tables come from collections_common).

Facts (statements, payments, reversals, reages) are stored as received; ``accounts`` holds each
account's current figures and ``next_change_on``, the first as-of date at which its stage can
change without a new event, indexed so that a day close touches only those accounts.

The facts and the stage history name their account by ``account_id`` without a foreign key: the
repository writes an account's row in the same transaction as its facts and never deletes one,
and a foreign-key check per fact row (a trigger and a row lock on the account) cost more than
the rest of writing the row (migration 0003).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

ID = String(64)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("partition", Integer, nullable=False, comment="partition of the account-keyed topics"),
    Column("customer_id", ID),
    Column("currency", String(3)),
    Column("opened", Boolean, nullable=False, server_default=text("false")),
    Column("stage", String(32), nullable=False),
    Column("dpd", Integer, nullable=False, server_default=text("0")),
    Column("past_due_minor", BigInteger, nullable=False, server_default=text("0")),
    Column("oldest_unpaid_due_date", Date),
    Column("as_of", Date),
    Column("next_change_on", Date),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "accounts_next_change",
        "partition",
        "next_change_on",
        postgresql_where=text("next_change_on IS NOT NULL"),
    ),
)

statements = Table(
    "statements",
    metadata,
    Column("account_id", ID, nullable=False),
    Column("statement_id", ID, nullable=False),
    Column("statement_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("minimum_due_minor", BigInteger, nullable=False),
    Column("statement_balance_minor", BigInteger, nullable=False),
    Column("event_id", String(255), nullable=False),
    PrimaryKeyConstraint("account_id", "statement_id"),
)

payments = Table(
    "payments",
    metadata,
    Column("account_id", ID, nullable=False),
    Column("payment_id", ID, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("event_id", String(255), nullable=False),
    PrimaryKeyConstraint("account_id", "payment_id"),
)

reversals = Table(
    "reversals",
    metadata,
    Column("account_id", ID, nullable=False),
    Column("payment_id", ID, nullable=False, comment="may name a payment not received yet"),
    Column("reason", String(255)),
    Column("event_id", String(255), nullable=False),
    PrimaryKeyConstraint("account_id", "payment_id"),
)

reages = Table(
    "reages",
    metadata,
    Column("account_id", ID, nullable=False),
    Column("reage_id", ID, nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("reason", String(255)),
    Column("event_id", String(255), nullable=False),
    PrimaryKeyConstraint("account_id", "reage_id"),
)

stage_changes = Table(
    "stage_changes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("account_id", ID, nullable=False),
    Column("from_stage", String(32), nullable=False),
    Column("to_stage", String(32), nullable=False),
    Column("dpd", Integer, nullable=False),
    Column("past_due_minor", BigInteger, nullable=False),
    Column("oldest_unpaid_due_date", Date),
    Column("as_of", Date, nullable=False),
    Column("cause", String(32), nullable=False),
    Column("cause_event_id", String(255), nullable=False),
    Column("event_id", String(255), nullable=False, comment="id of the collections.stage.changed event"),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("stage_changes_account", "account_id", "id"),
    Index("stage_changes_as_of", "as_of"),
)

business_day_closes = Table(
    "business_day_closes",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("event_id", String(255), nullable=False),
    Column(
        "barrier",
        JSONB,
        nullable=False,
        comment='{"topic": {"partition": end offset when the close was read}}',
    ),
    Column("noted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

partition_clocks = Table(
    "partition_clocks",
    metadata,
    Column("partition", Integer, primary_key=True),
    Column(
        "closed_through", Date, nullable=False, comment="the last business date closed for this partition"
    ),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
