"""Agency recovery rates as a KPI, against figures worked out by hand."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from escalation_service.domain.kpis import AgencyRecovery, agency_recoveries
from escalation_service.domain.placement import PaymentRecord, PlacementRecord

AS_OF = date(2026, 6, 30)
WINDOW = 365  # placements placed after 2025-06-30 count

PLACEMENTS = [
    PlacementRecord("P1", "AG1", "C1", date(2026, 1, 10), date(2026, 4, 10), 10_000),
    PlacementRecord(
        "P2", "AG1", "C2", date(2026, 3, 1), date(2026, 6, 1), 6_000, recalled_on=date(2026, 3, 20)
    ),
    PlacementRecord("P3", "AG1", "C3", date(2025, 6, 30), date(2025, 9, 30), 50_000),
    PlacementRecord("P4", "AG2", "C4", date(2026, 6, 1), date(2026, 9, 1), 8_000),
]
PAYMENTS = [
    PaymentRecord("C1", date(2026, 1, 20), 3_000),
    PaymentRecord("C1", date(2026, 2, 15), 2_000),
    PaymentRecord("C1", date(2026, 5, 1), 4_000),
    PaymentRecord("C2", date(2026, 3, 5), 8_000),
    PaymentRecord("C2", date(2026, 3, 20), 1_000),
    PaymentRecord("C3", date(2025, 7, 1), 50_000),
    PaymentRecord("C4", date(2026, 6, 15), 2_000),
    PaymentRecord("C4", date(2026, 7, 5), 3_000),
]


class TestAgencyRecoveries:
    def test_a_small_book_of_placements(self) -> None:
        """As of 2026-06-30 with a 365-day window (placed after 2025-06-30):

        AG1  P1 C1 placed 2026-01-10 until 2026-04-10, past due 10,000: paid 3,000 (01-20) + 2,000
             (02-15); 4,000 on 05-01 is after the placement ended. Counts 5,000.
             P2 C2 placed 2026-03-01, recalled 2026-03-20, past due 6,000: paid 8,000 on 03-05, which
             counts up to its past due, 6,000; 1,000 on 03-20 is the recall day (no longer placed).
             P3 C3 placed 2025-06-30, the window's start: outside (and so is its 50,000).
             Rate (5,000 + 6,000) / (10,000 + 6,000) = 11/16 = 0.6875 over 2 placements.
        AG2  P4 C4 placed 2026-06-01, past due 8,000: paid 2,000 on 06-15; 3,000 on 07-05 is after
             the as-of date. Rate 2,000 / 8,000 = 1/4 over 1 placement.
        AG3  registered, never placed: no rate, 0 placements.
        """
        figures = agency_recoveries(["AG3", "AG2"], PLACEMENTS, PAYMENTS, as_of=AS_OF, window_days=WINDOW)
        assert figures == [
            AgencyRecovery("AG1", 2, Fraction(11, 16)),
            AgencyRecovery("AG2", 1, Fraction(1, 4)),
            AgencyRecovery("AG3", 0, None),
        ]

    def test_an_agency_whose_placements_all_left_the_window_has_no_rate(self) -> None:
        figures = agency_recoveries([], PLACEMENTS[2:3], PAYMENTS, as_of=AS_OF, window_days=WINDOW)
        assert figures == [AgencyRecovery("AG1", 0, None)]
