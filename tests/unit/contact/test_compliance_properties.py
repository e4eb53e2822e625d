"""No sequence of permit requests gets past a limit, under every pack (DOMAIN.md section 5).

Requests arrive in any order, at any times (clustered around DST changes in several zones),
from the bank and several agencies, on every channel, for several accounts of one debtor.
Each is decided against the history so far; an allowed one is stored with a random outcome
reported at once, or none (it expires into ``unknown``). The naive checker then counts the
violations over everything stored: there must be none.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contact_service.domain.compliance import (
    Allowed,
    ContactHistory,
    DebtorFacts,
    Hold,
    InboundContact,
    PermitRecord,
    PermitRequest,
    Refused,
    Rule,
    decide,
)
from contact_service.domain.contact import (
    ADDRESS,
    Channel,
    ContactPoint,
    Outcome,
    Owner,
    Party,
    PartyKind,
    Purpose,
)
from contact_service.domain.packs import (
    CN_2026,
    CN_SEED,
    US_REGF,
    ConnectedCallLimit,
    ConversationBar,
    DailyAttemptLimit,
    RollingCallLimit,
    RulePack,
    UnansweredCallLimit,
)
from tests.unit.contact.naive_checker import Stored, count_violations

#: Zones and a UTC instant near one of their DST changes (or none, for Shanghai).
ZONES = (
    ("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ("Europe/London", datetime(2026, 3, 29, 1, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, tzinfo=UTC)),
    ("America/Santiago", datetime(2026, 4, 5, 3, tzinfo=UTC)),
    ("Asia/Shanghai", datetime(2026, 3, 2, 0, tzinfo=UTC)),
)
POINTS = ("+15550000001", "+15550000002", "debtor@example.com", "+15550000009", "+15550000007", ADDRESS)
PARTIES = (
    Party(),
    Party(PartyKind.AGENCY, "AG1"),
    Party(PartyKind.AGENCY, "AG2"),
    Party(PartyKind.AGENCY, "AG3"),
)
CALL_OUTCOMES = (
    Outcome.NO_ANSWER,
    Outcome.BUSY,
    Outcome.VOICEMAIL,
    Outcome.REACHED,
    Outcome.WRONG_NUMBER,
    Outcome.REFUSED,
    Outcome.PROMISE_TO_PAY,
    Outcome.HARDSHIP_REPORTED,
    None,
)
MESSAGE_OUTCOMES = (Outcome.SENT, Outcome.DELIVERED, Outcome.FAILED, None)


@st.composite
def packs(draw: st.DrawFn, base: RulePack) -> RulePack:
    """The pack as shipped, or with small limits so that they bind often."""
    if draw(st.booleans()):
        return base
    small = st.integers(1, 4)
    return replace(
        base,
        daily_attempts=DailyAttemptLimit(draw(small)) if base.daily_attempts else None,
        unanswered_calls=UnansweredCallLimit(draw(small)) if base.unanswered_calls else None,
        connected_calls=ConnectedCallLimit(draw(small)) if base.connected_calls else None,
        rolling_calls=RollingCallLimit(draw(small), draw(st.integers(1, 7))) if base.rolling_calls else None,
        conversation_bar=ConversationBar(draw(st.integers(1, 7))) if base.conversation_bar else None,
        permit_hold=timedelta(minutes=draw(st.sampled_from([1, 15, 90]))),
    )


@st.composite
def debtors(draw: st.DrawFn, zone: str, base: datetime) -> DebtorFacts:
    consent = st.sampled_from([True, False, None])
    consents = {
        name: value for name in ("sms", "email", "push", "autodial") if (value := draw(consent)) is not None
    }
    flags = draw(
        st.sets(st.sampled_from(["dispute", "hardship", "fraud_suspected"])).filter(lambda s: len(s) < 2)
    )
    holds: list[Hold] = []
    if draw(st.integers(0, 9)) == 0:
        first = base.date() + timedelta(days=draw(st.integers(-2, 4)))
        holds.append(
            Hold("hardship", ends_on=first + timedelta(days=draw(st.integers(0, 3))), starts_on=first)
        )
    return DebtorFacts(
        customer_id="C1",
        timezone=zone,
        contact_points=(
            ContactPoint(POINTS[0]),
            ContactPoint(POINTS[1]),
            ContactPoint(POINTS[2]),
            ContactPoint(POINTS[3], Owner.GUARANTOR),
            ContactPoint(POINTS[4], Owner.THIRD_PARTY),
        ),
        flags=frozenset(flags) if draw(st.integers(0, 4)) == 0 else frozenset(),
        holds=tuple(holds),
        consents=consents,
        unreachable=draw(st.booleans()),
    )


@dataclass(frozen=True)
class Ask:
    request: PermitRequest
    outcome: Outcome | None


@st.composite
def asks(draw: st.DrawFn, base: datetime) -> Ask:
    channel = draw(st.sampled_from(list(Channel)))
    if channel in (Channel.VISIT, Channel.LETTER):
        point = ADDRESS
    elif channel is Channel.EMAIL:
        point = POINTS[2]
    else:
        point = draw(st.sampled_from([POINTS[0], POINTS[1], POINTS[3], POINTS[4], "+15550000099"]))
    # Minutes within about ten days, often on the hour and at the edges of the hours.
    minutes = draw(st.integers(-2 * 24 * 60, 9 * 24 * 60))
    seconds = draw(st.sampled_from([0, 0, 0, 59, 1]))
    request = PermitRequest(
        account_id=draw(st.sampled_from(["A1", "A2"])),
        channel=channel,
        contact_point=point,
        at=base + timedelta(minutes=minutes, seconds=seconds),
        party=draw(st.sampled_from(PARTIES)),
        autodialled=draw(st.sampled_from([None, True, False])),
        purpose=draw(st.sampled_from(list(Purpose))),
    )
    outcomes = CALL_OUTCOMES if channel in (Channel.CALL, Channel.IVR) else MESSAGE_OUTCOMES
    return Ask(request, draw(st.sampled_from(outcomes)))


def run(
    pack: RulePack, debtor: DebtorFacts, requests: list[Ask], inbound: list[InboundContact]
) -> list[Stored]:
    """Feed ``requests`` through the policy, storing each allowed one with its outcome."""
    permits: list[PermitRecord] = []
    stored: list[Stored] = []
    for ask in requests:
        decision = decide(pack, debtor, ask.request, ContactHistory(tuple(permits), tuple(inbound)))
        if isinstance(decision, Allowed):
            request = ask.request
            assert decision.expires_at == request.at + pack.permit_hold
            permits.append(
                PermitRecord(
                    request.account_id,
                    request.channel,
                    request.contact_point,
                    request.at,
                    decision.expires_at,
                    ask.outcome,
                    request.party,
                )
            )
            stored.append(Stored(request, ask.outcome))
        else:
            assert decision.reason and "+1555" not in decision.reason
    return stored


@st.composite
def scenarios(
    draw: st.DrawFn, base_pack: RulePack
) -> tuple[RulePack, DebtorFacts, list[Ask], list[InboundContact]]:
    zone, base = draw(st.sampled_from(ZONES))
    pack = draw(packs(base_pack))
    debtor = draw(debtors(zone, base))
    requests = draw(st.lists(asks(base), max_size=60))
    inbound = [
        InboundContact(
            draw(st.sampled_from(["A1", "A2"])),
            draw(st.sampled_from([Channel.CALL, Channel.SMS])),
            POINTS[0],
            base + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 9 * 24 * 60))),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    return pack, debtor, requests, inbound


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestNoSequenceGetsPastALimit:
    @PROPERTY_SETTINGS
    @given(scenarios(CN_SEED))
    def test_cn_seed(self, scenario: tuple[RulePack, DebtorFacts, list[Ask], list[InboundContact]]) -> None:
        pack, debtor, requests, inbound = scenario
        assert count_violations(pack, debtor, run(pack, debtor, requests, inbound), inbound) == {}

    @PROPERTY_SETTINGS
    @given(scenarios(CN_2026))
    def test_cn_2026(self, scenario: tuple[RulePack, DebtorFacts, list[Ask], list[InboundContact]]) -> None:
        pack, debtor, requests, inbound = scenario
        assert count_violations(pack, debtor, run(pack, debtor, requests, inbound), inbound) == {}

    @PROPERTY_SETTINGS
    @given(scenarios(US_REGF))
    def test_us_regf(self, scenario: tuple[RulePack, DebtorFacts, list[Ask], list[InboundContact]]) -> None:
        pack, debtor, requests, inbound = scenario
        assert count_violations(pack, debtor, run(pack, debtor, requests, inbound), inbound) == {}


class TestTheScenariosExerciseEveryLimit:
    """The properties are not vacuous: a long random month allows many contacts and hits each limit."""

    def _month(self, pack: RulePack, zone: str, seed: int) -> tuple[list[Stored], dict[Rule, int]]:
        rng = random.Random(seed)
        debtor = DebtorFacts(
            customer_id="C1",
            timezone=zone,
            contact_points=(ContactPoint(POINTS[0]), ContactPoint(POINTS[1]), ContactPoint(POINTS[2])),
            consents={"sms": True, "email": True, "push": True, "autodial": True},
        )
        start = datetime(2026, 3, 1, tzinfo=UTC)
        permits: list[PermitRecord] = []
        stored: list[Stored] = []
        refusals: dict[Rule, int] = {}
        for _ in range(3000):
            channel = rng.choice([Channel.CALL, Channel.CALL, Channel.IVR, Channel.SMS])
            request = PermitRequest(
                account_id=rng.choice(["A1", "A2"]),
                channel=channel,
                contact_point=rng.choice(POINTS[:2]),
                at=start + timedelta(minutes=rng.randrange(31 * 24 * 60)),
                party=rng.choice(PARTIES),
            )
            decision = decide(pack, debtor, request, ContactHistory(tuple(permits)))
            if isinstance(decision, Refused):
                refusals[decision.rule] = refusals.get(decision.rule, 0) + 1
                continue
            outcome = rng.choice(CALL_OUTCOMES if channel is not Channel.SMS else MESSAGE_OUTCOMES)
            permits.append(
                PermitRecord(
                    request.account_id,
                    channel,
                    request.contact_point,
                    request.at,
                    decision.expires_at,
                    outcome,
                )
            )
            stored.append(Stored(request, outcome))
        assert count_violations(pack, debtor, stored, ()) == {}
        return stored, refusals

    def test_cn_seed(self) -> None:
        stored, refusals = self._month(CN_SEED, "America/New_York", 1)
        assert len(stored) > 60
        assert refusals[Rule.DAILY_ATTEMPTS] > 0 and refusals[Rule.HOURS] > 0

    def test_cn_2026(self) -> None:
        stored, refusals = self._month(CN_2026, "Asia/Shanghai", 2)
        assert len(stored) > 300
        assert refusals[Rule.CONNECTED_CALLS] > 0
        # With many connected calls allowed, the unanswered limit per number binds first.
        roomy = replace(CN_2026, connected_calls=ConnectedCallLimit(20))
        _stored, refusals = self._month(roomy, "Asia/Shanghai", 2)
        assert refusals[Rule.UNANSWERED_CALLS] > 0

    def test_us_regf(self) -> None:
        stored, refusals = self._month(US_REGF, "America/New_York", 3)
        assert len(stored) > 30
        assert refusals[Rule.ROLLING_CALLS] > 0 and refusals[Rule.CONVERSATION_BAR] > 0


def test_zone_bases_are_near_their_changes() -> None:
    # Guards the fixture: each zone's base instant lies within two days of an offset change.
    from zoneinfo import ZoneInfo

    for zone, base in ZONES[:-1]:
        offsets = {(base + timedelta(hours=h)).astimezone(ZoneInfo(zone)).utcoffset() for h in range(-48, 48)}
        assert len(offsets) == 2, zone
    assert date(2026, 3, 2) == ZONES[-1][1].date()
