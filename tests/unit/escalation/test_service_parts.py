"""The escalation service's pure helpers around the domain: API cursors, why a legal file opens,
a letter's language, what an account event's holder sets."""

from __future__ import annotations

import base64

import pytest

from collections_common.problems import InvalidRequest
from escalation_service.api.common import decode_cursor, encode_cursor
from escalation_service.effects import legal_reason, letter_language
from escalation_service.handlers import _holder_values


class TestCursor:
    def test_a_cursor_decodes_to_the_position_it_encodes(self) -> None:
        assert decode_cursor(encode_cursor(12345)) == 12345
        assert encode_cursor(None) is None and decode_cursor(None) is None

    @pytest.mark.parametrize("cursor", ["", "!!!", "cy0x", "eDEy", "s" * 70])
    def test_anything_else_is_an_invalid_request(self, cursor: str) -> None:
        with pytest.raises(InvalidRequest):
            decode_cursor(cursor)

    @pytest.mark.parametrize("text", ["s9223372036854775808", "s\u00b2", "s007", "s-1"])
    def test_a_position_the_database_cannot_hold_or_not_in_ascii_digits_is_invalid(self, text: str) -> None:
        forged = base64.urlsafe_b64encode(text.encode()).decode()
        with pytest.raises(InvalidRequest):
            decode_cursor(forged)
        assert decode_cursor(encode_cursor(2**63 - 1)) == 2**63 - 1


class TestLegalReason:
    @pytest.mark.parametrize(
        ("facts", "reason"),
        [
            ({"flags": ("fraud_suspected",)}, "fraud_suspected"),
            ({"signals": ("asset_transfer",)}, "asset_transfer"),
            ({"plan_id": "OFR-1"}, "restructuring_broken"),
            ({"past_due_minor": 5_000_000}, "large_amount"),
        ],
    )
    def test_the_reason_comes_from_the_facts_the_rule_used(
        self, facts: dict[str, object], reason: str
    ) -> None:
        assert legal_reason(facts) == reason


class TestLetterLanguage:
    def test_the_holder_s_language_wins_over_the_default(self) -> None:
        assert letter_language("en-GB", "zh-CN") == "en"
        assert letter_language("zh-Hans", "en") == "zh-CN"
        assert letter_language("fr", "zh-CN") == "zh-CN"
        assert letter_language(None, "en") == "en"


class TestHolderValues:
    def test_only_the_national_id_s_last_four_characters_are_kept(self) -> None:
        values = _holder_values({"name": "张三", "national_id": "310101199001011234"})
        assert values == {"holder_name": "张三", "national_id_last4": "1234"}

    def test_a_partial_address_updates_the_known_one_and_its_region(self) -> None:
        class Known:
            address = {"line1": "1 Nanjing Road", "city": "Shanghai", "region": "Shanghai"}

        values = _holder_values({"address": {"region": "Jiangsu", "city": "Suzhou"}}, Known())
        assert values["address"] == {"line1": "1 Nanjing Road", "city": "Suzhou", "region": "Jiangsu"}
        assert values["region"] == "Jiangsu"
