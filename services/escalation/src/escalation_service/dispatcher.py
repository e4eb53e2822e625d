"""Worker components: the letter dispatcher and the placement gauges.

The dispatcher takes pending letters (locked, ``SKIP LOCKED``: several workers share the work),
renders each to HTML and PDF, posts it to the letter provider and stores the dispatch status; a
letter the provider accepted is emitted as ``collections.letter.issued`` in the same
transaction. A letter that cannot be sent now is tried again later, with a growing delay, until
``letter_max_attempts`` rounds have failed; then it is ``failed`` (a supervisor can retry it).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from collections_common.events import EventTypes, LetterIssued, Topics, new_event
from collections_common.runtime import Outbox, is_transient, sleep_or_stop
from escalation_service.adapters.accounts import Accounts
from escalation_service.adapters.letter_provider import (
    LetterProvider,
    LetterRefused,
    OutgoingLetter,
    ProviderUnavailable,
)
from escalation_service.adapters.letters import Letters
from escalation_service.adapters.placements import Placements
from escalation_service.domain.letters import LetterContent, render_html, render_pdf
from escalation_service.metrics import (
    ACTIONS,
    LETTER_DISPATCH_FAILURES,
    LETTERS_SENT,
    PLACEMENTS_ACTIVE,
    count_on_commit,
)
from escalation_service.settings import EscalationSettings

__all__ = ["LetterDispatcher", "PlacementGauges", "letter_content"]

log = logging.getLogger(__name__)
ACTOR = "letter-dispatcher"
BATCH = 10


def letter_content(row: Any, debtor_name: str, settings: EscalationSettings) -> LetterContent:
    """What the letter of ``row`` states (the account shown by its last four characters)."""
    return LetterContent(
        letter_id=row.letter_id,
        language=row.language,
        debtor_name=debtor_name,
        account_ref=row.account_id[-4:],
        past_due_minor=row.past_due_minor,
        currency=row.currency,
        overdue_since=row.overdue_since,
        dpd=row.dpd,
        issued_on=row.issued_on,
        pay_by=row.pay_by,
        bank=settings.bank,
    )


class LetterDispatcher:
    def __init__(
        self, settings: EscalationSettings, engine: AsyncEngine, provider: LetterProvider | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.provider = provider
        if provider is None and settings.letter_provider_url:
            self.provider = LetterProvider(
                settings.letter_provider_url,
                timeout_seconds=settings.letter_provider_timeout_seconds,
                retries=settings.letter_provider_retries,
                backoff_seconds=settings.letter_provider_backoff_seconds,
                token=settings.letter_provider_token,
            )

    async def run(self, stop: asyncio.Event) -> None:
        if self.provider is None:
            log.warning("no LETTER_PROVIDER_URL: demand letters wait unsent")
            await stop.wait()
            return
        interval = self.settings.letter_dispatch_interval_ms / 1000
        try:
            while not stop.is_set():
                try:
                    sent = await self.dispatch_once()
                except Exception as exc:
                    if not is_transient(exc):
                        log.exception("letter dispatch failed")
                    sent = 0
                if not sent:
                    await sleep_or_stop(stop, interval)
        finally:
            await self.provider.close()

    def _retry_in(self, attempts: int) -> timedelta | None:
        if attempts + 1 >= self.settings.letter_max_attempts:
            return None
        return timedelta(seconds=min(2.0**attempts, 300.0))

    async def dispatch_once(self) -> int:
        """Sends the letters due now; returns how many the provider accepted."""
        assert self.provider is not None
        sent = 0
        async with AsyncSession(self.engine) as session, session.begin():
            letters = Letters(session)
            outbox = Outbox(session)
            now = datetime.now(UTC)
            for row in await letters.claim_due(now, BATCH):
                account = await Accounts(session).get(row.account_id)
                if account is None or not account.holder_name or not account.address_known:
                    await letters.failed_attempt(
                        row.letter_id,
                        error="the debtor's name or address is not known yet",
                        retry_in=self._retry_in(row.attempts),
                        now=now,
                    )
                    continue
                try:
                    html = render_html(letter_content(row, account.holder_name, self.settings))
                    pdf = await asyncio.to_thread(render_pdf, html)
                except (ValueError, TypeError) as exc:  # e.g. a currency the letters cannot print
                    log.warning("letter %s cannot be rendered: %s", row.letter_id, exc)
                    await letters.failed_attempt(
                        row.letter_id, error=f"cannot be rendered: {exc}", retry_in=None, now=now
                    )
                    count_on_commit(session, LETTER_DISPATCH_FAILURES.labels("true"))
                    count_on_commit(session, ACTIONS.labels("demand_letter", "failed"))
                    continue
                outgoing = OutgoingLetter(
                    row.letter_id, row.language, account.holder_name, account.address or {}, pdf
                )
                try:
                    reference = await self.provider.send(outgoing)
                except (ProviderUnavailable, LetterRefused, ValueError) as exc:  # ValueError: a bad answer
                    final = isinstance(exc, LetterRefused) or self._retry_in(row.attempts) is None
                    await letters.failed_attempt(
                        row.letter_id,
                        error=str(exc),
                        retry_in=None if final else self._retry_in(row.attempts),
                        now=now,
                    )
                    count_on_commit(session, LETTER_DISPATCH_FAILURES.labels(str(final).lower()))
                    if final:
                        count_on_commit(session, ACTIONS.labels("demand_letter", "failed"))
                    continue
                await letters.set_status(
                    row.letter_id,
                    "sent",
                    by=ACTOR,
                    provider_ref=reference,
                    sent_at=now,
                    pdf_bytes=len(pdf),
                    attempts=row.attempts + 1,
                    last_error=None,
                )
                event = new_event(
                    EventTypes.LETTER_ISSUED,
                    self.settings.source,
                    row.account_id,
                    LetterIssued(
                        letter_id=row.letter_id,
                        account_id=row.account_id,
                        customer_id=row.customer_id,
                        rule=row.rule_id,
                        language=row.language,
                        past_due_minor=row.past_due_minor,
                        currency=row.currency,
                        issued_on=row.issued_on,
                    ),
                )
                outbox.add(Topics.ESCALATION, event, key=row.account_id)
                count_on_commit(session, LETTERS_SENT.labels(row.language))
                count_on_commit(session, ACTIONS.labels("demand_letter", "sent"))
                sent += 1
            await outbox.flush()
        return sent


class PlacementGauges:
    """Sets ``collections_escalation_placements_active`` from the database every interval."""

    def __init__(self, settings: EscalationSettings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self._seen: set[str] = set()

    async def refresh(self) -> None:
        async with AsyncSession(self.engine) as session:
            counts = await Placements(session).active_per_agency()
        for agency in self._seen - counts.keys():
            PLACEMENTS_ACTIVE.labels(agency).set(0)
        for agency, count in counts.items():
            PLACEMENTS_ACTIVE.labels(agency).set(count)
        self._seen |= counts.keys()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("placement gauges failed")
            await sleep_or_stop(stop, self.settings.gauge_interval_seconds)
