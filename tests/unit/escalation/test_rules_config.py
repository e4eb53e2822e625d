"""The rules file: the shipped defaults, seed 002's variant, and precise errors for bad files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from escalation_service.domain.errors import InvalidRules
from escalation_service.domain.evaluator import AccountFacts, StageChanged, Tracking, evaluate
from escalation_service.domain.rules import default_rules, load_rules, parse_rules

DEFAULT_TEXT = resources.files("escalation_service").joinpath("rules/default.yaml").read_text("utf-8")


def line_of(text: str, needle: str) -> int:
    return next(n for n, row in enumerate(text.splitlines(), 1) if needle in row)


def problems_of(text: str) -> list[str]:
    with pytest.raises(InvalidRules) as caught:
        parse_rules(text, "bank.yaml")
    assert "bank.yaml" in str(caught.value)
    return caught.value.problems


class TestDefaultRules:
    def test_ship_the_section_6_defaults(self) -> None:
        book = default_rules()
        assert book.stages == ("CURRENT", "M1", "M2", "M3", "M3+")
        by_id = {rule.id: rule for rule in book.rules}
        assert by_id["demand-letter"].when[0].stage == "M3"
        assert by_id["home-visit"].when[0].min_past_due_minor == 1_000_000
        assert by_id["home-visit"].when[0].address_known is True
        assert by_id["agency-placement"].scope == "debtor"
        assert by_id["legal-file"].when[0].min_past_due_minor == 5_000_000
        assert book.placement.period_days == 90
        assert book.placement.recovery_window_days == 365
        assert book.restructuring.max_instalments == 60
        assert book.visits.min_staff == 2
        assert book.visits.staff_role == "field"
        assert book.cure_effect("agency_placement") == "close"
        assert book.cure_effect("legal_file") == "keep"

    def test_seed_002_variant_sends_letters_at_m2_and_places_at_m3(self) -> None:
        text = resources.files("escalation_service").joinpath("rules/seed-002.yaml").read_text("utf-8")
        book = parse_rules(text)
        assert book.placement == default_rules().placement
        facts = AccountFacts("acc-1", "cust-1", "M2", past_due_minor=10, debtor_past_due_minor=10)
        at_m2 = evaluate(book, StageChanged("M1", "M2"), facts, Tracking()).decisions
        assert [d.rule_id for d in at_m2] == ["demand-letter"]
        tracking = evaluate(book, StageChanged("CURRENT", "M2"), facts, Tracking()).tracking
        at_m3 = evaluate(book, StageChanged("M2", "M3"), facts, tracking).decisions
        assert [d.rule_id for d in at_m3] == ["agency-placement"]

    def test_a_file_on_disk_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "rules.yaml"
        path.write_text(DEFAULT_TEXT, encoding="utf-8")
        assert load_rules(path) == default_rules()


class TestInvalidRules:
    def test_an_unknown_stage_is_named_with_its_rule_and_line(self) -> None:
        text = DEFAULT_TEXT.replace("{event: stage_entered, stage: M3}", "{event: stage_entered, stage: M4}")
        line = line_of(text, "stage: M4")
        assert problems_of(text) == [
            f"rules[0].when[0].stage (line {line}): unknown stage 'M4' (stages: CURRENT, M1, M2, M3, M3+)"
        ]

    def test_every_field_error_is_reported_with_its_path(self) -> None:
        text = (
            DEFAULT_TEXT.replace("period_days: 90", "period_days: 0")
            .replace("1_000_000", "1000.5")
            .replace("staff_role: field", "staff_role: field\n  escort: 3")
        )
        problems = problems_of(text)
        assert len(problems) == 3
        assert problems[0].startswith(
            f"rules[1].when[0].min_past_due_minor (line {line_of(text, '1000.5')}): "
        )
        assert problems[1].startswith(f"placement.period_days (line {line_of(text, 'period_days')}): ")
        assert (
            problems[2] == f"visits.escort (line {line_of(text, 'escort')}): Extra inputs are not permitted"
        )

    def test_more_than_60_instalments_is_refused(self) -> None:
        text = DEFAULT_TEXT.replace("max_instalments: 60", "max_instalments: 72")
        line = line_of(text, "max_instalments")
        assert problems_of(text) == [
            f"restructuring.max_instalments (line {line}): Input should be less than or equal to 60"
        ]

    def test_a_single_visitor_is_refused(self) -> None:
        problems = problems_of(DEFAULT_TEXT.replace("min_staff: 2", "min_staff: 1"))
        assert problems[0].startswith("visits.min_staff")

    def test_duplicate_rule_ids_and_entering_the_cure_are_refused(self) -> None:
        text = DEFAULT_TEXT.replace("id: bureau-flag", "id: demand-letter").replace(
            "{event: stage_entered, stage: M3}", "{event: stage_entered, stage: CURRENT}"
        )
        problems = problems_of(text)
        assert any("rules[5].id" in p and "'demand-letter' is used twice" in p for p in problems)
        assert any("rules[0].when[0].stage" in p and "cannot be entered" in p for p in problems)

    def test_a_stage_entered_trigger_without_a_stage_is_refused(self) -> None:
        problems = problems_of(
            DEFAULT_TEXT.replace("{event: stage_entered, stage: M3}", "{event: stage_entered}")
        )
        assert problems[0].startswith(
            "rules[0].when[0] (line 17): Value error, a stage_entered trigger needs"
        )

    def test_broken_yaml_and_a_missing_file_are_reported(self, tmp_path: Path) -> None:
        assert problems_of("rules: [")[0].startswith("not valid YAML")
        assert problems_of("- just a list")[0].startswith("(document): must be a mapping")
        with pytest.raises(InvalidRules, match="cannot read the file"):
            load_rules(tmp_path / "absent.yaml")
