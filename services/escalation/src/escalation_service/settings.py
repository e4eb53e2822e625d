"""Settings of the escalation service (environment variables; see README)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator

from collections_common.settings import ServiceSettings
from escalation_service.domain.letters import BankDetails, Language
from escalation_service.domain.rules import RuleBook, default_rules, load_rules


@lru_cache(maxsize=8)
def rules_at(path: str | None) -> RuleBook:
    """The validated rules file at ``path`` (the shipped default when ``None``), read once."""
    return default_rules() if path is None else load_rules(path)


class EscalationSettings(ServiceSettings):
    service_name: str = "escalation"
    http_port: int = 8003
    worker_port: int = 9103

    rules_file: str | None = Field(
        default=None, description="the bank's rules YAML; the shipped rules/default.yaml when unset"
    )

    letter_provider_url: str | None = Field(
        default=None, description="base URL of the letter provider's API; letters wait unsent when unset"
    )
    letter_provider_token: str | None = Field(default=None, description="bearer token for the provider")
    letter_provider_timeout_seconds: float = Field(default=10.0, gt=0)
    letter_provider_retries: int = Field(default=3, ge=0, le=10, description="retries of one request")
    letter_provider_backoff_seconds: float = Field(default=0.5, ge=0, description="first retry's delay")
    letter_max_attempts: int = Field(default=5, ge=1, description="dispatch rounds before a letter fails")
    letter_dispatch_interval_ms: int = Field(default=500, ge=10)
    letter_default_language: Language = "zh-CN"
    letter_pay_within_days: int = Field(default=14, ge=1)

    bank_name: str = "Example Bank Credit Card Centre"
    bank_contact_phone: str = "95500"
    bank_contact_address: str = "1 Example Road, Shanghai"
    bank_repayment_channels: tuple[str, ...] = ("Mobile banking app", "Bank counter", "Online banking")
    bank_dispute_channels: tuple[str, ...] = ("Customer service hotline 95500", "complaints@bank.example")

    restructuring_default_instalments: int = Field(default=12, ge=1, le=60)
    restructuring_fee_basis_points: int = Field(default=0, ge=0, le=10_000)
    restructuring_first_due_days: int = Field(default=30, ge=1)

    gauge_interval_seconds: float = Field(default=15.0, gt=0)

    @field_validator("rules_file")
    @classmethod
    def _valid_rules(cls, value: str | None) -> str | None:
        rules_at(value)  # InvalidRules (a ValueError) lists every problem, at start
        return value

    @property
    def rules(self) -> RuleBook:
        return rules_at(self.rules_file)

    @property
    def bank(self) -> BankDetails:
        return BankDetails(
            name=self.bank_name,
            contact_phone=self.bank_contact_phone,
            contact_address=self.bank_contact_address,
            repayment_channels=self.bank_repayment_channels,
            dispute_channels=self.bank_dispute_channels,
        )
