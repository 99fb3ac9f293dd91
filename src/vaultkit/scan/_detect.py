"""Detectors of personal financial information in stored values (used by the scan)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vaultkit import kinds

__all__ = ["DETECTORS", "Detector", "looks_like_verifier"]


@dataclass(frozen=True)
class Detector:
    """A kind of value, its JR/T 0171-2020 level, and how to find it in a string (from the
    kind's entry in :mod:`vaultkit.kinds`).

    ``pattern`` finds candidates (whole value or inside free text); ``valid`` confirms one with
    its check character or structure, so random digits are rarely taken for identifiers.
    """

    kind: str  # a vaultkit.policy kind name
    level: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool]
    mask_as: str  # the vaultkit.masking kind used to show examples (the kind itself)


# One detector per kind of the registry with a scan rule, in the registry's order (longer
# identifiers first, so a card number is not also counted as the mobile number inside it).
DETECTORS: tuple[Detector, ...] = tuple(
    Detector(k.name, k.level, k.scan.pattern, k.is_valid, k.name)
    for k in kinds.KINDS.values()
    if k.scan is not None
)

# One-way verifiers in modular crypt format ($argon2id$..., $scrypt$...) or long hex digests.
_VERIFIER = re.compile(r"^\$(argon2(id|i|d)|scrypt|2[aby]|pbkdf2[-_a-z0-9]*|sm3)\$|^[0-9a-f]{64,}$")


def looks_like_verifier(value: str) -> bool:
    """True when a C3 value is a one-way verifier (hash), which is allowed."""
    return _VERIFIER.match(value) is not None
