"""Tables of the agency-gateway service (the event runtime's tables come from collections_common)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

agencies = Table(
    "agencies",
    metadata,
    Column("agency_id", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("regions", ARRAY(String(64)), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("contract_start", Date, nullable=False),
    Column("contract_end", Date, nullable=False),
    Column("review_due", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(255), nullable=False, comment="the staff subject of the last change"),
    Column(
        "change_sequence",
        BigInteger,
        nullable=False,
        server_default=text("0"),
        comment="the last change sequence given to one of its cases (locked while assigning)",
    ),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("agency_id", String(64), ForeignKey("agencies.agency_id"), nullable=False),
    Column("secret_hash", String(255), nullable=False, comment="argon2id; the secret itself is never kept"),
    Column(
        "generation",
        Integer,
        nullable=False,
        server_default=text("1"),
        comment="raised by each rotation; tokens of an older generation are refused",
    ),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_by", String(255), nullable=False),
    Index("api_clients_agency", "agency_id"),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True, comment="SHA-256 of the opaque token"),
    Column("client_id", String(64), ForeignKey("api_clients.client_id"), nullable=False),
    Column("generation", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("access_tokens_expiry", "expires_at"),
)

placements = Table(
    "placements",
    metadata,
    Column("placement_id", String(64), primary_key=True),
    Column("case_id", String(64), nullable=False),
    Column("agency_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("status", String(16), nullable=False, comment="placed, recalled, returned or refused"),
    Column("placed_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("stage", String(32), nullable=False),
    Column("dpd", Integer, nullable=False),
    Column("past_due_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("debtor", JSONB, nullable=False, comment="the PlacedDebtor of case.placed"),
    Column("sequence", BigInteger, nullable=False, comment="the agency's change sequence of its last change"),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("end_reason", String(500), nullable=True),
    Index("placements_agency_sequence", "agency_id", "sequence"),
    Index("placements_agency_case", "agency_id", "case_id"),
    Index("placements_case", "case_id"),
)

placement_accounts = Table(
    "placement_accounts",
    metadata,
    Column("placement_id", String(64), ForeignKey("placements.placement_id"), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("dpd", Integer, nullable=False),
    Column("past_due_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("as_of", Date, nullable=True, comment="the as_of of the figures (null: as placed)"),
    PrimaryKeyConstraint("placement_id", "account_id"),
    Index("placement_accounts_account", "account_id"),
)

permits = Table(
    "permits",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "permit_id",
        String(64),
        nullable=True,
        comment="the contact service's id; null when it did not answer",
    ),
    Column("agency_id", String(64), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("placement_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("rule", String(64), nullable=True),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Index("permits_permit", "permit_id"),
)

activities = Table(
    "activities",
    metadata,
    Column("activity_id", String(64), primary_key=True),
    Column("agency_id", String(64), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("placement_id", String(64), nullable=False),
    Column("case_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("channel", String(16), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("permit_id", String(64), nullable=True),
    Column("promise", JSONB, nullable=True),
    Column("violation", String(64), nullable=True, comment="the rule a reported contact broke"),
    Column("reported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("activities_placement", "placement_id", "at"),
    Index("activities_agency_violations", "agency_id", postgresql_where=text("violation IS NOT NULL")),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("agency_id", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("route", String(255), nullable=False),
    Column("request_hash", LargeBinary(32), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("agency_id", "key"),
)
