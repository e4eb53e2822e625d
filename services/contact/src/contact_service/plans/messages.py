"""Render a plan's templates into messages, in the debtor's language, from the case's facts.

Amounts are integer minor units formatted per currency (``domain.money``). SMS and e-mail
always end with the plan's opt-out line for the language. An e-mail template's first line is
``Subject: ...``.
"""

from __future__ import annotations

from dataclasses import dataclass

from contact_service.domain.contact import Channel
from contact_service.plans.context import MessageFacts, template_context, template_environment
from contact_service.plans.loader import LoadedPlan

__all__ = ["Message", "MessageFacts", "Renderer", "pick_language"]

_OPT_OUT_CHANNELS = frozenset({Channel.SMS, Channel.EMAIL})


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered message: ``subject`` for e-mail only."""

    language: str
    body: str
    subject: str | None = None


def pick_language(plan: LoadedPlan, wanted: str | None) -> str:
    """``wanted`` if the plan has it, else one of the same base (``zh``: ``zh-CN``), else the default."""
    if wanted in plan.languages:
        return wanted
    base = (wanted or "").split("-")[0].lower()
    for language in plan.languages:
        if language.split("-")[0].lower() == base and base:
            return language
    return plan.default_language


class Renderer:
    """Renders ``templates/<language>/<template>.j2`` of a loaded plan with strict undefined names."""

    def __init__(self, plan: LoadedPlan) -> None:
        self._plan = plan
        self._env = template_environment(plan.template_dir)

    def render(self, template: str, channel: Channel, facts: MessageFacts, language: str | None) -> Message:
        """The message for ``template`` on ``channel`` in the plan's closest language to ``language``."""
        chosen = pick_language(self._plan, language)
        text = self._env.get_template(f"{chosen}/{template}.j2").render(template_context(facts, chosen))
        subject = None
        if channel is Channel.EMAIL:
            first, _, rest = text.partition("\n")
            if not first.startswith("Subject:"):
                raise ValueError("an e-mail template starts with a 'Subject:' line")
            subject, text = first.removeprefix("Subject:").strip(), rest
        body = text.strip()
        if channel in _OPT_OUT_CHANNELS:
            body = f"{body}\n{self._plan.opt_out[chosen]}"
        return Message(chosen, body, subject)
