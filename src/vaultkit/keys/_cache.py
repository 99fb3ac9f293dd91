"""CachedKeys: a KeyProvider that keeps unwrapped DEKs for a bounded time and use count.

The Vault (and the recipes it hands keys to) asks this cache, so the KMS unwraps each key version
once per ``ttl`` seconds or ``uses`` fields, not once per field.

State changes made in the key ring by this process empty the cache at once. Changes made by
another process (``vaultkit key rotate`` on an operator's laptop) are noticed by a ``stat`` of
the store file, made at most every :data:`STORE_CHECK_INTERVAL` seconds (0.25 s) before a
primary key is handed out (so before every encryption, token or blind index) and before a
version is looked up for decryption: a changed file is re-read and the cache emptied. So a
process encrypts under a version for at most ``STORE_CHECK_INTERVAL`` (plus the duration of the
call in progress) after another process demoted it; ``KeyRing.destroy_version`` waits far
longer than that (``DESTROY_GRACE``) before it erases a version. A store that changed but does
not read or authenticate makes the call fail (``KeyStoreError``): nothing is encrypted under a
version the latest readable store does not make primary.

:meth:`clear` drops every cached key (Python cannot overwrite immutable ``bytes``; native key
schedules are wiped when their objects are freed). A forked child starts with an empty cache
and fresh locks.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar, cast

from vaultkit._nopickle import NoPickle
from vaultkit.errors import KeyStateError
from vaultkit.keys import _fork
from vaultkit.keys._model import DataKey, KeyProvider, KeyState

__all__ = ["STORE_CHECK_INTERVAL", "CacheEntry", "CachedKeys"]

_monotonic = time.monotonic

A = TypeVar("A")  # what a user attaches to an entry (the Vault: a FieldCipher)


class _Refreshing(Protocol):
    """A provider that notices other processes' changes (a KeyRing): ``generation`` counts its
    reloads and writes, ``refresh()`` stats its store and reloads it if it changed."""

    @property
    def generation(self) -> int: ...

    def refresh(self) -> bool: ...


# seconds between two stats of the key store file (see the module docstring)
STORE_CHECK_INTERVAL = 0.25


class CacheEntry(NoPickle, Generic[A]):
    """One cached key version; ``attachment`` holds what a user derived from it (a cipher)."""

    __slots__ = ("attachment", "batched", "expires", "key", "limit", "used")

    def __init__(self, key: DataKey, expires: float, limit: int) -> None:
        self.key = key
        self.expires = expires
        self.limit = limit
        self.used = itertools.count()  # next() is atomic: no lock on the per-field path
        self.batched = 0  # fields counted by batches (under the cache's lock)
        self.attachment: A | None = None


class CachedKeys(NoPickle, Generic[A]):
    """KeyProvider over another KeyProvider with a TTL- and use-bounded DEK cache.

    ``ttl`` seconds and ``uses`` fields per key version; either 0 disables caching.
    """

    __slots__ = (
        "__weakref__",
        "_by_id",
        "_check_at",
        "_gen",
        "_inner",
        "_lock",
        "_primary",
        "_primary_key",
        "_ring",
        "_ttl",
        "_uses",
    )

    def __init__(self, inner: KeyProvider, *, ttl: float, uses: int) -> None:
        if ttl < 0 or uses < 0:
            raise ValueError("cache_ttl and cache_uses are >= 0 (0 disables the cache)")
        self._inner = inner
        self._ttl = float(ttl)
        self._uses = int(uses)
        self._lock = threading.Lock()
        self._by_id: dict[tuple[int, int], CacheEntry[A]] = {}
        self._primary: dict[str, CacheEntry[A]] = {}
        # a KeyRing counts its reloads and writes: a change made through it (rotate_key,
        # retire_version, ...) empties the cache at once instead of after ``ttl``
        self._ring: _Refreshing | None = (
            cast("_Refreshing", inner) if hasattr(type(inner), "generation") else None
        )
        self._gen: int = getattr(inner, "generation", 0)
        # a KeyRing keeps its unwrapped primaries for its direct users; this cache has its own
        # bounds (ttl, uses), so it asks the ring for a fresh unwrap
        self._primary_key: Callable[[str], DataKey] = getattr(
            inner, "_primary_key_unwrapped", inner.primary_key
        )
        # a key ring's file is stat-ed (refresh) when the monotonic clock passes this
        self._check_at = 0.0
        _fork.track(self)

    def _after_fork(self) -> None:
        # the child's cache starts empty (keys are re-fetched from the ring) with a fresh lock
        self._lock = threading.Lock()
        self._by_id = {}
        self._primary = {}
        self._check_at = 0.0

    @property
    def inner(self) -> KeyProvider:
        return self._inner

    # -- KeyProvider ----------------------------------------------------------------------------
    def primary_key(self, name: str) -> DataKey:
        return self.primary(name).key

    def key_version(self, name: str, version: int, *, force: bool = False) -> DataKey:
        with self._lock:
            hit = next(
                (
                    e
                    for e in self._by_id.values()
                    if e.key.name == name and e.key.version == version
                ),
                None,
            )
        if hit is not None:
            return self.by_id((hit.key.key_id, version), force=force, uses=1).key
        key = self._inner.key_version(name, version, force=force)
        self._store(key, 1)
        return key

    def key_by_id(self, key_id: int, version: int, *, force: bool = False) -> DataKey:
        return self.by_id((key_id, version), force=force, uses=1).key

    def readable_versions(self, name: str) -> list[int]:
        return self._inner.readable_versions(name)

    # -- entries, with use counts ---------------------------------------------------------------
    def primary(self, name: str, uses: int = 1) -> CacheEntry[A]:
        """The entry of ``name``'s primary version, charged ``uses`` fields."""
        ring = self._ring
        now = _monotonic()  # one clock read per field (the store stat refreshes it)
        if ring is not None:
            if now >= self._check_at:
                self._check_store()
                now = _monotonic()
            if ring.generation != self._gen:
                self._check_generation()
        e = self._primary.get(name)
        if e is not None:
            if uses == 1:  # the per-field path, inlined
                if e.expires > now and next(e.used) + e.batched < e.limit:
                    return e
            elif self._charge(e, uses):
                return e
        entry = self._store(self._primary_key(name), uses)
        if entry.limit:
            with self._lock:
                self._primary[name] = entry
        return entry

    def by_id(self, ids: tuple[int, int], force: bool, uses: int) -> CacheEntry[A]:
        """The entry of a key version (``ids``: key id and version, as ``envelope.key_ids`` reads
        them: the tuple is the cache's key as it is), charged ``uses`` fields; state checked as
        the ring does. (Positional parameters: a call with keywords costs more, and this is per
        field.)"""
        ring = self._ring
        now = _monotonic()
        if ring is not None:
            if now >= self._check_at:
                self._check_store()
                now = _monotonic()
            if ring.generation != self._gen:
                self._check_generation()
        e = self._by_id.get(ids)
        if e is not None and (
            (e.expires > now and next(e.used) + e.batched < e.limit)
            if uses == 1
            else self._charge(e, uses)
        ):
            if not force and e.key.state is KeyState.RETIRED:
                raise KeyStateError(
                    f"key {e.key.name!r} version {ids[1]} is retired: decrypting needs force=True"
                )
            return e
        return self._store(self._inner.key_by_id(ids[0], ids[1], force=force), uses)

    def _charge(self, e: CacheEntry[A], uses: int) -> bool:
        """Count ``uses`` fields on ``e``; False once it is spent or expired."""
        if e.expires <= _monotonic():
            return False
        if uses == 1:  # the per-field path: no lock
            return next(e.used) + e.batched < e.limit
        with self._lock:
            e.batched += uses
            return next(e.used) + e.batched <= e.limit

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()
            self._primary.clear()

    def _check_store(self) -> None:
        """Stat the key store (reloading it if another process changed it); the next stat is
        due ``STORE_CHECK_INTERVAL`` seconds after this one succeeded."""
        if self._ring is not None:
            self._ring.refresh()
        self._check_at = _monotonic() + STORE_CHECK_INTERVAL

    def _check_generation(self) -> None:
        ring = self._ring
        if ring is not None and ring.generation != self._gen:
            with self._lock:
                self._by_id.clear()
                self._primary.clear()
                self._gen = ring.generation

    def __repr__(self) -> str:
        return f"CachedKeys(ttl={self._ttl}, uses={self._uses}, entries={len(self._by_id)})"

    def _store(self, key: DataKey, used: int) -> CacheEntry[A]:
        if not self._ttl or not self._uses:
            return CacheEntry(key, 0.0, 0)
        entry: CacheEntry[A] = CacheEntry(key, _monotonic() + self._ttl, self._uses)
        entry.batched = used
        with self._lock:
            old = self._by_id.get((key.key_id, key.version))
            if old is not None and old.key.material == key.material:
                entry.attachment = old.attachment  # same key: keep what was derived from it
            # expired entries are never used again: drop them (and their material) now, not
            # only at clear(), so a key version no longer asked for is not held indefinitely
            now = _monotonic()
            for k in [k for k, e in self._by_id.items() if e.expires <= now]:
                del self._by_id[k]
            for n in [n for n, e in self._primary.items() if e.expires <= now]:
                del self._primary[n]
            self._by_id[(key.key_id, key.version)] = entry
            for name, e in list(self._primary.items()):
                if e.key.key_id == key.key_id and e.key.version == key.version:
                    self._primary[name] = entry
        return entry
