"""The recipes' way to the primitives: the one place that decides which implementation runs each
operation (private; the recipes import this and the public hazmat modules, never the bindings).

Decisions, per operation (docs/primitives.md, "Who runs what"):

* one AES-GCM message (``seal``/``open``): OpenSSL (cryptography's ``AESGCM``) on either backend:
  its stitched AES-NI/VAES code and the absence of a cffi call make it the fastest single call;
* one field record (``records(head, base)``: ``head || nonce || ciphertext || tag`` with AD
  ``head || ad``, ``FieldCipher``'s single fields), AES and SM4: the backend in use. Natively that
  is one C call that writes the whole record (nonce = base + counter) or opens it in place, which
  beats OpenSSL's call plus the Python around it (nonce bytes, two joins, three slices): one
  32-byte AES-256-GCM field, ``FieldCipher.seal`` 0.9-1.0 us against 1.29 us through OpenSSL,
  ``open`` 0.98 us against 1.22 us (CPU time, 2-core EPYC, Python 3.11); the reference backend
  composes the same bytes over OpenSSL;
* one SM4-GCM message, every GCM batch (``*_many``) and every flat batch (``*_flat``): the backend
  in use (the native C, or the reference over OpenSSL);
* FF1, SM3, HMAC-SM3, SM4 blocks: the backend in use; HMAC-SHA256: OpenSSL;
* token and blind-index rows: the native token area when the native backend is in use
  (:func:`native_tokens`), otherwise the recipes' pure-Python paths (same output);
* whether GCM batches run in C without the GIL (:func:`gcm_releases_gil`): the stream's choice
  of a second sealing thread;
* GCM messages sealed and opened one at a time into the caller's reused buffers
  (:func:`gcm_into`, the stream's large chunks): AES-GCM of at least 4 KiB through OpenSSL's
  ``encrypt_into``/``decrypt_into``; nothing else (batches are faster there).

The objects returned take their arguments as given (the recipes build every nonce and associated
data from checked bytes); :func:`aead` alone returns checked objects (the key layer's AEADs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes as _hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM as _OpenSSLAESGCM

from vaultkit._nopickle import NoPickle
from vaultkit.errors import UnsupportedAlgorithmError
from vaultkit.hazmat import bindings
from vaultkit.hazmat.bindings._interface import (
    BlockCipherImpl,
    Cipher,
    Ff1Digits,
    Ff1Impl,
    FlatOpened,
    FlatSealed,
    GcmImpl,
    HmacSm3Impl,
    RecordsImpl,
    Sm3Impl,
    TokenArea,
)
from vaultkit.hazmat.flat import FlatBuffer

if TYPE_CHECKING:
    from array import array

    from vaultkit.keys import Algorithm

__all__ = [
    "GCM_MAX_PLAINTEXT",
    "Aead",
    "BlockCipherImpl",
    "Cipher",
    "Ff1Impl",
    "GcmImpl",
    "HmacSm3Impl",
    "Sm3Impl",
    "TokenArea",
    "aead",
    "block_cipher",
    "ff1",
    "field_gcm",
    "gcm",
    "gcm_into",
    "gcm_releases_gil",
    "hmac_sm3",
    "items",
    "mac",
    "native_tokens",
    "sm3",
]

GCM_MAX_PLAINTEXT = (1 << 36) - 32
"""SP 800-38D 5.2.1.1: len(P) <= 2^39 - 256 bits, in bytes. The one copy of the limit."""

_TAG = 16
_INTO_FROM = 4096  # message size from which one OpenSSL call per message beats a batch call
# cryptography >= 46 seals into a caller's buffer; older ones return a new bytes per message.
_HAS_INTO = hasattr(_OpenSSLAESGCM, "encrypt_into")

# Algorithm labels (vaultkit.keys.Algorithm.label) to the block cipher under the mode.
_GCM_CIPHERS: dict[str, Cipher] = {"SM4-GCM": "SM4", "AES-256-GCM": "AES"}
_FF1_CIPHERS: dict[str, Cipher] = {"FF1-SM4": "SM4", "FF1-AES256": "AES"}


def _label(algorithm: Algorithm | str) -> str:
    return algorithm if isinstance(algorithm, str) else algorithm.label


class _AesGcm(NoPickle):
    """AES-GCM: single messages through OpenSSL; records, batches and flat batches through the
    backend (a record in one native call beats OpenSSL's call plus the joins around it)."""

    __slots__ = ("_aes", "_batch", "seal")

    def __init__(self, key: bytes) -> None:
        self._batch = bindings.gcm("AES", key)
        self._aes = _OpenSSLAESGCM(key)
        self.seal: Callable[[bytes, bytes, bytes], bytes] = self._aes.encrypt

    def __repr__(self) -> str:
        return "<AES-GCM (key hidden)>"

    def records(self, head: bytes, base: bytes = bytes(12)) -> RecordsImpl:
        return self._batch.records(head, base)

    def open(self, nonce: bytes, data: bytes, ad: bytes) -> bytes | None:
        if len(data) < _TAG:
            return None
        try:
            return self._aes.decrypt(nonce, data, ad)
        except InvalidTag:
            return None

    def seal_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]:
        if len(datas) <= 2:  # single calls cost less than a batch's set-up
            return [self.seal(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]
        return self._batch.seal_many(nonces, datas, ads)

    def open_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes | None]:
        if len(datas) <= 2:
            return [self.open(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]
        return self._batch.open_many(nonces, datas, ads)

    def seal_flat(
        self,
        nonces: bytes,
        data: bytes | bytearray,
        offsets: array[int],
        head: bytes,
        ad: bytes | bytearray,
        ad_offsets: array[int] | None,
    ) -> FlatSealed:
        return self._batch.seal_flat(nonces, data, offsets, head, ad, ad_offsets)

    def open_flat(
        self,
        data: bytes | bytearray,
        offsets: array[int],
        skip: int,
        ad: bytes | bytearray,
        ad_offsets: array[int] | None,
    ) -> FlatOpened:
        return self._batch.open_flat(data, offsets, skip, ad, ad_offsets)


def gcm(cipher: Cipher, key: bytes) -> GcmImpl:
    """GCM under ``key`` (16 bytes for SM4; 16, 24 or 32 for AES): single AES messages through
    OpenSSL, everything else on the backend in use."""
    if cipher == "AES":
        return _AesGcm(key)
    return bindings.gcm(cipher, key)


def field_gcm(algorithm: Algorithm | str, key: bytes) -> GcmImpl:
    """:func:`gcm` for a DEK algorithm: ``Algorithm.SM4_GCM`` or ``Algorithm.AES_256_GCM``."""
    try:
        cipher = _GCM_CIPHERS[_label(algorithm)]
    except KeyError:
        raise UnsupportedAlgorithmError("field encryption needs SM4-GCM or AES-256-GCM") from None
    return gcm(cipher, key)


def items(data: bytes | bytearray, offsets: array[int], width: int | None) -> list[bytes]:
    """The records of a flat batch's output (``seal_flat``/``open_flat``) as ``bytes`` each;
    ``width``: their common length when the caller knows they have one (cut in C), else None."""
    return FlatBuffer._trusted(data, offsets, width).items()


def block_cipher(cipher: Cipher, key: bytes) -> BlockCipherImpl:
    """ECB blocks on the backend in use."""
    return bindings.block_cipher(cipher, key)


def ff1(algorithm: Algorithm | str | Cipher, key: bytes, radix: int) -> Ff1Impl:
    """FF1 on the backend in use; ``algorithm`` is ``Algorithm.FF1_SM4`` / ``FF1_AES256`` (or
    its label) or the block cipher's name."""
    label = _label(algorithm)
    cipher: Cipher | None = "SM4" if label == "SM4" else "AES" if label == "AES" else None
    cipher = cipher or _FF1_CIPHERS.get(label)
    if cipher is None:
        raise UnsupportedAlgorithmError("FF1 needs FF1-SM4 or FF1-AES256")
    return bindings.ff1(cipher, key, radix)


def ff1_digits(impl: Ff1Impl) -> Ff1Digits | None:
    """The native single-call path for 2..19 decimal digits (``vk_ff1_crypt_digits``) of an FF1
    backend object, bound to its key; None on the reference backend."""
    handle = getattr(impl, "crypt_digits_handle", None)
    return None if handle is None else cast("Ff1Digits", handle())


def sm3() -> Sm3Impl:
    """SM3 on the backend in use."""
    return bindings.sm3()


def hmac_sm3(key: bytes) -> HmacSm3Impl:
    """HMAC-SM3 under ``key`` on the backend in use (single and batch digests)."""
    return bindings.hmac_sm3(key)


def native_tokens() -> TokenArea | None:
    """The native token area, or None where the extension is not built (its functions say
    whether the backend in use lets them run)."""
    return bindings.native_token()


def gcm_releases_gil(algorithm: Algorithm | str) -> bool:
    """Whether GCM batches for ``algorithm`` run in C (which releases the GIL) on the backend in
    use: only the native SM4 does; OpenSSL's AES is faster on one core than two with locking."""
    return (
        _label(algorithm) == "SM4-GCM"
        and bindings.backend() == "native"
        and "cipher" in bindings.native_areas()
    )


class GcmInto(Protocol):
    """What :func:`gcm_into` returns: one message at a time, from and into the caller's buffers.

    ``seal_into``: ``data`` sealed (ciphertext || tag) into the start of ``out`` (at least
    ``len(data) + 16`` bytes); returns the record, a view of ``out`` (or, without OpenSSL's
    ``*_into``, of a new buffer). ``open_into``: the plaintext of ``data`` in the start of ``out``
    (at least ``len(data) - 16`` bytes), or None when the tag does not verify (``out`` wiped)."""

    def seal_into(
        self, nonce: bytes, data: memoryview, ad: bytes, out: memoryview
    ) -> memoryview: ...

    def open_into(
        self, nonce: bytes, data: memoryview, ad: bytes, out: memoryview
    ) -> memoryview | None: ...


class _OpenSSLInto(NoPickle):
    """AES-GCM messages through OpenSSL (cryptography's ``AESGCM``: what both backends run for a
    single AES-GCM call) straight from and into the caller's buffers: no copy of a message or a
    record besides reading and writing it. Same bytes as the batch path (SP 800-38D GCM)."""

    __slots__ = ("_aes",)

    def __init__(self, key: bytes) -> None:
        self._aes = _OpenSSLAESGCM(key)

    def __repr__(self) -> str:
        return "<AES-GCM into buffers (key hidden)>"

    def seal_into(self, nonce: bytes, data: memoryview, ad: bytes, out: memoryview) -> memoryview:
        if not _HAS_INTO:
            return memoryview(self._aes.encrypt(nonce, data, ad))
        record = out[: len(data) + _TAG]
        self._aes.encrypt_into(nonce, data, ad, record)
        return record

    def open_into(
        self, nonce: bytes, data: memoryview, ad: bytes, out: memoryview
    ) -> memoryview | None:
        if len(data) < _TAG:
            return None
        plain = out[: len(data) - _TAG]
        try:
            if not _HAS_INTO:
                return memoryview(self._aes.decrypt(nonce, data, ad))
            self._aes.decrypt_into(nonce, data, ad, plain)
        except InvalidTag:
            plain[:] = bytes(len(plain))  # what OpenSSL wrote before the tag check failed
            return None
        return plain


def gcm_into(algorithm: Algorithm | str, key: bytes, size: int) -> GcmInto | None:
    """GCM for messages of about ``size`` bytes sealed and opened one at a time into the caller's
    buffers, where that is the fastest way: AES-256-GCM of at least 4 KiB (OpenSSL's stitched
    code, no cffi call, no copy); None otherwise (the backend's batch calls are faster: small
    messages, and SM4, whose batches run in C on both cores)."""
    if _label(algorithm) == "AES-256-GCM" and size >= _INTO_FROM:
        return _OpenSSLInto(key)
    return None


# -- the key layer's AEADs and MACs ---------------------------------------------------------------


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


def aead(algorithm: Algorithm | str, key: bytes) -> Aead:
    """A checked AEAD for ``Algorithm.SM4_GCM`` / ``"SM4-GCM"`` (16-byte key) or
    ``Algorithm.AES_256_GCM`` / ``"AES-256-GCM"`` (32-byte key): the public hazmat classes,
    which take their single and batch paths from :func:`gcm`."""
    from vaultkit.hazmat import aead as _aead  # it imports this module

    label = _label(algorithm)
    if label == "SM4-GCM":
        return _aead.SM4GCM(key)
    if label == "AES-256-GCM":
        return _aead.AES256GCM(key)
    raise UnsupportedAlgorithmError("an AEAD is SM4-GCM or AES-256-GCM")


def mac(name: str, key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 (``"SM3"``, GB/T 32905-2016 with RFC 2104) or HMAC-SHA256 (``"SHA256"``) of
    ``data`` under ``key``."""
    if name == "SM3":
        return bytes(bindings.hmac_sm3(key).digest(data))
    if name == "SHA256":
        h = _hmac.HMAC(key, _hashes.SHA256())
        h.update(data)
        return h.finalize()
    raise UnsupportedAlgorithmError("a MAC is SM3 or SHA256")
