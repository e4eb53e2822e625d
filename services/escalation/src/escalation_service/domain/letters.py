"""Demand letters (催收函; DOMAIN.md section 6): their content, HTML and PDF.

CN 2011 rules (商业银行信用卡业务监督管理办法) art. 69 lists what a collection letter states: the
debtor's name and the amount owed, the reason for the collection and its legal basis, the
cardholder's rights, the repayment and dispute channels, and the bank's contact. ``LetterContent``
holds each; the Jinja2 templates (``escalation_service/templates``, zh-CN and en, autoescaped)
render every one in its own section marked ``data-element``; WeasyPrint turns the HTML into a
PDF. Amounts are formatted from integer minor units, without floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = [
    "ART_69_ELEMENTS",
    "MINOR_DIGITS",
    "BankDetails",
    "Language",
    "LetterContent",
    "format_amount",
    "render_html",
    "render_pdf",
]

Language = Literal["zh-CN", "en"]
#: The ``data-element`` of each section a letter must have (art. 69).
ART_69_ELEMENTS: tuple[str, ...] = (
    "debtor_name",
    "amount",
    "reason",
    "legal_basis",
    "cardholder_rights",
    "repayment_channels",
    "dispute_channels",
    "bank_contact",
)
#: Digits after the decimal point of each currency's minor unit (ISO 4217).
MINOR_DIGITS: dict[str, int] = {"CNY": 2, "HKD": 2, "USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KRW": 0}


@dataclass(frozen=True, slots=True)
class BankDetails:
    """The issuing bank as its letters present it (configuration)."""

    name: str
    contact_phone: str
    contact_address: str
    repayment_channels: tuple[str, ...]
    dispute_channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LetterContent:
    """Everything one demand letter states. ``account_ref`` is already masked (last 4 digits)."""

    letter_id: str
    language: Language
    debtor_name: str
    account_ref: str
    past_due_minor: int
    currency: str
    overdue_since: date
    dpd: int
    issued_on: date
    pay_by: date
    bank: BankDetails


def _grouped(whole: int) -> str:
    return f"{whole:,}"


def format_amount(amount_minor: int, currency: str, language: Language) -> str:
    """``amount_minor`` as the letter prints it: ``人民币 12,345.67 元`` or ``CNY 12,345.67``."""
    if currency not in MINOR_DIGITS:
        raise ValueError(f"no minor-unit digits known for currency {currency!r}")
    digits = MINOR_DIGITS[currency]
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**digits)
    number = f"{sign}{_grouped(whole)}" + (f".{fraction:0{digits}d}" if digits else "")
    if language == "zh-CN":
        return f"人民币 {number} 元" if currency == "CNY" else f"{number} {currency}"
    return f"{currency} {number}"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _date(day: date, language: Language) -> str:
    """``2026年3月5日`` or ``5 March 2026`` (independent of the process locale)."""
    if language == "zh-CN":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


_ENVIRONMENT = Environment(
    loader=PackageLoader("escalation_service", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(content: LetterContent) -> str:
    """The letter as an HTML document, in ``content.language``."""
    if not content.debtor_name.strip():
        raise ValueError("a demand letter names the debtor (art. 69)")
    if not content.bank.repayment_channels or not content.bank.dispute_channels:
        raise ValueError("a demand letter lists the repayment and the dispute channels (art. 69)")
    template = _ENVIRONMENT.get_template(f"letter.{content.language}.html.j2")
    return template.render(
        letter=content,
        amount=format_amount(content.past_due_minor, content.currency, content.language),
        overdue_since=_date(content.overdue_since, content.language),
        issued_on=_date(content.issued_on, content.language),
        pay_by=_date(content.pay_by, content.language),
    )


def render_pdf(html: str) -> bytes:
    """The HTML rendered to PDF by WeasyPrint (which needs Pango; a CJK font for zh-CN)."""
    from weasyprint import HTML  # imported here: loading Pango takes a while and few calls need it

    pdf = HTML(string=html).write_pdf()
    if not isinstance(pdf, bytes):
        raise TypeError("WeasyPrint returned no PDF bytes")
    return pdf
