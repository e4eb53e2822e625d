"""Home visits per seed 003: prepared, arranged in advance, done by two field staff, recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from escalation_service.domain.errors import InvalidTransition, InvalidVisit
from escalation_service.domain.rules import VisitSettings
from escalation_service.domain.visits import StaffMember, Visit, arrange, cancel, complete, prepare, schedule

SETTINGS = VisitSettings()
SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI)
LI = StaffMember("s-1", "Li Lei", frozenset({"field"}))
HAN = StaffMember("s-2", "Han Meimei", frozenset({"field", "collector"}))
ZHANG = StaffMember("s-3", "Zhang San", frozenset({"collector"}))


def arranged() -> Visit:
    visit = prepare(
        schedule("v-1", "cust-1", "acc-1"), materials=["欠款通知书", "还款协议"], plan="negotiate a plan"
    )
    return arrange(visit, visit_at=AT, arranged_at=AT - timedelta(days=2), permit_id="permit-9")


class TestPreparationAndArrangement:
    def test_a_visit_goes_from_scheduled_to_prepared_to_arranged(self) -> None:
        visit = arranged()
        assert visit.status == "arranged"
        assert visit.preparation is not None and visit.preparation.materials == ("欠款通知书", "还款协议")
        assert visit.arrangement is not None and visit.arrangement.permit_id == "permit-9"

    def test_preparing_needs_materials_and_a_plan(self) -> None:
        with pytest.raises(InvalidVisit, match="at least one item of materials"):
            prepare(schedule("v", "c", "a"), materials=[" "], plan="p")
        with pytest.raises(InvalidVisit, match="with a plan"):
            prepare(schedule("v", "c", "a"), materials=["notice"], plan="")

    def test_an_unprepared_visit_cannot_be_arranged(self) -> None:
        with pytest.raises(InvalidTransition, match="v is scheduled; it cannot be arranged"):
            arrange(schedule("v", "c", "a"), visit_at=AT, arranged_at=AT - timedelta(days=1), permit_id="p")

    def test_the_debtor_is_asked_in_advance(self) -> None:
        visit = prepare(schedule("v", "c", "a"), materials=["notice"], plan="plan")
        with pytest.raises(
            InvalidVisit, match="in advance: arranged_at 2026-05-20T10:00:00\\+08:00 is not before"
        ):
            arrange(visit, visit_at=AT, arranged_at=AT, permit_id="p")

    def test_times_must_carry_a_timezone(self) -> None:
        visit = prepare(schedule("v", "c", "a"), materials=["notice"], plan="plan")
        with pytest.raises(InvalidVisit, match="visit_at must carry a timezone"):
            arrange(visit, visit_at=datetime(2026, 5, 20, 10), arranged_at=AT, permit_id="p")


class TestCompletion:
    def test_two_named_field_staff_with_outcome_and_record_complete_it(self) -> None:
        done = complete(
            arranged(),
            staff=[LI, HAN],
            outcome="promise_to_pay",
            record_ref="REC-1",
            completed_at=AT,
            settings=SETTINGS,
        )
        assert done.status == "completed"
        assert done.completion is not None
        assert [m.name for m in done.completion.staff] == ["Li Lei", "Han Meimei"]
        assert (done.completion.outcome, done.completion.record_ref) == ("promise_to_pay", "REC-1")

    def test_one_person_is_not_enough(self) -> None:
        with pytest.raises(InvalidVisit) as caught:
            complete(
                arranged(), staff=[LI], outcome="refused", record_ref="R", completed_at=AT, settings=SETTINGS
            )
        assert (
            caught.value.reason == "a visit is done by at least 2 distinct staff of role 'field'; got 1: s-1"
        )
        assert caught.value.code == "invalid_visit"

    def test_the_same_person_twice_is_one_person(self) -> None:
        with pytest.raises(InvalidVisit, match="got 1: s-1"):
            complete(
                arranged(),
                staff=[LI, LI],
                outcome="refused",
                record_ref="R",
                completed_at=AT,
                settings=SETTINGS,
            )

    def test_a_visitor_without_the_field_role_is_refused(self) -> None:
        with pytest.raises(InvalidVisit, match="role 'field'; s-3 \\(Zhang San\\) does not"):
            complete(
                arranged(),
                staff=[LI, ZHANG],
                outcome="paid",
                record_ref="R",
                completed_at=AT,
                settings=SETTINGS,
            )

    def test_without_a_record_reference_it_is_refused(self) -> None:
        with pytest.raises(InvalidVisit, match="needs record_ref"):
            complete(
                arranged(),
                staff=[LI, HAN],
                outcome="paid",
                record_ref="  ",
                completed_at=AT,
                settings=SETTINGS,
            )

    def test_it_cannot_be_completed_before_the_appointment(self) -> None:
        with pytest.raises(InvalidVisit, match="before the arranged visit"):
            complete(
                arranged(),
                staff=[LI, HAN],
                outcome="paid",
                record_ref="R",
                completed_at=AT.astimezone(UTC) - timedelta(minutes=1),
                settings=SETTINGS,
            )

    def test_a_bank_may_require_three(self) -> None:
        with pytest.raises(InvalidVisit, match="at least 3 distinct"):
            complete(
                arranged(),
                staff=[LI, HAN],
                outcome="paid",
                record_ref="R",
                completed_at=AT,
                settings=VisitSettings(min_staff=3),
            )


class TestCancel:
    def test_cancel_until_completed(self) -> None:
        assert cancel(arranged(), "cure").cancel_reason == "cure"
        done = complete(
            arranged(), staff=[LI, HAN], outcome="paid", record_ref="R", completed_at=AT, settings=SETTINGS
        )
        with pytest.raises(InvalidTransition, match="is completed; it cannot be cancelled"):
            cancel(done, "cure")
