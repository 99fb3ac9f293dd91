"""SM2Recipients: a KMS whose KEKs are SM2 public keys (wrap) and one private key (unwrap).

For hosts that must write but not read (backup writers hold only public keys). Wrapped blob::

    0x01 (format) || u8 count || count x [fingerprint (8) || u16 len || SM2 ciphertext]
    || nonce (12) || SM4-GCM(K, nonce, dek, "vaultkit sm2 wrap v1" 0x00 || associated data)

``K`` is a fresh random 16-byte key per wrap, SM2-encrypted (GM/T 0003.4, C1 || C3 || C2) to
every recipient; ``fingerprint`` is :func:`vaultkit.keys.sm2.fingerprint` of the recipient's
public key. SM2 encryption has no associated data, so the DEK itself is sealed with SM4-GCM
under ``K``, which binds the associated data. KEK versions are recipient sets:
:meth:`SM2Recipients.set_recipients` then ``rotate()`` (``ring.rotate_kek()``) rewraps for a
new set.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Mapping, Sequence
from typing import TypedDict, cast

from vaultkit._nopickle import NoPickle
from vaultkit.errors import DecryptionError, InvalidKeyError, KeyStoreError, KMSError
from vaultkit.hazmat.aead import SM4GCM
from vaultkit.hazmat.hashes import sm3
from vaultkit.keys import sm2
from vaultkit.keys._kms import KMSState, WrappedKey

__all__ = ["SM2Recipients"]

_FORMAT = 1
_AD = b"vaultkit sm2 wrap v1\x00"
_MAX_RECIPIENTS = 255


class _VersionState(TypedDict):
    version: int
    recipients: list[str]


class _State(TypedDict):
    """What :meth:`SM2Recipients.state` writes (``kind`` ``"sm2"``)."""

    kind: str
    current: int
    versions: list[_VersionState]


def _normalize(public_keys: Sequence[str]) -> list[str]:
    keys = sorted({sm2.load_public_hex(k) for k in public_keys})
    if not keys or len(keys) > _MAX_RECIPIENTS:
        raise KMSError(f"SM2Recipients needs 1 to {_MAX_RECIPIENTS} public keys")
    return keys


class SM2Recipients(NoPickle):
    """KMS over SM2 public keys: anyone with them wraps, only a private-key holder unwraps.

    ``SM2Recipients(public_keys=[...], private_key=None)``: public keys as hex (``04 || x || y``)
    — load files with :func:`vaultkit.keys.sm2.load_public_key`. With only ``private_key``
    the single recipient is its own public key. Without a private key, :meth:`unwrap` raises
    ``KMSError``: such a writer cannot open a key ring, only wrap (e.g. backup file keys).
    """

    __slots__ = ("_current", "_fingerprint", "_next", "_private", "_versions")

    def __init__(self, *, public_keys: Sequence[str] = (), private_key: str | None = None) -> None:
        self._private = None
        self._fingerprint = b""
        if private_key is not None:
            own = sm2.public_key_of(private_key)
            self._private = private_key.strip().lower()
            self._fingerprint = sm2.fingerprint(own)
            public_keys = list(public_keys) or [own]
        self._versions: dict[int, list[str]] = {1: _normalize(public_keys)}
        self._current = 1
        self._next: list[str] | None = None

    @property
    def kind(self) -> str:
        return "sm2"

    @property
    def kek_id(self) -> str:
        first = self._versions[min(self._versions)]
        return "sm2:" + sm3("".join(first).encode())[:8].hex()

    @property
    def kek_version(self) -> int:
        return self._current

    @property
    def recipients(self) -> list[str]:
        """Public keys (hex) the current version wraps for."""
        return list(self._versions[self._current])

    def initialize(self) -> None:
        self._versions = {1: self._versions[self._current]}
        self._current = 1

    @classmethod
    def from_state(cls, state: Mapping[str, object]) -> SM2Recipients:
        """Wrap-only recipients restored from a stored :meth:`state` (its current public keys):
        what a key ring needs to wrap a fresh ring key for an SM2 KEK it was not opened with."""
        doc = cast(_State, state)  # checked by load_state below
        current = next(v["recipients"] for v in doc["versions"] if v["version"] == doc["current"])
        recipients = cls(public_keys=current)
        recipients.load_state(state)
        return recipients

    def state(self) -> KMSState:
        doc: _State = {
            "kind": "sm2",
            "current": self._current,
            "versions": [
                {"version": v, "recipients": self._versions[v]} for v in sorted(self._versions)
            ],
        }
        return dict(doc)

    def load_state(self, state: Mapping[str, object]) -> None:
        doc = cast(_State, state)  # as state() wrote it; every field is checked here
        try:
            if state["kind"] != "sm2":
                raise KMSError(f"this key ring uses the {state['kind']!r} KMS, not SM2 recipients")
            versions = {int(v["version"]): _normalize(v["recipients"]) for v in doc["versions"]}
            current = doc["current"]
        except (KeyError, TypeError, ValueError, InvalidKeyError):
            raise KeyStoreError("malformed SM2 recipient parameters in the key store") from None
        if current not in versions:
            raise KeyStoreError("malformed SM2 recipient parameters in the key store")
        self._versions, self._current = versions, current

    def wrap(self, dek: bytes, *, associated_data: bytes) -> WrappedKey:
        version = self._current
        k = secrets.token_bytes(16)
        parts = [bytes([_FORMAT, len(self._versions[version])])]
        for public in self._versions[version]:
            c = sm2.encrypt(public, k)
            parts.append(sm2.fingerprint(public) + struct.pack(">H", len(c)) + c)
        nonce = secrets.token_bytes(12)
        parts.append(nonce + SM4GCM(k).encrypt(nonce, bytes(dek), _AD + associated_data))
        return WrappedKey(self.kek_id, version, b"".join(parts))

    def unwrap(self, wrapped: WrappedKey, *, associated_data: bytes) -> bytes:
        if self._private is None:
            raise KMSError("these SM2 recipients hold no private key: they wrap but cannot unwrap")
        if wrapped.kek_id != self.kek_id:
            raise KMSError("wrapped key was not made for these SM2 recipients")
        blob = wrapped.blob
        try:
            if blob[0] != _FORMAT:
                raise ValueError
            count, i, mine = blob[1], 2, None
            for _ in range(count):
                fp, (n,) = blob[i : i + 8], struct.unpack_from(">H", blob, i + 8)
                if fp == self._fingerprint:
                    mine = blob[i + 10 : i + 10 + n]
                i += 10 + n
            nonce, sealed = blob[i : i + 12], blob[i + 12 :]
            if mine is None:
                raise KMSError("this private key is not a recipient of the wrapped key")
            k = sm2.decrypt(self._private, mine)
            if len(k) != 16 or len(nonce) != 12:
                raise ValueError
            return SM4GCM(k).decrypt(nonce, sealed, _AD + associated_data)
        except (IndexError, ValueError, struct.error, DecryptionError, KMSError) as exc:
            if isinstance(exc, KMSError) and "recipient" in str(exc):
                raise
            raise KMSError("wrapped key does not unwrap with this SM2 private key") from None

    def set_recipients(self, public_keys: Sequence[str]) -> None:
        """The recipients of the next KEK version (made by :meth:`rotate`)."""
        self._next = _normalize(public_keys)

    def rotate(self) -> int:
        version = max(self._versions) + 1
        self._versions[version] = self._next or self._versions[self._current]
        self._current, self._next = version, None
        return version

    def close(self) -> None:
        self._private = None

    def __repr__(self) -> str:
        return (
            f"SM2Recipients(recipients={len(self._versions[self._current])}, "
            f"private_key={'yes' if self._private else 'no'}, kek_version={self._current})"
        )
