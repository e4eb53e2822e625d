"""When a debtor is unreachable: N failed attempts on every own contact point (DOMAIN.md section 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contact_service.domain.compliance import ContactHistory, InboundContact, PermitRecord
from contact_service.domain.contact import Channel, ContactPoint, Outcome, Owner
from contact_service.domain.reachability import is_unreachable
from tests.unit.contact.builders import PHONE, PHONE_2, THIRD, permit

T0 = datetime(2026, 3, 2, 2, tzinfo=UTC)
NOW = T0 + timedelta(days=10)
POINTS = (ContactPoint(PHONE), ContactPoint(PHONE_2), ContactPoint(THIRD, Owner.THIRD_PARTY))


def failures(
    point: str, count: int, start: int = 0, outcome: Outcome | None = Outcome.NO_ANSWER
) -> list[PermitRecord]:
    return [permit(T0 + timedelta(hours=start + i), outcome=outcome, point=point) for i in range(count)]


class TestUnreachable:
    def test_three_failures_on_every_own_point(self) -> None:
        history = ContactHistory((*failures(PHONE, 3), *failures(PHONE_2, 2, 10, Outcome.WRONG_NUMBER)))
        assert not is_unreachable(POINTS, history, NOW)
        more = ContactHistory((*history.permits, *failures(PHONE_2, 1, 20)))
        assert is_unreachable(POINTS, more, NOW)

    def test_expired_permits_without_outcome_count_pending_ones_do_not(self) -> None:
        history = ContactHistory((*failures(PHONE, 3, 0, None), *failures(PHONE_2, 3, 0, None)))
        assert is_unreachable(POINTS, history, NOW)
        assert not is_unreachable(POINTS, history, T0 + timedelta(minutes=5))

    def test_reaching_the_debtor_resets_the_count(self) -> None:
        reached = permit(T0 + timedelta(hours=5), outcome=Outcome.REACHED, point=PHONE)
        history = ContactHistory((*failures(PHONE, 3), reached, *failures(PHONE_2, 3, 6)))
        assert not is_unreachable(POINTS, history, NOW)
        inbound = InboundContact("A1", Channel.CALL, PHONE, T0 + timedelta(hours=7))
        both = ContactHistory((*failures(PHONE, 3), *failures(PHONE_2, 3)), (inbound,))
        assert not is_unreachable(POINTS, both, NOW)

    def test_third_party_points_do_not_count_and_the_threshold_is_configurable(self) -> None:
        history = ContactHistory((*failures(PHONE, 1), *failures(PHONE_2, 1)))
        assert is_unreachable(POINTS, history, NOW, threshold=1)
        assert not is_unreachable(POINTS, history, NOW)

    def test_a_debtor_without_own_points_is_unreachable(self) -> None:
        assert is_unreachable((ContactPoint(THIRD, Owner.THIRD_PARTY),), ContactHistory(), NOW)
