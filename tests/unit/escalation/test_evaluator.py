"""The default rules, decision by decision (DOMAIN.md section 6)."""

from __future__ import annotations

from dataclasses import replace

from escalation_service.domain.episodes import Episode
from escalation_service.domain.evaluator import (
    AccountFacts,
    Decision,
    Evaluation,
    Event,
    HardshipReported,
    OpenAction,
    RestructuringBroken,
    RiskUpdated,
    StageChanged,
    Tracking,
    evaluate,
)
from escalation_service.domain.rules import default_rules

BOOK = default_rules()
IN_M3_PLUS = Tracking(Episode(1, True, 4), Episode(1, True, 4))
IN_M2 = Tracking(Episode(1, True, 2), Episode(1, True, 2))


def facts(
    stage: str = "M3",
    past_due: int = 2_000_000,
    *,
    flags: frozenset[str] = frozenset(),
    signals: frozenset[str] = frozenset(),
    address_known: bool = True,
) -> AccountFacts:
    return AccountFacts("acc-1", "cust-1", stage, past_due, past_due, flags, signals, address_known)


NOT_DELINQUENT = Tracking()


def run(
    event: Event,
    account: AccountFacts,
    tracking: Tracking = NOT_DELINQUENT,
    *,
    decided: frozenset[str] = frozenset(),
    open_actions: tuple[OpenAction, ...] = (),
) -> Evaluation:
    return evaluate(BOOK, event, account, tracking, decided=decided, open_actions=open_actions)


def rules_of(decisions: tuple[Decision, ...]) -> list[str]:
    return [decision.rule_id for decision in decisions]


class TestEnteringStages:
    def test_a_jump_from_current_to_m3_plus_enters_every_stage_in_between(self) -> None:
        result = run(StageChanged("CURRENT", "M3+"), facts("M3+", 6_000_000))
        assert rules_of(result.decisions) == [
            "demand-letter",
            "home-visit",
            "agency-placement",
            "legal-file",
            "bureau-flag",
        ]
        letter = result.decisions[0]
        assert letter.key == "demand-letter:account:acc-1:1"
        assert (letter.account_id, letter.customer_id, letter.episode) == ("acc-1", "cust-1", 1)
        assert letter.facts == {
            "trigger": 0,
            "event": "stage_entered",
            "entered": "M3",
            "from_stage": "CURRENT",
            "to_stage": "M3+",
        }
        visit = result.decisions[1]
        assert (visit.scope, visit.subject_id, visit.key) == (
            "debtor",
            "cust-1",
            "home-visit:debtor:cust-1:1",
        )
        assert visit.facts["debtor_past_due_minor"] == 6_000_000
        assert visit.facts["address_known"] is True
        assert result.decisions[3].facts["past_due_minor"] == 6_000_000
        assert result.tracking.account == Episode(1, True, 4)

    def test_entering_m2_alone_decides_nothing(self) -> None:
        assert run(StageChanged("M1", "M2"), facts("M2"), Tracking(Episode(1, True, 1))).decisions == ()

    def test_falling_back_and_re_entering_inside_an_episode_fires_nothing(self) -> None:
        first = run(StageChanged("M2", "M3"), facts(), IN_M2)
        assert "demand-letter" in rules_of(first.decisions)
        down = run(StageChanged("M3", "M1"), facts("M1"), first.tracking)
        assert down.decisions == ()  # M3 to M1 is no cure
        up = run(StageChanged("M1", "M3"), facts(), down.tracking)
        assert up.decisions == ()

    def test_a_new_episode_after_a_cure_fires_again_under_a_new_key(self) -> None:
        first = run(StageChanged("M2", "M3"), facts(), IN_M2)
        cured = run(StageChanged("M3", "CURRENT"), facts("CURRENT"), first.tracking)
        again = run(StageChanged("CURRENT", "M3"), facts(), cured.tracking)
        assert again.decisions[0].key == "demand-letter:account:acc-1:2"

    def test_the_home_visit_needs_the_amount_and_an_address(self) -> None:
        below = run(StageChanged("M2", "M3"), facts(past_due=999_999), IN_M2)
        assert "home-visit" not in rules_of(below.decisions)
        at = run(StageChanged("M2", "M3"), facts(past_due=1_000_000), IN_M2)
        assert "home-visit" in rules_of(at.decisions)
        no_address = run(StageChanged("M2", "M3"), facts(address_known=False), IN_M2)
        assert "home-visit" not in rules_of(no_address.decisions)

    def test_legal_opens_on_fraud_or_asset_transfer_even_below_the_amount(self) -> None:
        tracking = Tracking(Episode(1, True, 3), Episode(1, True, 3))
        small = run(StageChanged("M3", "M3+"), facts("M3+", 10), tracking)
        assert "legal-file" not in rules_of(small.decisions)
        fraud = run(
            StageChanged("M3", "M3+"), facts("M3+", 10, flags=frozenset({"fraud_suspected"})), tracking
        )
        legal = next(d for d in fraud.decisions if d.rule_id == "legal-file")
        assert legal.facts["flags"] == ("fraud_suspected",)
        moving = run(
            StageChanged("M3", "M3+"), facts("M3+", 10, signals=frozenset({"asset_transfer"})), tracking
        )
        assert "legal-file" in rules_of(moving.decisions)


class TestOtherEvents:
    def test_a_fraud_flag_raised_at_m3_plus_opens_a_legal_file_but_not_at_m2(self) -> None:
        flagged = facts("M3+", 10, flags=frozenset({"fraud_suspected"}))
        assert rules_of(run(RiskUpdated(), flagged, IN_M3_PLUS).decisions) == ["legal-file"]
        assert run(RiskUpdated(), replace(flagged, stage="M2"), IN_M2).decisions == ()

    def test_hardship_with_willingness_to_pay_gives_one_offer_per_episode(self) -> None:
        offered = run(HardshipReported(willing_to_pay=True), facts("M2"), IN_M2)
        assert rules_of(offered.decisions) == ["restructuring-offer"]
        assert offered.decisions[0].facts["willing_to_pay"] is True
        again = run(HardshipReported(True), facts("M2"), IN_M2, decided=frozenset({offered.decisions[0].key}))
        assert again.decisions == ()
        assert run(HardshipReported(willing_to_pay=False), facts("M2"), IN_M2).decisions == ()

    def test_nothing_fires_outside_an_episode(self) -> None:
        assert run(HardshipReported(willing_to_pay=True), facts("CURRENT"), Tracking()).decisions == ()

    def test_a_broken_restructuring_opens_a_legal_file(self) -> None:
        result = run(RestructuringBroken("plan-7"), facts("M1", 10), Tracking(Episode(1, True, 1)))
        assert rules_of(result.decisions) == ["legal-file"]
        assert result.decisions[0].facts["plan_id"] == "plan-7"

    def test_a_plan_broken_after_the_reage_cured_the_account_still_opens_a_legal_file(self) -> None:
        reaged = Tracking(Episode(2, False, 0), Episode(2, False, 0))
        result = run(RestructuringBroken("plan-7"), facts("CURRENT", 0), reaged)
        assert [d.key for d in result.decisions] == ["legal-file:account:acc-1:2"]


class TestCure:
    OPEN = (
        OpenAction("agency-placement:debtor:cust-1:1", "agency_placement", "debtor", "cust-1"),
        OpenAction("bureau-flag:account:acc-1:1", "bureau_flag", "account", "acc-1"),
        OpenAction("legal-file:account:acc-1:1", "legal_file", "account", "acc-1"),
        OpenAction("bureau-flag:account:acc-2:1", "bureau_flag", "account", "acc-2"),
    )

    def test_a_cure_closes_what_no_longer_applies_and_keeps_the_legal_file(self) -> None:
        result = run(StageChanged("M3+", "CURRENT"), facts("CURRENT", 0), IN_M3_PLUS, open_actions=self.OPEN)
        closes = {d.closes: d for d in result.decisions}
        assert set(closes) == {"agency-placement:debtor:cust-1:1", "bureau-flag:account:acc-1:1"}
        recall = closes["agency-placement:debtor:cust-1:1"]
        assert (recall.effect, recall.reason, recall.rule_id) == ("close", "cure", "on_cure.agency_placement")
        assert recall.key == "close:agency-placement:debtor:cust-1:1"
        assert result.tracking.account == Episode(1, False, 0)

    def test_a_debtor_with_another_delinquent_account_keeps_the_placement(self) -> None:
        tracking = replace(IN_M3_PLUS, others_delinquent=True)
        result = run(StageChanged("M3+", "CURRENT"), facts("CURRENT", 0), tracking, open_actions=self.OPEN)
        assert [d.closes for d in result.decisions] == ["bureau-flag:account:acc-1:1"]
        assert result.tracking.debtor.open

    def test_m3_plus_to_m1_is_no_cure(self) -> None:
        result = run(StageChanged("M3+", "M1"), facts("M1"), IN_M3_PLUS, open_actions=self.OPEN)
        assert result.decisions == ()


class TestStopFlag:
    def test_a_stop_flag_recalls_the_debtors_placement_once(self) -> None:
        placement = OpenAction("agency-placement:debtor:cust-1:1", "agency_placement", "debtor", "cust-1")
        bureau = OpenAction("bureau-flag:account:acc-1:1", "bureau_flag", "account", "acc-1")
        flagged = facts("M3+", flags=frozenset({"dispute", "hardship"}))
        result = run(RiskUpdated(), flagged, IN_M3_PLUS, open_actions=(placement, bureau))
        (recall,) = result.decisions
        assert (recall.closes, recall.reason, recall.rule_id) == (
            placement.key,
            "stop_flag",
            "on_stop_flag.agency_placement",
        )
        assert recall.facts == {"flags": ("dispute",)}
        again = run(
            RiskUpdated(), flagged, IN_M3_PLUS, decided=frozenset({recall.key}), open_actions=(placement,)
        )
        assert again.decisions == ()

    def test_flags_that_do_not_stop_contact_recall_nothing(self) -> None:
        placement = OpenAction("agency-placement:debtor:cust-1:1", "agency_placement", "debtor", "cust-1")
        result = run(
            RiskUpdated(), facts("M3+", flags=frozenset({"hardship"})), IN_M3_PLUS, open_actions=(placement,)
        )
        assert result.decisions == ()
