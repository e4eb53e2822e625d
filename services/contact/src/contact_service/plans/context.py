"""What templates are rendered from: the case's facts, formatted, and the Jinja2 environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from contact_service.domain.money import format_money

__all__ = ["SAMPLE_FACTS", "MessageFacts", "template_context", "template_environment"]


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What a template may state: no national id, no full card number."""

    bank: str
    account_tail: str
    dpd: int
    past_due_minor: int
    currency: str
    fees_minor: int | None = None


#: Facts a plan's templates are test-rendered with when the plan is loaded.
SAMPLE_FACTS = MessageFacts("Bank", "0000", 1, 123_456, "CNY", 5_000)


def template_context(facts: MessageFacts, language: str) -> dict[str, object]:
    """The names a template sees: ``bank``, ``account_tail``, ``dpd``, ``amount`` and ``fees`` (or None)."""
    return {
        "bank": facts.bank,
        "account_tail": facts.account_tail,
        "dpd": facts.dpd,
        "amount": format_money(facts.past_due_minor, facts.currency, language),
        "fees": format_money(facts.fees_minor, facts.currency, language) if facts.fees_minor else None,
    }


def template_environment(template_dir: Path) -> jinja2.Environment:
    """Plain-text templates under ``template_dir``; an undefined name is an error."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
