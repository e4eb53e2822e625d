"""The agency registry's record (DOMAIN.md section 7) and when an agency may work."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from agency_gateway.domain.errors import InvalidAgency


@dataclass(frozen=True)
class Agency:
    """A whitelisted collection agency."""

    agency_id: str
    name: str
    regions: tuple[str, ...]
    capacity: int
    active: bool
    contract_start: date
    contract_end: date
    review_due: date

    def __post_init__(self) -> None:
        if self.contract_end < self.contract_start:
            raise InvalidAgency("contract_end must not be before contract_start")
        if self.capacity < 0:
            raise InvalidAgency("capacity must not be negative")
        if not self.regions:
            raise InvalidAgency("an agency serves at least one region")
        if len(set(self.regions)) != len(self.regions):
            raise InvalidAgency("regions must not repeat")

    def may_take_new_work(self, on: date) -> bool:
        """Active, under contract on ``on`` and not past its annual review."""
        return self.active and self.contract_start <= on <= self.contract_end and on <= self.review_due

    def may_sign_in(self) -> bool:
        """A deactivated agency's clients lose all access at once; a lapsed review only stops new work."""
        return self.active

    def reviewed(
        self,
        *,
        review_due: date,
        capacity: int | None = None,
        regions: tuple[str, ...] | None = None,
        contract_end: date | None = None,
    ) -> Agency:
        """The record after an annual review: the next review date and any changed terms."""
        if review_due <= self.review_due:
            raise InvalidAgency("a review sets a review_due later than the current one")
        return replace(
            self,
            review_due=review_due,
            capacity=self.capacity if capacity is None else capacity,
            regions=self.regions if regions is None else regions,
            contract_end=self.contract_end if contract_end is None else contract_end,
        )

    def deactivated(self) -> Agency:
        if not self.active:
            raise InvalidAgency("the agency is already inactive")
        return replace(self, active=False)
