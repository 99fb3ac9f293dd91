"""The column types' use of ``vaultkit.policy`` (levels, kinds) and ``vaultkit.masking``."""

from __future__ import annotations

from typing import cast

from vaultkit import kinds
from vaultkit.errors import PolicyError, UnknownKindError, VaultkitTypeError
from vaultkit.masking import mask as _mask
from vaultkit.policy import Kind, Level, Policy

__all__ = ["check_reversible", "mask", "mask_kind_of_format"]


def check_reversible(level: Level | str | None, kind: Kind | str | None) -> None:
    """Refuse a reversible column (encrypted or tokenized) of C3 data (JR/T 0171-2020 4.2.1).

    ``kind`` (a ``vaultkit.policy.Kind`` or its name) and ``level`` (``Level`` or "C1".."C3")
    are checked by ``vaultkit.policy.Policy``: an unknown kind or level is a
    ``VaultkitTypeError``, authentication kinds (password, PIN, CVN2, ...) are C3.
    """
    if kind is None:
        if level is None:
            return
        # any C2 kind: validates and coerces the level (Policy coerces a level's name)
        probe = Policy(Kind.BALANCE, cast(Level, level))
        resolved = probe.level
    else:
        resolved = Policy(cast(Kind, kind), cast(Level, level)).level  # (names coerced too)
    if resolved is Level.C3:
        raise PolicyError(
            "C3 data (passwords, PINs, CVN2, card expiry, track data, biometrics) is never "
            "stored reversibly (JR/T 0171-2020): store a vaultkit.policy.Verifier hash instead"
        )


def mask_kind_of_format(format: str, where: str) -> str:
    """The mask kind of a tokenized column declared without ``kind``: its format's kind in the
    registry (``card`` -> ``card_no``). A generic format (``digits``, ``alphanumeric``) names
    no kind: ``VaultkitTypeError`` asks for ``kind=...`` on the column."""
    try:
        return kinds.lookup(format, what="mask kind").name
    except UnknownKindError:
        pass
    raise VaultkitTypeError(
        f"{where}: a Tokenized column of format {format!r} has no mask of its own; "
        'declare kind=... (e.g. kind="account_no") on the column to mask it'
    )


def mask(kind: str, value: object) -> str:
    """The display form of ``value`` under the masking rule of ``kind`` (any value: as text)."""
    return _mask(str(kind), value if isinstance(value, str) else str(value))
