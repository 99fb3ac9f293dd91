"""The key ring's named keys and their version state machine.

A key's versions move ``primary -> active -> retired -> destroyed`` (:meth:`rotate_key` makes a
new primary and the old one active; ``retire``/``activate`` move between active and retired; only
a retired version is destroyed, after :data:`DESTROY_GRACE`); exactly one version is primary.
The :class:`~vaultkit.keys.KeyProvider` reads (``primary_key``, ``key_version``, ``key_by_id``)
refuse destroyed versions and retired ones unless forced.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import secrets
from collections.abc import Sequence

from vaultkit.errors import (
    KeyNotFoundError,
    KeyStateError,
    KeyStoreError,
)
from vaultkit.keys._kms import WrappedKey
from vaultkit.keys._model import Algorithm, DataKey, KeyState
from vaultkit.keys._ring_doc import KeyEntryDoc, RingBody, VersionDoc
from vaultkit.keys._ring_format import (
    _MAX_KEY_ID,
    DESTROY_GRACE,
    _check_name,
    _dek_ad,
    _now,
    _retired_for,
)
from vaultkit.keys._ring_info import KeyInfo, VersionInfo
from vaultkit.keys._ring_keks import _RingKeks

__all__: list[str] = []


class _RingVersions(_RingKeks):
    """Keys and versions of a :class:`~vaultkit.keys.KeyRing` (see the module docstring)."""

    __slots__ = ()

    # -- KeyProvider ----------------------------------------------------------------------------
    def primary_key(self, name: str) -> DataKey:
        """``name``'s primary version, unwrapped once per store generation (recipes given the
        ring itself, ``Tokenizer(ring)``, ask for it per call): every call still stats the store
        (``_refresh``), and a changed file (another process rotated or retired) is re-read,
        which starts a new generation, so the next call unwraps the new primary."""
        with self._lock:
            self._refresh()
            generation, cached = self._primaries
            if generation != self.generation:
                cached = {}
                self._primaries = (self.generation, cached)
            key = cached.get(name)
            if key is None:
                key = cached[name] = self._unwrap_primary(name)
            return key

    def _primary_key_unwrapped(self, name: str) -> DataKey:
        """``primary_key`` unwrapped now, past the ring's own cache: for a cache of its own with
        bounds of its own (``CachedKeys``: ``cache_ttl``, ``cache_uses``)."""
        with self._lock:
            self._refresh()
            return self._unwrap_primary(name)

    def _unwrap_primary(self, name: str) -> DataKey:
        entry = self._entry(name)
        for v in entry["versions"]:
            if v["state"] == KeyState.PRIMARY.value:
                return self._data_key(entry, v, force=False)
        raise KeyStateError(f"key {name!r} has no primary version")  # pragma: no cover

    def key_version(self, name: str, version: int, *, force: bool = False) -> DataKey:
        with self._lock:
            self._refresh()
            entry = self._entry(name)
            return self._data_key(entry, self._version(entry, version), force=force)

    def key_by_id(self, key_id: int, version: int, *, force: bool = False) -> DataKey:
        with self._lock:
            self._refresh()
            for entry in self._body["keys"]:
                if entry["key_id"] == key_id:
                    return self._data_key(entry, self._version(entry, version), force=force)
        raise KeyNotFoundError(f"no key with id {key_id} in the key ring")

    def readable_versions(self, name: str) -> list[int]:
        with self._lock:
            self._refresh()
            entry = self._entry(name)
        primary = [v["version"] for v in entry["versions"] if v["state"] == "primary"]
        active = sorted(
            (v["version"] for v in entry["versions"] if v["state"] == "active"), reverse=True
        )
        return primary + active

    # -- metadata -------------------------------------------------------------------------------
    def keys(self) -> list[KeyInfo]:
        """Metadata of every key (names, ids, algorithms, versions and states); no material."""
        with self._lock:
            self._refresh()
            return [self._info(entry) for entry in self._body["keys"]]

    def key_info(self, name: str) -> KeyInfo:
        with self._lock:
            self._refresh()
            return self._info(self._entry(name))

    def __contains__(self, name: object) -> bool:
        with self._lock:
            self._refresh()
            return any(e["name"] == name for e in self._body["keys"])

    # -- lifecycle ------------------------------------------------------------------------------
    def create_key(self, name: str, algorithm: Algorithm | str = Algorithm.SM4_GCM) -> KeyInfo:
        """A new key ``name`` with version 1 as primary; refused if the name exists."""
        return self.create_keys([name], algorithm)[0]

    def create_keys(
        self, names: Sequence[str], algorithm: Algorithm | str = Algorithm.SM4_GCM
    ) -> list[KeyInfo]:
        """Several new keys of one algorithm in one write (all or none)."""
        for name in names:
            _check_name(name)
        if len(set(names)) != len(names):
            raise KeyStoreError("duplicate key names")
        alg = Algorithm.parse(algorithm)

        def change(body: RingBody) -> list[KeyInfo]:
            return [add(body, name) for name in names]

        def add(body: RingBody, name: str) -> KeyInfo:
            if any(e["name"] == name for e in body["keys"]):
                raise KeyStoreError(f"key {name!r} already exists")
            key_id = body["next_key_id"]
            if key_id > _MAX_KEY_ID:
                raise KeyStoreError("no key ids left")
            body["next_key_id"] = key_id + 1
            entry: KeyEntryDoc = {
                "name": name,
                "key_id": key_id,
                "algorithm": alg.label,
                "created": _now(),
                "versions": [],
            }
            entry["versions"].append(self._new_version(body, entry, 1, KeyState.PRIMARY))
            body["keys"].append(entry)
            return self._info(entry)

        return self._mutate(change)

    def rotate_key(self, name: str) -> int:
        """A new primary version of ``name`` (the old primary becomes active); returns it."""

        def change(body: RingBody) -> int:
            entry = self._entry(name, body)
            version = max(v["version"] for v in entry["versions"]) + 1
            for v in entry["versions"]:
                if v["state"] == KeyState.PRIMARY.value:
                    v["state"] = KeyState.ACTIVE.value
            entry["versions"].append(self._new_version(body, entry, version, KeyState.PRIMARY))
            return int(version)

        return self._mutate(change)

    def retire_version(self, name: str, version: int) -> None:
        """Make ``version`` retired: it decrypts only when forced. The primary cannot retire."""
        self._set_state(name, version, KeyState.RETIRED)

    def activate_version(self, name: str, version: int) -> None:
        """Undo :meth:`retire_version`."""
        self._set_state(name, version, KeyState.ACTIVE)

    def destroy_version(
        self, name: str, version: int, *, force: bool = False, grace: float = DESTROY_GRACE
    ) -> None:
        """Crypto-shred ``version``: its wrapped material is erased from the key store.

        Irreversible; data encrypted under it can never be decrypted again. Only a **retired**
        version is destroyed (retire it first), and only once it has been retired for ``grace``
        seconds (default :data:`DESTROY_GRACE`, the Vault's default DEK-cache lifetime): a
        process that has not yet noticed the rotation may still hold it as its primary until
        then. ``force=True`` skips that wait (not the retired rule) -- for an incident, after
        every process using the ring was stopped or restarted. Versions retired before retire
        times were recorded count as retired long ago. Copies of the old store (backups,
        unlinked disk blocks) are out of vaultkit's reach.
        """

        def change(body: RingBody) -> None:
            entry = self._entry(name, body)
            v = self._version(entry, version)
            state = KeyState(v["state"])
            if state is KeyState.DESTROYED:
                raise KeyStateError(f"key {name!r} version {version} was destroyed")
            if state is not KeyState.RETIRED:
                raise KeyStateError(
                    f"key {name!r} version {version} is {state.value}: only a retired version "
                    "is destroyed (rotate, re-encrypt, retire, then destroy)"
                )
            since = _retired_for(v)
            if not force and since is not None and since < grace:
                raise KeyStateError(
                    f"key {name!r} version {version} was retired {since:.0f} s ago: processes "
                    f"may still use it for up to {grace:.0f} s (wait, or force after stopping "
                    "every process that uses the key ring)"
                )
            v["state"] = KeyState.DESTROYED.value
            v["wrapped"] = None
            v.pop("retired_at", None)

        self._mutate(change)

    # -- internals: keys ------------------------------------------------------------------------
    def _entry(self, name: str, body: RingBody | None = None) -> KeyEntryDoc:
        keys = (body or self._body)["keys"]
        for entry in keys:
            if entry["name"] == name:
                return entry
        close = difflib.get_close_matches(str(name), [e["name"] for e in keys], n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        raise KeyNotFoundError(f"no key named {name!r} in the key ring{hint}")

    @staticmethod
    def _version(entry: KeyEntryDoc, version: int) -> VersionDoc:
        for v in entry["versions"]:
            if v["version"] == version:
                return v
        raise KeyNotFoundError(f"key {entry['name']!r} has no version {version}")

    def _data_key(self, entry: KeyEntryDoc, v: VersionDoc, *, force: bool) -> DataKey:
        state = KeyState(v["state"])
        name, version = entry["name"], v["version"]
        if state is KeyState.DESTROYED:
            raise KeyStateError(
                f"key {name!r} version {version} was destroyed: data under it cannot be decrypted"
            )
        if state is KeyState.RETIRED and not force:
            raise KeyStateError(
                f"key {name!r} version {version} is retired: decrypting needs force=True"
            )
        alg = Algorithm.parse(entry["algorithm"])
        ad = _dek_ad(self._ring_id, name, entry["key_id"], version, alg)
        # not destroyed, so wrapped (_validate); {} would be refused as malformed, as None was
        material = self._unwrap(WrappedKey.from_json(v["wrapped"] or {}), ad)
        if len(material) != alg.key_size:
            raise KeyStoreError("a wrapped key has the wrong size")
        return DataKey(
            name=name,
            key_id=entry["key_id"],
            version=version,
            algorithm=alg,
            state=state,
            material=material,
        )

    def _new_version(
        self, body: RingBody, entry: KeyEntryDoc, version: int, state: KeyState
    ) -> VersionDoc:
        alg = Algorithm.parse(entry["algorithm"])
        material = secrets.token_bytes(alg.key_size)
        ad = _dek_ad(self._ring_id, entry["name"], entry["key_id"], version, alg)
        return {
            "version": version,
            "state": state.value,
            "created": _now(),
            "wrapped": self._wrap(self._next_rk or self._rk, body["epoch"], material, ad),
        }

    def _set_state(self, name: str, version: int, state: KeyState) -> None:
        def change(body: RingBody) -> None:
            entry = self._entry(name, body)
            v = self._version(entry, version)
            current = KeyState(v["state"])
            if current is state:
                return
            if current is KeyState.PRIMARY:
                raise KeyStateError(
                    f"key {name!r} version {version} is the primary: rotate the key first"
                )
            if current is KeyState.DESTROYED:
                raise KeyStateError(f"key {name!r} version {version} was destroyed")
            v["state"] = state.value
            if state is KeyState.RETIRED:
                v["retired_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat()
            else:
                v.pop("retired_at", None)

        self._mutate(change)

    @staticmethod
    def _info(entry: KeyEntryDoc) -> KeyInfo:
        return KeyInfo(
            name=entry["name"],
            key_id=entry["key_id"],
            algorithm=Algorithm.parse(entry["algorithm"]),
            created=entry["created"],
            versions=tuple(
                VersionInfo(
                    version=v["version"],
                    state=KeyState(v["state"]),
                    kek_version=v["wrapped"]["kek_version"] if v["wrapped"] else None,
                    created=v["created"],
                )
                for v in entry["versions"]
            ),
        )
