"""KeyRing: the key store file of named, versioned DEKs, openable by any of several KEKs.

Store file (UTF-8 JSON, one object), format 2::

    {"vaultkit_keyring": 2, "body": BODY, "mac": HEX}

``BODY`` holds ``ring_id`` (16 random bytes, hex), ``created``, ``generation`` (incremented by
every write: rollback detection, see :mod:`vaultkit.keys._anchor`), ``epoch`` (the number of the
current ring key), ``keks``, ``next_key_id`` and ``keys``.

**Ring key.** A random 32-byte ring key ``RK`` protects everything; ``keks`` is a list of KEK
recipients, each ``{"name", "kms": public KMS state, "ring_key": RK wrapped by that KMS}`` with
associated data ``b"vaultkit ring key v2\x00" || ring_id || u32 epoch``. Any one KEK (a
passphrase, a key file, a PKCS#11 token, an SM2 private key) unwraps ``RK`` and opens the ring.
From ``RK`` (RFC 2104 HMAC as a PRF)::

    mac_key = HMAC-SHA256(RK, "vaultkit store mac v2")
    dek_key = HMAC-SM3(RK, "vaultkit dek wrap v2")[:16]

``mac = HMAC-SHA256(mac_key, b"vaultkit keyring v2\x00" || canonical(BODY))`` where
``canonical`` is JSON with sorted keys, no whitespace, ASCII only. Each DEK is wrapped as
``nonce (12) || SM4-GCM(dek_key, nonce, dek, AD)`` with ``AD = b"vaultkit dek v1\x00" || ring_id
|| u32 key_id || u32 version || u8 algorithm wire id || name``, so a wrapped key copied to
another entry does not unwrap. Any change to the body is refused with ``KeyStoreError``.

A fresh ring key (``epoch + 1``, every DEK rewrapped, so a fresh MAC key) is drawn by every KEK
rotation and every KEK removal: whoever held a removed or rotated-out KEK and kept an old copy
of the store knows the old ring key, and must neither forge a store the ring accepts nor
unwrap DEKs created afterwards. Adding a KEK wraps the current ring key for it.

Format 1 (one KMS, no ring key: ``body.kms``, ``body.store_key`` wrapped by the KMS, DEKs
wrapped by the KMS, ``mac`` under the store key, label ``b"vaultkit keyring v1\x00"``) still
opens; the first write migrates it to format 2.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import difflib
import hashlib
import hmac
import json
import os
import secrets
import struct
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from vaultkit.errors import (
    DecryptionError,
    KeyNotFoundError,
    KeyStateError,
    KeyStoreError,
    KMSError,
    SignatureError,
    VaultkitTypeError,
)
from vaultkit.keys import _fork, _primitives, _store
from vaultkit.keys._anchor import Anchor
from vaultkit.keys._kms import KMS, NoPickle, WrappedKey
from vaultkit.keys._model import Algorithm, DataKey, KeyState
from vaultkit.keys._store_signing import StoreSigner, TrustedStoreSigners

__all__ = ["DESTROY_GRACE", "KekInfo", "KeyInfo", "KeyRing", "VersionInfo"]

_FORMAT_V1 = 1
_FORMAT = 2
_MAC_LABEL_V1 = b"vaultkit keyring v1\x00"
_MAC_LABEL = b"vaultkit keyring v2\x00"
_STORE_KEY_AD = b"vaultkit store key v1\x00"  # format 1
_RING_KEY_AD = b"vaultkit ring key v2\x00"
_DEK_AD = b"vaultkit dek v1\x00"
_STREAM_KEY_AD = b"vaultkit stream key v1\x00"
_MAX_NAME = 200
_MAX_KEY_ID = 2**32 - 1
_MAX_KEKS = 32
_NONCE = 12
# seconds a version stays retired before destroy_version accepts it: the Vault's default
# DEK-cache lifetime (cache_ttl), the longest a process may hold a version it no longer should
DESTROY_GRACE = 300.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class KekInfo:
    """One KEK recipient of a key ring (never material): its name, backend kind, current KEK
    version, and whether this ring object was opened with it."""

    name: str
    kind: str
    kek_version: int
    opened_with: bool


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
    """Named, versioned DEKs in one authenticated key store file, openable by any of its KEKs.

    Implements :class:`~vaultkit.keys.KeyProvider`. ``KeyRing.create(path, kms)`` makes a new
    store, ``KeyRing.open(path, kms)`` opens one with any KEK recipient ``kms`` matches. Changes
    (:meth:`create_key`, :meth:`rotate_key`, :meth:`retire_version`, :meth:`destroy_version`,
    :meth:`rotate_kek`, :meth:`add_kek`, :meth:`remove_kek`) take the store's lock, re-read it,
    and rewrite it atomically. Reads notice a store changed by another process and reload it.
    With ``anchor`` (:class:`~vaultkit.keys.Anchor`), a store older than the anchor's generation
    is refused on open and on every reload (rollback). The ring owns ``kms``: :meth:`close`
    closes it (not the anchor).
    """

    __slots__ = (
        "__weakref__",
        "_anchor",
        "_body",
        "_closed",
        "_format",
        "_kek_name",
        "_kms",
        "_lock",
        "_next_rk",
        "_path",
        "_ring_id",
        "_rk",
        "_rk_blob",
        "_seen",
        "_signed",
        "_signer",
        "_stamp",
        "_trusted",
        "generation",
    )

    def __init__(
        self,
        path: Path,
        kms: KMS,
        anchor: Anchor | None = None,
        signer: str | None = None,
        trusted_signers: Iterable[str] | None = None,
    ) -> None:
        # use KeyRing.create / KeyRing.open
        self._path = path
        self._kms = kms
        self._anchor = anchor
        self._signer = None if signer is None else StoreSigner(signer)
        self._trusted = None if trusted_signers is None else TrustedStoreSigners(trusted_signers)
        self._signed: str | None = None  # signer fingerprint of the store as last read/written
        self._lock = threading.RLock()
        self._body: dict[str, Any] = {}
        self._format = _FORMAT
        self._ring_id = b""
        # format 2: the ring key; format 1: the store key. _rk_blob: its wrapped form as read
        self._rk = b""
        self._rk_blob = b""
        self._next_rk: bytes | None = None  # a fresh ring key being written
        self._kek_name = ""
        self._seen = 0  # highest store generation this object read or wrote
        self._stamp: tuple[int, int, int] | None = None
        self._closed = False
        # counts (re)loads and writes of the store by this object; caches compare it
        self.generation = 0
        _fork.track(self)

    def _after_fork(self) -> None:
        # a forked child gets a fresh lock (the parent's may be held by a thread the child
        # lacks); the ring key and body stay: they are the same file's, re-checked by stat
        self._lock = threading.RLock()

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        kms: KMS,
        *,
        name: str | None = None,
        anchor: Anchor | None = None,
        signer: str | None = None,
        trusted_signers: Iterable[str] | None = None,
    ) -> KeyRing:
        """A new, empty key store at ``path`` (refused if a file is there), with ``kms`` as its
        first KEK recipient (called ``name``, by default after its kind). ``signer`` (an SM2
        private key, hex) signs every store this object writes; ``trusted_signers`` as in
        :meth:`open`."""
        ring = cls(Path(path), kms, anchor, signer, trusted_signers)
        with _store.locked(ring._path):
            if ring._path.exists():
                raise KeyStoreError(f"a file already exists at {ring._path}")
            kms.initialize()
            ring_id = secrets.token_bytes(16)
            rk = secrets.token_bytes(32)
            kek_name = _check_name(name) if name is not None else _default_kek_name(kms, [])
            body = {
                "ring_id": ring_id.hex(),
                "created": _now(),
                "generation": 0,
                "epoch": 1,
                "keks": [
                    {
                        "name": kek_name,
                        "kms": kms.state(),
                        "ring_key": _wrap_rk(kms, rk, ring_id, 1).to_json(),
                    }
                ],
                "next_key_id": 1,
                "keys": [],
            }
            ring._ring_id, ring._kek_name = ring_id, kek_name
            ring._next_rk = rk
            ring._write(body)
        return ring

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        kms: KMS,
        *,
        ring_id: str | None = None,
        anchor: Anchor | None = None,
        signer: str | None = None,
        trusted_signers: Iterable[str] | None = None,
    ) -> KeyRing:
        """Open an existing key store; refuses a tampered, truncated or foreign file.

        ``kms`` is tried on every KEK recipient of its kind. ``ring_id`` (see :attr:`ring_id`),
        when given, pins the store: a different, valid key store swapped in at ``path`` under
        the same passphrase is refused too. ``anchor`` refuses a rolled-back store.
        ``trusted_signers`` (SM2 public keys, hex): the store, on open and on every reload,
        must be signed by one of them (``SignatureError`` otherwise; see
        :mod:`vaultkit.keys._store_signing`). ``signer`` (an SM2 private key, hex) signs every
        store this object writes; a signed store is only rewritten signed.
        """
        ring = cls(Path(path), kms, anchor, signer, trusted_signers)
        with ring._lock:
            ring._load()
            if ring_id is not None and ring_id.lower() != ring.ring_id:
                raise KeyStoreError(f"{path} is another key ring (ring id {ring.ring_id})")
        return ring

    @staticmethod
    def kms_state(path: str | os.PathLike[str]) -> dict[str, Any]:
        """The public state of the key store's first KEK recipient, without opening it.

        What that KMS returned from ``state()``: always ``kind`` (``"local"``, ``"pkcs11"``,
        ``"sm2"``) and the backend's public parameters (``source`` for local rings,
        ``token_label`` for PKCS#11, ...), i.e. which backend and which secret to ask for before
        :meth:`open`. :meth:`kek_states` lists every recipient. Nothing here is secret, and
        nothing is authenticated until the ring is opened. ``KeyStoreError`` when there is no
        key store at ``path``.
        """
        return KeyRing.kek_states(path)[0][1]

    @staticmethod
    def kek_states(path: str | os.PathLike[str]) -> list[tuple[str, dict[str, Any]]]:
        """``(name, public KMS state)`` of every KEK recipient of the store at ``path``,
        unauthenticated (as :meth:`kms_state`)."""
        where = Path(path)
        raw = _store.read_store(where)
        states: list[tuple[str, dict[str, Any]]] = []
        try:
            outer = json.loads(raw.decode("utf-8"))
            if outer.get("vaultkit_keyring") == _FORMAT_V1:
                states = [("kek", dict(outer["body"]["kms"]))]
            elif outer.get("vaultkit_keyring") == _FORMAT:
                states = [(k["name"], dict(k["kms"])) for k in outer["body"]["keks"]]
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            states = []
        if not states or not all(isinstance(s.get("kind"), str) for _, s in states):
            raise KeyStoreError(f"{where} is not a vaultkit key store")
        return states

    @property
    def path(self) -> Path:
        return self._path

    @property
    def kms(self) -> KMS:
        """The KMS this ring was opened (or created) with."""
        return self._kms

    @property
    def ring_id(self) -> str:
        return self._ring_id.hex()

    @property
    def store_generation(self) -> int:
        """The generation of the store as last read or written (every write adds one)."""
        with self._lock:
            return int(self._body.get("generation", 0))

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

    def keks(self) -> list[KekInfo]:
        """The KEK recipients that open this ring (metadata only)."""
        with self._lock:
            self._refresh()
            if self._format == _FORMAT_V1:
                state = self._body["kms"]
                return [KekInfo("kek", state["kind"], int(state.get("current", 1)), True)]
            return [
                KekInfo(
                    k["name"],
                    k["kms"]["kind"],
                    int(k["kms"].get("current", 1)),
                    k["name"] == self._kek_name,
                )
                for k in self._body["keks"]
            ]

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
            entry["versions"].append(self._new_version(body, entry, 1, KeyState.PRIMARY))
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

    # -- KEKs -------------------------------------------------------------------------------------
    def rotate_kek(self, *, to: KMS | None = None, others: Sequence[KMS] = ()) -> int:
        """Make a new KEK version of the KEK this ring was opened with, draw a fresh ring key,
        and rewrap every DEK under it. Returns the new KEK version.

        Touches no data and no DEK material. The ring key (from which the store's MAC key
        derives) is drawn anew, never rewrapped: whoever knew the old KEK (an old passphrase,
        a removed SM2 recipient) and kept an old copy of the store knows the old ring key, and
        must not be able to forge a store the ring accepts. The fresh ring key is wrapped for
        every other KEK recipient too: SM2 recipients need only their public keys (in the
        store); a passphrase, key file or token recipient needs its KMS in ``others``.

        With ``to``, this KEK is replaced by another KMS (say a passphrase by an HSM, or by new
        SM2 recipients): ``to`` is initialized, and the ring uses it from then on (the old KMS
        is closed). To keep the old KEK working during a rollout, :meth:`add_kek` the new one
        instead and :meth:`remove_kek` the old one later.
        """

        def change(body: dict[str, Any]) -> int:
            own = self._own_entry(body)
            wrappers = self._wrappers(body, others, skip=own["name"])
            target = self._kms if to is None else to
            if to is None:
                new_version = self._kms.rotate()
            else:
                to.initialize()
                new_version = to.kek_version
            if target.kind != self._kms.kind:  # the name follows the kind
                taken = [k["name"] for k in body["keks"] if k is not own]
                self._kek_name = own["name"] = _default_kek_name(target, taken)
            wrappers[own["name"]] = target
            self._fresh_ring_key(body, wrappers)
            own["kms"] = target.state()
            return new_version

        with self._lock:
            version = self._mutate(change)
            if to is not None and to is not self._kms:
                old, self._kms = self._kms, to
                old.close()
            return version

    def add_kek(self, kms: KMS, *, name: str | None = None) -> str:
        """Add ``kms`` as another KEK recipient (initialized here): it opens the ring too.
        Returns its name (``name``, or one made from its kind). The current ring key is
        wrapped for it: the new KEK reads what the ring holds now."""

        def change(body: dict[str, Any]) -> str:
            names = [k["name"] for k in body["keks"]]
            kek_name = _check_name(name) if name is not None else _default_kek_name(kms, names)
            if kek_name in names:
                raise KeyStoreError(f"the key ring already has a KEK named {kek_name!r}")
            if len(names) >= _MAX_KEKS:
                raise KeyStoreError(f"a key ring has at most {_MAX_KEKS} KEKs")
            kms.initialize()
            rk = self._next_rk or self._rk
            body["keks"].append(
                {
                    "name": kek_name,
                    "kms": kms.state(),
                    "ring_key": _wrap_rk(kms, rk, self._ring_id, body["epoch"]).to_json(),
                }
            )
            return kek_name

        return self._mutate(change)

    def remove_kek(self, name: str, *, others: Sequence[KMS] = ()) -> None:
        """Remove KEK recipient ``name`` and draw a fresh ring key (every DEK rewrapped), so the
        removed KEK opens neither this store nor any older copy's successors. The fresh ring key
        is wrapped for the remaining recipients (``others`` as in :meth:`rotate_kek`). The KEK
        this ring was opened with cannot remove itself: open the ring with another one."""

        def change(body: dict[str, Any]) -> None:
            if not any(k["name"] == name for k in body["keks"]):
                known = ", ".join(k["name"] for k in body["keks"])
                raise KeyStoreError(f"no KEK named {name!r} (this ring has: {known})")
            if name == self._kek_name:
                raise KeyStoreError(
                    f"the key ring was opened with KEK {name!r}: open it with another KEK to "
                    "remove this one"
                )
            body["keks"] = [k for k in body["keks"] if k["name"] != name]
            self._fresh_ring_key(body, self._wrappers(body, others, skip=None))

        self._mutate(change)

    def sign_with(self, private_key: str) -> None:
        """Sign the store with ``private_key`` (SM2, hex) now and on every later write by this
        object (the store is rewritten signed: one write)."""
        signer = StoreSigner(private_key)
        with self._lock:
            previous, self._signer = self._signer, signer
            try:
                self._mutate(lambda body: None)
            except BaseException:
                self._signer = previous
                raise

    @property
    def signed_by(self) -> str | None:
        """The fingerprint (hex) of the key that signed the store as last read or written,
        None when it is unsigned."""
        with self._lock:
            return self._signed

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
        """Forget the ring key and close the KMS."""
        with self._lock:
            self._closed = True
            self._rk = b""
            self._rk_blob = b""
            self._body = {}
            self._stamp = None
            self._kms.close()

    def __enter__(self) -> KeyRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KeyRing(path={os.fspath(self._path)!r}, kms={self._kms.kind})"

    # -- streams ----------------------------------------------------------------------------------
    def _stream_key(self, epoch: int | None = None) -> tuple[int, bytes] | None:
        """``(epoch, key)``: the 16-byte SM4 key that wraps stream file keys for this ring
        (:class:`vaultkit.stream._recipients.RingRecipient`), the same whichever KEK opened the
        ring. ``epoch=None``: the current one. None for a format 1 store (its streams use the
        KMS) and for an epoch this store has no key for."""
        with self._lock:
            self._refresh()
            if self._format == _FORMAT_V1:
                return None
            current = int(self._body["epoch"])
            if epoch is None or epoch == current:
                return current, _stream_key(self._rk)
            for sk in self._body.get("stream_keys", []):
                if sk["epoch"] == epoch:
                    ad = _stream_key_ad(self._ring_id, epoch)
                    return epoch, self._unwrap(WrappedKey.from_json(sk["wrapped"]), ad)
            return None

    # -- internals: keys ------------------------------------------------------------------------
    def _entry(self, name: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        keys = (body or self._body)["keys"]
        for entry in keys:
            if entry["name"] == name:
                return entry  # type: ignore[no-any-return]
        close = difflib.get_close_matches(str(name), [e["name"] for e in keys], n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        raise KeyNotFoundError(f"no key named {name!r} in the key ring{hint}")

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

    def _unwrap(self, wrapped: WrappedKey, ad: bytes, rk: bytes | None = None) -> bytes:
        """A DEK: under the ring key (format 2) or the KMS (format 1)."""
        if self._format == _FORMAT_V1 and rk is None:
            try:
                return self._kms.unwrap(wrapped, associated_data=ad)
            except KMSError as exc:
                raise KeyStoreError(f"a key in {self._path} does not unwrap: {exc}") from None
        blob = wrapped.blob
        try:
            if len(blob) < _NONCE + 16:
                raise DecryptionError()
            return bytes(
                _primitives.aead("SM4-GCM", _dek_key(rk or self._rk)).decrypt(
                    blob[:_NONCE], blob[_NONCE:], ad
                )
            )
        except DecryptionError:
            raise KeyStoreError(f"a key in {self._path} does not unwrap") from None

    @staticmethod
    def _wrap(rk: bytes, epoch: int, dek: bytes, ad: bytes) -> dict[str, Any]:
        nonce = secrets.token_bytes(_NONCE)
        blob = nonce + _primitives.aead("SM4-GCM", _dek_key(rk)).encrypt(nonce, dek, ad)
        return WrappedKey("ring", epoch, blob).to_json()

    def _new_version(
        self, body: Mapping[str, Any], entry: Mapping[str, Any], version: int, state: KeyState
    ) -> dict[str, Any]:
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

    # -- internals: KEKs and the ring key ---------------------------------------------------------
    def _own_entry(self, body: Mapping[str, Any]) -> dict[str, Any]:
        for k in body["keks"]:
            if k["name"] == self._kek_name:
                return k  # type: ignore[no-any-return]
        raise KeyStoreError(f"KEK {self._kek_name!r} was removed from the key ring")

    def _wrappers(
        self, body: Mapping[str, Any], others: Sequence[KMS], *, skip: str | None
    ) -> dict[str, KMS]:
        """A KMS able to wrap a fresh ring key for every KEK recipient but ``skip``: this ring's
        own, SM2 recipients from their public keys, the rest from ``others`` (each checked to
        hold that recipient's KEK by unwrapping its current ring key wrapper)."""
        from vaultkit.keys._sm2_recipients import SM2Recipients

        out: dict[str, KMS] = {}
        for k in body["keks"]:
            name, state = k["name"], k["kms"]
            if name == skip:
                continue
            if name == self._kek_name:
                out[name] = self._kms
                continue
            if state.get("kind") == "sm2":
                current = next(
                    v["recipients"] for v in state["versions"] if v["version"] == state["current"]
                )
                sm2_kms = SM2Recipients(public_keys=current)
                sm2_kms.load_state(state)
                out[name] = sm2_kms
                continue
            for candidate in others:
                if candidate.kind != state.get("kind"):
                    continue
                try:
                    candidate.load_state(state)
                    candidate.unwrap(
                        WrappedKey.from_json(k["ring_key"]),
                        associated_data=_rk_ad(self._ring_id, body["epoch"]),
                    )
                except (KMSError, KeyStoreError):
                    continue
                out[name] = candidate
                break
            else:
                raise KeyStoreError(
                    f"KEK {name!r} must wrap the fresh ring key: pass its KMS in others= "
                    "(or remove that KEK first)"
                )
        return out

    def _fresh_ring_key(self, body: dict[str, Any], wrappers: Mapping[str, KMS]) -> None:
        """Draw a new ring key (epoch + 1), rewrap every DEK and wrap it for every recipient."""
        old = self._next_rk or self._rk
        rk = secrets.token_bytes(32)
        epoch = body["epoch"] + 1
        # streams written under earlier ring keys stay readable: every earlier epoch's stream
        # key is kept, wrapped under the current ring key like a DEK
        kept = []
        for sk in body.get("stream_keys", []):
            ad = _stream_key_ad(self._ring_id, sk["epoch"])
            material = self._unwrap(WrappedKey.from_json(sk["wrapped"]), ad, rk=old)
            kept.append({"epoch": sk["epoch"], "wrapped": self._wrap(rk, epoch, material, ad)})
        ad = _stream_key_ad(self._ring_id, body["epoch"])
        kept.append(
            {"epoch": body["epoch"], "wrapped": self._wrap(rk, epoch, _stream_key(old), ad)}
        )
        body["stream_keys"] = kept
        for entry in body["keys"]:
            alg = Algorithm.parse(entry["algorithm"])
            for v in entry["versions"]:
                if v["wrapped"] is None:
                    continue
                ad = _dek_ad(self._ring_id, entry["name"], entry["key_id"], v["version"], alg)
                dek = self._unwrap(WrappedKey.from_json(v["wrapped"]), ad, rk=old)
                v["wrapped"] = self._wrap(rk, epoch, dek, ad)
        for k in body["keks"]:
            k["ring_key"] = _wrap_rk(wrappers[k["name"]], rk, self._ring_id, epoch).to_json()
        body["epoch"] = epoch
        self._next_rk = rk  # _write MACs with it; it becomes the ring key once written

    def _migrate(self, body: dict[str, Any]) -> dict[str, Any]:
        """A format 1 body as format 2: a fresh ring key, every DEK rewrapped under it, the
        KMS as the only KEK recipient."""
        rk = secrets.token_bytes(32)
        epoch = int(body["kms"].get("current", 1))
        for entry in body["keys"]:
            alg = Algorithm.parse(entry["algorithm"])
            for v in entry["versions"]:
                if v["wrapped"] is None:
                    continue
                ad = _dek_ad(self._ring_id, entry["name"], entry["key_id"], v["version"], alg)
                dek = self._unwrap(WrappedKey.from_json(v["wrapped"]), ad)
                v["wrapped"] = self._wrap(rk, epoch, dek, ad)
        name = _default_kek_name(self._kms, [])
        migrated = {k: v for k, v in body.items() if k not in ("kms", "store_key")}
        migrated.update(
            generation=int(body.get("generation", 0)),
            epoch=epoch,
            keks=[
                {
                    "name": name,
                    "kms": self._kms.state(),
                    "ring_key": _wrap_rk(self._kms, rk, self._ring_id, epoch).to_json(),
                }
            ],
        )
        self._next_rk, self._kek_name = rk, name
        return migrated

    # -- internals: reading and writing -------------------------------------------------------
    def _mutate(self, change: Callable[[dict[str, Any]], _T]) -> _T:
        with self._lock, _store.locked(self._path):
            if self._closed:
                raise KeyStoreError("the key ring is closed")
            self._load()
            body = json.loads(_canonical(self._body))  # work on a copy: a failure changes nothing
            kek_name = self._kek_name
            try:
                if self._format == _FORMAT_V1:
                    body = self._migrate(body)
                result = change(body)
                self._write(body)
            except BaseException:
                self._next_rk, self._kek_name = None, kek_name
                if self._body:  # the KMS as the last good store had it
                    self._restore_kms_state()
                raise
            return result

    def _restore_kms_state(self) -> None:
        with contextlib.suppress(KeyStoreError, KMSError):
            if self._format == _FORMAT_V1:
                self._kms.load_state(self._body["kms"])
            else:
                self._kms.load_state(self._own_entry(self._body)["kms"])

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
            if not isinstance(outer, dict) or outer.get("vaultkit_keyring") not in (
                _FORMAT_V1,
                _FORMAT,
            ):
                raise bad
            fmt = outer["vaultkit_keyring"]
            body, mac = outer["body"], bytes.fromhex(outer["mac"])
            ring_id = bytes.fromhex(body["ring_id"])
            if len(ring_id) != 16 or not isinstance(body, dict):
                raise bad
            if fmt == _FORMAT_V1:
                candidates = [("kek", body["kms"], WrappedKey.from_json(body["store_key"]))]
            else:
                candidates = [
                    (k["name"], k["kms"], WrappedKey.from_json(k["ring_key"])) for k in body["keks"]
                ]
                if not isinstance(body["epoch"], int) or not isinstance(body["generation"], int):
                    raise bad
            if not candidates or not all(isinstance(c[1], dict) for c in candidates):
                raise bad
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError, KMSError):
            raise bad from None
        if self._ring_id and ring_id != self._ring_id:
            raise KeyStoreError(f"the key store at {self._path} was replaced by another key ring")
        generation = int(body.get("generation", 0))
        signature = outer.get("signature")
        signed = signature.get("signer") if isinstance(signature, dict) else None
        try:
            if self._trusted is not None:  # before any key is unwrapped
                self._trusted.check(self._path, outer, _canonical(body))
            name, rk, blob = self._verify(fmt, body, ring_id, candidates, mac)
            self._check_rollback(ring_id, generation)
        except BaseException:
            if self._body:  # a refused file leaves the KMS as the last good store had it
                self._restore_kms_state()
            raise
        self._body, self._ring_id, self._format = body, ring_id, fmt
        self._rk, self._rk_blob, self._kek_name = rk, blob, name
        self._signed = signed if isinstance(signed, str) else None
        self._seen = max(self._seen, generation)
        self._stamp = stamp
        self.generation += 1

    def _check_rollback(self, ring_id: bytes, generation: int) -> None:
        """Refuse a store older than one this object saw, or than the anchor's record."""
        if generation < self._seen:
            raise KeyStoreError(
                f"{self._path} was rolled back: generation {generation} after {self._seen} "
                "(an older copy of the store was put back)"
            )
        if self._anchor is None:
            return
        anchored = self._anchor.read(ring_id.hex())
        if anchored is not None and generation < anchored:
            raise KeyStoreError(
                f"{self._path} was rolled back: generation {generation}, the anchor has seen "
                f"{anchored} (an older copy of the store was put back)"
            )
        if anchored is None or generation > anchored:
            # catch up after a crash between writing the store and advancing the anchor
            self._anchor.advance(ring_id.hex(), generation)

    def _verify(
        self,
        fmt: int,
        body: Mapping[str, Any],
        ring_id: bytes,
        candidates: list[tuple[str, Any, WrappedKey]],
        mac: bytes,
    ) -> tuple[str, bytes, bytes]:
        """(KEK name, ring or store key, its wrapped blob), once the body authenticates under
        it; KeyStoreError otherwise."""
        bad = KeyStoreError(f"{self._path} is not a valid vaultkit key store (damaged or altered)")
        # the KEK this object opened with first, then the others of its kind
        ordered = sorted(candidates, key=lambda c: c[0] != self._kek_name)
        errors: list[str] = []
        refused: list[Exception] = []  # recipients this KMS cannot be (another key file, token)
        found: tuple[str, bytes, bytes] | None = None
        for name, state, wrapped in ordered:
            if state.get("kind") != self._kms.kind:
                continue
            try:
                self._kms.load_state(state)
            except (KMSError, KeyStoreError) as exc:
                refused.append(exc)
                continue
            if wrapped.blob == self._rk_blob and ring_id == self._ring_id and self._rk:
                found = (name, self._rk, wrapped.blob)
                break
            ad = (
                _STORE_KEY_AD + ring_id
                if fmt == _FORMAT_V1
                else _rk_ad(ring_id, body.get("epoch", 0))
            )
            try:
                found = (name, self._kms.unwrap(wrapped, associated_data=ad), wrapped.blob)
                break
            except KMSError as exc:
                errors.append(str(exc))
        if found is None:
            if not errors:  # no recipient this KMS could try: it says what it is not
                if refused:
                    raise refused[0]
                self._kms.load_state(candidates[0][1])
            raise KeyStoreError(
                f"cannot open {self._path}: {errors[-1]} (or the key store was altered)"
            )
        if fmt == _FORMAT_V1:
            expected = hmac.new(found[1], _MAC_LABEL_V1 + _canonical(body), hashlib.sha256)
        else:
            expected = hmac.new(_mac_key(found[1]), _MAC_LABEL + _canonical(body), hashlib.sha256)
        if not hmac.compare_digest(expected.digest(), mac):
            raise bad
        try:
            _validate(body)
        except (ValueError, KeyError, TypeError):
            raise bad from None
        return found

    def _check_may_write(self) -> None:
        """A ring that requires trusted signers writes only stores it would accept itself, and a
        signed store is not silently rewritten unsigned."""
        if self._signer is None:
            if self._trusted is not None or self._signed is not None:
                raise SignatureError(
                    f"the key store {self._path} is signed or must be: pass signer= (the CLI's "
                    "--sign or VAULTKIT_SIGNING_KEY) to change it"
                )
        elif self._trusted is not None and not self._trusted.trusts(self._signer.fingerprint):
            raise SignatureError(
                f"the signer {self._signer.fingerprint.hex()} is not one of the trusted signers"
            )

    def _write(self, body: dict[str, Any]) -> None:
        rk = self._next_rk or self._rk
        self._check_may_write()
        body["generation"] = max(int(body.get("generation", 0)), self._seen) + 1
        canonical = _canonical(body)
        mac = hmac.new(_mac_key(rk), _MAC_LABEL + canonical, hashlib.sha256).hexdigest()
        outer: dict[str, Any] = {"vaultkit_keyring": _FORMAT, "body": body, "mac": mac}
        if self._signer is not None:
            outer["signature"] = self._signer.sign(canonical)
        data = (
            json.dumps(
                outer,
                indent=1,
                sort_keys=True,
                ensure_ascii=True,
            ).encode()
            + b"\n"
        )
        _store.write_atomic(self._path, data)
        st = os.stat(self._path)
        own = next(k for k in body["keks"] if k["name"] == self._kek_name)
        self._body, self._format = body, _FORMAT
        self._rk, self._next_rk = rk, None
        self._rk_blob = WrappedKey.from_json(own["ring_key"]).blob
        self._seen = body["generation"]
        self._signed = None if self._signer is None else self._signer.fingerprint.hex()
        self._stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        self.generation += 1
        if self._anchor is not None:
            self._anchor.advance(self._ring_id.hex(), body["generation"])


def _rk_ad(ring_id: bytes, epoch: int) -> bytes:
    return _RING_KEY_AD + ring_id + struct.pack(">I", epoch)


def _wrap_rk(kms: KMS, rk: bytes, ring_id: bytes, epoch: int) -> WrappedKey:
    return kms.wrap(rk, associated_data=_rk_ad(ring_id, epoch))


def _stream_key_ad(ring_id: bytes, epoch: int) -> bytes:
    return _STREAM_KEY_AD + ring_id + struct.pack(">I", epoch)


def _stream_key(rk: bytes) -> bytes:
    return _primitives.mac("SM3", rk, b"vaultkit stream wrap v1")[:16]


def _mac_key(rk: bytes) -> bytes:
    return hmac.new(rk, b"vaultkit store mac v2", hashlib.sha256).digest()


def _dek_key(rk: bytes) -> bytes:
    return _primitives.mac("SM3", rk, b"vaultkit dek wrap v2")[:16]


def _default_kek_name(kms: KMS, taken: Sequence[str]) -> str:
    state = kms.state() if kms.kind == "local" else {}
    base = {"local": "passphrase", "pkcs11": "pkcs11", "sm2": "sm2"}.get(kms.kind, kms.kind)
    if state.get("source") == "key_file":
        base = "key-file"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


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
    if "keks" in body:
        kek_names = [k["name"] for k in body["keks"]]
        if not kek_names or len(set(kek_names)) != len(kek_names):
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
