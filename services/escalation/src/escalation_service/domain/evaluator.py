"""The rule evaluator: facts in, decisions out (DOMAIN.md section 6). Pure, no I/O.

``evaluate`` takes one event about an account (a stage change, a change of its flags or risk
signals, a hardship report, a broken restructuring), the account's facts, the episode tracking
of the account and its debtor, the idempotency keys of what was already decided and the actions
still open. It returns the new tracking and the decisions: actions to open, each naming its rule,
the trigger and the facts it used; on a cure, the open actions the cure closes (``on_cure``); on
a stop flag (section 5), the debtor's agency placement to recall.

A rule acts at most once per episode of its scope: its decision's ``key`` is
``rule:scope:subject:episode``, and a key in ``decided`` is never decided again, so evaluating
the same facts twice acts once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Literal

from escalation_service.domain.episodes import Episode, step
from escalation_service.domain.placement import STOP_FLAGS
from escalation_service.domain.rules import ActionKind, Rule, RuleBook, Scope, Trigger

__all__ = [
    "AccountFacts",
    "Decision",
    "Evaluation",
    "Event",
    "FactValue",
    "HardshipReported",
    "OpenAction",
    "RestructuringBroken",
    "RiskUpdated",
    "StageChanged",
    "Tracking",
    "decision_key",
    "evaluate",
]

FactValue = str | int | bool | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StageChanged:
    """The account moved from ``from_stage`` to ``to_stage`` (``collections.stage.changed``)."""

    from_stage: str
    to_stage: str
    kind: Literal["stage_entered"] = "stage_entered"


@dataclass(frozen=True, slots=True)
class RiskUpdated:
    """The account's flags or risk signals changed (``corebank.account.updated``)."""

    kind: Literal["risk_updated"] = "risk_updated"


@dataclass(frozen=True, slots=True)
class HardshipReported:
    """A collector recorded ``hardship_reported``, saying whether the debtor is willing to pay."""

    willing_to_pay: bool
    kind: Literal["hardship_reported"] = "hardship_reported"


@dataclass(frozen=True, slots=True)
class RestructuringBroken:
    """An agreed restructuring plan of the account was found broken."""

    plan_id: str
    kind: Literal["restructuring_broken"] = "restructuring_broken"


Event = StageChanged | RiskUpdated | HardshipReported | RestructuringBroken


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What is known of the account when the event is evaluated (its stage is after the event).

    ``debtor_past_due_minor`` is the past due of all the debtor's accounts; debtor rules compare
    it, account rules compare ``past_due_minor``. ``address_known``: the debtor has a postal
    address.
    """

    account_id: str
    customer_id: str
    stage: str
    past_due_minor: int
    debtor_past_due_minor: int
    flags: frozenset[str] = frozenset()
    signals: frozenset[str] = frozenset()
    address_known: bool = False


@dataclass(frozen=True, slots=True)
class Tracking:
    """The episodes of the account and of its debtor, and whether another account of the debtor
    is delinquent (not at the cure stage)."""

    account: Episode = Episode()
    debtor: Episode = Episode()
    others_delinquent: bool = False


@dataclass(frozen=True, slots=True)
class OpenAction:
    """An action opened earlier and not closed yet (a placement, a flag, a pending visit ...)."""

    key: str
    action: ActionKind
    scope: Scope
    subject_id: str


@dataclass(frozen=True)
class Decision:
    """One decision: open an action (``effect="open"``) or close one (``effect="close"``).

    ``subject_id`` is the account (scope ``account``) or the customer (scope ``debtor``);
    ``account_id`` is always the account whose event caused the decision. ``rule_id`` is the
    rule's id, or ``on_cure.<action>`` for a close. ``facts`` are the facts the rule used.
    """

    key: str
    rule_id: str
    action: ActionKind
    effect: Literal["open", "close"]
    scope: Scope
    subject_id: str
    account_id: str
    customer_id: str
    episode: int
    facts: Mapping[str, FactValue] = field(default_factory=dict)
    closes: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The tracking after the event and the decisions it led to, in rule order."""

    tracking: Tracking
    decisions: tuple[Decision, ...]


def decision_key(rule_id: str, scope: Scope, subject_id: str, episode: int) -> str:
    """The idempotency key of a rule's decision: one per rule, subject and episode."""
    return f"{rule_id}:{scope}:{subject_id}:{episode}"


@dataclass(frozen=True, slots=True)
class _Context:
    book: RuleBook
    event: Event
    facts: AccountFacts
    tracking: Tracking
    entered: Mapping[Scope, frozenset[str]]


def _conditions(trigger: Trigger, scope: Scope, ctx: _Context) -> dict[str, FactValue] | None:
    """The facts ``trigger`` used if every one of its conditions holds, else ``None``."""
    facts = ctx.facts
    used: dict[str, FactValue] = {}
    event = ctx.event
    if trigger.event != event.kind:
        return None
    episode = ctx.tracking.account if scope == "account" else ctx.tracking.debtor
    # An agreed plan reages the account, which usually cures it: a broken plan counts in the
    # last episode even when it is closed. Everything else needs the account delinquent.
    if not episode.open and trigger.event != "restructuring_broken":
        return None
    if isinstance(event, StageChanged):
        if trigger.stage not in ctx.entered[scope]:
            return None
        used.update(entered=str(trigger.stage), from_stage=event.from_stage, to_stage=event.to_stage)
    elif trigger.stage is not None:
        if episode.reached < ctx.book.rank(trigger.stage):
            return None
        used.update(stage=facts.stage, reached=ctx.book.stages[episode.reached])
    if trigger.min_past_due_minor is not None:
        name, amount = (
            ("past_due_minor", facts.past_due_minor)
            if scope == "account"
            else ("debtor_past_due_minor", facts.debtor_past_due_minor)
        )
        if amount < trigger.min_past_due_minor:
            return None
        used[name] = amount
    if trigger.address_known is not None:
        if facts.address_known != trigger.address_known:
            return None
        used["address_known"] = facts.address_known
    if trigger.flags_any:
        flags = tuple(sorted(facts.flags.intersection(trigger.flags_any)))
        if not flags:
            return None
        used["flags"] = flags
    if trigger.signals_any:
        signals = tuple(sorted(facts.signals.intersection(trigger.signals_any)))
        if not signals:
            return None
        used["signals"] = signals
    if trigger.willing_to_pay is not None:
        if not isinstance(event, HardshipReported) or event.willing_to_pay != trigger.willing_to_pay:
            return None
        used["willing_to_pay"] = event.willing_to_pay
    if isinstance(event, RestructuringBroken):
        used["plan_id"] = event.plan_id
    return used


def _fire(rule: Rule, ctx: _Context, decided: Set[str]) -> Decision | None:
    facts = ctx.facts
    subject = facts.account_id if rule.scope == "account" else facts.customer_id
    episode = ctx.tracking.account if rule.scope == "account" else ctx.tracking.debtor
    key = decision_key(rule.id, rule.scope, subject, episode.number)
    if not rule.enabled or key in decided:
        return None
    for index, trigger in enumerate(rule.when):
        used = _conditions(trigger, rule.scope, ctx)
        if used is not None:
            return Decision(
                key=key,
                rule_id=rule.id,
                action=rule.action,
                effect="open",
                scope=rule.scope,
                subject_id=subject,
                account_id=facts.account_id,
                customer_id=facts.customer_id,
                episode=episode.number,
                facts={"trigger": index, "event": trigger.event, **used},
            )
    return None


def _closes(
    facts: AccountFacts,
    ended: Mapping[Scope, int | None],
    open_actions: Iterable[OpenAction],
    decided: Set[str],
    *,
    closing: Callable[[ActionKind], bool],
    reason: str,
    rule_prefix: str,
    used: Mapping[str, FactValue],
) -> list[Decision]:
    """Close decisions for the open actions of the subjects in ``ended`` (scope -> episode) whose
    kind ``closing`` accepts. The key depends only on the action closed, so it closes once."""
    subjects: dict[Scope, str] = {"account": facts.account_id, "debtor": facts.customer_id}
    closes: list[Decision] = []
    for action in open_actions:
        episode = ended[action.scope]
        if episode is None or action.subject_id != subjects[action.scope] or not closing(action.action):
            continue
        key = f"close:{action.key}"
        if key in decided:
            continue
        closes.append(
            Decision(
                key=key,
                rule_id=f"{rule_prefix}.{action.action}",
                action=action.action,
                effect="close",
                scope=action.scope,
                subject_id=action.subject_id,
                account_id=facts.account_id,
                customer_id=facts.customer_id,
                episode=episode,
                facts=dict(used),
                closes=action.key,
                reason=reason,
            )
        )
    return closes


def evaluate(
    book: RuleBook,
    event: Event,
    facts: AccountFacts,
    tracking: Tracking,
    *,
    decided: Set[str] = frozenset(),
    open_actions: Sequence[OpenAction] = (),
) -> Evaluation:
    """Evaluates every rule of ``book`` on one event; see the module docstring."""
    entered: dict[Scope, frozenset[str]] = {"account": frozenset(), "debtor": frozenset()}
    cured: dict[Scope, int | None] = {"account": None, "debtor": None}
    after = tracking
    if isinstance(event, StageChanged):
        from_rank, to_rank = book.rank(event.from_stage), book.rank(event.to_stage)
        account = step(tracking.account, from_rank, to_rank)
        debtor = step(tracking.debtor, from_rank, to_rank, held_elsewhere=tracking.others_delinquent)
        entered = {
            "account": frozenset(book.stages[r] for r in account.entered),
            "debtor": frozenset(book.stages[r] for r in debtor.entered),
        }
        cured = {
            "account": account.before.number if account.cured else None,
            "debtor": debtor.before.number if debtor.cured else None,
        }
        after = Tracking(account.after, debtor.after, tracking.others_delinquent)
    ctx = _Context(book, event, facts, after, entered)
    decisions: list[Decision] = []
    for rule in book.rules:
        decision = _fire(rule, ctx, decided)
        if decision is not None:
            decisions.append(decision)
    decisions.extend(
        _closes(
            facts,
            cured,
            open_actions,
            decided,
            closing=lambda action: book.cure_effect(action) == "close",
            reason="cure",
            rule_prefix="on_cure",
            used={"stage": facts.stage},
        )
    )
    if isinstance(event, RiskUpdated) and facts.flags & STOP_FLAGS:
        decisions.extend(
            _closes(
                facts,
                {"account": tracking.account.number, "debtor": tracking.debtor.number},
                open_actions,
                decided,
                closing=lambda action: action == "agency_placement",
                reason="stop_flag",
                rule_prefix="on_stop_flag",
                used={"flags": tuple(sorted(facts.flags & STOP_FLAGS))},
            )
        )
    return Evaluation(after, tuple(decisions))
