"""Column names that denote C3 authentication data (JR/T 0171-2020 5.2).

Used where only a name is known: the scan flags such columns, and ``vaultkit reencrypt
--from-plaintext`` refuses to protect them reversibly (they need a one-way verifier).
"""

from __future__ import annotations

import re

__all__ = ["is_authentication_column"]

_C3_NAMES = re.compile(
    r"(^|_)(password|passwd|pwd|pin|pin_?code|cvv2?|cvn2?|cvc2?|track[12]?|track_data|"
    r"card_?expiry|exp(iry)?_date|security_code)($|_)",
    re.IGNORECASE,
)


def is_authentication_column(name: str) -> bool:
    """True for column names that denote C3 authentication data (password, PIN, CVN2, ...)."""
    return _C3_NAMES.search(name) is not None
