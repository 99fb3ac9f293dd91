"""The key ring's store I/O: reading, verifying, rollback checks, format 1 migration, writing.

:class:`_RingStore` holds a ring's state (the authenticated body, the ring key, the KEK it was
opened with) and implements what every change and every read goes through: :meth:`_load`
(parse, signature check when trusted signers are configured, unwrap the ring key with this
ring's KMS, MAC check, rollback check), :meth:`_refresh` (reload when the file changed),
:meth:`_mutate` (lock, re-read, change a copy, write atomically) and :meth:`_write`. The store
format is described in :mod:`vaultkit.keys._ring_format`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar, cast

from vaultkit._nopickle import NoPickle
from vaultkit.errors import (
    DecryptionError,
    KeyStoreError,
    KMSError,
    SignatureError,
)
from vaultkit.keys import _fork, _store
from vaultkit.keys._anchor import Anchor
from vaultkit.keys._kms import KMS, KMSState, WrappedKey, WrappedKeyDoc
from vaultkit.keys._model import Algorithm, DataKey
from vaultkit.keys._ring_doc import KekDoc, RingBody, StoreDoc, kms_version
from vaultkit.keys._ring_format import (
    _FORMAT,
    _FORMAT_V1,
    _MAC_LABEL,
    _MAC_LABEL_V1,
    _NONCE,
    _STORE_KEY_AD,
    _canonical,
    _default_kek_name,
    _dek_ad,
    _dek_aead,
    _mac_key,
    _rk_ad,
    _validate,
    _wrap_rk,
)
from vaultkit.keys._store_signing import StoreSigner, TrustedStoreSigners

__all__: list[str] = []

_T = TypeVar("_T")


class _RingStore(NoPickle):
    """State and store I/O of a :class:`~vaultkit.keys.KeyRing` (see the module docstring)."""

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
        "_primaries",
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
        self._body: RingBody = {}
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
        # unwrapped primary keys by name, valid for one generation (_primary_cached)
        self._primaries: tuple[int, dict[str, DataKey]] = (-1, {})
        _fork.track(self)

    def _after_fork(self) -> None:
        # a forked child gets a fresh lock (the parent's may be held by a thread the child
        # lacks); the ring key and body stay: they are the same file's, re-checked by stat
        self._lock = threading.RLock()

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
            return bytes(_dek_aead(rk or self._rk).decrypt(blob[:_NONCE], blob[_NONCE:], ad))
        except DecryptionError:
            raise KeyStoreError(f"a key in {self._path} does not unwrap") from None

    @staticmethod
    def _wrap(rk: bytes, epoch: int, dek: bytes, ad: bytes) -> WrappedKeyDoc:
        nonce = secrets.token_bytes(_NONCE)
        blob = nonce + _dek_aead(rk).encrypt(nonce, dek, ad)
        return WrappedKey("ring", epoch, blob).to_json()

    # -- internals: the KEK this ring was opened with ---------------------------------------------
    def _own_entry(self, body: RingBody) -> KekDoc:
        for k in body["keks"]:
            if k["name"] == self._kek_name:
                return k
        raise KeyStoreError(f"KEK {self._kek_name!r} was removed from the key ring")

    def _migrate(self, body: RingBody) -> RingBody:
        """A format 1 body as format 2: a fresh ring key, every DEK rewrapped under it, the
        KMS as the only KEK recipient."""
        rk = secrets.token_bytes(32)
        epoch = kms_version(body["kms"])
        for entry in body["keys"]:
            alg = Algorithm.parse(entry["algorithm"])
            for v in entry["versions"]:
                if v["wrapped"] is None:
                    continue
                ad = _dek_ad(self._ring_id, entry["name"], entry["key_id"], v["version"], alg)
                dek = self._unwrap(WrappedKey.from_json(v["wrapped"]), ad)
                v["wrapped"] = self._wrap(rk, epoch, dek, ad)
        name = _default_kek_name(self._kms, [])
        migrated = body.copy()
        migrated.pop("kms", None)
        migrated.pop("store_key", None)
        migrated["generation"] = int(body.get("generation", 0))
        migrated["epoch"] = epoch
        migrated["keks"] = [
            {
                "name": name,
                "kms": self._kms.state(),
                "ring_key": _wrap_rk(self._kms, rk, self._ring_id, epoch).to_json(),
            }
        ]
        self._next_rk, self._kek_name = rk, name
        return migrated

    # -- internals: reading and writing -------------------------------------------------------
    def _mutate(self, change: Callable[[RingBody], _T]) -> _T:
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
            loaded = json.loads(raw.decode("utf-8"))
            if not isinstance(loaded, dict) or loaded.get("vaultkit_keyring") not in (
                _FORMAT_V1,
                _FORMAT,
            ):
                raise bad
            outer = cast(StoreDoc, loaded)  # its fields are checked below and by _validate
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
        body: RingBody,
        ring_id: bytes,
        candidates: list[tuple[str, KMSState, WrappedKey]],
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

    def _write(self, body: RingBody) -> None:
        rk = self._next_rk or self._rk
        self._check_may_write()
        body["generation"] = max(int(body.get("generation", 0)), self._seen) + 1
        canonical = _canonical(body)
        mac = hmac.new(_mac_key(rk), _MAC_LABEL + canonical, hashlib.sha256).hexdigest()
        outer: StoreDoc = {"vaultkit_keyring": _FORMAT, "body": body, "mac": mac}
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
