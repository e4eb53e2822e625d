"""DOMAIN.md section 4, rule by rule, as examples (the pure domain only)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from aging_service.domain.account import AccountBook, StageChanged
from aging_service.domain.aging import Assessment, Due, Payment, Reage, allocate, assess
from aging_service.domain.errors import (
    AgingError,
    ConflictingDuplicate,
    CurrencyMismatch,
    InvalidFact,
    InvalidPolicy,
    RejectedEvent,
)
from aging_service.domain.policy import DEFAULT_BUCKETS, AgingPolicy, Bucket, stage_for
from aging_service.settings import AgingSettings

DEFAULT = AgingPolicy()
CHARGE_OFF_BUCKETS = (*DEFAULT_BUCKETS, Bucket("CHARGE_OFF", 181))


def d(text: str) -> date:
    """2026 dates as ``MM-DD``."""
    return date.fromisoformat(f"2026-{text}")


def due(statement_id: str, statement: str, due_on: str, amount: int) -> Due:
    return Due(statement_id, d(statement), d(due_on), amount)


def pay(payment_id: str, value: str, amount: int, *, reversed: bool = False) -> Payment:
    return Payment(payment_id, d(value), amount, reversed)


def run(
    dues: Iterable[Due],
    as_of: str | None,
    payments: Iterable[Payment] = (),
    reages: Iterable[Reage] = (),
    policy: AgingPolicy = DEFAULT,
) -> Assessment:
    return assess(dues, payments, reages, None if as_of is None else d(as_of), policy)


def figures(a: Assessment) -> tuple[str, int, int, date | None]:
    return (a.stage, a.dpd, a.past_due_minor, a.oldest_unpaid_due_date)


S1 = due("S1", "01-05", "01-25", 10000)


class TestPolicy:
    def test_default_buckets_follow_the_stage_table(self) -> None:
        assert [(b.name, b.min_dpd) for b in DEFAULT.buckets] == [
            ("CURRENT", 0),
            ("M1", 1),
            ("M2", 31),
            ("M3", 61),
            ("M3+", 91),
        ]
        assert (DEFAULT.grace_days, DEFAULT.tolerance_minor) == (0, 0)
        assert DEFAULT.current_stage == "CURRENT"

    @pytest.mark.parametrize(
        ("dpd", "stage"),
        [(0, "CURRENT"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"), (61, "M3")]
        + [(90, "M3"), (91, "M3+"), (180, "M3+"), (5000, "M3+")],
    )
    def test_stage_by_dpd(self, dpd: int, stage: str) -> None:
        assert stage_for(dpd, DEFAULT_BUCKETS) == stage
        assert DEFAULT.stage_for(dpd) == stage

    def test_a_later_stage_such_as_charge_off_can_be_added(self) -> None:
        assert stage_for(180, CHARGE_OFF_BUCKETS) == "M3+"
        assert stage_for(181, CHARGE_OFF_BUCKETS) == "CHARGE_OFF"

    def test_buckets_may_be_given_as_a_list(self) -> None:
        policy = AgingPolicy(buckets=list(CHARGE_OFF_BUCKETS))  # type: ignore[arg-type]
        assert policy.buckets == CHARGE_OFF_BUCKETS
        assert hash(policy) == hash(AgingPolicy(buckets=CHARGE_OFF_BUCKETS))

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"buckets": ()},
            {"buckets": (Bucket("M1", 1),)},
            {"buckets": (Bucket("CURRENT", 0), Bucket("M2", 31), Bucket("M1", 1))},
            {"buckets": (Bucket("CURRENT", 0), Bucket("M1", 0))},
            {"buckets": (Bucket("CURRENT", 0), Bucket("CURRENT", 1))},
            {"buckets": (Bucket("", 0),)},
            {"grace_days": -1},
            {"tolerance_minor": -1},
            {"grace_days": True},
        ],
    )
    def test_invalid_configuration_is_refused(self, kwargs: dict[str, object]) -> None:
        with pytest.raises(InvalidPolicy):
            AgingPolicy(**kwargs)  # type: ignore[arg-type]

    def test_a_bad_stage_list_in_the_settings_is_refused_at_start_with_the_reason(self) -> None:
        """The settings validator relies on InvalidPolicy being a ValueError: pydantic reports it
        as a validation error of STAGE_BUCKETS instead of crashing the service at its first event."""
        with pytest.raises(ValidationError, match="stage_buckets"):
            AgingSettings(stage_buckets="M1:5,CURRENT:0")
        with pytest.raises(AgingError):
            AgingPolicy(grace_days=-1)

    def test_negative_dpd_has_no_stage(self) -> None:
        with pytest.raises(ValueError):
            stage_for(-1, DEFAULT_BUCKETS)


class TestRule1AsOfDate:
    def test_before_any_close_no_account_is_delinquent(self) -> None:
        a = run([S1], None)
        assert figures(a) == ("CURRENT", 0, 0, None)
        assert a.next_change_on is None
        assert a.is_current

    def test_the_as_of_date_is_the_day_after_the_close(self) -> None:
        # Close of 01-25 -> A = 01-26: the due of 01-25 is one day past due.
        assert figures(run([S1], "01-25")) == ("CURRENT", 0, 0, None)
        assert figures(run([S1], "01-26")) == ("M1", 1, 10000, d("01-25"))

    def test_a_jump_over_several_days_goes_straight_to_the_new_date(self) -> None:
        assert figures(run([S1], "05-01")) == ("M3+", 96, 10000, d("01-25"))


class TestRule2Allocation:
    def test_payment_pays_the_oldest_due_first(self) -> None:
        s2 = due("S2", "02-05", "02-25", 10000)
        statuses = allocate([s2, S1], [pay("P1", "03-02", 12000)], [])
        assert [(s.due.statement_id, s.paid_minor, s.unpaid_minor) for s in statuses] == [
            ("S1", 10000, 0),
            ("S2", 2000, 8000),
        ]

    def test_ties_on_due_date_go_by_statement_date_then_statement_id(self) -> None:
        late = due("A", "01-10", "02-01", 100)
        early = due("Z", "01-05", "02-01", 100)
        same_b = due("B", "01-10", "02-01", 100)
        statuses = allocate([same_b, late, early], [pay("P", "01-20", 150)], [])
        assert [(s.due.statement_id, s.paid_minor) for s in statuses] == [
            ("Z", 100),
            ("A", 50),
            ("B", 0),
        ]

    def test_a_payment_only_pays_statements_issued_on_or_before_its_value_date(self) -> None:
        s2 = due("S2", "02-05", "02-25", 8000)
        statuses = allocate([S1, s2], [pay("P1", "02-04", 50000), pay("P2", "02-05", 3000)], [])
        assert [(s.due.statement_id, s.paid_minor) for s in statuses] == [
            ("S1", 10000),
            ("S2", 3000),
        ]

    def test_worked_example_overpayment_is_not_carried_to_later_statements(self) -> None:
        # DOMAIN.md: S1 paid with 50000 on 01-20; S2 and S3 (8000 each) unpaid; close 03-25.
        dues = [
            S1,
            due("S2", "02-05", "02-25", 8000),
            due("S3", "03-05", "03-25", 8000),
        ]
        a = run(dues, "03-26", [pay("P1", "01-20", 50000)])
        assert figures(a) == ("M1", 29, 16000, d("02-25"))
        assert [s.unpaid_minor for s in a.dues] == [0, 8000, 8000]

    def test_payments_are_walked_in_value_date_order_not_arrival_order(self) -> None:
        s2 = due("S2", "02-05", "02-25", 10000)
        # P-late (dated 02-10) may pay S2; P-early (dated 01-20) may only pay S1. If P-late
        # went first it would take S1 and leave P-early nothing to pay.
        payments = [pay("P-late", "02-10", 15000), pay("P-early", "01-20", 10000)]
        statuses = allocate([S1, s2], payments, [])
        assert [s.paid_minor for s in statuses] == [10000, 10000]

    def test_payments_of_the_same_date_pay_as_one(self) -> None:
        # Walked by payment_id, but both may pay the same dues oldest first, so together they
        # pay what one payment of their sum would; the surplus over S0 is not carried to S1.
        s0 = due("S0", "01-01", "01-20", 100)
        s1 = due("S1", "01-05", "01-25", 100)
        statuses = allocate([s0, s1], [pay("B", "01-03", 60), pay("A", "01-03", 60)], [])
        assert [s.paid_minor for s in statuses] == [100, 0]

    def test_a_reversed_payment_takes_no_part(self) -> None:
        statuses = allocate([S1], [pay("P1", "01-20", 10000, reversed=True)], [])
        assert statuses[0].unpaid_minor == 10000

    def test_reage_settles_dues_of_statements_before_its_effective_date(self) -> None:
        dues = [S1, due("S2", "02-05", "02-25", 10000), due("S3", "03-05", "03-25", 10000)]
        statuses = allocate(dues, [pay("P1", "01-20", 5000)], [Reage("R1", d("03-05"))])
        assert [(s.paid_minor, s.reaged_minor, s.unpaid_minor) for s in statuses] == [
            (5000, 5000, 0),
            (0, 10000, 0),
            (0, 0, 10000),  # statement_date == effective_date: not before it
        ]

    def test_on_the_same_date_reages_go_before_payments(self) -> None:
        s2 = due("S2", "02-05", "02-25", 10000)
        # Reage on 02-10 settles S1 and S2 first; the payment of the same day finds nothing.
        statuses = allocate([S1, s2], [pay("P1", "02-10", 10000)], [Reage("R1", d("02-10"))])
        assert [(s.paid_minor, s.reaged_minor) for s in statuses] == [(0, 10000), (0, 10000)]

    def test_a_payment_after_a_reage_pays_later_statements(self) -> None:
        s3 = due("S3", "03-05", "03-25", 10000)
        statuses = allocate([S1, s3], [pay("P1", "03-10", 4000)], [Reage("R1", d("03-01"))])
        assert [(s.paid_minor, s.reaged_minor) for s in statuses] == [(0, 10000), (4000, 0)]

    def test_allocation_does_not_depend_on_the_as_of_date(self) -> None:
        payments = [pay("P1", "01-20", 3000)]
        assert run([S1], "01-10", payments).dues == run([S1], "06-10", payments).dues


class TestRule3PastDue:
    def test_worked_example_m1_then_m2_then_cured_by_payment(self) -> None:
        assert figures(run([S1], "01-26")) == ("M1", 1, 10000, d("01-25"))
        assert figures(run([S1], "02-25")) == ("M2", 31, 10000, d("01-25"))
        cured = run([S1], "02-25", [pay("P1", "02-25", 10000)])
        assert figures(cured) == ("CURRENT", 0, 0, None)

    def test_worked_example_payment_on_the_due_date_keeps_the_account_current(self) -> None:
        assert figures(run([S1], "01-26", [pay("P1", "01-25", 10000)])) == (
            "CURRENT",
            0,
            0,
            None,
        )

    def test_only_dues_before_the_as_of_date_are_past_due(self) -> None:
        s2 = due("S2", "02-05", "02-25", 8000)
        assert figures(run([S1, s2], "02-25")) == ("M2", 31, 10000, d("01-25"))
        assert figures(run([S1, s2], "02-26")) == ("M2", 32, 18000, d("01-25"))

    def test_dpd_counts_from_the_oldest_unpaid_due(self) -> None:
        s2 = due("S2", "02-05", "02-25", 10000)
        a = run([S1, s2], "03-03", [pay("P1", "03-02", 12000)])
        assert figures(a) == ("M1", 6, 8000, d("02-25"))

    def test_a_zero_minimum_is_never_past_due(self) -> None:
        assert figures(run([due("S1", "01-05", "01-25", 0)], "06-01")) == (
            "CURRENT",
            0,
            0,
            None,
        )

    def test_tolerance_a_remainder_up_to_it_is_current_with_the_real_past_due(self) -> None:
        policy = AgingPolicy(tolerance_minor=1000)
        a = run([S1], "02-11", [pay("P1", "01-24", 9500)], policy=policy)
        assert figures(a) == ("CURRENT", 0, 500, None)
        a = run([S1], "02-11", [pay("P1", "01-24", 9000)], policy=policy)
        assert figures(a) == ("CURRENT", 0, 1000, None)
        a = run([S1], "02-11", [pay("P1", "01-24", 8999)], policy=policy)
        assert figures(a) == ("M1", 17, 1001, d("01-25"))

    def test_tolerance_counts_the_sum_of_every_past_due_remainder(self) -> None:
        policy = AgingPolicy(tolerance_minor=1000)
        dues = [due("S1", "01-05", "01-25", 600), due("S2", "02-05", "02-25", 600)]
        assert run(dues, "02-25", policy=policy).stage == "CURRENT"
        a = run(dues, "02-26", policy=policy)
        # Past due 1200 > 1000 as of 02-26; the oldest unpaid due is still 01-25.
        assert figures(a) == ("M2", 32, 1200, d("01-25"))

    def test_grace_current_until_dpd_passes_the_grace(self) -> None:
        policy = AgingPolicy(grace_days=3)
        assert figures(run([S1], "01-28", policy=policy)) == ("CURRENT", 0, 10000, None)
        assert figures(run([S1], "01-29", policy=policy)) == ("M1", 4, 10000, d("01-25"))

    def test_reage_cures_what_was_owed_before_it(self) -> None:
        dues = [S1, due("S2", "02-05", "02-25", 10000), due("S3", "03-05", "03-25", 10000)]
        payments = [pay("P1", "01-20", 5000)]
        assert run(dues, "03-26", payments).stage == "M2"
        reaged = run(dues, "03-26", payments, [Reage("R1", d("03-20"))])
        assert figures(reaged) == ("CURRENT", 0, 0, None)
        s4 = due("S4", "04-05", "04-25", 10000)
        later = run([*dues, s4], "04-26", payments, [Reage("R1", d("03-20"))])
        assert figures(later) == ("M1", 1, 10000, d("04-25"))


class TestRule4CustomBuckets:
    def test_charge_off_at_181(self) -> None:
        policy = AgingPolicy(buckets=CHARGE_OFF_BUCKETS)
        assert run([S1], "07-24", policy=policy).stage == "M3+"  # DPD 180
        a = run([S1], "07-25", policy=policy)
        assert (a.stage, a.dpd) == ("CHARGE_OFF", 181)

    def test_a_first_bucket_wider_than_the_grace_keeps_the_real_dpd(self) -> None:
        policy = AgingPolicy(buckets=(Bucket("OK", 0), Bucket("LATE", 5)))
        a = run([S1], "01-28", policy=policy)
        assert figures(a) == ("OK", 3, 10000, d("01-25"))
        assert a.next_change_on == d("01-30")

    def test_seed_002_variant_names(self) -> None:
        buckets = (Bucket("M0", 0), Bucket("M1", 1), Bucket("M2", 31), Bucket("M3", 61))
        policy = AgingPolicy(buckets=buckets)
        assert policy.current_stage == "M0"
        assert run([S1], "06-01", policy=policy).stage == "M3"


class TestNextChangeOn:
    def test_no_unpaid_due_never_changes(self) -> None:
        assert run([S1], "01-26", [pay("P1", "01-20", 10000)]).next_change_on is None
        assert run([], "01-26").next_change_on is None

    def test_before_the_due_date_it_is_the_day_after_it(self) -> None:
        assert run([S1], "01-10").next_change_on == d("01-26")

    def test_inside_a_stage_it_is_the_next_bucket_boundary(self) -> None:
        assert run([S1], "01-26").next_change_on == d("02-25")  # DPD 31: M2
        assert run([S1], "02-25").next_change_on == d("03-27")  # DPD 61: M3
        assert run([S1], "03-27").next_change_on == d("04-26")  # DPD 91: M3+
        assert run([S1], "04-26").next_change_on is None

    def test_grace_delays_the_first_change(self) -> None:
        assert run([S1], "01-20", policy=AgingPolicy(grace_days=3)).next_change_on == d("01-29")

    def test_grace_longer_than_a_bucket_skips_it(self) -> None:
        a = run([S1], "01-20", policy=AgingPolicy(grace_days=40))
        assert a.next_change_on == d("03-07")  # DPD 41, past the grace, lands in M2 directly
        assert run([S1], "03-06", policy=AgingPolicy(grace_days=40)).stage == "CURRENT"
        assert run([S1], "03-07", policy=AgingPolicy(grace_days=40)).stage == "M2"

    def test_tolerance_waits_for_enough_to_fall_due(self) -> None:
        policy = AgingPolicy(tolerance_minor=1000)
        dues = [due("S1", "01-05", "01-25", 600), due("S2", "02-05", "02-25", 600)]
        a = run(dues, "01-26", policy=policy)
        assert a.stage == "CURRENT"
        assert a.next_change_on == d("02-26")
        assert run(dues, "02-26", policy=policy).stage == "M2"

    def test_a_tolerated_remainder_never_changes(self) -> None:
        policy = AgingPolicy(tolerance_minor=1000)
        assert run([S1], "02-11", [pay("P1", "01-24", 9500)], policy=policy).next_change_on is None

    def test_charge_off_is_a_candidate_too(self) -> None:
        policy = AgingPolicy(buckets=CHARGE_OFF_BUCKETS)
        assert run([S1], "05-01", policy=policy).next_change_on == d("07-25")


class TestAccountBook:
    """Rule 5 and the bad-input rules of section 3, on the aggregate."""

    def book(self, **kwargs: object) -> AccountBook:
        book = AccountBook("ACC-1", **kwargs)  # type: ignore[arg-type]
        book.open("CUS-1", "CNY", event_id="e-open", as_of=None)
        return book

    def statement(self, book: AccountBook, sid: str = "S1", **kw: Any) -> StageChanged | None:
        fields: dict[str, Any] = {
            "statement_date": d("01-05"),
            "due_date": d("01-25"),
            "minimum_due_minor": 10000,
            "statement_balance_minor": 50000,
            "currency": "CNY",
            "event_id": f"e-{sid}",
            "as_of": None,
        }
        fields.update(kw)
        return book.record_statement(sid, **fields)

    def test_starts_current_with_no_as_of(self) -> None:
        book = AccountBook("ACC-1")
        assert (book.stage, book.as_of, book.customer_id, book.currency) == (
            "CURRENT",
            None,
            None,
            None,
        )
        assert AccountBook("ACC-1", policy=AgingPolicy(buckets=(Bucket("M0", 0),))).stage == "M0"

    def test_worked_example_emits_m1_m2_then_cure(self) -> None:
        book = self.book()
        assert self.statement(book) is None
        first = book.apply_close(d("01-26"), "close-1")
        assert first is not None
        assert (first.from_stage, first.to_stage, first.cause, first.cause_event_id) == (
            "CURRENT",
            "M1",
            "day_close",
            "close-1",
        )
        assert (first.dpd, first.past_due_minor, first.oldest_unpaid_due_date) == (
            1,
            10000,
            d("01-25"),
        )
        assert (first.customer_id, first.currency, first.as_of) == ("CUS-1", "CNY", d("01-26"))
        assert book.next_change_on == d("02-25")
        assert book.apply_close(d("02-20"), "close-2") is None  # DPD moving inside M1
        second = book.apply_close(d("02-25"), "close-3")
        assert second is not None
        assert (second.from_stage, second.to_stage) == ("M1", "M2")
        cure = book.record_payment("P1", d("02-25"), 10000, "CNY", event_id="pay", as_of=d("02-25"))
        assert cure is not None
        assert (cure.from_stage, cure.to_stage, cure.cause, cure.dpd) == (
            "M2",
            "CURRENT",
            "payment",
            0,
        )
        assert cure.oldest_unpaid_due_date is None
        assert book.stage == "CURRENT"

    def test_a_jump_across_several_buckets_is_one_change(self) -> None:
        book = self.book()
        self.statement(book)
        change = book.apply_close(d("05-01"), "close")
        assert change is not None
        assert (change.from_stage, change.to_stage, change.dpd) == ("CURRENT", "M3+", 96)

    def test_a_close_not_after_the_last_changes_nothing(self) -> None:
        book = self.book()
        self.statement(book)
        assert book.apply_close(d("02-01"), "c1") is not None
        before = copy.deepcopy(book)
        assert book.apply_close(d("02-01"), "c2") is None
        assert book.apply_close(d("01-20"), "c3") is None
        assert book == before

    def test_the_as_of_date_never_moves_backwards(self) -> None:
        book = self.book()
        self.statement(book)
        book.apply_close(d("03-01"), "c1")
        # An event carrying an older as-of date is judged at the book's own as-of date.
        assert self.statement(book, "S2", due_date=d("02-25"), as_of=d("01-26")) is None
        assert book.as_of == d("03-01")
        assert book.stage == "M2"

    def test_statement_arriving_late_changes_the_stage_with_cause_statement(self) -> None:
        book = self.book()
        assert book.apply_close(d("05-01"), "c1") is None
        change = self.statement(book, as_of=d("05-01"))
        assert change is not None
        assert (change.from_stage, change.to_stage, change.cause) == ("CURRENT", "M3+", "statement")

    def test_reversal_after_cure_emits_cause_payment_reversal(self) -> None:
        book = self.book()
        self.statement(book)
        book.apply_close(d("01-26"), "c1")
        assert book.record_payment("P1", d("01-27"), 10000, "CNY", event_id="p", as_of=d("01-26"))
        book.apply_close(d("02-27"), "c2")
        change = book.record_reversal("P1", event_id="rev", as_of=d("02-27"))
        assert change is not None
        assert (change.from_stage, change.to_stage, change.cause, change.dpd) == (
            "CURRENT",
            "M2",
            "payment_reversal",
            33,
        )
        assert book.record_reversal("P1", event_id="rev-again", as_of=d("02-27")) is None
        assert book.assess(d("02-27")).stage == "M2"  # still reversed

    def test_reversal_before_its_payment_takes_effect_when_the_payment_arrives(self) -> None:
        book = self.book()
        self.statement(book)
        book.apply_close(d("01-26"), "c1")
        assert book.record_reversal("P1", event_id="rev", as_of=d("01-26")) is None
        p = book.record_payment("P1", d("01-27"), 10000, "CNY", event_id="p", as_of=d("01-26"))
        assert p is None
        assert book.record_payment("P1", d("01-27"), 10000, "CNY", event_id="p", as_of=None) is None
        assert book.stage == "M1"
        a = book.assess(d("01-28"))
        assert (a.stage, a.dpd, a.past_due_minor) == ("M1", 3, 10000)
        assert [p.reversed for p in book.payment_records()] == [True]

    def test_reage_emits_cause_reage(self) -> None:
        book = self.book()
        self.statement(book)
        book.apply_close(d("03-01"), "c1")
        change = book.record_reage("R1", d("02-01"), event_id="r", as_of=d("03-01"))
        assert change is not None
        assert (change.from_stage, change.to_stage, change.cause) == ("M2", "CURRENT", "reage")
        assert book.record_reage("R1", d("02-01"), event_id="r2", as_of=d("03-01")) is None
        with pytest.raises(ConflictingDuplicate):
            book.record_reage("R1", d("02-02"), event_id="r3", as_of=d("03-01"))

    def test_resend_with_the_same_content_is_a_silent_no_op(self) -> None:
        book = self.book()
        self.statement(book)
        book.apply_close(d("01-26"), "c1")
        book.record_payment("P1", d("01-27"), 4000, "CNY", event_id="p", as_of=d("01-26"))
        before = copy.deepcopy(book)
        assert self.statement(book, event_id="other-id", as_of=d("01-26")) is None
        assert book.record_payment("P1", d("01-27"), 4000, "CNY", event_id="x", as_of=None) is None
        assert book == before

    @pytest.mark.parametrize(
        "change",
        [
            {"minimum_due_minor": 99999},
            {"statement_balance_minor": 1},
            {"due_date": d("01-26")},
            {"statement_date": d("01-06")},
        ],
    )
    def test_statement_with_same_identity_and_different_content_is_rejected(
        self, change: dict[str, Any]
    ) -> None:
        book = self.book()
        self.statement(book)
        before = copy.deepcopy(book)
        with pytest.raises(ConflictingDuplicate) as caught:
            self.statement(book, **change)
        assert caught.value.reason
        assert caught.value.code == "conflicting_duplicate"
        assert book == before

    def test_payment_with_same_identity_and_different_content_is_rejected(self) -> None:
        book = self.book()
        book.record_payment("P1", d("01-20"), 100, "CNY", event_id="p", as_of=None)
        before = copy.deepcopy(book)
        with pytest.raises(ConflictingDuplicate):
            book.record_payment("P1", d("01-20"), 101, "CNY", event_id="p2", as_of=None)
        with pytest.raises(ConflictingDuplicate):
            book.record_payment("P1", d("01-21"), 100, "CNY", event_id="p3", as_of=None)
        assert book == before

    def test_currency_differing_from_the_account_is_rejected(self) -> None:
        book = self.book()
        before = copy.deepcopy(book)
        with pytest.raises(CurrencyMismatch) as caught:
            book.record_payment("P9", d("01-20"), 10000, "USD", event_id="p", as_of=None)
        assert isinstance(caught.value, RejectedEvent)
        with pytest.raises(CurrencyMismatch):
            self.statement(book, currency="USD")
        assert book == before

    def test_without_an_opening_the_first_currency_seen_is_the_accounts(self) -> None:
        book = AccountBook("ACC-1")
        book.record_payment("P1", d("01-20"), 100, "EUR", event_id="p", as_of=None)
        assert book.currency == "EUR"
        with pytest.raises(CurrencyMismatch):
            self.statement(book, currency="CNY")
        book.open("CUS-1", "EUR", event_id="o", as_of=None)
        assert (book.customer_id, book.opened) == ("CUS-1", True)

    def test_an_opening_that_contradicts_recorded_facts_is_rejected(self) -> None:
        book = AccountBook("ACC-1")
        self.statement(book, currency="USD")
        before = copy.deepcopy(book)
        with pytest.raises(CurrencyMismatch):
            book.open("CUS-1", "CNY", event_id="o", as_of=None)
        assert book == before

    def test_a_second_opening_must_match_the_first(self) -> None:
        book = self.book()
        assert book.open("CUS-1", "CNY", event_id="again", as_of=None) is None
        with pytest.raises(ConflictingDuplicate):
            book.open("CUS-2", "CNY", event_id="other", as_of=None)
        with pytest.raises(ConflictingDuplicate):
            book.open("CUS-1", "USD", event_id="other", as_of=None)

    def test_customer_is_unknown_until_the_opening(self) -> None:
        book = AccountBook("ACC-1")
        self.statement(book)
        change = book.apply_close(d("01-26"), "c1")
        assert change is not None
        assert (change.customer_id, change.currency) == (None, "CNY")

    @pytest.mark.parametrize(
        "kwargs",
        [{"minimum_due_minor": -1}, {"statement_balance_minor": -1}, {"due_date": d("01-04")}],
    )
    def test_impossible_statements_are_rejected(self, kwargs: dict[str, Any]) -> None:
        book = self.book()
        with pytest.raises(InvalidFact):
            self.statement(book, **kwargs)
        assert book.statements == {}

    @pytest.mark.parametrize("amount", [0, -5])
    def test_payments_must_be_positive(self, amount: int) -> None:
        book = self.book()
        with pytest.raises(InvalidFact):
            book.record_payment("P1", d("01-20"), amount, "CNY", event_id="p", as_of=None)
        assert book.payments == {}

    def test_nothing_is_emitted_before_the_first_close(self) -> None:
        book = self.book()
        self.statement(book, due_date=d("01-05"))
        assert book.stage == "CURRENT"
        assert book.assess(None).past_due_minor == 0
        assert book.next_change_on is None

    def test_assess_can_use_another_policy(self) -> None:
        book = self.book()
        self.statement(book)
        assert book.assess(d("01-27")).stage == "M1"
        assert book.assess(d("01-27"), AgingPolicy(grace_days=5)).stage == "CURRENT"
