"""Cases per debtor: roll-up, profile, flags and what cancels pending contacts (DOMAIN.md section 5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from contact_service.domain.case import (
    AccountFacts,
    Cancellation,
    CancelReason,
    Case,
    CaseFact,
    HoldEnded,
    HoldSet,
    RestructuringAgreed,
    StageChanged,
    apply,
)
from contact_service.domain.compliance import Hold
from contact_service.domain.contact import ContactPoint, Owner


def stage(
    account: str, to: str, past_due: int, *, dpd: int = 10, currency: str = "CNY", day: int = 5
) -> StageChanged:
    return StageChanged(account, "C1", to, dpd, past_due, currency, date(2026, 3, day))


def facts(
    account: str,
    hour: int,
    *,
    timezone: str | None = None,
    language: str | None = None,
    phones: list[str] | None = None,
    email: str | None = None,
    consents: dict[str, bool] | None = None,
    flags: dict[str, bool] | None = None,
) -> AccountFacts:
    return AccountFacts(
        account,
        "C1",
        datetime(2026, 3, 1, hour, tzinfo=UTC),
        timezone=timezone,
        language=language,
        phones=phones,
        email=email,
        consents=consents or {},
        flags=flags or {},
    )


def fold(case: Case, *facts_: CaseFact) -> tuple[Case, list[Cancellation]]:
    cancellations: list[Cancellation] = []
    for fact in facts_:
        update = apply(case, fact)
        case = update.case
        if update.cancellation is not None:
            cancellations.append(update.cancellation)
    return case, cancellations


class TestRollUp:
    def test_the_case_takes_the_worst_stage_and_sums_past_due(self) -> None:
        case, _ = fold(Case("C1"), stage("A1", "M1", 10_000, dpd=12), stage("A2", "M3", 50_000, dpd=70))
        assert case.stage == "M3"
        assert case.past_due_minor == {"CNY": 60_000}
        assert case.max_dpd == 70

    def test_past_due_is_summed_per_currency(self) -> None:
        case, _ = fold(Case("C1"), stage("A1", "M1", 100), stage("A2", "M1", 200, currency="USD"))
        assert case.past_due_minor == {"CNY": 100, "USD": 200}

    def test_a_case_without_delinquent_accounts_is_current(self) -> None:
        assert Case("C1").stage == "CURRENT"

    def test_an_older_assessment_changes_nothing(self) -> None:
        case, _ = fold(Case("C1"), stage("A1", "M2", 300, day=9), stage("A1", "M1", 100, day=2))
        assert case.stage == "M2"

    def test_an_unknown_stage_or_another_debtor_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="stage"):
            apply(Case("C1"), stage("A1", "M9", 1))
        with pytest.raises(ValueError, match="another debtor"):
            apply(Case("C1"), StageChanged("A1", "C2", "M1", 1, 1, "CNY", date(2026, 3, 1)))


class TestCure:
    def test_a_cure_of_the_last_delinquent_account_cancels_everything(self) -> None:
        case, cancels = fold(Case("C1"), stage("A1", "M1", 100), stage("A2", "M2", 100))
        case, cancels = fold(case, stage("A1", "CURRENT", 0, day=6))
        assert cancels == [] and case.stage == "M2"
        case, cancels = fold(case, stage("A2", "CURRENT", 0, day=6))
        assert cancels == [Cancellation(CancelReason.CURED)]
        assert case.stage == "CURRENT"

    def test_a_change_between_delinquent_stages_cancels_nothing(self) -> None:
        _case, cancels = fold(Case("C1"), stage("A1", "M1", 100), stage("A1", "M2", 100, day=6))
        assert cancels == []


class TestProfile:
    def test_the_latest_account_event_of_any_account_sets_the_profile(self) -> None:
        case, _ = fold(
            Case("C1"),
            facts("A1", 9, timezone="Asia/Shanghai", language="zh-CN", phones=["+8613800000001"]),
            facts("A2", 10, language="en", consents={"sms": False}),
            facts("A1", 8, timezone="America/New_York"),  # older than what is known: ignored
        )
        assert case.profile.timezone == "Asia/Shanghai"
        assert case.profile.language == "en"
        assert case.profile.consents == {"sms": False}
        assert [p.value for p in case.profile.contact_points] == ["+8613800000001"]

    def test_new_phones_replace_core_bankings_but_keep_points_added_by_collectors(self) -> None:
        added = ContactPoint("+8613900000009", Owner.GUARANTOR, "collector")
        case = Case("C1")
        case, _ = fold(case, facts("A1", 9, phones=["+8613800000001"], email="a+b@example.com"))
        case = replace(
            case, profile=replace(case.profile, contact_points=(*case.profile.contact_points, added))
        )
        case, _ = fold(case, facts("A1", 10, phones=["+8613800000002"]))
        values = {p.value for p in case.profile.contact_points}
        assert values == {"+8613800000002", "a+b@example.com", "+8613900000009"}

    def test_compliance_facts_carry_profile_flags_and_holds(self) -> None:
        hold = Hold("illness", ends_on=date(2026, 4, 1))
        case, _ = fold(
            Case("C1"),
            facts("A1", 9, timezone="Asia/Shanghai", phones=["+8613800000001"], flags={"dispute": True}),
            HoldSet(hold),
        )
        debtor = case.compliance_facts(unreachable=True)
        assert debtor.timezone == "Asia/Shanghai"
        assert debtor.flags == {"dispute"}
        assert debtor.holds == (hold,)
        assert debtor.unreachable


class TestStopsAndHolds:
    @pytest.mark.parametrize(
        "flag", ["do_not_contact", "dispute", "bankruptcy", "deceased", "legal_representation"]
    )
    def test_a_stop_flag_on_any_account_stops_the_debtor_and_cancels(self, flag: str) -> None:
        case, cancels = fold(Case("C1"), facts("A1", 9), facts("A2", 10, flags={flag: True}))
        assert case.stopped
        assert cancels == [Cancellation(CancelReason.STOP_FLAG, flag)]

    def test_a_flag_cleared_on_one_account_still_stops_from_another(self) -> None:
        case, _ = fold(
            Case("C1"),
            facts("A1", 9, flags={"dispute": True}),
            facts("A2", 9, flags={"dispute": True}),
            facts("A1", 10, flags={"dispute": False}),
        )
        assert case.stopped
        case, _ = fold(case, facts("A2", 11, flags={"dispute": False}))
        assert not case.stopped

    def test_a_flag_already_set_does_not_cancel_again(self) -> None:
        _case, cancels = fold(
            Case("C1"), facts("A1", 9, flags={"deceased": True}), facts("A1", 10, flags={"deceased": True})
        )
        assert len(cancels) == 1

    def test_fraud_suspected_does_not_cancel(self) -> None:
        _case, cancels = fold(Case("C1"), facts("A1", 9, flags={"fraud_suspected": True}))
        assert cancels == []

    def test_the_hardship_flag_and_a_supervisors_hold_cancel_with_the_reason(self) -> None:
        _case, cancels = fold(
            Case("C1"), facts("A1", 9, flags={"hardship": True}), HoldSet(Hold("job loss", date(2026, 5, 1)))
        )
        assert cancels == [
            Cancellation(CancelReason.HARDSHIP_HOLD, "hardship"),
            Cancellation(CancelReason.HARDSHIP_HOLD, "job loss"),
        ]

    def test_ending_a_hold_removes_it_and_cancels_nothing(self) -> None:
        case, cancels = fold(Case("C1"), HoldSet(Hold("job loss")), HoldEnded("job loss"))
        assert case.holds == ()
        assert cancels == [Cancellation(CancelReason.HARDSHIP_HOLD, "job loss")]

    def test_an_agreed_restructuring_cancels(self) -> None:
        _case, cancels = fold(Case("C1"), RestructuringAgreed("A1", date(2026, 3, 10)))
        assert cancels == [Cancellation(CancelReason.RESTRUCTURING, "A1")]
