"""The worker component that sends due planned contacts.

Each due contact is decided when it is due by the same reservation as the permit API
(``permits.reserve``): refused with a ``retry_after`` it is deferred to that time (never
dropped, never sent early); refused for good (a stop flag, no consent, no contact point) it is
``blocked``. Allowed, it is rendered in the debtor's language and handed to its provider with
an idempotency key of its own, so a retry never sends it twice. A provider that fails every
retry leaves it waiting ``resend_after_seconds``; once its permit has expired the permit is
closed as ``failed`` and the contact asks for a new one (the policy decides again). Everything
is in the database: scheduled and deferred work survives a restart. A contact sent or blocked
for good lays out its step's next one (``treatment.schedule_next``) in the same transaction.
The debtor's advisory lock is taken before the contact's row, in the same order as the
consumers' cancellations.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from collections_common.database import session_factory
from collections_common.runtime import Outbox, every
from contact_service.adapters.cases import CaseRecord, CaseRepository
from contact_service.adapters.orm import planned_contacts
from contact_service.adapters.permits import PermitRepository
from contact_service.adapters.providers import OutboundMessage, ProviderError, Providers
from contact_service.adapters.work import BLOCKED, PENDING, SENDING, SENT, PlannedRow, WorkRepository
from contact_service.domain.compliance import PermitRequest
from contact_service.domain.contact import ADDRESS, Channel, Outcome, Owner
from contact_service.metrics import (
    CALL_TASKS_PENDING,
    DEFERRED,
    DEFERRED_WAITING,
    QUEUE_DEPTH,
    count_on_commit,
)
from contact_service.metrics import (
    SENT as SENT_TOTAL,
)
from contact_service.permits import OutcomeReport, count_decision, record_outcome, reserve
from contact_service.plans import LoadedPlan, MessageFacts, Renderer, load_plan
from contact_service.settings import ContactSettings
from contact_service.treatment import schedule_next

__all__ = ["ContactSender", "providers_from"]

NO_CONTACT_POINT = "no_contact_point"


def providers_from(settings: ContactSettings) -> Providers:
    return Providers(
        urls={Channel.SMS: settings.sms_url, Channel.PUSH: settings.push_url, Channel.IVR: settings.ivr_url},
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_sender=settings.smtp_sender,
        timeout_seconds=settings.provider_timeout_seconds,
        retries=settings.provider_retries,
        backoff_seconds=settings.provider_backoff_seconds,
    )


def _contact_point(record: CaseRecord, channel: Channel) -> str | None:
    own = [
        p.value for p in record.case.profile.contact_points if p.owner is Owner.DEBTOR and p.value != ADDRESS
    ]
    wanted = [v for v in own if ("@" in v) == (channel is Channel.EMAIL)]
    return wanted[0] if wanted else None


class ContactSender:
    """Sends due planned contacts until stopped."""

    def __init__(
        self,
        settings: ContactSettings,
        engine: AsyncEngine,
        plan: LoadedPlan | None = None,
        providers: Providers | None = None,
    ) -> None:
        self.settings = settings
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self.plan = plan or load_plan(settings.plan_file)
        self.renderer = Renderer(self.plan)
        self.providers = providers or providers_from(settings)
        self.pack = settings.pack

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await every(stop, self.settings.sender_interval_ms / 1000, self.tick, "sender tick")
        finally:
            await self.providers.close()

    async def tick(self) -> int:
        """Handle every contact due now (up to ``sender_batch``); returns how many were sent."""
        now = self.settings.now()
        async with self.sessions() as session:
            rows = await session.execute(
                select(planned_contacts.c.id, planned_contacts.c.customer_id)
                .where(
                    planned_contacts.c.status.in_((PENDING, SENDING)), planned_contacts.c.next_try_at <= now
                )
                .order_by(planned_contacts.c.next_try_at, planned_contacts.c.priority.desc())
                .limit(self.settings.sender_batch)
            )
            due = [(r.id, r.customer_id) for r in rows]
            waiting = await WorkRepository(session).waiting(now)
        QUEUE_DEPTH.set(waiting["queued"])
        DEFERRED_WAITING.set(waiting["deferred"])
        CALL_TASKS_PENDING.set(waiting["call_tasks"])
        sent = 0
        for planned_id, customer_id in due:
            if await self._permit(planned_id, customer_id, now):
                sent += await self._deliver(planned_id, customer_id, now)
        return sent

    async def _permit(self, planned_id: int, customer_id: str, now: datetime) -> bool:
        """Reserve a permit for a pending contact; True when it is (now) sending."""
        async with self.sessions() as session, session.begin():
            cases = CaseRepository(session)
            await cases.lock(customer_id)
            work = WorkRepository(session)
            row = await work.lock_planned(planned_id)
            if row is None or row.next_try_at > now:
                return False
            if row.status == SENDING:
                return True
            if row.status != PENDING:
                return False
            record = await cases.load(customer_id)
            channel = Channel(row.channel)
            point = _contact_point(record, channel)
            if point is None:
                await work.update_planned(planned_id, status=BLOCKED, deferred_rule=NO_CONTACT_POINT)
                await self._next(session, record, row)
                return False
            permit = await reserve(
                session,
                pack=self.pack,
                source=self.settings.source,
                request=PermitRequest(row.account_id, channel, point, now),
                requested_by="contact-sender",
                customer_id=customer_id,
            )
            if permit.allowed:
                await work.update_planned(
                    planned_id,
                    status=SENDING,
                    permit_id=permit.permit_id,
                    deferred_rule=None,
                    tries=row.tries + 1,
                )
            elif permit.retry_after is not None:
                await work.update_planned(
                    planned_id, next_try_at=permit.retry_after, deferred_rule=permit.rule
                )
                count_on_commit(session, DEFERRED.labels(permit.rule or ""))
            else:
                await work.update_planned(planned_id, status=BLOCKED, deferred_rule=permit.rule)
                await self._next(session, record, row)
        count_decision(permit)
        return permit.allowed

    async def _deliver(self, planned_id: int, customer_id: str, now: datetime) -> int:
        async with self.sessions() as session, session.begin():
            cases = CaseRepository(session)
            await cases.lock(customer_id)
            work = WorkRepository(session)
            row = await work.lock_planned(planned_id)
            if row is None or row.status != SENDING or row.permit_id is None:
                return 0  # cancelled (or taken) since its permit was granted
            permit = await PermitRepository(session).get(row.permit_id)
            assert permit is not None
            record = await cases.load(customer_id)
            message = self._message(row, record, permit.contact_point)
            outbox = Outbox(session)
            try:
                await self.providers.send(message)
            except ProviderError as exc:
                expired = permit.expires_at is None or now >= permit.expires_at
                if exc.final or expired:
                    await record_outcome(
                        session,
                        outbox,
                        pack=self.pack,
                        source=self.settings.source,
                        permit_id=permit.permit_id,
                        report=OutcomeReport(Outcome.FAILED, now),
                        by="contact-sender",
                    )
                    status = BLOCKED if exc.final else PENDING
                    await work.update_planned(planned_id, status=status, permit_id=None, last_error=str(exc))
                    if exc.final:
                        await self._next(session, record, row)
                if not exc.final:
                    retry = now + timedelta(seconds=self.settings.resend_after_seconds)
                    await work.update_planned(planned_id, next_try_at=retry, last_error=str(exc))
                await outbox.flush()
                return 0
            await record_outcome(
                session,
                outbox,
                pack=self.pack,
                source=self.settings.source,
                permit_id=permit.permit_id,
                report=OutcomeReport(Outcome.SENT, now),
                by="contact-sender",
            )
            await work.update_planned(
                planned_id, status=SENT, sent_at=now, language=message.language, last_error=None
            )
            await self._next(session, record, row)
            await outbox.flush()
        SENT_TOTAL.labels(row.channel).inc()
        return 1

    async def _next(self, session: AsyncSession, record: CaseRecord, row: PlannedRow) -> None:
        """The contact ``row`` is done with (sent or blocked): its step's next one is laid out."""
        await schedule_next(session, self.plan.plan, record, row, self.settings.plan_horizon)

    def _message(self, row: PlannedRow, record: CaseRecord, to: str) -> OutboundMessage:
        account = record.case.accounts.get(row.account_id)
        facts = MessageFacts(
            self.settings.bank_name,
            row.account_id[-4:],
            account.dpd if account else 0,
            account.past_due_minor if account else 0,
            account.currency if account and account.currency else "CNY",
        )
        channel = Channel(row.channel)
        rendered = self.renderer.render(row.template, channel, facts, record.case.profile.language)
        return OutboundMessage(
            channel=channel,
            to=to,
            body=rendered.body,
            language=rendered.language,
            idempotency_key=f"planned-{row.id}",
            subject=rendered.subject,
        )
