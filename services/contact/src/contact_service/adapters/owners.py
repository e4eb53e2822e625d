"""Whose account it is, remembered by the API process so a permit skips that lookup."""

from __future__ import annotations

__all__ = ["AccountOwners"]


class AccountOwners:
    """``account_id`` to ``customer_id`` as the database linked them, at most ``capacity`` entries.

    Safe to remember: an account's debtor is set once, by the first event that names it
    (``CaseRepository.link_account`` never changes it afterwards), and no account row is deleted.
    Only found links are kept (an unknown account is looked up again next time); when full, the
    cache starts afresh.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._owners: dict[str, str] = {}

    def get(self, account_id: str) -> str | None:
        return self._owners.get(account_id)

    def remember(self, account_id: str, customer_id: str) -> None:
        if len(self._owners) >= self.capacity and account_id not in self._owners:
            self._owners.clear()
        self._owners[account_id] = customer_id

    def __len__(self) -> int:
        return len(self._owners)
