"""CloudEvents the escalation service consumes, as their producers publish them (for the tests)."""

from __future__ import annotations

import uuid
from typing import Any

TOPIC_OF = {
    "corebank.account.opened": "corebank.accounts.v1",
    "corebank.account.updated": "corebank.accounts.v1",
    "corebank.payment.posted": "corebank.payments.v1",
    "corebank.business-day.closed": "corebank.calendar.v1",
    "collections.stage.changed": "collections.delinquency.v1",
    "collections.hardship.reported": "collections.contact.v1",
    "collections.complaint.received": "collections.contact.v1",
    "collections.agency.registered": "collections.agency.v1",
    "collections.agency.updated": "collections.agency.v1",
}
SOURCES = {
    "corebank.accounts.v1": "corebank",
    "corebank.payments.v1": "corebank",
    "corebank.calendar.v1": "corebank",
    "collections.delinquency.v1": "collections/aging",
    "collections.contact.v1": "collections/contact",
    "collections.agency.v1": "collections/agency-gateway",
}


def event(type_: str, data: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """``{topic, event}`` for ``type_`` with ``data``, a fresh id unless given."""
    topic = TOPIC_OF[type_]
    return {
        "topic": topic,
        "event": {
            "specversion": "1.0",
            "id": event_id or uuid.uuid4().hex,
            "source": SOURCES[topic],
            "type": type_,
            "subject": data.get("account_id") or data.get("agency_id") or "calendar",
            "datacontenttype": "application/json",
            "data": data,
        },
    }


def agency(
    agency_id: str,
    *,
    regions: list[str],
    capacity: int,
    review_due: str = "2027-01-01",
    active: bool = True,
    updated: bool = False,
) -> dict[str, Any]:
    return event(
        "collections.agency.updated" if updated else "collections.agency.registered",
        {
            "agency_id": agency_id,
            "name": f"Agency {agency_id}",
            "regions": regions,
            "capacity": capacity,
            "active": active,
            "contract_start": "2025-01-01",
            "contract_end": "2027-12-31",
            "review_due": review_due,
        },
    )


def account_opened(
    account_id: str,
    customer_id: str,
    *,
    region: str = "Shanghai",
    language: str = "zh-CN",
    name: str = "张三",
) -> dict[str, Any]:
    return event(
        "corebank.account.opened",
        {
            "account_id": account_id,
            "customer_id": customer_id,
            "currency": "CNY",
            "credit_limit_minor": 5_000_000,
            "opened_on": "2024-01-05",
            "holder": {
                "name": name,
                "national_id": "310101199001011234",
                "phones": ["+8613800000000"],
                "email": "zhang@example.com",
                "address": {
                    "line1": "1 Nanjing Road",
                    "city": "Shanghai",
                    "region": region,
                    "postal_code": "200001",
                    "country": "CN",
                },
                "timezone": "Asia/Shanghai",
                "language": language,
            },
            "consents": {"sms": True, "email": True, "push": True, "autodial": False},
        },
    )


def stage_changed(
    account_id: str,
    customer_id: str | None,
    from_stage: str,
    to_stage: str,
    *,
    past_due_minor: int,
    dpd: int,
    as_of: str,
    cause_event_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return event(
        "collections.stage.changed",
        {
            "account_id": account_id,
            "customer_id": customer_id,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "dpd": dpd,
            "past_due_minor": past_due_minor if to_stage != "CURRENT" else 0,
            "oldest_unpaid_due_date": None if to_stage == "CURRENT" else "2026-01-25",
            "as_of": as_of,
            "cause": "day_close",
            "cause_event_id": cause_event_id or uuid.uuid4().hex,
            "currency": "CNY",
        },
        event_id=event_id,
    )


def flags(account_id: str, **values: bool) -> dict[str, Any]:
    return event("corebank.account.updated", {"account_id": account_id, "flags": values})


def complaint(account_id: str, customer_id: str, agency_id: str) -> dict[str, Any]:
    return event(
        "collections.complaint.received",
        {
            "complaint_id": uuid.uuid4().hex[:12],
            "account_id": account_id,
            "customer_id": customer_id,
            "against": {"kind": "agency", "id": agency_id},
            "at": "2026-04-10T10:00:00+08:00",
            "category": "harassment",
        },
    )


def hardship(account_id: str, customer_id: str, *, willing: bool = True) -> dict[str, Any]:
    return event(
        "collections.hardship.reported",
        {
            "account_id": account_id,
            "customer_id": customer_id,
            "at": "2026-04-10T10:00:00+08:00",
            "willing_to_pay": willing,
            "source": "collector",
        },
    )


def day_closed(business_date: str) -> dict[str, Any]:
    return event("corebank.business-day.closed", {"business_date": business_date})
