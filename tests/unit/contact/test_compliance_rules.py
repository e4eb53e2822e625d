"""The compliance policy, rule by rule, at concrete times (DOMAIN.md section 5)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest

from contact_service.domain.compliance import (
    Allowed,
    ContactHistory,
    DebtorFacts,
    Decision,
    Hold,
    InboundContact,
    PermitRecord,
    PermitRequest,
    Refused,
    Rule,
    decide,
    history_window,
    lock_key,
)
from contact_service.domain.contact import ADDRESS, Channel, Outcome, Party, PartyKind, Purpose
from contact_service.domain.packs import CN_2026, CN_SEED, US_REGF, ContactHours, DailyAttemptLimit, RulePack
from tests.unit.contact.builders import (
    BANK,
    EMAIL,
    GUARANTOR,
    PHONE,
    PHONE_2,
    THIRD,
    facts,
    local,
    permit,
    utc,
)

SH = "Asia/Shanghai"
NY = "America/New_York"


def ask(
    pack: RulePack,
    at: datetime,
    channel: Channel = Channel.CALL,
    *,
    debtor: DebtorFacts | None = None,
    point: str | None = None,
    permits: tuple[PermitRecord, ...] = (),
    inbound: tuple[InboundContact, ...] = (),
    account: str = "A1",
    purpose: Purpose = Purpose.COLLECT,
    autodialled: bool | None = None,
    party: Party = BANK,
) -> Decision:
    default_point = {Channel.EMAIL: EMAIL, Channel.VISIT: ADDRESS, Channel.LETTER: ADDRESS}.get(
        channel, PHONE
    )
    request = PermitRequest(
        account_id=account,
        channel=channel,
        contact_point=point or default_point,
        at=at,
        party=party,
        autodialled=autodialled,
        purpose=purpose,
    )
    zone = NY if pack is US_REGF else SH
    return decide(pack, debtor or facts(zone), request, ContactHistory(permits, inbound))


def refused(decision: Decision, rule: Rule) -> Refused:
    assert isinstance(decision, Refused), decision
    assert decision.rule is rule
    return decision


class TestHours:
    def test_cn_seed_allows_until_one_second_before_nine_pm_in_shanghai(self) -> None:
        assert isinstance(ask(CN_SEED, local(SH, 2026, 3, 2, 20, 59, 59)), Allowed)
        decision = refused(ask(CN_SEED, local(SH, 2026, 3, 2, 21)), Rule.HOURS)
        assert decision.retry_after == local(SH, 2026, 3, 3, 8)

    def test_before_eight_am_retries_at_eight_the_same_day(self) -> None:
        decision = refused(ask(CN_SEED, local(SH, 2026, 3, 2, 7, 59, 59)), Rule.HOURS)
        assert decision.retry_after == local(SH, 2026, 3, 2, 8)
        assert isinstance(ask(CN_SEED, local(SH, 2026, 3, 2, 8)), Allowed)

    def test_the_debtors_local_time_decides_not_utc(self) -> None:
        # 13:30 UTC is 21:30 in Shanghai and 08:30 in New York (EST).
        at = utc("2026-01-05T13:30:00")
        assert isinstance(ask(CN_SEED, at), Refused)
        assert isinstance(ask(CN_SEED, at, debtor=facts(NY)), Allowed)

    def test_cn_2026_ends_at_ten_pm(self) -> None:
        assert isinstance(ask(CN_2026, local(SH, 2026, 3, 2, 21, 59, 59)), Allowed)
        refused(ask(CN_2026, local(SH, 2026, 3, 2, 22)), Rule.HOURS)

    @pytest.mark.parametrize(
        "channel", [Channel.SMS, Channel.EMAIL, Channel.PUSH, Channel.IVR, Channel.VISIT]
    )
    def test_every_channel_but_letter_is_bound(self, channel: Channel) -> None:
        refused(ask(CN_SEED, local(SH, 2026, 3, 2, 23), channel), Rule.HOURS)

    def test_a_letter_is_not_bound_by_hours(self) -> None:
        assert isinstance(ask(CN_SEED, local(SH, 2026, 3, 2, 23), Channel.LETTER), Allowed)

    def test_new_york_spring_forward_moves_eight_am_an_hour_earlier_in_utc(self) -> None:
        # 2026-03-08 02:00 EST -> 03:00 EDT. 12:30 UTC is 07:30 EST the day before, 08:30 EDT on the day.
        refused(ask(US_REGF, utc("2026-03-07T12:30:00")), Rule.HOURS)
        assert isinstance(ask(US_REGF, utc("2026-03-08T12:30:00")), Allowed)
        decision = refused(ask(US_REGF, utc("2026-03-08T11:59:59")), Rule.HOURS)
        assert decision.retry_after == utc("2026-03-08T12:00:00")

    def test_new_york_fall_back_moves_eight_am_an_hour_later_in_utc(self) -> None:
        # 2026-11-01 02:00 EDT -> 01:00 EST. 12:30 UTC is 07:30 EST on the day.
        decision = refused(ask(US_REGF, utc("2026-11-01T12:30:00")), Rule.HOURS)
        assert decision.retry_after == utc("2026-11-01T13:00:00")
        assert isinstance(ask(US_REGF, utc("2026-10-31T12:30:00")), Allowed)
        # 21:00 EST is 02:00 UTC the next day; one second before is allowed.
        assert isinstance(ask(US_REGF, utc("2026-11-02T01:59:59")), Allowed)
        refused(ask(US_REGF, utc("2026-11-02T02:00:00")), Rule.HOURS)

    def test_hours_are_configurable(self) -> None:
        pack = replace(CN_SEED, hours=ContactHours(time(9), time(18)))
        refused(ask(pack, local(SH, 2026, 3, 2, 8, 30)), Rule.HOURS)
        refused(ask(pack, local(SH, 2026, 3, 2, 18)), Rule.HOURS)
        assert isinstance(ask(pack, local(SH, 2026, 3, 2, 17, 59)), Allowed)


class TestExpiry:
    def test_an_allowed_permit_holds_its_slot_for_fifteen_minutes(self) -> None:
        at = local(SH, 2026, 3, 2, 10)
        decision = ask(CN_SEED, at)
        assert decision == Allowed(expires_at=at + timedelta(minutes=15))

    def test_the_hold_period_is_configurable(self) -> None:
        at = local(SH, 2026, 3, 2, 10)
        decision = ask(replace(CN_SEED, permit_hold=timedelta(minutes=5)), at)
        assert decision == Allowed(expires_at=at + timedelta(minutes=5))


class TestStopFlagsAndHolds:
    @pytest.mark.parametrize(
        "flag", ["do_not_contact", "dispute", "bankruptcy", "deceased", "legal_representation"]
    )
    @pytest.mark.parametrize("pack", [CN_SEED, CN_2026, US_REGF], ids=lambda pack: pack.name)
    def test_a_stop_flag_blocks_every_channel_with_no_retry(self, flag: str, pack: RulePack) -> None:
        zone = NY if pack is US_REGF else SH
        for channel in Channel:
            decision = refused(
                ask(pack, local(zone, 2026, 3, 2, 10), channel, debtor=facts(zone, flags=[flag])),
                Rule.STOP_FLAG,
            )
            assert decision.retry_after is None

    def test_fraud_suspected_is_not_a_stop_flag(self) -> None:
        assert isinstance(
            ask(CN_SEED, local(SH, 2026, 3, 2, 10), debtor=facts(flags=["fraud_suspected"])), Allowed
        )

    def test_the_hardship_flag_is_a_hold_without_an_end(self) -> None:
        decision = refused(
            ask(CN_SEED, local(SH, 2026, 3, 2, 10), debtor=facts(flags=["hardship"])), Rule.HARDSHIP_HOLD
        )
        assert decision.retry_after is None

    def test_a_hold_blocks_through_its_end_date_and_retries_the_next_morning(self) -> None:
        debtor = facts(holds=[Hold("job loss", ends_on=date(2026, 3, 10))])
        decision = refused(
            ask(CN_SEED, local(SH, 2026, 3, 10, 20), Channel.SMS, debtor=debtor), Rule.HARDSHIP_HOLD
        )
        assert decision.retry_after == local(SH, 2026, 3, 11, 8)
        assert isinstance(ask(CN_SEED, local(SH, 2026, 3, 11, 8), Channel.SMS, debtor=debtor), Allowed)

    def test_a_hold_not_yet_started_does_not_block(self) -> None:
        debtor = facts(holds=[Hold("illness", ends_on=date(2026, 3, 20), starts_on=date(2026, 3, 5))])
        assert isinstance(ask(CN_SEED, local(SH, 2026, 3, 4, 10), debtor=debtor), Allowed)
        refused(ask(CN_SEED, local(SH, 2026, 3, 5, 10), debtor=debtor), Rule.HARDSHIP_HOLD)


class TestWho:
    def test_an_unknown_contact_point_is_refused(self) -> None:
        refused(ask(CN_SEED, local(SH, 2026, 3, 2, 10), point="+8613811112222"), Rule.CONTACT_POINT_UNKNOWN)

    def test_the_guarantor_may_be_contacted(self) -> None:
        for pack in (CN_SEED, CN_2026):
            assert isinstance(ask(pack, local(SH, 2026, 3, 2, 10), point=GUARANTOR), Allowed)

    def test_cn_seed_never_contacts_a_third_party(self) -> None:
        debtor = facts(unreachable=True)
        at = local(SH, 2026, 3, 2, 10)
        refused(ask(CN_SEED, at, point=THIRD, debtor=debtor, purpose=Purpose.LOCATE), Rule.THIRD_PARTY)

    def test_cn_2026_contacts_a_third_party_only_to_locate_an_unreachable_debtor(self) -> None:
        at = local(SH, 2026, 3, 2, 10)
        reachable, unreachable = facts(), facts(unreachable=True)
        refused(ask(CN_2026, at, point=THIRD, debtor=reachable, purpose=Purpose.LOCATE), Rule.THIRD_PARTY)
        refused(ask(CN_2026, at, point=THIRD, debtor=unreachable, purpose=Purpose.COLLECT), Rule.THIRD_PARTY)
        assert isinstance(ask(CN_2026, at, point=THIRD, debtor=unreachable, purpose=Purpose.LOCATE), Allowed)

    def test_visits_and_letters_go_to_the_debtors_address(self) -> None:
        assert isinstance(ask(CN_SEED, local(SH, 2026, 3, 2, 10), Channel.VISIT), Allowed)


class TestConsent:
    def test_a_withheld_consent_blocks_its_channel_in_every_pack(self) -> None:
        debtor = facts(consents={"sms": False, "email": True})
        at = local(SH, 2026, 3, 2, 10)
        refused(ask(CN_SEED, at, Channel.SMS, debtor=debtor), Rule.CONSENT)
        assert isinstance(ask(CN_SEED, at, Channel.EMAIL, debtor=debtor), Allowed)

    def test_cn_packs_do_not_need_a_consent_never_asked(self) -> None:
        assert isinstance(
            ask(CN_2026, local(SH, 2026, 3, 2, 10), Channel.SMS, debtor=facts(consents={})), Allowed
        )

    def test_ivr_is_autodialled_and_honours_the_autodial_consent(self) -> None:
        debtor = facts(consents={"autodial": False})
        at = local(SH, 2026, 3, 2, 10)
        refused(ask(CN_SEED, at, Channel.IVR, debtor=debtor), Rule.CONSENT)
        assert isinstance(ask(CN_SEED, at, Channel.CALL, debtor=debtor), Allowed)
        refused(ask(CN_SEED, at, Channel.CALL, debtor=debtor, autodialled=True), Rule.CONSENT)

    def test_us_regf_needs_consent_for_sms_and_autodialled_calls(self) -> None:
        debtor = facts(NY, consents={})
        at = local(NY, 2026, 3, 2, 10)
        refused(ask(US_REGF, at, Channel.SMS, debtor=debtor), Rule.CONSENT)
        refused(ask(US_REGF, at, Channel.IVR, debtor=debtor), Rule.CONSENT)
        assert isinstance(ask(US_REGF, at, Channel.CALL, debtor=debtor), Allowed)
        assert isinstance(ask(US_REGF, at, Channel.EMAIL, debtor=debtor), Allowed)
        given = facts(NY, consents={"sms": True, "autodial": True})
        assert isinstance(ask(US_REGF, at, Channel.SMS, debtor=given), Allowed)
        assert isinstance(ask(US_REGF, at, Channel.IVR, debtor=given), Allowed)


class TestCnSeedDailyAttempts:
    def test_three_attempts_a_day_across_channels_and_parties(self) -> None:
        agency = Party(PartyKind.AGENCY, "AG1")
        history = (
            permit(local(SH, 2026, 3, 2, 9), Channel.SMS, Outcome.DELIVERED),
            permit(local(SH, 2026, 3, 2, 10), Channel.CALL, Outcome.REACHED, party=agency),
            permit(local(SH, 2026, 3, 2, 11), Channel.LETTER, Outcome.SENT, point=ADDRESS),
        )
        decision = refused(
            ask(CN_SEED, local(SH, 2026, 3, 2, 15), Channel.EMAIL, permits=history), Rule.DAILY_ATTEMPTS
        )
        assert decision.retry_after == local(SH, 2026, 3, 3, 8)
        assert isinstance(ask(CN_SEED, local(SH, 2026, 3, 3, 8), permits=history), Allowed)
        assert isinstance(ask(CN_SEED, local(SH, 2026, 3, 2, 15), permits=history[:2]), Allowed)

    def test_the_day_is_the_local_day_across_the_dst_switch(self) -> None:
        pack = CN_SEED
        debtor = facts(NY)
        # 2026-03-08 in New York is 23 hours long; 03:30 UTC on the 9th is 23:30 EDT on the 8th.
        history = (
            permit(local(NY, 2026, 3, 8, 9)),
            permit(local(NY, 2026, 3, 8, 10)),
            permit(utc("2026-03-09T03:30:00"), Channel.LETTER, Outcome.SENT, point=ADDRESS),
        )
        refused(ask(pack, local(NY, 2026, 3, 8, 20), debtor=debtor, permits=history), Rule.DAILY_ATTEMPTS)
        decision = ask(pack, local(NY, 2026, 3, 8, 20), debtor=debtor, permits=history[:2])
        assert isinstance(decision, Allowed)
        retry = refused(
            ask(pack, local(NY, 2026, 3, 8, 20), debtor=debtor, permits=history), Rule.DAILY_ATTEMPTS
        )
        assert retry.retry_after == utc("2026-03-09T12:00:00")

    def test_the_limit_is_configurable(self) -> None:
        pack = replace(CN_SEED, daily_attempts=DailyAttemptLimit(1))
        history = (permit(local(SH, 2026, 3, 2, 9)),)
        refused(ask(pack, local(SH, 2026, 3, 2, 10), permits=history), Rule.DAILY_ATTEMPTS)


class TestCn2026Calls:
    def test_six_unanswered_calls_a_day_per_number(self) -> None:
        history = tuple(permit(local(SH, 2026, 3, 2, 9, minute)) for minute in range(6))
        refused(ask(CN_2026, local(SH, 2026, 3, 2, 12), permits=history), Rule.UNANSWERED_CALLS)
        assert isinstance(ask(CN_2026, local(SH, 2026, 3, 2, 12), point=PHONE_2, permits=history), Allowed)
        assert isinstance(ask(CN_2026, local(SH, 2026, 3, 2, 12), Channel.SMS, permits=history), Allowed)

    def test_pending_and_unknown_calls_count_as_unanswered(self) -> None:
        at = local(SH, 2026, 3, 2, 12)
        expired = tuple(permit(local(SH, 2026, 3, 2, 9, minute), outcome=None) for minute in range(5))
        pending = permit(at - timedelta(minutes=5), outcome=None)
        refused(ask(CN_2026, at, permits=(*expired, pending)), Rule.UNANSWERED_CALLS)

    def test_wrong_number_is_not_unanswered(self) -> None:
        history = tuple(permit(local(SH, 2026, 3, 2, 9, m), outcome=Outcome.WRONG_NUMBER) for m in range(6))
        assert isinstance(ask(CN_2026, local(SH, 2026, 3, 2, 12), permits=history), Allowed)

    def test_three_connected_calls_a_day_per_debtor_on_any_number(self) -> None:
        history = (
            permit(local(SH, 2026, 3, 2, 9), outcome=Outcome.REACHED),
            permit(local(SH, 2026, 3, 2, 10), Channel.IVR, Outcome.PROMISE_TO_PAY, point=PHONE_2),
            permit(local(SH, 2026, 3, 2, 11), outcome=Outcome.REFUSED, party=Party(PartyKind.AGENCY, "AG1")),
        )
        decision = refused(
            ask(CN_2026, local(SH, 2026, 3, 2, 12), point=PHONE_2, permits=history), Rule.CONNECTED_CALLS
        )
        assert decision.retry_after == local(SH, 2026, 3, 3, 8)
        assert isinstance(ask(CN_2026, local(SH, 2026, 3, 2, 12), Channel.SMS, permits=history), Allowed)

    def test_a_pending_call_counts_as_possibly_connected_until_it_expires(self) -> None:
        at = local(SH, 2026, 3, 2, 12)
        history = (
            permit(local(SH, 2026, 3, 2, 9), outcome=Outcome.REACHED),
            permit(local(SH, 2026, 3, 2, 10), outcome=Outcome.REACHED),
            permit(at - timedelta(minutes=10), outcome=None),
        )
        refused(ask(CN_2026, at, permits=history), Rule.CONNECTED_CALLS)
        assert isinstance(ask(CN_2026, at + timedelta(minutes=5), permits=history), Allowed)


class TestRegFRollingCalls:
    def test_seven_calls_in_seven_days_per_account(self) -> None:
        history = tuple(permit(local(NY, 2026, 3, day, 10)) for day in range(2, 9))
        decision = refused(ask(US_REGF, local(NY, 2026, 3, 8, 15), permits=history), Rule.ROLLING_CALLS)
        # The window of Mar 3-9 holds six calls, so Mar 9 has room again.
        assert decision.retry_after == local(NY, 2026, 3, 9, 8)
        assert isinstance(ask(US_REGF, local(NY, 2026, 3, 8, 15), account="A2", permits=history), Allowed)

    def test_retry_after_is_the_end_of_the_window(self) -> None:
        history = tuple(permit(local(NY, 2026, 3, 2, 9, minute)) for minute in range(7))
        decision = refused(ask(US_REGF, local(NY, 2026, 3, 5, 10), permits=history), Rule.ROLLING_CALLS)
        assert decision.retry_after == local(NY, 2026, 3, 9, 8)
        assert isinstance(ask(US_REGF, local(NY, 2026, 3, 9, 8), permits=history), Allowed)

    def test_windows_after_the_request_count_too(self) -> None:
        history = tuple(permit(local(NY, 2026, 3, 10, 9, minute)) for minute in range(7))
        refused(ask(US_REGF, local(NY, 2026, 3, 4, 10), permits=history), Rule.ROLLING_CALLS)
        assert isinstance(ask(US_REGF, local(NY, 2026, 3, 3, 10), permits=history), Allowed)


class TestRegFConversations:
    def test_a_conversation_bars_calls_for_its_day_and_six_more_across_dst(self) -> None:
        history = (permit(local(NY, 2026, 3, 6, 10), outcome=Outcome.REACHED),)
        decision = refused(ask(US_REGF, local(NY, 2026, 3, 12, 20), permits=history), Rule.CONVERSATION_BAR)
        assert decision.retry_after == local(NY, 2026, 3, 13, 8)
        assert decision.retry_after == utc("2026-03-13T12:00:00")
        assert isinstance(ask(US_REGF, local(NY, 2026, 3, 13, 8), permits=history), Allowed)

    def test_other_channels_and_other_accounts_are_not_barred(self) -> None:
        history = (permit(local(NY, 2026, 3, 6, 10), outcome=Outcome.REACHED),)
        at = local(NY, 2026, 3, 6, 14)
        assert isinstance(ask(US_REGF, at, Channel.SMS, permits=history), Allowed)
        assert isinstance(ask(US_REGF, at, account="A2", permits=history), Allowed)

    def test_an_inbound_call_is_a_conversation(self) -> None:
        inbound = (InboundContact("A1", Channel.CALL, PHONE, local(NY, 2026, 3, 6, 10)),)
        refused(ask(US_REGF, local(NY, 2026, 3, 6, 11), inbound=inbound), Rule.CONVERSATION_BAR)
        assert isinstance(ask(US_REGF, local(NY, 2026, 3, 6, 9), inbound=inbound), Allowed)

    def test_an_ivr_reached_is_not_a_conversation(self) -> None:
        history = (permit(local(NY, 2026, 3, 6, 10), Channel.IVR, Outcome.REACHED),)
        assert isinstance(ask(US_REGF, local(NY, 2026, 3, 6, 11), permits=history), Allowed)

    def test_a_pending_call_may_be_a_conversation(self) -> None:
        history = (permit(local(NY, 2026, 3, 6, 10), outcome=None),)
        refused(ask(US_REGF, local(NY, 2026, 3, 6, 10, 5), permits=history), Rule.CONVERSATION_BAR)
        assert isinstance(ask(US_REGF, local(NY, 2026, 3, 6, 10, 15), permits=history), Allowed)

    def test_a_call_before_one_already_allowed_could_bar_it(self) -> None:
        history = (permit(local(NY, 2026, 3, 9, 10)),)
        decision = refused(ask(US_REGF, local(NY, 2026, 3, 6, 10), permits=history), Rule.CONVERSATION_BAR)
        assert decision.retry_after is None
        assert isinstance(ask(US_REGF, local(NY, 2026, 3, 6, 10), Channel.IVR, permits=history), Allowed)
        assert isinstance(ask(US_REGF, local(NY, 2026, 3, 2, 10), permits=history), Allowed)


class TestReservationSupport:
    def test_cn_packs_read_the_local_day(self) -> None:
        start, end = history_window(CN_SEED, facts(NY), local(NY, 2026, 3, 8, 12))
        assert (start, end) == (local(NY, 2026, 3, 8), local(NY, 2026, 3, 9))
        assert end - start == timedelta(hours=23)

    def test_us_regf_reads_six_days_either_side(self) -> None:
        start, end = history_window(US_REGF, facts(NY), local(NY, 2026, 3, 8, 12))
        assert (start, end) == (local(NY, 2026, 3, 2), local(NY, 2026, 3, 15))

    def test_the_lock_key_is_stable_per_debtor(self) -> None:
        assert lock_key("C1") == lock_key("C1")
        assert lock_key("C1") != lock_key("C2")
        assert -(2**63) <= lock_key("C1") < 2**63

    def test_naive_times_and_unknown_timezones_are_refused_as_errors(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            ask(CN_SEED, datetime(2026, 3, 2, 10))
        with pytest.raises(ValueError, match="IANA"):
            ask(CN_SEED, local(SH, 2026, 3, 2, 10), debtor=facts("Mars/Olympus"))
