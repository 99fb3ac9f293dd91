"""One access grant: who (a principal) may do what (operations) with which keys (a pattern),
how often (``max_per_minute``) and until when (``expires``).

Grants live in the key ring's store body, authenticated by the store's MAC (see
:mod:`vaultkit.keys._ring_grants`); this module only models and checks them. It imports nothing
from :mod:`vaultkit.keys`, so the key ring can import it.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from vaultkit.errors import InputFormatError, VaultkitTypeError

__all__ = ["OPERATIONS", "Grant", "check_principal"]

# what a grant may allow; ``search`` is the blind index, ``reveal_masked`` the masked reads
# (decrypt_masked, detokenize_masked) that never return a plaintext
OPERATIONS = frozenset({"encrypt", "decrypt", "tokenize", "detokenize", "search", "reveal_masked"})

_PRINCIPAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}")
_PATTERN = re.compile(r"[^\s]{1,200}")


def check_principal(principal: object) -> str:
    """``principal`` when it is a valid principal name (1-128 of letters, digits and
    ``._@:+-``, starting with a letter or digit)."""
    if not isinstance(principal, str):
        raise VaultkitTypeError("a principal is a str")
    if _PRINCIPAL.fullmatch(principal) is None:
        raise InputFormatError(
            "a principal is 1-128 letters, digits or ._@:+- starting with a letter or digit"
        )
    return principal


def _check_pattern(keys: object) -> str:
    if not isinstance(keys, str):
        raise VaultkitTypeError("a key pattern is a str (shell-style: customers.*)")
    if _PATTERN.fullmatch(keys) is None:
        raise InputFormatError("a key pattern is 1-200 characters without spaces")
    return keys


def check_operations(operations: object) -> frozenset[str]:
    """The set of operation names ``operations`` holds (a str or an iterable of str), each one
    of :data:`OPERATIONS`."""
    if isinstance(operations, str):
        operations = {operations}
    if not isinstance(operations, Iterable):
        raise VaultkitTypeError("operations is a set of operation names")
    ops = frozenset(operations)
    if not ops:
        raise InputFormatError("a grant allows at least one operation")
    for op in ops:
        if op not in OPERATIONS:
            from vaultkit.errors import UnknownKindError

            raise UnknownKindError("operation", op, sorted(OPERATIONS))
    return ops


def _check_expires(expires: object) -> _dt.datetime | None:
    """A date is the start (00:00 UTC) of that day; a datetime must be timezone-aware."""
    if expires is None:
        return None
    if isinstance(expires, _dt.datetime):
        if expires.tzinfo is None or expires.utcoffset() is None:
            raise InputFormatError("expires is a timezone-aware datetime (UTC) or a date")
        return expires.astimezone(_dt.timezone.utc)
    if isinstance(expires, _dt.date):
        return _dt.datetime(expires.year, expires.month, expires.day, tzinfo=_dt.timezone.utc)
    raise VaultkitTypeError("expires is a datetime (UTC), a date or None")


@dataclass(frozen=True)
class Grant:
    """``principal`` may run ``operations`` on every key whose name matches ``keys`` (a
    shell-style pattern: ``customers.*``, ``*``), at most ``max_per_minute`` items a minute in
    each process (None: no limit), until ``expires`` (UTC; None: no end)."""

    principal: str
    keys: str
    operations: frozenset[str]
    max_per_minute: int | None = None
    expires: _dt.datetime | None = None

    @classmethod
    def make(
        cls,
        principal: str,
        keys: str,
        operations: Iterable[str] | str,
        max_per_minute: int | None = None,
        expires: _dt.datetime | _dt.date | None = None,
    ) -> Grant:
        """A checked grant (typed errors naming the rule that failed)."""
        if max_per_minute is not None and (
            isinstance(max_per_minute, bool) or not isinstance(max_per_minute, int)
        ):
            raise VaultkitTypeError("max_per_minute is an int or None")
        if max_per_minute is not None and max_per_minute < 1:
            raise InputFormatError("max_per_minute is at least 1")
        return cls(
            check_principal(principal),
            _check_pattern(keys),
            check_operations(operations),
            max_per_minute,
            _check_expires(expires),
        )

    def matches(self, key_name: str) -> bool:
        return fnmatchcase(key_name, self.keys)

    def expired(self, now: _dt.datetime | None = None) -> bool:
        if self.expires is None:
            return False
        return (now or _dt.datetime.now(_dt.timezone.utc)) >= self.expires

    def to_json(self) -> dict[str, Any]:
        """The form stored in the key ring (and printed by ``vaultkit grants --json``)."""
        return {
            "principal": self.principal,
            "keys": self.keys,
            "operations": sorted(self.operations),
            "max_per_minute": self.max_per_minute,
            "expires": None if self.expires is None else self.expires.isoformat(),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Grant:
        expires = obj.get("expires")
        return cls.make(
            obj["principal"],
            obj["keys"],
            obj["operations"],
            obj.get("max_per_minute"),
            None if expires is None else _dt.datetime.fromisoformat(expires),
        )
