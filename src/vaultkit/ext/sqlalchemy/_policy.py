"""The column types' use of ``vaultkit.policy`` (levels, kinds) and ``vaultkit.masking``."""

from __future__ import annotations

from typing import Any

from vaultkit.errors import PolicyError
from vaultkit.masking import mask as _mask
from vaultkit.policy import Kind, Level, Policy

__all__ = ["check_reversible", "mask", "mask_kind_of_format"]

# token formats (vaultkit.tokens) whose masking kind (vaultkit.masking) has another name
_MASK_KIND_OF_FORMAT = {"card": "card_no"}


def check_reversible(level: Any, kind: Any) -> None:
    """Refuse a reversible column (encrypted or tokenized) of C3 data (JR/T 0171-2020 4.2.1).

    ``kind`` (a ``vaultkit.policy.Kind`` or its name) and ``level`` (``Level`` or "C1".."C3")
    are checked by ``vaultkit.policy.Policy``: an unknown kind or level is a
    ``VaultkitTypeError``, authentication kinds (password, PIN, CVN2, ...) are C3.
    """
    if kind is None:
        if level is None:
            return
        probe = Policy(Kind.BALANCE, level)  # any C2 kind: validates and coerces the level
        resolved = probe.level
    else:
        resolved = Policy(kind, level).level
    if resolved is Level.C3:
        raise PolicyError(
            "C3 data (passwords, PINs, CVN2, card expiry, track data, biometrics) is never "
            "stored reversibly (JR/T 0171-2020): store a vaultkit.policy.Verifier hash instead"
        )


def mask_kind_of_format(format: str) -> str:
    return _MASK_KIND_OF_FORMAT.get(format, format)


def mask(kind: str, value: Any) -> str:
    """The display form of ``value`` under the masking rule of ``kind`` (any value: as text)."""
    return _mask(str(kind), value if isinstance(value, str) else str(value))
