"""Demand letters dispatched to a letter provider over HTTP (a recording provider served by
uvicorn): the PDF posted is a real PDF with the letter's text, under an Idempotency-Key; the
dispatch status is stored and ``collections.letter.issued`` emitted; a provider that keeps
failing is retried with backoff and the letter fails in the end."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator

import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from devstack.stack import Stack
from escalation_service.bootstrap import SERVICE
from escalation_service.dispatcher import LetterDispatcher
from escalation_service.settings import EscalationSettings
from tests import escalation_events as ev
from tests.integration.escalation_db import apply, emitted, rows
from tests.letter_provider import RecordingProvider, serve

pytestmark = [pytest.mark.infra]


@pytest.fixture
def provider() -> Iterator[tuple[RecordingProvider, str]]:
    recording = RecordingProvider()
    with serve(recording) as url:
        yield recording, url


@pytest.fixture
async def engine(stack: Stack, namespace: str) -> AsyncIterator[AsyncEngine]:
    url = stack.create_database(f"{namespace}_escalation")
    SERVICE.migrate(EscalationSettings(database_url=url))
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()


def _settings(url: str, **overrides: object) -> EscalationSettings:
    values: dict[str, object] = {
        "environment": "test",
        "letter_provider_url": url,
        "letter_provider_retries": 2,
        "letter_provider_backoff_seconds": 0.01,
        **overrides,
    }
    return EscalationSettings(**values)  # type: ignore[arg-type]


async def _letter_due(engine: AsyncEngine, settings: EscalationSettings) -> str:
    await apply(
        engine,
        settings,
        [
            ev.account_opened("ACC-0042", "C1", language="en", name="Zhang San"),
            ev.stage_changed(
                "ACC-0042", "C1", "M2", "M3", past_due_minor=1_234_567, dpd=61, as_of="2026-03-27"
            ),
        ],
    )
    [letter] = await rows(engine, "SELECT letter_id FROM letters WHERE account_id = 'ACC-0042'")
    return str(letter["letter_id"])


class TestDispatch:
    async def test_the_provider_receives_a_real_pdf_of_the_letter_and_the_letter_is_issued(
        self, engine: AsyncEngine, provider: tuple[RecordingProvider, str]
    ) -> None:
        recording, url = provider
        settings = _settings(url)
        letter_id = await _letter_due(engine, settings)
        dispatcher = LetterDispatcher(settings, engine)
        assert await dispatcher.dispatch_once() == 1
        posted = recording.letters[letter_id]
        assert posted["recipient"]["name"] == "Zhang San"
        assert posted["recipient"]["address"]["city"] == "Shanghai"
        pdf = recording.pdf_of(letter_id)
        assert pdf.startswith(b"%PDF-")
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        for phrase in ("Zhang San", "CNY 12,345.67", "ending 0042", "Legal basis", "How to dispute"):
            assert phrase in text
        [stored] = await rows(engine, "SELECT status, provider_ref, attempts FROM letters")
        assert stored == {"status": "sent", "provider_ref": f"prov-{letter_id}", "attempts": 1}
        [issued] = await emitted(engine, "collections.letter.issued")
        assert issued["data"]["letter_id"] == letter_id and issued["data"]["rule"] == "demand-letter"
        assert await dispatcher.dispatch_once() == 0, "a sent letter is not sent again"
        assert recording.requests == 1
        assert dispatcher.provider is not None
        await dispatcher.provider.close()

    async def test_a_failing_provider_is_retried_with_backoff_then_the_letter_fails(
        self, engine: AsyncEngine, provider: tuple[RecordingProvider, str]
    ) -> None:
        recording, url = provider
        settings = _settings(url, letter_max_attempts=1)
        await _letter_due(engine, settings)
        recording.fail_next = 2  # the first two requests fail, the third (second retry) succeeds
        dispatcher = LetterDispatcher(settings, engine)
        assert await dispatcher.dispatch_once() == 1
        assert recording.requests == 3
        recording.fail_next = 100
        await apply(
            engine,
            settings,
            [
                ev.account_opened("ACC-0043", "C2", language="en", name="Li Si"),
                ev.stage_changed(
                    "ACC-0043", "C2", "M2", "M3", past_due_minor=100, dpd=61, as_of="2026-03-27"
                ),
            ],
        )
        assert await dispatcher.dispatch_once() == 0
        failed = await rows(engine, "SELECT status, last_error FROM letters WHERE account_id = 'ACC-0043'")
        assert failed[0]["status"] == "failed" and "HTTP 503" in failed[0]["last_error"]
        assert dispatcher.provider is not None
        await dispatcher.provider.close()

    async def test_a_letter_that_cannot_be_rendered_fails_without_holding_up_the_others(
        self, engine: AsyncEngine, provider: tuple[RecordingProvider, str]
    ) -> None:
        recording, url = provider
        settings = _settings(url)
        odd = ev.stage_changed("ACC-9", "C9", "M2", "M3", past_due_minor=100, dpd=61, as_of="2026-03-27")
        odd["event"]["data"]["currency"] = "XAU"  # type: ignore[index]
        await apply(engine, settings, [ev.account_opened("ACC-9", "C9", language="en"), odd])
        letter_id = await _letter_due(engine, settings)
        dispatcher = LetterDispatcher(settings, engine)
        assert await dispatcher.dispatch_once() == 1
        assert list(recording.letters) == [letter_id]
        [failed] = await rows(engine, "SELECT status, last_error FROM letters WHERE account_id = 'ACC-9'")
        assert failed["status"] == "failed" and "cannot be rendered" in failed["last_error"]
        assert dispatcher.provider is not None
        await dispatcher.provider.close()
