"""Masking rules: one frozen dataclass per kind, validated when built."""

from __future__ import annotations

import dataclasses
from typing import Literal

from vaultkit.errors import VaultkitTypeError

__all__ = [
    "AccountMask",
    "AddressMask",
    "CardMask",
    "CnIdMask",
    "EmailMask",
    "FullMask",
    "MaskRule",
    "MobileMask",
    "NameMask",
]


def _check_count(owner: object, name: str, value: object, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise VaultkitTypeError(f"{type(owner).__name__}.{name} must be an int >= 0")


def _check_char(owner: object, char: object) -> None:
    if not isinstance(char, str) or len(char) != 1:
        raise VaultkitTypeError(f"{type(owner).__name__}.char must be one character")


@dataclasses.dataclass(frozen=True, kw_only=True)
class _EndsMask:
    """Keep ``keep_prefix`` leading and ``keep_suffix`` trailing characters, mask the rest.

    A value with fewer than ``min_masked`` characters left to mask is masked entirely.
    """

    keep_prefix: int
    keep_suffix: int
    char: str = "*"
    min_masked: int = 4

    def __post_init__(self) -> None:
        _check_count(self, "keep_prefix", self.keep_prefix)
        _check_count(self, "keep_suffix", self.keep_suffix)
        _check_count(self, "min_masked", self.min_masked)
        _check_char(self, self.char)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CardMask(_EndsMask):
    """Bank card numbers: ``622202******1234`` (first 6 and last 4, PCI DSS 3.4 maximum)."""

    keep_prefix: int = 6
    keep_suffix: int = 4


@dataclasses.dataclass(frozen=True, kw_only=True)
class CnIdMask(_EndsMask):
    """Resident ID numbers: ``110105********002X`` (address code and last 4)."""

    keep_prefix: int = 6
    keep_suffix: int = 4


@dataclasses.dataclass(frozen=True, kw_only=True)
class MobileMask(_EndsMask):
    """Mobile numbers: ``138****5678``."""

    keep_prefix: int = 3
    keep_suffix: int = 4


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountMask(_EndsMask):
    """Account numbers: ``***************1234`` (last 4 only)."""

    keep_prefix: int = 0
    keep_suffix: int = 4


@dataclasses.dataclass(frozen=True, kw_only=True)
class NameMask:
    """Personal names: the surname kept, each other character masked (``张*``, ``欧阳**``).

    Compound surnames are recognized from the list in ``vaultkit.masking.COMPOUND_SURNAMES``.
    With ``keep_surname=False`` only the first character is kept. ``width`` fixes the number of
    mask characters (None: one per masked character).
    """

    keep_surname: bool = True
    char: str = "*"
    width: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.keep_surname, bool):
            raise VaultkitTypeError("NameMask.keep_surname must be a bool")
        _check_count(self, "width", self.width, optional=True)
        _check_char(self, self.char)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AddressMask:
    """Postal addresses: the province (and with ``keep="city"`` the prefecture-level city) kept,
    the rest masked: ``广东省深圳市*********``. An address whose province and city cannot be
    recognized is masked entirely. ``width`` fixes the number of mask characters."""

    keep: Literal["province", "city"] = "city"
    char: str = "*"
    width: int | None = None

    def __post_init__(self) -> None:
        if self.keep not in ("province", "city"):
            raise VaultkitTypeError("AddressMask.keep must be 'province' or 'city'")
        _check_count(self, "width", self.width, optional=True)
        _check_char(self, self.char)


@dataclasses.dataclass(frozen=True, kw_only=True)
class EmailMask:
    """E-mail addresses: ``keep_prefix`` characters of the local part, then ``width`` mask
    characters, then ``@domain`` (``z***@example.com``)."""

    keep_prefix: int = 1
    width: int = 3
    keep_domain: bool = True
    char: str = "*"

    def __post_init__(self) -> None:
        _check_count(self, "keep_prefix", self.keep_prefix)
        _check_count(self, "width", self.width)
        if not isinstance(self.keep_domain, bool):
            raise VaultkitTypeError("EmailMask.keep_domain must be a bool")
        _check_char(self, self.char)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FullMask:
    """Anything without a display structure (balances, amounts): ``width`` mask characters."""

    width: int = 4
    char: str = "*"

    def __post_init__(self) -> None:
        _check_count(self, "width", self.width)
        _check_char(self, self.char)


MaskRule = (
    CardMask | CnIdMask | MobileMask | AccountMask | NameMask | AddressMask | EmailMask | FullMask
)
