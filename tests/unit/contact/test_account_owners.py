"""The API process's memory of whose account it is."""

from __future__ import annotations

from contact_service.adapters.owners import AccountOwners


class TestAccountOwners:
    def test_an_account_is_unknown_until_remembered_then_names_its_debtor(self) -> None:
        owners = AccountOwners()
        assert owners.get("A1") is None
        owners.remember("A1", "C1")
        assert owners.get("A1") == "C1" and owners.get("A2") is None

    def test_when_full_it_starts_afresh_with_the_new_link(self) -> None:
        owners = AccountOwners(capacity=2)
        owners.remember("A1", "C1")
        owners.remember("A2", "C1")
        owners.remember("A2", "C1")  # already known: no room needed
        assert len(owners) == 2
        owners.remember("A3", "C2")
        assert len(owners) == 1 and owners.get("A3") == "C2" and owners.get("A1") is None
