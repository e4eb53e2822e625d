"""One account from M3 to M3+ to a cure, through the real broker, a real escalation worker and a
real PostgreSQL: stage changes published as the aging service publishes them, account events as
core banking does, the agency registry as the gateway does."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devstack.stack import Stack
from tests import escalation_events as ev
from tests.e2e.aging_harness import until
from tests.e2e.escalation_harness import EscalationUnderTest
from tests.letter_provider import RecordingProvider, serve

pytestmark = [pytest.mark.infra, pytest.mark.slow]


@pytest.fixture
def provider() -> Iterator[tuple[RecordingProvider, str]]:
    recording = RecordingProvider()
    with serve(recording) as url:
        yield recording, url


@pytest.fixture
async def escalation(
    stack: Stack, topics: str, namespace: str, tmp_path: Path, provider: tuple[RecordingProvider, str]
) -> AsyncIterator[EscalationUnderTest]:
    service = EscalationUnderTest(stack, namespace, topics, tmp_path, provider[1]).start()
    try:
        yield service
    finally:
        service.stop()


def _types(events: list[dict[str, object]]) -> Counter[object]:
    return Counter(event["type"] for event in events)


async def test_an_account_from_m3_to_m3plus_to_a_cure(
    escalation: EscalationUnderTest, provider: tuple[RecordingProvider, str]
) -> None:
    recording, _ = provider
    to_m3 = dict(past_due_minor=1_200_000, dpd=61, as_of="2026-03-27", cause_event_id="close-2026-03-26")
    await escalation.publish(
        [
            ev.agency("AG-NORTH", regions=["Beijing"], capacity=10),
            ev.agency("AG-EAST", regions=["Shanghai"], capacity=10),
            ev.account_opened("ACC-1", "CUS-1", language="en", name="Zhang San"),
            ev.stage_changed(
                "ACC-1", "CUS-1", "CURRENT", "M1", past_due_minor=300_000, dpd=1, as_of="2026-01-26"
            ),
            ev.stage_changed(
                "ACC-1", "CUS-1", "M1", "M2", past_due_minor=600_000, dpd=31, as_of="2026-02-25"
            ),
            ev.stage_changed("ACC-1", "CUS-1", "M2", "M3", **to_m3),  # type: ignore[arg-type]
            # the same change again under another event id: the same facts act once
            ev.stage_changed("ACC-1", "CUS-1", "M2", "M3", **to_m3),  # type: ignore[arg-type]
        ]
    )
    await escalation.wait_for("collections.letter.issued", "collections.visit.scheduled")

    async def letter_received() -> bool:
        return len(recording.letters) == 1

    await until(letter_received, what="the letter at the provider")
    [posted] = recording.letters.values()
    assert posted["recipient"]["name"] == "Zhang San" and recording.pdf_of(posted["letter_id"]).startswith(
        b"%PDF-"
    )

    await escalation.publish(
        [
            ev.stage_changed(
                "ACC-1", "CUS-1", "M3", "M3+", past_due_minor=1_500_000, dpd=91, as_of="2026-04-26"
            )
        ]
    )
    events = await escalation.wait_for("collections.case.placed", "collections.bureau.flagged")
    [placed] = [e for e in events if e["type"] == "collections.case.placed"]
    assert placed["data"]["agency_id"] == "AG-EAST" and placed["data"]["debtor"]["name"] == "Zhang San"

    await escalation.publish(
        [ev.stage_changed("ACC-1", "CUS-1", "M3+", "CURRENT", past_due_minor=0, dpd=0, as_of="2026-05-02")]
    )
    events = await escalation.wait_for("collections.case.recalled", "collections.bureau.cleared")
    [recalled] = [e for e in events if e["type"] == "collections.case.recalled"]
    assert (
        recalled["data"]["reason"] == "cure"
        and recalled["data"]["placement_id"] == placed["data"]["placement_id"]
    )
    assert _types(events) == {
        "collections.letter.issued": 1,
        "collections.visit.scheduled": 1,
        "collections.case.placed": 1,
        "collections.bureau.flagged": 1,
        "collections.case.recalled": 1,
        "collections.bureau.cleared": 1,
    }
    assert len(recording.letters) == 1 and recording.requests == 1
