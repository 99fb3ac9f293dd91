"""Mainland China mobile numbers: 11 digits, ``1[3-9]`` then 9 digits (MIIT numbering plan)."""

from __future__ import annotations

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.identifiers._text import clean, passes

__all__ = ["is_mobile", "normalize_mobile"]


def normalize_mobile(value: str) -> str:
    """The 11-digit number.

    Accepts spaces and hyphens between groups, full-width digits and a ``+86``, ``0086`` or
    ``86`` country prefix. Raises ``InputFormatError`` naming the rule.
    """
    if not isinstance(value, str):
        raise VaultkitTypeError("a mobile number must be a str")
    text = clean(value, separators=True)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if len(text) != 11 or not (text.isascii() and text.isdigit()):
        raise InputFormatError("mobile number must be 11 digits", value, kind="mobile")
    if text[0] != "1" or text[1] not in "3456789":
        raise InputFormatError("mobile number must start with 13-19", value, kind="mobile")
    return text


def is_mobile(value: str) -> bool:
    """True if ``value`` normalizes to an 11-digit mainland mobile number."""
    return passes(normalize_mobile, value)
