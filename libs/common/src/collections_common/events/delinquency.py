"""`data` of the events the aging service publishes on `collections.delinquency.v1`.

See DOMAIN.md section 4 and `contracts/events/collections.stage.changed.schema.json`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ._base import Currency, EventData, Identifier, IsoDate, MinorAmount

__all__ = ["StageChangeCause", "StageChanged"]

StageChangeCause = Literal["day_close", "payment", "payment_reversal", "statement", "reage"]
"""The kind of event after which the stage was computed again."""


class StageChanged(EventData):
    """`collections.stage.changed`: an account moved from one delinquency stage to another."""

    account_id: Identifier
    customer_id: Annotated[str | None, Field(description="null while unknown")]
    from_stage: str
    to_stage: str
    dpd: Annotated[int, Field(ge=0, description="days past due as of `as_of`")]
    past_due_minor: MinorAmount
    oldest_unpaid_due_date: Annotated[IsoDate | None, Field(description="null when current")]
    as_of: IsoDate
    cause: StageChangeCause
    cause_event_id: Annotated[str, Field(description="the `id` of the event that caused it")]
    currency: Currency
