"""Benchmark: a simulated month of contact requests under each rule pack, checked independently.

For each pack (``cn-seed``, ``cn-2026``, ``us-regf``) a fresh database gets ``--debtors``
debtors (opened through the worker's handlers: two phones and an e-mail each, zones in Shanghai
and New York (whose clocks move on 2026-03-08), consents varied). Then ``--requests`` contact
requests by the bank and three agencies, at times spread over March 2026 (day and night), go
through the real reservation path (``contact_service.permits.reserve``, the one the permit API
and the sender call) against PostgreSQL, ``--concurrency`` at a time, roughly in time order;
each allowed one gets an outcome (calls: no answer, busy, voicemail, reached or refused; sends:
sent) reported two simulated minutes after its time, or none for one in ten (it stays
``unknown``). The simulation keeps the month's causality: a request is decided only once every
outcome reported before its time has been recorded, as a party's dialler reports a call before
anyone asks for a later one (requests closer together than that still race, and a pending permit
counts as possibly connected). Afterwards the naive checker of
``tests/unit/contact/naive_checker.py`` (written from DOMAIN.md section 5, sharing nothing with
the policy but the pack's numbers) walks every debtor's stored allowed decisions and counts
violations. Target: 0 under every pack.

    .venv/bin/python -m benchmarks.contact_month [--requests 100000] [--debtors 500] [--packs cn-seed,...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from benchmarks._infra import benchmark_stack, connect
from collections_common.runtime import Outbox
from contact_service.adapters.cases import CaseRepository
from contact_service.bootstrap import SERVICE
from contact_service.domain.compliance import PermitRequest
from contact_service.domain.contact import Channel, Outcome, Party, PartyKind
from contact_service.domain.packs import RulePack, pack_named
from contact_service.permits import OutcomeReport, record_outcome, reserve
from contact_service.settings import ContactSettings
from devstack.stack import Stack
from tests.contact_harness import apply, opened
from tests.unit.contact.naive_checker import Stored, count_violations

MONTH = datetime(2026, 3, 1, tzinfo=UTC)
PARTIES = (
    Party(),
    Party(PartyKind.AGENCY, "AG1"),
    Party(PartyKind.AGENCY, "AG2"),
    Party(PartyKind.AGENCY, "AG3"),
)
CHANNELS = (Channel.CALL, Channel.CALL, Channel.CALL, Channel.SMS, Channel.EMAIL, Channel.IVR, Channel.PUSH)
REPORTED_AFTER = timedelta(minutes=2)
"""When (simulated) a party reports the outcome of an allowed request."""
CALL_OUTCOMES = (
    Outcome.NO_ANSWER,
    Outcome.NO_ANSWER,
    Outcome.BUSY,
    Outcome.VOICEMAIL,
    Outcome.REACHED,
    Outcome.REFUSED,
)


def phones(n: int) -> tuple[str, str]:
    return f"+86138{n:08d}", f"+86139{n:08d}"


def debtors_opened(count: int, rng: random.Random) -> list[dict[str, Any]]:
    events = []
    for n in range(count):
        consents = {c: rng.random() < 0.85 for c in ("sms", "email", "push")}
        if rng.random() < 0.7:
            consents["autodial"] = rng.random() < 0.8
        events.append(
            opened(
                f"A{n:06d}",
                f"C{n:06d}",
                timezone="Asia/Shanghai" if n % 3 else "America/New_York",
                phones=phones(n),
                email=f"c{n}@example.com",
                consents=consents,
            )
        )
    return events


def requests(count: int, debtors: int, rng: random.Random) -> list[tuple[PermitRequest, Outcome | None]]:
    """The month's requests in time order, each with the outcome its party will report."""
    made = []
    for _ in range(count):
        n = rng.randrange(debtors)
        channel = rng.choice(CHANNELS)
        if channel is Channel.EMAIL:
            point = f"c{n}@example.com"
        elif rng.random() < 0.02:
            point = f"+86137{rng.randrange(10**8):08d}"  # a number that is not the debtor's
        else:
            point = rng.choice(phones(n))
        at = MONTH + timedelta(seconds=rng.randrange(31 * 24 * 3600))
        autodialled = rng.random() < 0.3 if channel is Channel.CALL else None
        request = PermitRequest(f"A{n:06d}", channel, point, at, rng.choice(PARTIES), autodialled)
        if rng.random() < 0.1:
            outcome = None
        elif channel in (Channel.CALL, Channel.IVR):
            outcome = rng.choice(CALL_OUTCOMES)
        else:
            outcome = Outcome.SENT
        made.append((request, outcome))
    made.sort(key=lambda item: item[0].at)
    return made


async def run_pack(
    engine: AsyncEngine, pack: RulePack, work: list[tuple[PermitRequest, Outcome | None]], concurrency: int
) -> tuple[float, Counter[str]]:
    queue: asyncio.Queue[tuple[PermitRequest, Outcome | None]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    decided: Counter[str] = Counter()
    in_flight: dict[int, tuple[datetime, asyncio.Event]] = {}
    """Requests taken and not yet done (decided and, if allowed, their outcome recorded), by id."""

    async def outcomes_reported_before(at: datetime) -> None:
        for reported_at, done in list(in_flight.values()):
            if reported_at <= at:
                await done.wait()

    async def worker() -> None:
        while not queue.empty():
            request, outcome = queue.get_nowait()
            done = asyncio.Event()
            in_flight[id(done)] = (request.at + REPORTED_AFTER, done)
            try:
                await outcomes_reported_before(request.at)
                await decide(request, outcome)
            finally:
                del in_flight[id(done)]
                done.set()

    async def decide(request: PermitRequest, outcome: Outcome | None) -> None:
        async with AsyncSession(engine) as session, session.begin():
            row = await reserve(session, pack=pack, source="bench", request=request, requested_by="bench")
        decided["allowed" if row.allowed else f"refused:{row.rule}"] += 1
        if row.allowed and outcome is not None:
            async with AsyncSession(engine) as session, session.begin():
                outbox = Outbox(session)
                await record_outcome(
                    session,
                    outbox,
                    pack=pack,
                    source="bench",
                    permit_id=row.permit_id,
                    report=OutcomeReport(outcome, request.at + REPORTED_AFTER),
                    by="bench",
                )
                await outbox.flush()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, decided


async def check(engine: AsyncEngine, stack: Stack, database: str, pack: RulePack) -> tuple[int, Counter[str]]:
    """The naive checker over every debtor's stored allowed decisions: (allowed, violations)."""
    conn = await connect(stack, database)
    try:
        rows = await conn.fetch(
            "SELECT customer_id, account_id, channel, contact_point, party_kind, party_id, autodialled,"
            " purpose, at, outcome FROM permits WHERE allowed ORDER BY customer_id, at"
        )
    finally:
        await conn.close()
    by_debtor: dict[str, list[Stored]] = {}
    for r in rows:
        party = Party(PartyKind(r["party_kind"]), r["party_id"])
        request = PermitRequest(
            r["account_id"], Channel(r["channel"]), r["contact_point"], r["at"], party, r["autodialled"]
        )
        outcome = Outcome(r["outcome"]) if r["outcome"] is not None else None
        by_debtor.setdefault(r["customer_id"], []).append(Stored(request, outcome))
    violations: Counter[str] = Counter()
    async with AsyncSession(engine) as session:
        cases = CaseRepository(session)
        for customer, stored in by_debtor.items():
            record = await cases.load(customer)
            facts = record.case.compliance_facts(unreachable=record.unreachable)
            violations.update(count_violations(pack, facts, stored, []))
    return len(rows), violations


async def one_pack(stack: Stack, name: str, args: argparse.Namespace) -> str:
    pack = pack_named(name)
    rng = random.Random(args.seed)
    database = f"contact_month_{name.replace('-', '_')}"
    stack.create_database(database)
    settings = ContactSettings(database_url=stack.database_url(database), compliance_pack=name)
    SERVICE.migrate(settings)
    engine = create_async_engine(settings.database_url, pool_size=args.concurrency + 2)
    try:
        accounts = debtors_opened(args.debtors, rng)
        for first in range(0, len(accounts), 500):
            await apply(engine, settings, *accounts[first : first + 500])
        work = requests(args.requests, args.debtors, rng)
        load_before = os.getloadavg()[0]
        seconds, decided = await run_pack(engine, pack, work, args.concurrency)
        load_after = os.getloadavg()[0]
        allowed, violations = await check(engine, stack, database, pack)
    finally:
        await engine.dispose()
    refused = {k.removeprefix("refused:"): v for k, v in sorted(decided.items()) if k.startswith("refused:")}
    return (
        f"pack={name} requests={sum(decided.values())} allowed={decided['allowed']} "
        f"(stored allowed {allowed}) refused by rule={refused} seconds={seconds:.1f} "
        f"({sum(decided.values()) / seconds:.0f}/s) violations={sum(violations.values())} {dict(violations)} "
        f"load average before/after={load_before:.2f}/{load_after:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--debtors", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--packs", default="cn-seed,cn-2026,us-regf")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with benchmark_stack() as stack:
        for name in args.packs.split(","):
            print(asyncio.run(one_pack(stack, name, args)), flush=True)


if __name__ == "__main__":
    main()
