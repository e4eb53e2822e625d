"""The gateway's pure domain: agencies, cursors, reports and their violations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from agency_gateway.domain.activities import PermitOnFile, Report, ReportedPayment, check_report, violation_of
from agency_gateway.domain.agencies import Agency
from agency_gateway.domain.cursor import decode_cursor, encode_cursor
from agency_gateway.domain.errors import InvalidAgency, InvalidCursor, InvalidReport

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def agency(**changes: object) -> Agency:
    values: dict[str, object] = {
        "agency_id": "AG-1",
        "name": "A",
        "regions": ("CN-31",),
        "capacity": 10,
        "active": True,
        "contract_start": date(2026, 1, 1),
        "contract_end": date(2026, 12, 31),
        "review_due": date(2026, 6, 30),
        **changes,
    }
    return Agency(**values)  # type: ignore[arg-type]


class TestAgency:
    @pytest.mark.parametrize(
        ("changes", "on", "may"),
        [
            ({}, TODAY, True),
            ({"active": False}, TODAY, False),
            ({}, date(2026, 6, 30), True),
            ({}, date(2026, 7, 1), False),  # past its annual review
            ({}, date(2025, 12, 31), False),  # before its contract
        ],
    )
    def test_new_work_needs_an_active_agency_under_contract_and_reviewed(
        self, changes: dict[str, object], on: date, may: bool
    ) -> None:
        assert agency(**changes).may_take_new_work(on) is may

    def test_a_contract_that_ends_before_it_starts_is_refused(self) -> None:
        with pytest.raises(InvalidAgency, match="contract_end"):
            agency(contract_end=date(2025, 1, 1))

    def test_a_review_moves_the_date_forward_only(self) -> None:
        assert agency().reviewed(review_due=date(2027, 6, 30)).review_due == date(2027, 6, 30)
        with pytest.raises(InvalidAgency, match="later"):
            agency().reviewed(review_due=date(2026, 6, 30))

    def test_deactivating_twice_is_refused(self) -> None:
        with pytest.raises(InvalidAgency):
            agency().deactivated().deactivated()


class TestCursor:
    @pytest.mark.parametrize("sequence", [0, 1, 42, 2**63 - 1])
    def test_a_cursor_gives_back_its_sequence(self, sequence: int) -> None:
        assert decode_cursor(encode_cursor(sequence)) == sequence

    def test_no_cursor_is_the_start(self) -> None:
        assert decode_cursor(None) == decode_cursor("") == 0

    @pytest.mark.parametrize(
        "cursor", ["x", "YzEuLTE", "YzEuMDE", "Yz" * 40, "YzIuNQ", "YzEuOTIyMzM3MjAzNjg1NDc3NTgwOA"]
    )
    def test_a_cursor_the_gateway_did_not_issue_is_refused(self, cursor: str) -> None:
        with pytest.raises(InvalidCursor):
            decode_cursor(cursor)


def contact(**changes: object) -> Report:
    values: dict[str, object] = {
        "kind": "contact",
        "at": NOW,
        "channel": "call",
        "outcome": "reached",
        "permit_id": "P-1",
        **changes,
    }
    return Report(**values)  # type: ignore[arg-type]


PERMIT = PermitOnFile("P-1", "call", True, NOW - timedelta(minutes=1), NOW + timedelta(minutes=14))


class TestReports:
    def test_a_report_before_the_placement_is_refused(self) -> None:
        with pytest.raises(InvalidReport, match="before the case was placed"):
            check_report(contact(at=NOW - timedelta(days=30)), placed_on=TODAY, now=NOW)

    def test_a_promise_dated_before_the_activity_is_refused(self) -> None:
        promise = ReportedPayment(TODAY - timedelta(days=5), 100, "CNY")
        with pytest.raises(InvalidReport, match="promised_date"):
            check_report(Report("promise", NOW, promise=promise), placed_on=TODAY, now=NOW)

    @pytest.mark.parametrize(
        ("report", "permit", "violation"),
        [
            (contact(), PERMIT, None),
            (contact(permit_id=None), None, "no_permit"),
            (contact(), None, "unknown_permit"),
            (contact(), PermitOnFile("P-1", "call", False, NOW, None), "permit_refused"),
            (contact(channel="sms"), PERMIT, "channel_mismatch"),
            (contact(at=NOW + timedelta(minutes=20)), PERMIT, "outside_permit_window"),
            (contact(at=NOW - timedelta(hours=1)), PERMIT, "outside_permit_window"),
            (Report("promise", NOW, promise=ReportedPayment(TODAY, 1, "CNY")), None, None),
        ],
    )
    def test_the_rule_a_reported_contact_broke(
        self, report: Report, permit: PermitOnFile | None, violation: str | None
    ) -> None:
        assert violation_of(report, permit) == violation
