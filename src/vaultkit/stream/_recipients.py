"""Who can open a stream: recipients wrap the file key into a header stanza, identities unwrap.

Two kinds (wire byte in :class:`~vaultkit.stream._format.RecipientKind`):

* ``KMS`` (0x01): the file key wrapped by a key-ring KEK through the ring's KMS, with the header
  core as associated data. Stanza id: the wrapped key's KEK reference (see :class:`KMSRecipient`).
* ``SM2`` (0x02): the file key encrypted to an SM2 public key (GM/T 0003.4, ``C1 || C3 || C2``
  by :mod:`vaultkit.keys.sm2`). Stanza id: :func:`vaultkit.keys.sm2.fingerprint` (first 8 bytes
  of SM3 over the 65-byte ``04 || x || y``), so a reader tries only its own stanzas.

* ``RING`` (0x03): the file key wrapped for a key ring as a whole, so any of its KEKs (a
  passphrase, a key file, a token, an SM2 recipient) reads the stream (see
  :class:`RingRecipient`). Written whenever a stream's ``vault`` is a key ring or a Vault; a
  ``KMS`` stanza only reaches the one KEK that wrote it, and is still read.

SM2 encryption has no associated data: an SM2 stanza is bound to its file by the key commitment
and the header MAC (a file key that does not reproduce both is refused), not by the wrap itself.
"""

from __future__ import annotations

import secrets
import struct
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vaultkit._nopickle import NoPickle
from vaultkit.errors import DecryptionError, VaultkitError
from vaultkit.hazmat import _fast
from vaultkit.keys import KMS, WrappedKey, sm2
from vaultkit.stream._format import RecipientKind, Stanza

if TYPE_CHECKING:
    from vaultkit.keys import KeyRing

__all__ = [
    "Identity",
    "KMSRecipient",
    "Recipient",
    "RingRecipient",
    "SM2Identity",
    "SM2Recipient",
    "wrap_ad",
]

_WRAP_AD = b"vaultkit stream v1 file key"
_RING_AD = b"vaultkit stream v1 ring file key\x00"
_RING_ID = struct.Struct(">I16s")  # ring key epoch, ring id
_NONCE = 12


def wrap_ad(core: bytes) -> bytes:
    """Associated data of a KMS wrap: a label and the 49-byte header core."""
    return _WRAP_AD + core


@runtime_checkable
class Recipient(Protocol):
    """Can wrap a file key (writers need nothing secret for SM2 recipients)."""

    def wrap_file_key(self, file_key: bytes, *, core: bytes) -> Stanza: ...


@runtime_checkable
class Identity(Protocol):
    """Can unwrap the stanzas addressed to it; ``None`` for stanzas that are not its own or do
    not unwrap (the caller tries the next one and fails opaquely when none works)."""

    def unwrap_file_key(self, stanza: Stanza, *, core: bytes) -> bytes | None: ...


class SM2Recipient:
    """An SM2 public key (hex ``04 || x || y``, or ``x || y``)."""

    __slots__ = ("_id", "_public")

    def __init__(self, public_key: str) -> None:
        self._public = sm2.load_public_hex(public_key)  # checks it is a point of the curve
        self._id = sm2.fingerprint(self._public)

    def wrap_file_key(self, file_key: bytes, *, core: bytes) -> Stanza:
        return Stanza(RecipientKind.SM2, self._id, sm2.encrypt(self._public, file_key))

    def __repr__(self) -> str:
        return f"SM2Recipient(fingerprint={self._id.hex()})"


class SM2Identity(NoPickle):
    """An SM2 private key (64 hex digits): opens the SM2 stanzas addressed to its public key."""

    __slots__ = ("_id", "_private")

    def __init__(self, private_key: str) -> None:
        self._id = sm2.fingerprint(sm2.public_key_of(private_key))  # checks the key
        self._private = private_key

    def unwrap_file_key(self, stanza: Stanza, *, core: bytes) -> bytes | None:
        if stanza.kind != RecipientKind.SM2 or stanza.key_id != self._id:
            return None
        try:
            return sm2.decrypt(self._private, stanza.wrapped)
        except VaultkitError:  # does not decrypt: not openable by this key
            return None

    def __repr__(self) -> str:
        return "<SM2Identity (key hidden)>"


class KMSRecipient:
    """A key-ring KEK reached through a KMS (``vaultkit.keys.KMS``): recipient and identity.

    Stanza id: KEK version (uint32 big-endian) || KEK chain id (UTF-8); wrapped: the KMS blob.
    Wraps with the KMS's current KEK version; unwraps with any version the KMS still has.
    """

    __slots__ = ("_kms",)

    def __init__(self, kms: KMS) -> None:
        self._kms = kms

    def wrap_file_key(self, file_key: bytes, *, core: bytes) -> Stanza:
        wrapped = self._kms.wrap(file_key, associated_data=wrap_ad(core))
        key_id = wrapped.kek_version.to_bytes(4, "big") + wrapped.kek_id.encode("utf-8")
        return Stanza(RecipientKind.KMS, key_id, wrapped.blob)

    def unwrap_file_key(self, stanza: Stanza, *, core: bytes) -> bytes | None:
        if stanza.kind != RecipientKind.KMS or len(stanza.key_id) < 4:
            return None
        try:
            kek_id = stanza.key_id[4:].decode("utf-8")
        except UnicodeDecodeError:
            return None
        if kek_id != self._kms.kek_id:
            return None
        version = int.from_bytes(stanza.key_id[:4], "big")
        try:
            return self._kms.unwrap(
                WrappedKey(kek_id, version, stanza.wrapped), associated_data=wrap_ad(core)
            )
        except VaultkitError:  # KMSError, DecryptionError: not openable here
            return None

    def __repr__(self) -> str:
        return f"KMSRecipient(kek_id={self._kms.kek_id!r})"


class RingRecipient(NoPickle):
    """A key ring as a stream recipient and identity, whichever KEK opened it.

    Stanza id: ring key epoch (uint32 big-endian) || ring id (16 bytes). Wrapped: ``nonce (12)
    || SM4-GCM(SK, nonce, file key, AD)`` with ``AD = "vaultkit stream v1 ring file key\\0" ||
    id || header core`` and ``SK`` the ring's stream key of that epoch (derived from the ring
    key; the store keeps earlier epochs' stream keys under the current ring key, so a stream
    stays readable after KEK rotations). A format 1 store (no ring key) writes a ``KMS`` stanza
    instead.
    """

    __slots__ = ("_ring",)

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    def wrap_file_key(self, file_key: bytes, *, core: bytes) -> Stanza:
        found = self._ring._stream_key()
        if found is None:  # a format 1 store: its KMS is the only way in
            return KMSRecipient(self._ring.kms).wrap_file_key(file_key, core=core)
        epoch, key = found
        key_id = _RING_ID.pack(epoch, bytes.fromhex(self._ring.ring_id))
        nonce = secrets.token_bytes(_NONCE)
        sealed = _fast.aead("SM4-GCM", key).encrypt(nonce, file_key, _RING_AD + key_id + core)
        return Stanza(RecipientKind.RING, key_id, nonce + sealed)

    def unwrap_file_key(self, stanza: Stanza, *, core: bytes) -> bytes | None:
        if stanza.kind != RecipientKind.RING or len(stanza.key_id) != _RING_ID.size:
            return None
        epoch, ring_id = _RING_ID.unpack(stanza.key_id)
        if ring_id.hex() != self._ring.ring_id or len(stanza.wrapped) < _NONCE + 16:
            return None
        try:
            found = self._ring._stream_key(epoch)
        except VaultkitError:
            return None
        if found is None:
            return None
        nonce, sealed = stanza.wrapped[:_NONCE], stanza.wrapped[_NONCE:]
        try:
            return bytes(
                _fast.aead("SM4-GCM", found[1]).decrypt(
                    nonce, sealed, _RING_AD + stanza.key_id + core
                )
            )
        except DecryptionError:
            return None

    def __repr__(self) -> str:
        return f"RingRecipient(ring_id={self._ring.ring_id})"
