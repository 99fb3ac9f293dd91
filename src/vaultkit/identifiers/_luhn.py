"""Payment card numbers (ISO/IEC 7812-1): length 12-19 and the Luhn check digit (Annex B)."""

from __future__ import annotations

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.identifiers._text import clean, passes

__all__ = [
    "CARD_LENGTHS",
    "LUHN_DOUBLED",
    "is_card",
    "luhn_check_digit",
    "luhn_residue",
    "luhn_valid",
    "normalize_card",
]

CARD_LENGTHS = range(12, 20)

# ISO/IEC 7812-1 Annex B: counting from the check digit (position 0), digits at odd positions are
# doubled and the digits of the product summed; the contribution of digit d is LUHN_DOUBLED[d].
LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_residue(digits: str) -> int:
    """The Luhn sum of ``digits`` (ASCII digits, last one at position 0) modulo 10."""
    total = 0
    for j, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += LUHN_DOUBLED[d] if j & 1 else d
    return total % 10


def luhn_valid(digits: str) -> bool:
    """True if ``digits`` is a non-empty string of ASCII digits whose Luhn sum is 0 mod 10."""
    return bool(digits) and digits.isascii() and digits.isdigit() and luhn_residue(digits) == 0


def luhn_check_digit(payload: str) -> str:
    """The check digit to append to ``payload`` (ASCII digits) so the whole passes Luhn."""
    if not (payload.isascii() and payload.isdigit()):
        raise InputFormatError("payload must be ASCII digits", payload, kind="card")
    # Appending a digit shifts the payload one position left: its positions become doubled
    # where they were not, so compute the residue of payload + "0".
    return str((10 - luhn_residue(payload + "0")) % 10)


def normalize_card(value: str, *, check_luhn: bool = True) -> str:
    """The card number as 12-19 ASCII digits.

    Accepts spaces and hyphens between groups and full-width digits. Raises ``InputFormatError``
    naming the rule: not digits, wrong length, or (with ``check_luhn``) Luhn check failed.
    """
    if not isinstance(value, str):
        raise VaultkitTypeError("a card number must be a str")
    digits = clean(value, separators=True)
    if not (digits.isascii() and digits.isdigit()):
        raise InputFormatError("card number must be digits", value, kind="card")
    if len(digits) not in CARD_LENGTHS:
        raise InputFormatError("card number must be 12-19 digits", value, kind="card")
    if check_luhn and luhn_residue(digits) != 0:
        raise InputFormatError("Luhn check failed (ISO/IEC 7812-1)", value, kind="card")
    return digits


def is_card(value: str) -> bool:
    """True if ``value`` normalizes to a Luhn-valid card number of 12-19 digits."""
    return passes(normalize_card, value)
