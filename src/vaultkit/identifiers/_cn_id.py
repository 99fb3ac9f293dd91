"""Resident identity numbers (GB 11643-1999): address code, birth date, sequence, check char."""

from __future__ import annotations

import dataclasses
import datetime

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.identifiers._text import clean, passes

__all__ = [
    "ResidentId",
    "cn_id_check_char",
    "is_cn_id",
    "normalize_cn_id",
    "parse_cn_id",
    "upgrade_legacy_cn_id",
]

# GB 11643-1999 / ISO 7064:1983 MOD 11-2: W_i = 2^(18-i) mod 11 and the check character is
# "10X98765432"[S mod 11] where S = sum(a_i * W_i), i = 1..17.
_CHECK = "10X98765432"


def _weighted_sum_mod11(first17: str) -> int:
    # sum(a_i * 2^(18-i)) = 2 * sum(a_i * 2^(17-i)); 13 = 2 (mod 11), so reading the 17 digits as
    # a base-13 numeral gives sum(a_i * 2^(17-i)) mod 11 in one C-level call.
    return (2 * int(first17, 13)) % 11


def cn_id_check_char(first17: str) -> str:
    """The check character (``0-9`` or ``X``) of the first 17 digits of an ID number."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise InputFormatError("first 17 characters must be digits", first17, kind="cn_id")
    return _CHECK[_weighted_sum_mod11(first17)]


@dataclasses.dataclass(frozen=True)
class ResidentId:
    """The parts of an 18-character ID number (no repr: it is personal data)."""

    address: str  # 6-digit administrative division code (GB/T 2260)
    birth_date: datetime.date
    sequence: int  # 0..999; odd for men, even for women
    check: str

    def __repr__(self) -> str:
        return "ResidentId(<redacted>)"

    @property
    def is_male(self) -> bool:
        return self.sequence % 2 == 1


def _date(yyyymmdd: str) -> datetime.date | None:
    try:
        return datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None


def normalize_cn_id(value: str) -> str:
    """The 18-character ID number with an upper-case ``X``.

    Accepts surrounding white space, full-width characters and a lower-case ``x``. Raises
    ``InputFormatError`` naming the rule: legacy 15-digit number (see
    :func:`upgrade_legacy_cn_id`), wrong length, not digits, impossible birth date, bad check
    character.
    """
    if not isinstance(value, str):
        raise VaultkitTypeError("an ID number must be a str")
    text = clean(value, separators=False).upper()
    if len(text) == 15 and text.isascii() and text.isdigit():
        raise InputFormatError(
            "15-digit legacy ID numbers are not accepted; convert with upgrade_legacy_cn_id()",
            value,
            kind="cn_id",
        )
    if len(text) != 18:
        raise InputFormatError("ID number must be 18 characters (GB 11643)", value, kind="cn_id")
    body, check = text[:17], text[17]
    if not (body.isascii() and body.isdigit()) or check not in _CHECK:
        raise InputFormatError("ID number must be 17 digits and a digit or X", value, kind="cn_id")
    if _date(body[6:14]) is None:
        raise InputFormatError("impossible birth date (GB 11643)", value, kind="cn_id")
    if _CHECK[_weighted_sum_mod11(body)] != check:
        raise InputFormatError(
            "bad check character (GB 11643, ISO 7064 MOD 11-2)", value, kind="cn_id"
        )
    return text


def parse_cn_id(value: str) -> ResidentId:
    """Validate (as :func:`normalize_cn_id`) and split an ID number into its parts."""
    text = normalize_cn_id(value)
    birth = _date(text[6:14])
    assert birth is not None  # checked by normalize_cn_id
    return ResidentId(address=text[:6], birth_date=birth, sequence=int(text[14:17]), check=text[17])


def is_cn_id(value: str) -> bool:
    """True if ``value`` normalizes to a valid 18-character ID number."""
    return passes(normalize_cn_id, value)


def upgrade_legacy_cn_id(value: str) -> str:
    """Convert a 15-digit ID number (issued before 1999, birth year 19YY) to 18 characters.

    GB 11643-1999 upgrade rule: insert ``19`` before the 2-digit year and append the check
    character. The birth date must be real.
    """
    if not isinstance(value, str):
        raise VaultkitTypeError("an ID number must be a str")
    text = clean(value, separators=False)
    if len(text) != 15 or not (text.isascii() and text.isdigit()):
        raise InputFormatError("legacy ID number must be 15 digits", value, kind="cn_id")
    body = text[:6] + "19" + text[6:]
    if _date(body[6:14]) is None:
        raise InputFormatError("impossible birth date (GB 11643)", value, kind="cn_id")
    return body + _CHECK[_weighted_sum_mod11(body)]
