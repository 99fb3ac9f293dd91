"""Detectors of personal financial information in stored values (used by the scan)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vaultkit.identifiers import is_card, is_cn_id, is_mobile, is_uscc

__all__ = ["DETECTORS", "Detector", "looks_like_verifier"]


@dataclass(frozen=True)
class Detector:
    """A kind of value, its JR/T 0171-2020 level, and how to find it in a string.

    ``pattern`` finds candidates (whole value or inside free text); ``valid`` confirms one with
    its check character or structure, so random digits are rarely taken for identifiers.
    """

    kind: str  # a vaultkit.policy kind name
    level: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool]
    mask_as: str  # the vaultkit.masking kind used to show examples


def _email(value: str) -> bool:
    return len(value) <= 254


# Lookarounds keep candidates from being cut out of longer digit runs.
DETECTORS: tuple[Detector, ...] = (
    # JR/T 0171-2020 Annex A: identity information (ID numbers), C2
    Detector(
        "cn_id", "C2", re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), is_cn_id, "cn_id"
    ),
    # account information (card numbers), C2; UnionPay, Visa, Mastercard, JCB, Amex prefixes
    Detector(
        "card_no",
        "C2",
        re.compile(r"(?<!\d)(?:62|4|5[1-5]|35|3[47])\d{10,17}(?!\d)"),
        is_card,
        "card_no",
    ),
    # identity information (contact): mainland mobile numbers, C2
    Detector("mobile", "C2", re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"), is_mobile, "mobile"),
    Detector(
        "email",
        "C2",
        re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
        _email,
        "email",
    ),
    # GB 32100 codes identify organisations, not persons: reported, level C1
    Detector(
        "uscc",
        "C1",
        re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Z])"),
        is_uscc,
        "account_no",
    ),
)

# One-way verifiers in modular crypt format ($argon2id$..., $scrypt$...) or long hex digests.
_VERIFIER = re.compile(r"^\$(argon2(id|i|d)|scrypt|2[aby]|pbkdf2[-_a-z0-9]*|sm3)\$|^[0-9a-f]{64,}$")


def looks_like_verifier(value: str) -> bool:
    """True when a C3 value is a one-way verifier (hash), which is allowed."""
    return _VERIFIER.match(value) is not None
