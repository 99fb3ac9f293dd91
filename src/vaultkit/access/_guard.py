"""The check a :class:`~vaultkit.Vault` runs before every call: may this principal run this
operation on this key, now, for this many items?

The grants are the key ring's (:meth:`vaultkit.keys.KeyRing.grants`), re-read when the store
changes: the ring is asked to notice a changed file at most every
:data:`~vaultkit.keys._cache.STORE_CHECK_INTERVAL` seconds, as for key rotations. A key provider
that is not a key ring (no grants) is never access-controlled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from vaultkit.access import _limit
from vaultkit.access._grant import Grant, check_principal
from vaultkit.errors import AccessDeniedError, RateLimitedError
from vaultkit.keys._cache import STORE_CHECK_INTERVAL
from vaultkit.keys._fork import track

__all__ = ["Guard"]

_INF = float("inf")
_MEMO_MAX = 4096


class Guard:
    """The grants of ``principal`` in ``keys`` (a key ring), kept current; :meth:`check`."""

    __slots__ = (
        "__weakref__",
        "_check_at",
        "_grants",
        "_lock",
        "_memo",
        "_ring",
        "_ring_id",
        "_seen",
        "controlled",
        "open_until",
        "principal",
    )

    def __init__(self, keys: object, principal: str | None) -> None:
        self.principal = None if principal is None else check_principal(principal)
        has_grants = callable(getattr(keys, "grants", None)) and hasattr(keys, "access_controlled")
        self._ring: Any = keys if has_grants else None
        self._ring_id = str(getattr(keys, "ring_id", "")) if has_grants else ""
        self._lock = threading.Lock()
        self._seen = -1
        self._check_at = 0.0
        self._grants: tuple[Grant, ...] = ()
        # (operations, key) -> the grants that could allow it, with their expiry (POSIX time)
        self._memo: dict[tuple[tuple[str, ...], str], tuple[tuple[Grant, float], ...]] = {}
        self.controlled = False
        # monotonic time before which check() is known to allow everything (the ring has no
        # grants and is not due for a re-read): a caller may skip check() until then
        self.open_until = _INF if self._ring is None else 0.0
        track(self)
        self._current()
        if self.controlled and self.principal is None:
            raise AccessDeniedError(
                None,
                "use this key ring",
                None,
                "it has access grants: pass Vault(..., principal=...) (the CLI's --principal or "
                "$VAULTKIT_PRINCIPAL)",
            )

    def _after_fork(self) -> None:
        # a lock held by a parent's thread at fork time would never be released in the child
        self._lock = threading.Lock()

    def _current(self) -> None:
        """Re-read the grants when the ring's store changed (checked every 0.25 s at most)."""
        ring = self._ring
        if ring is None:
            return
        now = time.monotonic()
        if now < self._check_at:
            return
        with self._lock:
            ring.refresh()
            if ring.generation != self._seen:
                controlled = bool(ring.access_controlled)
                grants = tuple(ring.grants(self.principal)) if self.principal else ()
                self._grants, self.controlled = grants, controlled
                self._memo = {}
                self._seen = ring.generation
            self._check_at = now + STORE_CHECK_INTERVAL
            self.open_until = 0.0 if self.controlled else self._check_at

    def check(self, operations: Sequence[str], key: str, count: int = 1) -> None:
        """Refuse (:class:`AccessDeniedError`, :class:`RateLimitedError`) unless a grant of the
        principal allows one of ``operations`` on ``key`` for ``count`` more items."""
        self._current()
        if not self.controlled:
            return
        op = operations[0]
        if self.principal is None:
            raise AccessDeniedError(None, op, key, "the key ring has access grants")
        memo = self._memo
        found = memo.get((tuple(operations), key))
        if found is None:
            if len(memo) >= _MEMO_MAX:  # names that are not keys must not grow it forever
                memo.clear()
            found = memo[(tuple(operations), key)] = tuple(
                (g, _INF if g.expires is None else g.expires.timestamp())
                for g in self._grants
                if g.matches(key) and not g.operations.isdisjoint(operations)
            )
        now = time.time()
        expired = limited = None
        for grant, ends in found:
            if now >= ends:
                expired = grant
                continue
            if grant.max_per_minute is None:
                return
            grant_id = (self._ring_id, grant.principal, grant.keys)
            if _limit.admit(grant_id, count, grant.max_per_minute):
                return
            limited = limited or grant
        if limited is not None:
            assert limited.max_per_minute is not None
            raise RateLimitedError(self.principal, op, key, limited.max_per_minute)
        if expired is not None:
            assert expired.expires is not None
            raise AccessDeniedError(
                self.principal, op, key, f"the grant expired at {expired.expires.isoformat()}"
            )
        raise AccessDeniedError(self.principal, op, key, "no grant allows it")
