"""Properties of the rule evaluator over random stage-change sequences, against a naive reference.

The reference knows nothing of ranks kept between changes: it looks at the whole history of
stages, cuts it into episodes at every return to CURRENT (for a debtor: at every moment when none
of their accounts is delinquent) and says a rule keyed on entering S fires at the first change of
an episode after which the account (the debtor's furthest account) is at S or beyond.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from escalation_service.domain.evaluator import (
    AccountFacts,
    Decision,
    OpenAction,
    StageChanged,
    Tracking,
    evaluate,
)
from escalation_service.domain.rules import RuleBook

STAGES = ("CURRENT", "M1", "M2", "M3", "M3+")


def book_with(entering: dict[str, tuple[str, str]]) -> RuleBook:
    """A rule book of unconditional rules: id -> (scope, stage entered)."""
    return RuleBook.model_validate(
        {
            "version": 1,
            "stages": list(STAGES),
            "rules": [
                {
                    "id": rule_id,
                    "action": action,
                    "scope": scope,
                    "when": [{"event": "stage_entered", "stage": stage}],
                }
                for (rule_id, (scope, stage)), action in zip(
                    entering.items(), ("demand_letter", "agency_placement", "bureau_flag"), strict=False
                )
            ],
        }
    )


# -- the naive reference ---------------------------------------------------------------------


def reference_fires(levels: Sequence[int], stage: int) -> list[int]:
    """Indexes of the changes (1-based positions in ``levels``) at which a rule keyed on entering
    rank ``stage`` fires; ``levels[0]`` is the starting level, 0 meaning not delinquent."""
    fires: list[int] = []
    fired_this_episode = False
    for index in range(1, len(levels)):
        if levels[index - 1] == 0 and levels[index] > 0:
            fired_this_episode = False  # a new episode
        if levels[index] >= stage and not fired_this_episode:
            fires.append(index)
            fired_this_episode = True
    return fires


# -- a store that applies decisions as the service will --------------------------------------


@dataclass
class Store:
    decided: set[str] = field(default_factory=set)
    open: dict[str, OpenAction] = field(default_factory=dict)

    def apply(self, decisions: Sequence[Decision]) -> None:
        for decision in decisions:
            assert decision.key not in self.decided, f"decided twice: {decision.key}"
            self.decided.add(decision.key)
            if decision.effect == "open":
                self.open[decision.key] = OpenAction(
                    decision.key, decision.action, decision.scope, decision.subject_id
                )
            else:
                assert decision.closes in self.open, f"closes what is not open: {decision.closes}"
                del self.open[decision.closes]


def facts_for(account_id: str, stage: str) -> AccountFacts:
    return AccountFacts(account_id, "cust-1", stage, past_due_minor=0, debtor_past_due_minor=0)


stage_walks = st.lists(st.sampled_from(STAGES), min_size=1, max_size=25).map(
    lambda walk: [stage for i, stage in enumerate(walk) if i == 0 or walk[i - 1] != stage]
)
rule_stages = st.sampled_from(STAGES[1:])


class TestOneAccount:
    @settings(max_examples=300, deadline=None)
    @given(walk=stage_walks, letter=rule_stages, bureau=rule_stages)
    def test_each_rule_fires_exactly_when_the_reference_says(
        self, walk: list[str], letter: str, bureau: str
    ) -> None:
        book = book_with({"letter": ("account", letter), "bureau": ("account", bureau)})
        stages = ["CURRENT", *walk] if walk[0] != "CURRENT" else walk
        store, tracking = Store(), Tracking()
        fired: dict[str, list[int]] = {"letter": [], "bureau": []}
        for index in range(1, len(stages)):
            change = StageChanged(stages[index - 1], stages[index])
            facts = facts_for("acc-1", stages[index])
            result = evaluate(
                book, change, facts, tracking, decided=store.decided, open_actions=[*store.open.values()]
            )
            again = evaluate(
                book, change, facts, tracking, decided=store.decided, open_actions=[*store.open.values()]
            )
            assert again == result  # the same facts, the same decisions
            store.apply(result.decisions)
            replay = evaluate(
                book, change, facts, tracking, decided=store.decided, open_actions=[*store.open.values()]
            )
            assert replay.decisions == ()  # re-running after the decisions were stored acts on nothing
            for decision in result.decisions:
                if decision.effect == "open":
                    fired[decision.rule_id].append(index)
            # the episode tracking alone, with no record of past decisions, fires the same
            blind = evaluate(book, change, facts, tracking)
            assert [d for d in blind.decisions if d.effect == "open"] == [
                d for d in result.decisions if d.effect == "open"
            ]
            if stages[index] == "CURRENT":
                assert not store.open, "a cure leaves nothing open"
            tracking = result.tracking
        levels = [STAGES.index(stage) for stage in stages]
        assert fired["letter"] == reference_fires(levels, STAGES.index(letter))
        assert fired["bureau"] == reference_fires(levels, STAGES.index(bureau))


@st.composite
def debtor_histories(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Interleaved changes of up to three accounts: (account, new stage), each a real change."""
    accounts = [f"acc-{n}" for n in range(draw(st.integers(1, 3)))]
    current = dict.fromkeys(accounts, "CURRENT")
    changes: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(0, 30))):
        account = draw(st.sampled_from(accounts))
        stage = draw(st.sampled_from([s for s in STAGES if s != current[account]]))
        current[account] = stage
        changes.append((account, stage))
    return changes


class TestOneDebtor:
    @settings(max_examples=300, deadline=None)
    @given(changes=debtor_histories(), placement=rule_stages, letter=rule_stages)
    def test_debtor_rules_fire_once_per_debtor_episode_and_account_rules_per_account(
        self, changes: list[tuple[str, str]], placement: str, letter: str
    ) -> None:
        book = book_with({"letter": ("account", letter), "placement": ("debtor", placement)})
        store = Store()
        stages: dict[str, str] = {}
        trackings: dict[str, Tracking] = {}
        debtor_episode = Tracking().debtor
        fired: list[tuple[str, str, int]] = []
        for index, (account, stage) in enumerate(changes, start=1):
            before = stages.get(account, "CURRENT")
            others = any(s != "CURRENT" for a, s in stages.items() if a != account)
            own = trackings.get(account, Tracking())
            tracking = Tracking(own.account, debtor_episode, others)
            result = evaluate(
                book,
                StageChanged(before, stage),
                facts_for(account, stage),
                tracking,
                decided=store.decided,
                open_actions=[*store.open.values()],
            )
            store.apply(result.decisions)
            fired += [(d.rule_id, d.subject_id, index) for d in result.decisions if d.effect == "open"]
            stages[account] = stage
            trackings[account] = result.tracking
            debtor_episode = result.tracking.debtor
            if all(s == "CURRENT" for s in stages.values()):
                assert not any(o.scope == "debtor" for o in store.open.values())
            if stage == "CURRENT":
                assert not any(o.subject_id == account for o in store.open.values())
        # the reference, from the whole history
        history: dict[str, list[int]] = {}
        debtor_levels = [0]
        now: dict[str, int] = {}
        for account, stage in changes:
            now[account] = STAGES.index(stage)
            debtor_levels.append(max(now.values()))
        expected = [
            ("placement", "cust-1", i) for i in reference_fires(debtor_levels, STAGES.index(placement))
        ]
        for index, (account, stage) in enumerate(changes, start=1):
            history.setdefault(account, [0]).append(STAGES.index(stage))
            own_levels = history[account]
            if len(own_levels) - 1 in reference_fires(own_levels, STAGES.index(letter)):
                expected.append(("letter", account, index))
        assert sorted(fired, key=lambda f: (f[2], f[0])) == sorted(expected, key=lambda f: (f[2], f[0]))
