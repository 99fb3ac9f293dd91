"""CachedKeys: a KeyProvider that keeps unwrapped DEKs for a bounded time and use count.

The Vault (and the recipes it hands keys to) asks this cache, so the KMS unwraps each key version
once per ``ttl`` seconds or ``uses`` fields, not once per field. State changes made in the key
ring (retire, destroy) are seen when an entry expires: ``ttl`` bounds that delay. :meth:`clear`
drops every cached key (Python cannot overwrite immutable ``bytes``; native key schedules are
wiped when their objects are freed).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from vaultkit.errors import KeyStateError
from vaultkit.keys._kms import NoPickle
from vaultkit.keys._model import DataKey, KeyProvider, KeyState

__all__ = ["CachedKeys"]


class CachedKeys(NoPickle):
    """KeyProvider over another KeyProvider with a TTL- and use-bounded DEK cache."""

    __slots__ = ("_by_id", "_inner", "_lock", "_primary", "_ttl", "_uses")

    def __init__(self, inner: KeyProvider, *, ttl: float, uses: int) -> None:
        if ttl < 0 or uses < 0:
            raise ValueError("cache_ttl and cache_uses are >= 0 (0 disables the cache)")
        self._inner = inner
        self._ttl = float(ttl)
        self._uses = int(uses)
        self._lock = threading.Lock()
        # (key_id, version) -> [DataKey, expires, uses left]
        self._by_id: dict[tuple[int, int], list[Any]] = {}
        # name -> [(key_id, version), expires]
        self._primary: dict[str, list[Any]] = {}

    @property
    def inner(self) -> KeyProvider:
        return self._inner

    # -- KeyProvider ----------------------------------------------------------------------------
    def primary_key(self, name: str) -> DataKey:
        return self.primary(name, uses=1)

    def key_version(self, name: str, version: int, *, force: bool = False) -> DataKey:
        with self._lock:
            for entry in self._by_id.values():
                key = entry[0]
                if key.name == name and key.version == version:
                    hit = self._take(key.key_id, version, 1)
                    if hit is not None:
                        return _check(hit, force)
        key = self._inner.key_version(name, version, force=force)
        self._store(key, 1)
        return key

    def key_by_id(self, key_id: int, version: int, *, force: bool = False) -> DataKey:
        return self.by_id(key_id, version, force=force, uses=1)

    def readable_versions(self, name: str) -> list[int]:
        return self._inner.readable_versions(name)

    # -- with use counts ------------------------------------------------------------------------
    def primary(self, name: str, *, uses: int) -> DataKey:
        now = time.monotonic()
        with self._lock:
            p = self._primary.get(name)
            if p is not None and p[1] > now:
                hit = self._take(p[0][0], p[0][1], uses)
                if hit is not None and hit.state is KeyState.PRIMARY:
                    return hit
        key = self._inner.primary_key(name)
        self._store(key, uses)
        if self._ttl and self._uses:
            with self._lock:
                self._primary[name] = [(key.key_id, key.version), now + self._ttl]
        return key

    def by_id(self, key_id: int, version: int, *, force: bool, uses: int) -> DataKey:
        with self._lock:
            hit = self._take(key_id, version, uses)
        if hit is not None:
            return _check(hit, force)
        key = self._inner.key_by_id(key_id, version, force=force)
        self._store(key, uses)
        return key

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()
            self._primary.clear()

    def __repr__(self) -> str:
        return f"CachedKeys(ttl={self._ttl}, uses={self._uses}, entries={len(self._by_id)})"

    # -- internals (callers hold the lock) --------------------------------------------------------
    def _take(self, key_id: int, version: int, uses: int) -> DataKey | None:
        entry = self._by_id.get((key_id, version))
        if entry is None:
            return None
        if entry[1] <= time.monotonic() or entry[2] < uses:
            del self._by_id[(key_id, version)]
            return None
        entry[2] -= uses
        return entry[0]  # type: ignore[no-any-return]

    def _store(self, key: DataKey, used: int) -> None:
        if not self._ttl or not self._uses:
            return
        with self._lock:
            self._by_id[(key.key_id, key.version)] = [
                key,
                time.monotonic() + self._ttl,
                max(self._uses - used, 0),
            ]


def _check(key: DataKey, force: bool) -> DataKey:
    if key.state is KeyState.RETIRED and not force:
        raise KeyStateError(
            f"key {key.name!r} version {key.version} is retired: decrypting needs force=True"
        )
    return key
