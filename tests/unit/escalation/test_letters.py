"""Demand letters: every art. 69 element in both languages, escaped, and a real PDF."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader

from escalation_service.domain.letters import (
    ART_69_ELEMENTS,
    BankDetails,
    Language,
    LetterContent,
    format_amount,
    render_html,
    render_pdf,
)

BANK = BankDetails(
    name="示例银行 Example Bank",
    contact_phone="95500",
    contact_address="上海市浦东新区世纪大道 100 号",
    repayment_channels=("手机银行 App / mobile banking app", "网点柜台 / any branch counter"),
    dispute_channels=("客服热线 95500 转 3 / hotline 95500 option 3", "disputes@example-bank.cn"),
)


def letter(language: Language, name: str = "张伟") -> LetterContent:
    return LetterContent(
        letter_id="L-2026-0001",
        language=language,
        debtor_name=name,
        account_ref="1234",
        past_due_minor=1_234_567,
        currency="CNY",
        overdue_since=date(2026, 3, 1),
        dpd=75,
        issued_on=date(2026, 5, 15),
        pay_by=date(2026, 5, 29),
        bank=BANK,
    )


class _Sections(HTMLParser):
    """Collects the text of every ``data-element`` section and of the whole body."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, str] = {}
        self.current: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = dict(attrs).get("data-element")
        if tag == "section" and element:
            self.current = element
            self.sections[element] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        self.text += data
        if self.current:
            self.sections[self.current] += data


def sections_of(html: str) -> _Sections:
    parser = _Sections()
    parser.feed(html)
    return parser


EXPECTED: dict[Language, dict[str, list[str]]] = {
    "zh-CN": {
        "debtor_name": ["张伟"],
        "amount": ["人民币 12,345.67 元", "2026年5月29日"],
        "reason": ["尾号 1234", "2026年3月1日", "逾期 75 天"],
        "legal_basis": ["《商业银行信用卡业务监督管理办法》", "2011年第2号"],
        "cardholder_rights": ["有权查询", "提出异议或投诉"],
        "repayment_channels": ["手机银行 App", "网点柜台"],
        "dispute_channels": ["客服热线 95500 转 3", "disputes@example-bank.cn"],
        "bank_contact": ["示例银行 Example Bank", "95500", "世纪大道 100 号"],
    },
    "en": {
        "debtor_name": ["张伟"],
        "amount": ["CNY 12,345.67", "29 May 2026"],
        "reason": ["ending 1234", "1 March 2026", "75 days past due"],
        "legal_basis": ["Credit Card Business of Commercial Banks", "Order No. 2 of 2011"],
        "cardholder_rights": ["You may obtain", "dispute the amount"],
        "repayment_channels": ["mobile banking app", "any branch counter"],
        "dispute_channels": ["hotline 95500 option 3", "disputes@example-bank.cn"],
        "bank_contact": ["Example Bank", "95500", "世纪大道 100 号"],
    },
}


class TestHtml:
    @pytest.mark.parametrize("language", ["zh-CN", "en"])
    def test_the_letter_states_every_art_69_element(self, language: Language) -> None:
        parsed = sections_of(render_html(letter(language)))
        assert set(parsed.sections) == set(ART_69_ELEMENTS)
        for element, phrases in EXPECTED[language].items():
            text = re.sub(r"\s+", " ", parsed.sections[element])
            for phrase in phrases:
                assert phrase in text, f"{element} lacks {phrase!r}: {text!r}"

    def test_names_are_escaped(self) -> None:
        html = render_html(letter("en", name='<script>alert("x")</script>'))
        assert "<script>" not in html
        assert "&lt;script&gt;" in html

    def test_a_letter_without_a_name_or_channels_is_refused(self) -> None:
        with pytest.raises(ValueError, match="names the debtor"):
            render_html(letter("en", name=" "))
        no_disputes = replace(letter("en"), bank=replace(BANK, dispute_channels=()))
        with pytest.raises(ValueError, match="the repayment and the dispute channels"):
            render_html(no_disputes)


class TestAmounts:
    @pytest.mark.parametrize(
        ("minor", "currency", "language", "text"),
        [
            (1_234_567, "CNY", "zh-CN", "人民币 12,345.67 元"),
            (5, "CNY", "en", "CNY 0.05"),
            (100_000_000_000_000_001, "CNY", "en", "CNY 1,000,000,000,000,000.01"),
            (1_234, "JPY", "en", "JPY 1,234"),
            (1_234, "USD", "zh-CN", "12.34 USD"),
        ],
    )
    def test_minor_units_print_exactly(
        self, minor: int, currency: str, language: Language, text: str
    ) -> None:
        assert format_amount(minor, currency, language) == text

    def test_an_unknown_currency_is_refused(self) -> None:
        with pytest.raises(ValueError, match="'XXX'"):
            format_amount(1, "XXX", "en")


class TestPdf:
    @pytest.mark.parametrize(
        ("language", "amount"), [("zh-CN", "人民币 12,345.67 元"), ("en", "CNY 12,345.67")]
    )
    def test_the_pdf_is_a_real_pdf_with_the_name_and_amount(self, language: Language, amount: str) -> None:
        pdf = render_pdf(render_html(letter(language)))
        assert pdf.startswith(b"%PDF-")
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) >= 1
        text = re.sub(r"\s+", " ", "".join(page.extract_text() for page in reader.pages))
        assert "张伟" in text
        assert amount in text
