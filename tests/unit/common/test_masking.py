"""Masks of personal data: what is kept, and that nothing more is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from collections_common.masking import mask_email, mask_national_id, mask_phone


class TestMaskNationalId:
    def test_only_the_last_four_characters_are_kept(self) -> None:
        assert mask_national_id("11010119900307451X") == "**************451X"

    def test_an_id_of_four_characters_or_fewer_is_all_masked(self) -> None:
        assert mask_national_id("451X") == "****"
        assert mask_national_id("") == ""

    @given(st.text(alphabet="0123456789X", min_size=5, max_size=30))
    def test_nothing_but_the_last_four_survives(self, national_id: str) -> None:
        masked = mask_national_id(national_id)
        assert len(masked) == len(national_id)
        assert masked[-4:] == national_id[-4:]
        assert set(masked[:-4]) == {"*"}


class TestMaskPhone:
    def test_the_last_four_digits_and_the_shape_are_kept(self) -> None:
        assert mask_phone("+86 138-1234-5678") == "+** ***-****-5678"
        assert mask_phone("13812345678") == "*******5678"

    def test_a_number_of_four_digits_or_fewer_is_all_masked(self) -> None:
        assert mask_phone("5678") == "****"

    @given(st.text(alphabet="0123456789 +-()", max_size=25))
    def test_at_most_four_digits_survive(self, phone: str) -> None:
        kept = [char for char in mask_phone(phone) if char.isdigit()]
        digits = [char for char in phone if char.isdigit()]
        assert len(kept) == (4 if len(digits) > 4 else 0)
        assert kept == digits[len(digits) - len(kept) :]


class TestMaskEmail:
    def test_the_first_character_and_the_domain_are_kept(self) -> None:
        assert mask_email("zhang.wei@example.com") == "z***@example.com"

    def test_the_mask_does_not_reveal_the_length(self) -> None:
        assert len(mask_email("a@x.cn")) == len(mask_email("averyverylongname@x.cn"))

    def test_something_that_is_not_an_address_is_all_masked(self) -> None:
        assert mask_email("not-an-address") == "***"
        assert mask_email("@example.com") == "***"
