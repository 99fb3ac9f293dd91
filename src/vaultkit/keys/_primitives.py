"""Dispatch from the key layer's algorithm labels to :mod:`vaultkit.hazmat` primitives.

``aead(label, key)``: SM4-GCM (16-byte key) or AES-256-GCM (32-byte key) objects with
``encrypt/decrypt(_many)``; ``mac(name, key, data)``: HMAC-SM3 (GB/T 32905-2016 with RFC 2104)
for ``"SM3"``, HMAC-SHA256 for ``"SHA256"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultkit._nopickle import NoPickle
from vaultkit.errors import DecryptionError
from vaultkit.hazmat import aead as _aead
from vaultkit.hazmat import hashes as _hashes

__all__ = ["Aead", "aead", "mac"]


class Aead(Protocol):
    """What :func:`aead` returns: cryptography's AEAD interface (``encrypt/decrypt(nonce, data,
    ad)``, positional; a tag that does not verify raises ``DecryptionError``) and its batch
    forms."""

    def encrypt(self, nonce: bytes, data: bytes, ad: bytes, /) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, ad: bytes, /) -> bytes: ...

    def encrypt_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes], /
    ) -> list[bytes]: ...

    def decrypt_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes], /
    ) -> list[bytes]: ...


class _AesGcm(NoPickle):
    """AES-256-GCM: single calls through OpenSSL (cryptography's AESGCM, ~0.5 us for a small
    field), batches through :class:`vaultkit.hazmat.aead.AES256GCM` (one native call)."""

    __slots__ = ("_batch", "_single", "encrypt", "open_single")

    def __init__(self, key: bytes) -> None:
        self._batch = _aead.AES256GCM(key)
        self._single = AESGCM(key)
        self.encrypt = self._single.encrypt  # (nonce, data, ad) -> ciphertext || tag
        # (nonce, ciphertext || tag, ad) -> plaintext; raises cryptography's InvalidTag (for a
        # caller that maps it itself without a Python frame in between: FieldCipher.open)
        self.open_single = self._single.decrypt

    def decrypt(self, nonce: bytes, data: bytes, ad: bytes) -> bytes:
        try:
            return self._single.decrypt(nonce, data, ad)
        except InvalidTag:
            raise DecryptionError() from None

    def encrypt_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]:
        return self._batch.encrypt_many(nonces, datas, ads)

    def decrypt_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]:
        return self._batch.decrypt_many(nonces, datas, ads)


_AEADS: dict[str, Callable[[bytes], Aead]] = {"SM4-GCM": _aead.SM4GCM, "AES-256-GCM": _AesGcm}
_MACS = {"SM3": _hashes.hmac_sm3, "SHA256": _hashes.hmac_sha256}


def aes256gcm(key: bytes) -> _AesGcm:
    """``aead("AES-256-GCM", key)`` with its type (``open_single`` for FieldCipher)."""
    return _AesGcm(key)


def aead(label: str, key: bytes) -> Aead:
    """An AEAD object for ``"SM4-GCM"`` or ``"AES-256-GCM"``."""
    return _AEADS[label](key)


def mac(name: str, key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 (``"SM3"``) or HMAC-SHA256 (``"SHA256"``) of ``data`` under ``key``."""
    return bytes(_MACS[name](key, data))
