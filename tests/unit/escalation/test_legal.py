"""Legal files: dated steps in order (lawyer's letter, filing, hearing, judgment)."""

from __future__ import annotations

from datetime import date

import pytest

from escalation_service.domain.errors import InvalidLegalStep, InvalidTransition
from escalation_service.domain.legal import LegalFile, StepKind, close, open_file, record_step

TODAY = date(2026, 9, 1)


def opened() -> LegalFile:
    return open_file("lf-1", "acc-1", "cust-1", rule_id="legal-file", opened_on=date(2026, 6, 1))


class TestSteps:
    def test_every_step_in_order_each_dated(self) -> None:
        legal = opened()
        steps: list[tuple[StepKind, date]] = [
            ("lawyers_letter", date(2026, 6, 2)),
            ("filing", date(2026, 7, 1)),
            ("hearing", date(2026, 7, 1)),
            ("judgment", date(2026, 8, 30)),
        ]
        for kind, day in steps:
            legal = record_step(legal, kind, on=day, today=TODAY, recorded_by="legal-7")
        assert [(s.kind, s.on) for s in legal.steps][-1] == ("judgment", date(2026, 8, 30))
        assert legal.next_step is None
        with pytest.raises(InvalidLegalStep, match="every step up to the judgment"):
            record_step(legal, "judgment", on=TODAY, today=TODAY, recorded_by="legal-7")

    def test_a_step_cannot_be_skipped(self) -> None:
        with pytest.raises(InvalidLegalStep) as caught:
            record_step(opened(), "hearing", on=date(2026, 6, 5), today=TODAY, recorded_by="legal-7")
        assert caught.value.reason == (
            "the next step of legal file lf-1 is lawyers_letter, not hearing "
            "(steps go lawyers_letter > filing > hearing > judgment; done: none)"
        )

    def test_a_step_dated_before_the_previous_one_is_refused(self) -> None:
        legal = record_step(opened(), "lawyers_letter", on=date(2026, 6, 10), today=TODAY, recorded_by="l")
        with pytest.raises(
            InvalidLegalStep, match="filing dated 2026-06-09 is before the lawyers_letter \\(2026-06-10\\)"
        ):
            record_step(legal, "filing", on=date(2026, 6, 9), today=TODAY, recorded_by="l")

    def test_a_step_before_the_opening_or_in_the_future_is_refused(self) -> None:
        with pytest.raises(InvalidLegalStep, match="before the opening \\(2026-06-01\\)"):
            record_step(opened(), "lawyers_letter", on=date(2026, 5, 31), today=TODAY, recorded_by="l")
        with pytest.raises(InvalidLegalStep, match="in the future \\(today is 2026-09-01\\)"):
            record_step(opened(), "lawyers_letter", on=date(2026, 9, 2), today=TODAY, recorded_by="l")

    def test_a_closed_file_takes_no_step(self) -> None:
        closed = close(opened(), on=date(2026, 6, 3), reason="paid in full")
        assert closed.close_reason == "paid in full"
        with pytest.raises(InvalidTransition, match="is closed"):
            record_step(closed, "lawyers_letter", on=date(2026, 6, 4), today=TODAY, recorded_by="l")
