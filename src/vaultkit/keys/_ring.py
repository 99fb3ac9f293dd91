"""KeyRing: named, versioned DEKs in one authenticated key store file, openable by any of
several KEKs (the facade; the store format is :mod:`vaultkit.keys._ring_format`).

The class is assembled from one module per job: :mod:`._ring_store` (state, reading, verifying,
writing), :mod:`._ring_keks` (the KEK set and ring key epochs), :mod:`._ring_versions` (keys and
their version state machine), :mod:`._ring_grants` (principals' grants and tokens); this module
adds creation, opening and the lifecycle.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from vaultkit.errors import KeyStoreError
from vaultkit.keys import _store
from vaultkit.keys._anchor import Anchor
from vaultkit.keys._kms import KMS, KMSState
from vaultkit.keys._ring_doc import RingBody
from vaultkit.keys._ring_format import (
    _FORMAT,
    _FORMAT_V1,
    DESTROY_GRACE,
    _check_name,
    _default_kek_name,
    _now,
    _wrap_rk,
)
from vaultkit.keys._ring_grants import _RingGrants
from vaultkit.keys._ring_info import KekInfo, KeyInfo, VersionInfo
from vaultkit.keys._store_signing import StoreSigner

__all__ = ["DESTROY_GRACE", "KekInfo", "KeyInfo", "KeyRing", "VersionInfo"]


class KeyRing(_RingGrants):
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

    __slots__ = ()

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
            body: RingBody = {
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
    def kms_state(path: str | os.PathLike[str]) -> KMSState:
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
    def kek_states(path: str | os.PathLike[str]) -> list[tuple[str, KMSState]]:
        """``(name, public KMS state)`` of every KEK recipient of the store at ``path``,
        unauthenticated (as :meth:`kms_state`)."""
        where = Path(path)
        raw = _store.read_store(where)
        states: list[tuple[str, KMSState]] = []
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
            self._primaries = (-1, {})
            self._stamp = None
            self._kms.close()

    def __enter__(self) -> KeyRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KeyRing(path={os.fspath(self._path)!r}, kms={self._kms.kind})"
