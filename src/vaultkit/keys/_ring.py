"""KeyRing: the key store file of named, versioned DEKs wrapped under a KMS's KEK.

Store file (UTF-8 JSON, one object)::

    {"vaultkit_keyring": 1, "body": BODY, "mac": HEX}

``mac = HMAC-SHA256(store_key, b"vaultkit keyring v1\\x00" || canonical(BODY))`` where
``canonical`` is JSON with sorted keys, no whitespace, ASCII only, and ``store_key`` is a random
32-byte key wrapped by the KMS (``BODY.store_key``, associated data
``b"vaultkit store key v1\\x00" || ring_id``). Any change to the body (a flipped byte, a
truncated file, a wrapped key moved to another entry) is refused with ``KeyStoreError``; a wrong
passphrase fails to unwrap the store key and is refused the same way, with a clear message.

``BODY`` holds ``ring_id`` (16 random bytes, hex), ``created``, ``kms`` (the KMS's public
state), ``store_key``, ``next_key_id`` and ``keys``: per key its ``name``, numeric ``key_id``
(assigned once, stored in ciphertexts), ``algorithm`` label, ``created`` and ``versions``
(``version``, ``state``, ``created``, ``wrapped`` -- null once destroyed). Each DEK is wrapped
with associated data ``b"vaultkit dek v1\\x00" || ring_id || u32 key_id || u32 version ||
u8 algorithm wire id || name`` so a wrapped key copied to another entry does not unwrap.

Not detected: replacing the whole file by an older, valid copy of itself (roll-back) -- keep
backups of the key store as protected as the store itself.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import os
import secrets
import struct
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from vaultkit.errors import (
    KeyNotFoundError,
    KeyStateError,
    KeyStoreError,
    KMSError,
    VaultkitTypeError,
)
from vaultkit.keys import _fork, _store
from vaultkit.keys._kms import KMS, NoPickle, WrappedKey
from vaultkit.keys._model import Algorithm, DataKey, KeyState

__all__ = ["KeyInfo", "KeyRing", "VersionInfo"]

_FORMAT = 1
_MAC_LABEL = b"vaultkit keyring v1\x00"
_STORE_KEY_AD = b"vaultkit store key v1\x00"
_DEK_AD = b"vaultkit dek v1\x00"
_MAX_NAME = 200
_MAX_KEY_ID = 2**32 - 1
# seconds a version stays retired before destroy_version accepts it: the Vault's default
# DEK-cache lifetime (cache_ttl), the longest a process may hold a version it no longer should
DESTROY_GRACE = 300.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class VersionInfo:
    """Metadata of one key version (never material)."""

    version: int
    state: KeyState
    kek_version: int | None
    created: str


@dataclass(frozen=True)
class KeyInfo:
    """Metadata of one named key (never material)."""

    name: str
    key_id: int
    algorithm: Algorithm
    created: str
    versions: tuple[VersionInfo, ...]

    @property
    def primary_version(self) -> int:
        return next(v.version for v in self.versions if v.state is KeyState.PRIMARY)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _dek_ad(ring_id: bytes, name: str, key_id: int, version: int, alg: Algorithm) -> bytes:
    return (
        _DEK_AD + ring_id + struct.pack(">IIB", key_id, version, alg.wire_id) + name.encode("utf-8")
    )


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise VaultkitTypeError("a key name is a str")
    if not name or len(name) > _MAX_NAME or not name.isprintable() or name != name.strip():
        raise KeyStoreError(
            f"key names are 1-{_MAX_NAME} printable characters without surrounding spaces"
        )
    return name


class KeyRing(NoPickle):
    """Named, versioned DEKs in one authenticated key store file, wrapped under a KMS.

    Implements :class:`~vaultkit.keys.KeyProvider`. ``KeyRing.create(path, kms)`` makes a new
    store, ``KeyRing.open(path, kms)`` opens one. Changes (:meth:`create_key`,
    :meth:`rotate_key`, :meth:`retire_version`, :meth:`destroy_version`, :meth:`rotate_kek`) take
    the store's lock, re-read it, and rewrite it atomically. Reads notice a store changed by
    another process and reload it. The ring owns ``kms``: :meth:`close` closes it.
    """

    __slots__ = (
        "__weakref__",
        "_body",
        "_closed",
        "_kms",
        "_lock",
        "_path",
        "_ring_id",
        "_stamp",
        "_store_key",
        "_store_key_blob",
        "generation",
    )

    def __init__(self, path: Path, kms: KMS) -> None:
        # use KeyRing.create / KeyRing.open
        self._path = path
        self._kms = kms
        self._lock = threading.RLock()
        self._body: dict[str, Any] = {}
        self._ring_id = b""
        self._store_key = b""
        self._store_key_blob = b""
        self._stamp: tuple[int, int, int] | None = None
        self._closed = False
        # counts (re)loads and writes of the store by this object; caches compare it
        self.generation = 0
        _fork.track(self)

    def _after_fork(self) -> None:
        # a forked child gets a fresh lock (the parent's may be held by a thread the child
        # lacks); the store key and body stay: they are the same file's, re-checked by stat
        self._lock = threading.RLock()

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], kms: KMS) -> KeyRing:
        """A new, empty key store at ``path`` (refused if a file is there)."""
        ring = cls(Path(path), kms)
        with _store.locked(ring._path):
            if ring._path.exists():
                raise KeyStoreError(f"a file already exists at {ring._path}")
            kms.initialize()
            ring_id = secrets.token_bytes(16)
            store_key = secrets.token_bytes(32)
            wrapped = kms.wrap(store_key, associated_data=_STORE_KEY_AD + ring_id)
            body = {
                "ring_id": ring_id.hex(),
                "created": _now(),
                "kms": kms.state(),
                "store_key": wrapped.to_json(),
                "next_key_id": 1,
                "keys": [],
            }
            ring._ring_id, ring._store_key, ring._store_key_blob = ring_id, store_key, wrapped.blob
            ring._write(body)
        return ring

    @classmethod
    def open(cls, path: str | os.PathLike[str], kms: KMS, *, ring_id: str | None = None) -> KeyRing:
        """Open an existing key store; refuses a tampered, truncated or foreign file.

        ``ring_id`` (see :attr:`ring_id`), when given, pins the store: a different, valid key
        store swapped in at ``path`` under the same passphrase is refused too.
        """
        ring = cls(Path(path), kms)
        with ring._lock:
            ring._load()
            if ring_id is not None and ring_id.lower() != ring.ring_id:
                raise KeyStoreError(f"{path} is another key ring (ring id {ring.ring_id})")
        return ring

    @staticmethod
    def kms_state(path: str | os.PathLike[str]) -> dict[str, Any]:
        """The public KMS state recorded in the key store at ``path``, without opening it.

        What the store's KMS returned from ``state()``: always ``kind`` (``"local"``,
        ``"pkcs11"``, ``"sm2"``) and the backend's public parameters (``source`` for local rings,
        ``token_label`` for PKCS#11, ...), i.e. which backend and which secret to ask for before
        :meth:`open`. Nothing here is secret, and nothing is authenticated until the ring is
        opened. ``KeyStoreError`` when there is no key store at ``path``.
        """
        where = Path(path)
        raw = _store.read_store(where)
        try:
            outer = json.loads(raw.decode("utf-8"))
            state = outer["body"]["kms"] if outer.get("vaultkit_keyring") == _FORMAT else None
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            state = None
        if not isinstance(state, dict) or not isinstance(state.get("kind"), str):
            raise KeyStoreError(f"{where} is not a vaultkit key store")
        return dict(state)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def kms(self) -> KMS:
        return self._kms

    @property
    def ring_id(self) -> str:
        return self._ring_id.hex()

    # -- KeyProvider ----------------------------------------------------------------------------
    def primary_key(self, name: str) -> DataKey:
        with self._lock:
            self._refresh()
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

        def change(body: dict[str, Any]) -> list[KeyInfo]:
            return [add(body, name) for name in names]

        def add(body: dict[str, Any], name: str) -> KeyInfo:
            if any(e["name"] == name for e in body["keys"]):
                raise KeyStoreError(f"key {name!r} already exists")
            key_id = body["next_key_id"]
            if key_id > _MAX_KEY_ID:
                raise KeyStoreError("no key ids left")
            body["next_key_id"] = key_id + 1
            entry = {
                "name": name,
                "key_id": key_id,
                "algorithm": alg.label,
                "created": _now(),
                "versions": [],
            }
            entry["versions"].append(self._new_version(entry, 1, KeyState.PRIMARY))
            body["keys"].append(entry)
            return self._info(entry)

        return self._mutate(change)

    def rotate_key(self, name: str) -> int:
        """A new primary version of ``name`` (the old primary becomes active); returns it."""

        def change(body: dict[str, Any]) -> int:
            entry = self._entry(name, body)
            version = max(v["version"] for v in entry["versions"]) + 1
            for v in entry["versions"]:
                if v["state"] == KeyState.PRIMARY.value:
                    v["state"] = KeyState.ACTIVE.value
            entry["versions"].append(self._new_version(entry, version, KeyState.PRIMARY))
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

        def change(body: dict[str, Any]) -> None:
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

    def rotate_kek(self, *, to: KMS | None = None) -> int:
        """Make a new KEK version, rewrap every DEK under it, and draw a fresh store key.

        Touches no data and no DEK material. Returns the new KEK version. The store key (which
        authenticates the store) is drawn anew, never rewrapped: whoever knew the old KEK (an
        old passphrase, a removed recipient) and kept an old copy of the store knows the old
        store key, and must not be able to forge a store the ring accepts. With ``to``, the ring
        moves to another KMS instead (say from a passphrase to an HSM, or to new SM2
        recipients): ``to`` is initialized, everything is rewrapped under its KEK, and the ring
        uses ``to`` from then on (the old KMS is closed).
        """

        def change(body: dict[str, Any]) -> int:
            ring_id = self._ring_id
            plain: list[tuple[dict[str, Any], bytes, bytes]] = []
            for entry in body["keys"]:
                alg = Algorithm.parse(entry["algorithm"])
                for v in entry["versions"]:
                    if v["wrapped"] is None:
                        continue
                    ad = _dek_ad(ring_id, entry["name"], entry["key_id"], v["version"], alg)
                    dek = self._unwrap(WrappedKey.from_json(v["wrapped"]), ad)
                    plain.append((v, dek, ad))
            target = self._kms if to is None else to
            if to is None:
                new_version = self._kms.rotate()
            else:
                to.initialize()
                new_version = to.kek_version
            for v, dek, ad in plain:
                v["wrapped"] = target.wrap(dek, associated_data=ad).to_json()
            store_key = secrets.token_bytes(32)
            store = target.wrap(store_key, associated_data=_STORE_KEY_AD + ring_id)
            body["store_key"] = store.to_json()
            body["kms"] = target.state()
            # _mutate writes (and MACs) the body with this key right after
            self._store_key, self._store_key_blob = store_key, store.blob
            return new_version

        with self._lock:
            version = self._mutate(change)
            if to is not None and to is not self._kms:
                old, self._kms = self._kms, to
                old.close()
            return version

    def refresh(self) -> bool:
        """Reload the store if the file changed since it was last read (one ``stat``).

        True when it was reloaded. The Vault calls this at most every
        :data:`vaultkit.keys._cache.STORE_CHECK_INTERVAL` seconds before it encrypts.
        """
        with self._lock:
            generation = self.generation
            self._refresh()
            return self.generation != generation

    def reload(self) -> None:
        """Re-read the store now (reads also do so when the file changed)."""
        with self._lock:
            if self._closed:
                raise KeyStoreError("the key ring is closed")
            self._load()

    def close(self) -> None:
        """Forget the store key and close the KMS."""
        with self._lock:
            self._closed = True
            self._store_key = b""
            self._store_key_blob = b""
            self._body = {}
            self._stamp = None
            self._kms.close()

    def __enter__(self) -> KeyRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KeyRing(path={os.fspath(self._path)!r}, kms={self._kms.kind})"

    # -- internals ------------------------------------------------------------------------------
    def _entry(self, name: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        for entry in (body or self._body)["keys"]:
            if entry["name"] == name:
                return entry  # type: ignore[no-any-return]
        raise KeyNotFoundError(f"no key named {name!r} in the key ring")

    @staticmethod
    def _version(entry: Mapping[str, Any], version: int) -> dict[str, Any]:
        for v in entry["versions"]:
            if v["version"] == version:
                return v  # type: ignore[no-any-return]
        raise KeyNotFoundError(f"key {entry['name']!r} has no version {version}")

    def _data_key(self, entry: Mapping[str, Any], v: Mapping[str, Any], *, force: bool) -> DataKey:
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
        material = self._unwrap(WrappedKey.from_json(v["wrapped"]), ad)
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

    def _unwrap(self, wrapped: WrappedKey, ad: bytes) -> bytes:
        try:
            return self._kms.unwrap(wrapped, associated_data=ad)
        except KMSError as exc:
            raise KeyStoreError(f"a key in {self._path} does not unwrap: {exc}") from None

    def _new_version(
        self, entry: Mapping[str, Any], version: int, state: KeyState
    ) -> dict[str, Any]:
        alg = Algorithm.parse(entry["algorithm"])
        material = secrets.token_bytes(alg.key_size)
        ad = _dek_ad(self._ring_id, entry["name"], entry["key_id"], version, alg)
        wrapped = self._kms.wrap(material, associated_data=ad)
        return {
            "version": version,
            "state": state.value,
            "created": _now(),
            "wrapped": wrapped.to_json(),
        }

    def _set_state(self, name: str, version: int, state: KeyState) -> None:
        def change(body: dict[str, Any]) -> None:
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
    def _info(entry: Mapping[str, Any]) -> KeyInfo:
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

    def _mutate(self, change: Callable[[dict[str, Any]], _T]) -> _T:
        with self._lock, _store.locked(self._path):
            if self._closed:
                raise KeyStoreError("the key ring is closed")
            self._load()
            body = json.loads(_canonical(self._body))  # work on a copy: a failure changes nothing
            result = change(body)
            self._write(body)
            return result

    def _refresh(self) -> None:
        if self._closed or not self._body:
            raise KeyStoreError("the key ring is closed")
        try:
            st = os.stat(self._path)
        except OSError:
            raise KeyStoreError(f"key store {self._path} is gone") from None
        if (st.st_ino, st.st_mtime_ns, st.st_size) != self._stamp:
            self._load()

    def _load(self) -> None:
        raw, stamp = _store.read_store_stamped(self._path)
        bad = KeyStoreError(f"{self._path} is not a valid vaultkit key store (damaged or altered)")
        try:
            outer = json.loads(raw.decode("utf-8"))
            if not isinstance(outer, dict) or outer.get("vaultkit_keyring") != _FORMAT:
                raise bad
            body, mac = outer["body"], bytes.fromhex(outer["mac"])
            ring_id = bytes.fromhex(body["ring_id"])
            wrapped = WrappedKey.from_json(body["store_key"])
            kms_state = body["kms"]
            if len(ring_id) != 16 or not isinstance(kms_state, dict):
                raise bad
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, KMSError):
            raise bad from None
        if self._ring_id and ring_id != self._ring_id:
            raise KeyStoreError(f"the key store at {self._path} was replaced by another key ring")
        try:
            store_key = self._verify(body, kms_state, ring_id, wrapped, mac)
        except BaseException:
            if self._body:  # a refused file leaves the KMS as the last good store had it
                self._kms.load_state(self._body["kms"])
            raise
        self._body, self._ring_id = body, ring_id
        self._store_key, self._store_key_blob = store_key, wrapped.blob
        self._stamp = stamp
        self.generation += 1

    def _verify(
        self,
        body: Mapping[str, Any],
        kms_state: Mapping[str, Any],
        ring_id: bytes,
        wrapped: WrappedKey,
        mac: bytes,
    ) -> bytes:
        """The store key, once the body authenticates under it; KeyStoreError otherwise."""
        bad = KeyStoreError(f"{self._path} is not a valid vaultkit key store (damaged or altered)")
        self._kms.load_state(kms_state)
        if wrapped.blob == self._store_key_blob and ring_id == self._ring_id and self._store_key:
            store_key = self._store_key
        else:
            try:
                store_key = self._kms.unwrap(wrapped, associated_data=_STORE_KEY_AD + ring_id)
            except KMSError as exc:
                raise KeyStoreError(
                    f"cannot open {self._path}: {exc} (or the key store was altered)"
                ) from None
        expected = hmac.new(store_key, _MAC_LABEL + _canonical(body), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, mac):
            raise bad
        try:
            _validate(body)
        except (ValueError, KeyError, TypeError):
            raise bad from None
        return store_key

    def _write(self, body: dict[str, Any]) -> None:
        mac = hmac.new(self._store_key, _MAC_LABEL + _canonical(body), hashlib.sha256).hexdigest()
        data = (
            json.dumps(
                {"vaultkit_keyring": _FORMAT, "body": body, "mac": mac},
                indent=1,
                sort_keys=True,
                ensure_ascii=True,
            ).encode()
            + b"\n"
        )
        _store.write_atomic(self._path, data)
        st = os.stat(self._path)
        self._body = body
        self._stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        self.generation += 1


def _retired_for(v: Mapping[str, Any]) -> float | None:
    """Seconds since ``v`` was retired; None when the store did not record it."""
    stamp = v.get("retired_at")
    if not isinstance(stamp, str):
        return None
    try:
        when = _dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return (_dt.datetime.now(_dt.timezone.utc) - when).total_seconds()


def _validate(body: Mapping[str, Any]) -> None:
    """Structure checks of an authenticated body (guards against bugs, not attackers)."""
    ids, names = set(), set()
    if not isinstance(body["next_key_id"], int):
        raise ValueError
    for entry in body["keys"]:
        Algorithm.parse(entry["algorithm"])
        if entry["key_id"] in ids or entry["name"] in names:
            raise ValueError
        ids.add(entry["key_id"])
        names.add(entry["name"])
        primaries = 0
        for v in entry["versions"]:
            state = KeyState(v["state"])
            primaries += state is KeyState.PRIMARY
            if (v["wrapped"] is None) != (state is KeyState.DESTROYED):
                raise ValueError
        if primaries != 1:
            raise ValueError
