"""The ``decisions`` table: each decision with its rule and facts, unique by idempotency key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from escalation_service.adapters.orm import decisions
from escalation_service.domain.evaluator import Decision, FactValue, OpenAction

__all__ = ["Decisions", "facts_json"]


def facts_json(facts: Mapping[str, FactValue]) -> dict[str, Any]:
    """The facts as JSON values (tuples become lists)."""
    return {name: list(value) if isinstance(value, tuple) else value for name, value in facts.items()}


class Decisions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _of(self, account_id: str, customer_id: str) -> Any:
        return or_(
            and_(decisions.c.scope == "account", decisions.c.subject_id == account_id),
            and_(decisions.c.scope == "debtor", decisions.c.subject_id == customer_id),
        )

    async def decided(self, account_id: str, customer_id: str) -> set[str]:
        """The keys of every decision about the account or its debtor."""
        rows = await self.session.execute(select(decisions.c.key).where(self._of(account_id, customer_id)))
        return {row.key for row in rows}

    async def open_actions(self, account_id: str, customer_id: str) -> list[OpenAction]:
        """Actions opened for the account or its debtor and not closed since."""
        rows = await self.session.execute(
            select(decisions.c.key, decisions.c.action, decisions.c.scope, decisions.c.subject_id)
            .where(
                self._of(account_id, customer_id),
                decisions.c.effect == "open",
                decisions.c.closed_by.is_(None),
            )
            .order_by(decisions.c.seq)
        )
        return [OpenAction(row.key, row.action, row.scope, row.subject_id) for row in rows]

    async def record(self, decision: Decision, *, cause_event_id: str) -> bool:
        """Stores the decision; ``False`` when its key was stored before (it then does nothing)."""
        statement = (
            insert(decisions)
            .values(
                key=decision.key,
                rule_id=decision.rule_id,
                action=decision.action,
                effect=decision.effect,
                scope=decision.scope,
                subject_id=decision.subject_id,
                account_id=decision.account_id,
                customer_id=decision.customer_id,
                episode=decision.episode,
                facts=facts_json(decision.facts),
                closes=decision.closes,
                reason=decision.reason,
                cause_event_id=cause_event_id,
            )
            .on_conflict_do_nothing()
            .returning(decisions.c.key)
        )
        stored = (await self.session.execute(statement)).first() is not None
        if stored and decision.closes is not None:
            await self.mark_closed(decision.closes, by=decision.key)
        return stored

    async def set_outcome(self, key: str, outcome: Mapping[str, Any]) -> None:
        await self.session.execute(
            update(decisions).where(decisions.c.key == key).values(outcome=dict(outcome))
        )

    async def mark_closed(self, key: str, *, by: str) -> None:
        await self.session.execute(
            update(decisions)
            .where(decisions.c.key == key, decisions.c.closed_by.is_(None))
            .values(closed_by=by)
        )

    async def unplaced(self) -> list[tuple[str, str, str]]:
        """(key, account_id, customer_id) of open placement decisions no agency could take yet."""
        rows = await self.session.execute(
            select(decisions.c.key, decisions.c.account_id, decisions.c.customer_id)
            .where(
                decisions.c.action == "agency_placement",
                decisions.c.effect == "open",
                decisions.c.closed_by.is_(None),
                decisions.c.outcome["placed"].as_boolean().is_(False),
            )
            .order_by(decisions.c.seq)
        )
        return [(row.key, row.account_id, row.customer_id) for row in rows]

    async def list(self, *, account_id: str | None, customer_id: str | None, limit: int) -> list[Any]:
        query = select(decisions).order_by(decisions.c.seq.desc()).limit(limit)
        if account_id is not None:
            query = query.where(decisions.c.account_id == account_id)
        if customer_id is not None:
            query = query.where(decisions.c.customer_id == customer_id)
        return list(await self.session.execute(query))
