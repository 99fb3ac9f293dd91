"""Unified social credit codes (GB 32100-2015) and their organisation code part (GB 11714)."""

from __future__ import annotations

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.identifiers._text import clean, passes

__all__ = [
    "USCC_ALPHABET",
    "is_uscc",
    "normalize_uscc",
    "org_code_check_char",
    "uscc_check_char",
]

# GB 32100-2015 4.1: the code's characters, I, O, S, V and Z excluded; a character's value is its
# index in this string.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
# GB 32100-2015 5.2: W_i = 3^(i-1) mod 31, i = 1..17.
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# GB 11714-1997: weights of the 8 body characters of the organisation code.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """The 18th character of a code whose first 17 characters are ``first17``.

    GB 32100-2015 5.2: C18 = 31 - (sum(C_i * W_i) mod 31), 31 written as 0.
    """
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise InputFormatError(
            "first 17 characters must be in the GB 32100 alphabet", first17, kind="uscc"
        )
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """The 9th character of a GB 11714 organisation code (characters 9-17 of a USCC).

    Digits count as their value and letters as A=10 .. Z=35; C9 = 11 - (S mod 11), 10 written
    ``X`` and 11 written ``0``.
    """
    if len(first8) != 8 or not first8.isascii() or not first8.isalnum():
        raise InputFormatError("organisation code must be 8 letters or digits", first8, kind="uscc")
    total = sum(int(c, 36) * w for c, w in zip(first8.upper(), _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def normalize_uscc(value: str, *, check_org_code: bool = False) -> str:
    """The 18-character code in upper case.

    Accepts surrounding white space, full-width characters and lower case. Raises
    ``InputFormatError`` naming the rule: length, a character outside the GB 32100 alphabet, bad
    check character, and with ``check_org_code`` a bad GB 11714 check character in position 17.
    """
    if not isinstance(value, str):
        raise VaultkitTypeError("a unified social credit code must be a str")
    text = clean(value, separators=False).upper()
    if len(text) != 18:
        raise InputFormatError("code must be 18 characters (GB 32100)", value, kind="uscc")
    if any(c not in _VALUE for c in text):
        raise InputFormatError(
            "character outside the GB 32100 alphabet (I, O, S, V, Z are not used)",
            value,
            kind="uscc",
        )
    if uscc_check_char(text[:17]) != text[17]:
        raise InputFormatError("bad check character (GB 32100)", value, kind="uscc")
    if check_org_code and org_code_check_char(text[8:16]) != text[16]:
        raise InputFormatError(
            "bad organisation code check character (GB 11714)", value, kind="uscc"
        )
    return text


def is_uscc(value: str, *, check_org_code: bool = False) -> bool:
    """True if ``value`` normalizes to a valid unified social credit code."""
    return passes(normalize_uscc, value, check_org_code=check_org_code)
