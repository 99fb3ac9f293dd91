"""The Vault's DEK cache handling: key versions from a :class:`~vaultkit.keys._internal.CachedKeys`
(bounded in time and uses), each with the :class:`~vaultkit.envelope.FieldCipher` derived from
it attached, so a field costs a dict lookup and one GCM call; ``wipe`` drops them all."""

from __future__ import annotations

import threading
import weakref

from vaultkit._nopickle import NoPickle
from vaultkit.envelope import FieldCipher
from vaultkit.envelope._internal import AEAD_ALGORITHMS, VersionGroup
from vaultkit.errors import DecryptionError, KeyNotFoundError, KeyStateError
from vaultkit.keys import DataKey, KeyProvider
from vaultkit.keys._internal import CachedKeys, CacheEntry, track

__all__ = ["Ciphers", "Entry", "retired"]

Entry = CacheEntry[FieldCipher]


class Ciphers(NoPickle):
    """``cache`` (the DEK cache over the caller's key provider) and the field ciphers attached
    to its entries. ``lock`` guards the set of ciphers to wipe; a forked child gets a fresh one
    (its cache empties itself)."""

    __slots__ = ("__weakref__", "_live", "cache", "lock")

    def __init__(self, keys: KeyProvider, *, ttl: float, uses: int) -> None:
        self.cache: CachedKeys[FieldCipher] = CachedKeys(keys, ttl=ttl, uses=uses)
        self._live: weakref.WeakSet[FieldCipher] = weakref.WeakSet()  # wiped by wipe()
        self.lock = threading.Lock()
        track(self)

    def _after_fork(self) -> None:
        self.lock = threading.Lock()

    def attach(self, entry: Entry) -> FieldCipher:
        """The cipher of ``entry``'s key version, made on first use."""
        cipher = entry.attachment
        if cipher is None:
            cipher = entry.attachment = FieldCipher(entry.key)
            with self.lock:
                self._live.add(cipher)
        return cipher

    def opener(self, entry: Entry) -> FieldCipher:
        """The cipher that opens ciphertexts under ``entry``'s key. The header is not
        authenticated yet: one that names a key of another kind (a token or blind-index key) is
        just a ciphertext that does not decrypt, not an error naming that key."""
        if entry.key.algorithm not in AEAD_ALGORITHMS:
            raise DecryptionError()
        return self.attach(entry)

    def named(self, key_id: int, version: int, *, uses: int) -> Entry:
        """The key version a header names, retired ones included (the caller tells the state
        after authentication), charged ``uses`` fields."""
        try:
            return self.cache.by_id((key_id, version), force=True, uses=uses)
        except (KeyNotFoundError, KeyStateError):
            # the header is not authenticated yet: an unknown or destroyed key id or version is
            # just a ciphertext that does not decrypt (vaultkit.envelope.inspect shows the header)
            raise DecryptionError() from None

    def of_version(self, part: VersionGroup) -> FieldCipher:
        """The cipher of the key version a batch's ``part`` names, charged its items; a failure
        names its first item (the header is not authenticated yet: opaque)."""
        try:
            key_id, version = part.key_ids()
            return self.opener(self.named(key_id, version, uses=part.total))
        except DecryptionError:
            raise DecryptionError(part.groups[0].where(0)) from None

    def wipe(self) -> None:
        """Drop every derived subkey and cached DEK."""
        with self.lock:
            for cipher in self._live:
                cipher.wipe()
            self._live.clear()
        self.cache.clear()


def retired(key: DataKey) -> KeyStateError:
    """The error for a ciphertext that authenticated under a retired version without force."""
    return KeyStateError(
        f"key {key.name!r} version {key.version} is retired: decrypting needs force=True"
    )
