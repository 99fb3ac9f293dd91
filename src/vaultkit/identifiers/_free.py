"""Search keys of the kinds without a check character: free text, names, e-mail addresses and
account numbers. They fold what users type differently for the same value (full-width forms,
case, white space) and validate only what the kind requires (an account number is digits).
"""

from __future__ import annotations

import re
import unicodedata

from vaultkit.errors import InputFormatError
from vaultkit.identifiers._text import clean

__all__ = ["normalize_account", "normalize_email", "normalize_name", "normalize_text"]

_SPACES = re.compile(r"\s+")


def normalize_text(value: str) -> str:
    """Unicode NFKC (full-width forms folded), surrounding white space removed."""
    return unicodedata.normalize("NFKC", value).strip()


def normalize_account(value: str) -> str:
    """Digits only (spaces, hyphens and full-width digits accepted)."""
    digits = clean(value, separators=True)
    if not (digits.isascii() and digits.isdigit()):
        raise InputFormatError("account number must be digits", value, kind="account_no")
    return digits


def normalize_email(value: str) -> str:
    """NFKC, stripped, lower case."""
    return normalize_text(value).lower()


def normalize_name(value: str) -> str:
    """NFKC, inner white space collapsed to one space, case folded."""
    return _SPACES.sub(" ", normalize_text(value)).casefold()
