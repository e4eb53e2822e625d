"""Money in minor units, formatted for a reader without floating point."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["MINOR_DIGITS", "format_money"]

#: ISO 4217 minor-unit digits of the currencies the platform expects; others default to 2.
MINOR_DIGITS: Mapping[str, int] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
}
_SYMBOLS: Mapping[str, str] = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}


def format_money(amount_minor: int, currency: str, language: str = "en") -> str:
    """``amount_minor`` of ``currency`` as text: ``¥1,234.56`` (zh-CN) or ``CNY 1,234.56`` (others)."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("amounts are integers of minor units")
    digits = MINOR_DIGITS.get(currency, 2)
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**digits)
    number = f"{major:,}" + (f".{minor:0{digits}d}" if digits else "")
    if language.startswith("zh") and currency in _SYMBOLS:
        return f"{sign}{_SYMBOLS[currency]}{number}"
    return f"{sign}{currency} {number}"
