"""Masks for personal data shown to someone who does not need all of it (DOMAIN.md sections 7, 9).

Pure functions: each keeps only what identifies the value to its holder, never enough to use it.
"""

from __future__ import annotations

__all__ = ["mask_email", "mask_national_id", "mask_phone"]

MASK = "*"


def mask_national_id(national_id: str) -> str:
    """Only the last four characters (``*`` for the others); one of four characters or fewer is all masked."""
    value = national_id.strip()
    if len(value) <= 4:
        return MASK * len(value)
    return MASK * (len(value) - 4) + value[-4:]


def mask_phone(phone: str) -> str:
    """Every digit but the last four masked; ``+`` and separators kept, so the shape still reads."""
    digits = sum(char.isdigit() for char in phone)
    keep_from = digits - 4 if digits > 4 else digits
    seen = 0
    masked: list[str] = []
    for char in phone.strip():
        if char.isdigit():
            masked.append(char if seen >= keep_from else MASK)
            seen += 1
        else:
            masked.append(char)
    return "".join(masked)


def mask_email(email: str) -> str:
    """The first character of the local part and the domain: ``z***@example.com``."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local:
        return MASK * 3
    return f"{local[0]}{MASK * 3}@{domain}"
