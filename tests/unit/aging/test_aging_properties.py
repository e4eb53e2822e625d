"""Properties of the aging domain, checked against a deliberately naive reference.

The reference walks the calendar one day at a time, applies that day's reages and then that
day's payments one minor unit (cent) at a time to the oldest eligible due, and computes the
figures by brute force. ``assess`` must agree with it on random histories, ``next_change_on``
must be exact, and ``AccountBook`` must reach the same figures whatever the interleaving of the
billing and payment streams Kafka delivers (DOMAIN.md section 4).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aging_service.domain.account import AccountBook, StageChanged
from aging_service.domain.aging import Due, Payment, Reage, allocate, assess
from aging_service.domain.errors import RejectedEvent
from aging_service.domain.policy import DEFAULT_BUCKETS, AgingPolicy, Bucket

BASE = date(2026, 1, 1)
ONE_DAY = timedelta(days=1)

Figures = tuple[str, int, int, date | None]


def day(offset: int) -> date:
    return BASE + timedelta(days=offset)


# -- the naive reference ---------------------------------------------------------------------


def _due_key(due: Due) -> tuple[date, date, str]:
    """Rule 2's order: oldest due date, then statement date, then statement id."""
    return (due.due_date, due.statement_date, due.statement_id)


def reference_unpaid(
    dues: Sequence[Due], payments: Sequence[Payment], reages: Sequence[Reage]
) -> dict[str, int]:
    """Unpaid part of each due, simulated day by day and cent by cent."""
    unpaid = {due.statement_id: due.amount_minor for due in dues}
    live = [payment for payment in payments if not payment.reversed]
    dates = [payment.value_date for payment in live] + [reage.effective_date for reage in reages]
    if not dates:
        return unpaid
    today, last = min(dates), max(dates)
    while today <= last:
        for reage in reages:
            if reage.effective_date == today:
                for due in dues:
                    if due.statement_date < today:
                        unpaid[due.statement_id] = 0
        todays = sorted(
            (payment for payment in live if payment.value_date == today),
            key=lambda payment: payment.payment_id,
        )
        for payment in todays:
            for _cent in range(payment.amount_minor):
                owing = [due for due in dues if unpaid[due.statement_id] > 0]
                eligible = [due for due in owing if due.statement_date <= today]
                if not eligible:
                    break  # the rest of the payment is not carried anywhere
                oldest = min(eligible, key=_due_key)
                unpaid[oldest.statement_id] -= 1
        today += ONE_DAY
    return unpaid


def reference_figures(
    dues: Sequence[Due], unpaid: dict[str, int], as_of: date | None, policy: AgingPolicy
) -> Figures:
    """(stage, dpd, past due, oldest unpaid due date) by brute force."""
    current = policy.buckets[0].name
    if as_of is None:
        return (current, 0, 0, None)
    past_due = 0
    oldest: date | None = None
    for due in dues:
        if due.due_date < as_of:
            past_due += unpaid[due.statement_id]
            if unpaid[due.statement_id] > 0 and (oldest is None or due.due_date < oldest):
                oldest = due.due_date
    if past_due <= policy.tolerance_minor or oldest is None:
        return (current, 0, past_due, None)
    dpd = 0
    counting = oldest
    while counting < as_of:
        dpd += 1
        counting += ONE_DAY
    if dpd <= policy.grace_days:
        return (current, 0, past_due, None)
    stage = current
    for bucket in policy.buckets:
        if dpd >= bucket.min_dpd:
            stage = bucket.name
    return (stage, dpd, past_due, oldest)


# -- strategies ------------------------------------------------------------------------------
#
# Dates are aimed at the interesting points: a payment or reage often falls on a statement
# date, a due date or another reage's date (same-day ordering, ``<`` versus ``<=``), and the
# as-of date often lands on a due date plus the grace, a bucket threshold or one day either
# side of them.


@st.composite
def policies(draw: st.DrawFn) -> AgingPolicy:
    if draw(st.booleans()):
        buckets = DEFAULT_BUCKETS
    else:
        thresholds = sorted(draw(st.lists(st.integers(1, 40), unique=True, max_size=4)))
        buckets = (Bucket("CURRENT", 0), *(Bucket(f"B{t}", t) for t in thresholds))
    return AgingPolicy(
        buckets=buckets,
        grace_days=draw(st.sampled_from([0, 0, 1, 3, 5])),
        tolerance_minor=draw(st.sampled_from([0, 0, 1, 10, 25])),
    )


@dataclass(frozen=True)
class Scenario:
    """Facts of one account, a policy and an as-of date (``None``: no day closed yet)."""

    dues: tuple[Due, ...]
    payments: tuple[Payment, ...]
    reages: tuple[Reage, ...]
    policy: AgingPolicy
    as_of: date | None


NEAR = st.sampled_from([0, 1, -1, 5])
AMOUNTS = st.one_of(st.integers(0, 30), st.sampled_from([1, 5, 10]))


@st.composite
def scenarios(draw: st.DrawFn, *, no_day_closed: bool = True) -> Scenario:
    dues = []
    for number in draw(st.permutations(range(draw(st.integers(0, 5) | st.just(2))))):
        statement = day(draw(st.integers(0, 8)) * 5)
        due_on = statement + timedelta(days=draw(st.sampled_from([0, 5, 10, 20, 25, 3])))
        dues.append(Due(f"S{number}", statement, due_on, draw(AMOUNTS)))
    statement_dates = sorted({d.statement_date for d in dues})
    due_dates = sorted({d.due_date for d in dues})

    def some_date(*pools: Sequence[date]) -> date:
        """Exactly a landmark, near one, or anywhere."""
        landmarks = [landmark for pool in pools for landmark in pool]
        kind = draw(st.sampled_from(["exact", "exact", "near", "any"]))
        if landmarks and kind == "exact":
            return draw(st.sampled_from(landmarks))
        if landmarks and kind == "near":
            return draw(st.sampled_from(landmarks)) + timedelta(days=draw(NEAR))
        return day(draw(st.integers(0, 90)))

    reages = [
        Reage(f"R{number}", some_date(statement_dates, due_dates))
        for number in range(draw(st.sampled_from([0, 0, 1, 2])))
    ]
    reage_dates = [reage.effective_date for reage in reages]
    payments = [
        Payment(
            f"P{number}",
            some_date(reage_dates, reage_dates, statement_dates, due_dates),
            draw(st.integers(1, 30)),
            draw(st.booleans()),
        )
        for number in draw(st.permutations(range(draw(st.sampled_from([0, 1, 1, 2, 3, 5])))))
    ]
    policy = draw(policies())

    as_of: date | None
    choice = draw(st.sampled_from(["due", "due", "due", "any", "none"]))
    if choice == "none" and no_day_closed:
        as_of = None
    elif choice == "due" and dues:
        # Near the oldest unpaid due date (by the reference), where DPD is measured from.
        unpaid = reference_unpaid(dues, payments, reages)
        owing = sorted(d.due_date for d in dues if unpaid[d.statement_id] > 0)
        any_due = draw(st.sampled_from([True, False, False]))
        anchor = draw(st.sampled_from(dues)).due_date if any_due or not owing else owing[0]
        grace = policy.grace_days
        thresholds = sorted({b.min_dpd + e for b in policy.buckets for e in (-1, 0, 1)})
        step = draw(
            st.one_of(
                st.sampled_from([grace - 1, grace, grace + 1]),
                st.sampled_from(thresholds),
                st.integers(-3, 10),
            )
        )
        as_of = anchor + timedelta(days=step)
    else:
        as_of = day(draw(st.integers(0, 160)))
    return Scenario(tuple(dues), tuple(payments), tuple(reages), policy, as_of)


# -- assess against the reference ------------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(scenarios())
def test_assess_agrees_with_the_day_by_day_reference(case: Scenario) -> None:
    unpaid = reference_unpaid(case.dues, case.payments, case.reages)
    a = assess(case.dues, case.payments, case.reages, case.as_of, case.policy)
    assert (a.stage, a.dpd, a.past_due_minor, a.oldest_unpaid_due_date) == reference_figures(
        case.dues, unpaid, case.as_of, case.policy
    )
    assert {s.due.statement_id: s.unpaid_minor for s in a.dues} == unpaid
    assert a.as_of == case.as_of

    # The same facts judged on every boundary: each due date plus the grace or a threshold,
    # and one day either side.
    grace = case.policy.grace_days
    steps = {grace + e for e in (-1, 0, 1)}
    steps.update(bucket.min_dpd + e for bucket in case.policy.buckets for e in (-1, 0, 1))
    for when in sorted({due.due_date + timedelta(days=k) for due in case.dues for k in steps}):
        b = assess(case.dues, case.payments, case.reages, when, case.policy)
        figures = (b.stage, b.dpd, b.past_due_minor, b.oldest_unpaid_due_date)
        assert figures == reference_figures(case.dues, unpaid, when, case.policy), when


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_allocation_conserves_money(case: Scenario) -> None:
    statuses = allocate(case.dues, case.payments, case.reages)
    assert [s.due for s in statuses] == sorted(case.dues, key=_due_key)
    for status in statuses:
        assert status.paid_minor >= 0
        assert status.reaged_minor >= 0
        assert status.unpaid_minor >= 0
        parts = status.paid_minor + status.reaged_minor + status.unpaid_minor
        assert parts == status.due.amount_minor
    live = sum(p.amount_minor for p in case.payments if not p.reversed)
    assert sum(s.paid_minor for s in statuses) <= live
    if not case.reages:
        assert all(s.reaged_minor == 0 for s in statuses)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_assess_ignores_the_order_of_its_inputs(case: Scenario, rng: random.Random) -> None:
    expected = assess(case.dues, case.payments, case.reages, case.as_of, case.policy)
    dues, payments, reages = list(case.dues), list(case.payments), list(case.reages)
    for facts in (dues, payments, reages):
        rng.shuffle(facts)
    assert assess(dues, payments, reages, case.as_of, case.policy) == expected


# -- next_change_on --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(scenarios(no_day_closed=False))
def test_next_change_on_is_exact_and_the_stage_never_goes_back(case: Scenario) -> None:
    dues, payments, reages, policy = case.dues, case.payments, case.reages, case.policy
    assert case.as_of is not None
    as_of = case.as_of
    unpaid = reference_unpaid(dues, payments, reages)
    rank = {bucket.name: index for index, bucket in enumerate(policy.buckets)}

    def stage_on(when: date) -> str:
        return reference_figures(dues, unpaid, when, policy)[0]

    # Past this horizon every due has fallen due and DPD is beyond every threshold.
    last_due = max((due.due_date for due in dues), default=as_of)
    widest = max(policy.grace_days + 1, policy.buckets[-1].min_dpd)
    horizon = max(as_of, last_due + ONE_DAY) + timedelta(days=widest + 1)

    stage = stage_on(as_of)
    expected_next: date | None = None
    previous = stage
    when = as_of + ONE_DAY
    while when <= horizon:
        now = stage_on(when)
        assert rank[now] >= rank[previous], "without new events the stage never goes back"
        if expected_next is None and now != stage:
            expected_next = when
        previous = now
        when += ONE_DAY

    a = assess(dues, payments, reages, as_of, policy)
    assert a.stage == stage
    assert a.next_change_on == expected_next
    if a.next_change_on is not None:
        assert assess(dues, payments, reages, a.next_change_on, policy).stage != a.stage


# -- order independence of the AccountBook ---------------------------------------------------


@dataclass(frozen=True)
class StatementIssued:
    event_id: str
    statement_id: str
    statement_date: date
    due_date: date
    minimum_due_minor: int
    currency: str


@dataclass(frozen=True)
class Reaged:
    event_id: str
    reage_id: str
    effective_date: date


@dataclass(frozen=True)
class PaymentPosted:
    event_id: str
    payment_id: str
    value_date: date
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class PaymentReversed:
    event_id: str
    payment_id: str


@dataclass(frozen=True)
class DayClosed:
    event_id: str
    business_date: date


BillingEvent = StatementIssued | Reaged
PaymentEvent = PaymentPosted | PaymentReversed
Event = BillingEvent | PaymentEvent | DayClosed


@dataclass(frozen=True)
class History:
    """Events in publish order (three streams merged), and the account's policy."""

    published: tuple[Event, ...]
    policy: AgingPolicy


@st.composite
def histories(draw: st.DrawFn) -> History:
    """A scenario's facts as events, with resends, conflicts, bad currencies and closes."""
    case = draw(scenarios())
    serial = iter(range(10_000))

    def event_id() -> str:
        return f"e{next(serial)}"

    variant = st.sampled_from(["none", "none", "resend", "conflict", "currency"])
    billing: list[BillingEvent] = []
    for due in case.dues:
        issued = StatementIssued(
            event_id(),
            due.statement_id,
            due.statement_date,
            due.due_date,
            due.amount_minor,
            "CNY",
        )
        billing.append(issued)
        kind = draw(variant)
        if kind == "resend":
            billing.append(replace(issued, event_id=event_id()))
        elif kind == "conflict":
            changed = issued.minimum_due_minor + draw(st.integers(1, 10))
            billing.append(replace(issued, event_id=event_id(), minimum_due_minor=changed))
        elif kind == "currency":
            billing.append(replace(issued, event_id=event_id(), currency="USD"))
    for reage in case.reages:
        reaged = Reaged(event_id(), reage.reage_id, reage.effective_date)
        billing.append(reaged)
        if draw(st.booleans()):
            billing.append(replace(reaged, event_id=event_id()))

    payment_stream: list[PaymentEvent] = []
    for payment in case.payments:
        posted = PaymentPosted(
            event_id(),
            payment.payment_id,
            payment.value_date,
            payment.amount_minor,
            draw(st.sampled_from(["CNY", "CNY", "CNY", "USD"])),
        )
        payment_stream.append(posted)
        kind = draw(variant)
        if kind == "resend":
            payment_stream.append(replace(posted, event_id=event_id()))
        elif kind == "conflict":
            changed = posted.amount_minor + draw(st.integers(1, 10))
            payment_stream.append(replace(posted, event_id=event_id(), amount_minor=changed))
        elif kind == "currency":
            payment_stream.append(replace(posted, event_id=event_id(), currency="USD"))
        if payment.reversed:
            for _ in range(draw(st.sampled_from([1, 1, 2]))):
                payment_stream.append(PaymentReversed(event_id(), payment.payment_id))
    if draw(st.booleans()):
        payment_stream.append(PaymentReversed(event_id(), "P-never-posted"))

    close_dates = [] if case.as_of is None else [case.as_of - ONE_DAY]
    for _ in range(draw(st.integers(0, 3))):
        near_a_due = draw(st.booleans())
        if case.dues and near_a_due:
            due_on = draw(st.sampled_from(case.dues)).due_date
            close_dates.append(due_on + timedelta(days=draw(st.integers(-2, 40))))
        else:
            close_dates.append(day(draw(st.integers(0, 150))))
    closes = [DayClosed(event_id(), closed) for closed in draw(st.permutations(close_dates))]

    # Each stream keeps its own order (a reversal may well precede its payment); draw one
    # order per stream, then one merge of the three streams as the publish order.
    billing = draw(st.permutations(billing))
    payment_stream = draw(st.permutations(payment_stream))
    labels = ["b"] * len(billing) + ["p"] * len(payment_stream) + ["c"] * len(closes)
    labels = draw(st.permutations(labels))
    streams: dict[str, list[Event]] = {"b": list(billing), "p": list(payment_stream)}
    streams["c"] = list(closes)
    published = tuple(streams[label].pop(0) for label in labels)
    return History(published, case.policy)


def _stream(event: Event) -> str:
    if isinstance(event, StatementIssued | Reaged):
        return "billing"
    if isinstance(event, PaymentPosted | PaymentReversed):
        return "payments"
    return "calendar"


def deliveries(published: Sequence[Event], rng: random.Random) -> list[Event]:
    """One delivery order Kafka may produce, with random redeliveries.

    Each stream is delivered in its own order; a close is delivered only after every billing
    and payment event published before it (the barrier). Later events may overtake a close.
    """
    queues: dict[str, list[Event]] = {"billing": [], "payments": [], "calendar": []}
    needs: list[int] = []  # account events that must be delivered before each close
    for position, event in enumerate(published):
        queues[_stream(event)].append(event)
        if isinstance(event, DayClosed):
            needs.append(sum(1 for e in published[:position] if _stream(e) != "calendar"))
    order: list[Event] = []
    delivered_account_events = 0
    while any(queues.values()):
        ready = [name for name in ("billing", "payments") if queues[name]]
        if queues["calendar"] and delivered_account_events >= needs[0]:
            ready.append("calendar")
        name = rng.choice(ready)
        event = queues[name].pop(0)
        if name == "calendar":
            needs.pop(0)
        else:
            delivered_account_events += 1
        order.append(event)
    # At-least-once delivery: some events come again later; the domain must shrug them off.
    for _ in range(rng.randint(0, 3)):
        if order:
            position = rng.randrange(len(order))
            order.insert(rng.randint(position + 1, len(order)), order[position])
    return order


@dataclass(frozen=True)
class Outcome:
    figures: Figures
    stage: str
    rejected: frozenset[str]
    as_of: date | None


def play(events: Sequence[Event], policy: AgingPolicy) -> tuple[Outcome, list[StageChanged]]:
    """Feed events to one AccountBook as the service would (no consumer-side dedup here)."""
    book = AccountBook("ACC-1", policy=policy)
    book.open("CUS-1", "CNY", event_id="opened", as_of=None)
    last_closed: date | None = None
    rejected: set[str] = set()
    changes: list[StageChanged] = []
    for event in events:
        as_of = None if last_closed is None else last_closed + ONE_DAY
        change: StageChanged | None
        try:
            if isinstance(event, DayClosed):
                # The book itself ignores a close that does not move its as-of date forward.
                if last_closed is None or event.business_date > last_closed:
                    last_closed = event.business_date
                change = book.apply_close(event.business_date + ONE_DAY, event.event_id)
            elif isinstance(event, StatementIssued):
                change = book.record_statement(
                    event.statement_id,
                    event.statement_date,
                    event.due_date,
                    event.minimum_due_minor,
                    event.minimum_due_minor * 5,
                    event.currency,
                    event_id=event.event_id,
                    as_of=as_of,
                )
            elif isinstance(event, Reaged):
                change = book.record_reage(
                    event.reage_id, event.effective_date, event_id=event.event_id, as_of=as_of
                )
            elif isinstance(event, PaymentPosted):
                change = book.record_payment(
                    event.payment_id,
                    event.value_date,
                    event.amount_minor,
                    event.currency,
                    event_id=event.event_id,
                    as_of=as_of,
                )
            else:
                payment_id = event.payment_id
                change = book.record_reversal(payment_id, event_id=event.event_id, as_of=as_of)
        except RejectedEvent:
            rejected.add(event.event_id)
            continue
        if change is not None:
            changes.append(change)
    as_of = None if last_closed is None else last_closed + ONE_DAY
    final = book.assess(as_of)
    figures = (final.stage, final.dpd, final.past_due_minor, final.oldest_unpaid_due_date)
    return Outcome(figures, book.stage, frozenset(rejected), as_of), changes


def accepted_facts(
    published: Sequence[Event],
) -> tuple[list[Due], list[Payment], list[Reage]]:
    """What the account must end up knowing: per identity, the first valid fact published."""
    statements: dict[str, Due] = {}
    posted: dict[str, PaymentPosted] = {}
    reages: dict[str, Reage] = {}
    reversed_ids = set()
    for event in published:
        if isinstance(event, StatementIssued) and event.currency == "CNY":
            due = Due(
                event.statement_id,
                event.statement_date,
                event.due_date,
                event.minimum_due_minor,
            )
            statements.setdefault(due.statement_id, due)
        elif isinstance(event, PaymentPosted) and event.currency == "CNY":
            posted.setdefault(event.payment_id, event)
        elif isinstance(event, Reaged):
            reages.setdefault(event.reage_id, Reage(event.reage_id, event.effective_date))
        elif isinstance(event, PaymentReversed):
            reversed_ids.add(event.payment_id)
    payments = [
        Payment(p.payment_id, p.value_date, p.amount_minor, p.payment_id in reversed_ids)
        for p in posted.values()
    ]
    return list(statements.values()), payments, list(reages.values())


@settings(max_examples=120, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_account_book_is_independent_of_the_delivery_interleaving(
    history: History, rng: random.Random
) -> None:
    baseline, baseline_changes = play(history.published, history.policy)

    dues, payments, reages = accepted_facts(history.published)
    unpaid = reference_unpaid(dues, payments, reages)
    assert baseline.figures == reference_figures(dues, unpaid, baseline.as_of, history.policy)

    for _ in range(5):
        outcome, changes = play(deliveries(history.published, rng), history.policy)
        assert outcome == baseline
        _assert_changes_chain(changes, outcome.stage, history.policy)
    _assert_changes_chain(baseline_changes, baseline.stage, history.policy)


def _assert_changes_chain(
    changes: Sequence[StageChanged],
    final_stage: str,
    policy: AgingPolicy,
) -> None:
    """Rule 5: each change starts where the previous one ended and really changes the stage."""
    stage = policy.current_stage
    for change in changes:
        assert change.from_stage == stage
        assert change.to_stage != change.from_stage
        assert (change.dpd == 0) == (change.oldest_unpaid_due_date is None)
        stage = change.to_stage
    assert stage == final_stage
