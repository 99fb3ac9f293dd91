"""Authenticated encryption with explicit keys and nonces.

Hazmat: the caller chooses every nonce. Reusing a (key, nonce) pair with GCM or CCM reveals the
XOR of the plaintexts and lets anyone forge tags under that key; the recipes (``vaultkit.Vault``,
``vaultkit.stream``) choose nonces for you. ``AESSIV`` is deterministic and takes no nonce.

Every class follows cryptography's AEAD classes: ``encrypt(nonce, data, associated_data)``
returns ciphertext || tag, ``decrypt`` returns the plaintext or raises the opaque
:class:`~vaultkit.errors.DecryptionError`. ``associated_data`` may be ``None`` (empty).
The ``*_many`` forms take equal-length lists; ``decrypt_many`` raises ``DecryptionError`` (its
``where`` names the first failing index) when any item fails, and returns nothing in that case.
The GCM classes also have flat forms, ``encrypt_flat``/``decrypt_flat``: the batch in one
:class:`~vaultkit.hazmat.flat.FlatBuffer` in and one out, records ``nonce || ciphertext || tag``
(after an optional fixed head), with no per-item objects on the way.

Errors: a key of the wrong size raises ``InvalidKeyError``; a nonce of a size the class does not
accept raises ``UnsupportedAlgorithmError`` (a ``ValueError``); non-bytes raise
``VaultkitTypeError``.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import ClassVar, Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV as _CryptographyAESSIV

from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
    UnsupportedAlgorithmError,
    VaultkitTypeError,
)
from vaultkit.hazmat import _fast
from vaultkit.hazmat._args import SecretHolder, require_bytes, require_bytes_list, require_key
from vaultkit.hazmat._ccm import Ccm
from vaultkit.hazmat.flat import FlatBuffer

__all__ = ["AES256GCM", "AESGCM", "AESSIV", "SM4CCM", "SM4GCM", "TAG_SIZE"]

TAG_SIZE = 16


class _Impl(Protocol):
    """What a nonce-based AEAD runs on: ``_fast.gcm``'s objects or :class:`~._ccm.Ccm`."""

    def seal(self, nonce: bytes, data: bytes, ad: bytes) -> bytes: ...

    def open(self, nonce: bytes, data: bytes, ad: bytes) -> bytes | None: ...

    def seal_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]: ...

    def open_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes | None]: ...


class _NonceAead(SecretHolder):
    """Shared argument checks and batch loops; subclasses provide ``_impl`` (seal/open)."""

    __slots__ = ("_impl",)
    _NAME: ClassVar[str]
    _NONCE_SIZES: ClassVar[tuple[int, ...]]
    _MAX_DATA: ClassVar[int] = 1 << 62
    _impl: _Impl

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None = None) -> bytes:
        """Ciphertext || tag of ``data``, authenticating ``associated_data`` too."""
        n, d, a = self._checked(nonce, data, associated_data)
        out = self._impl.seal(n, d, a)
        return out if type(out) is bytes else bytes(out)

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None = None) -> bytes:
        """The plaintext; ``DecryptionError`` when the tag does not verify."""
        n, d, a = self._checked(nonce, data, associated_data)
        out = self._impl.open(n, d, a)
        if out is None:
            raise DecryptionError()
        return out if type(out) is bytes else bytes(out)

    def encrypt_many(
        self,
        nonces: Sequence[bytes],
        datas: Sequence[bytes],
        associated_datas: Sequence[bytes] | None = None,
    ) -> list[bytes]:
        """``encrypt`` of each (nonce, data, associated data) triple, in one backend call."""
        ns, ds, ads = self._checked_many(nonces, datas, associated_datas)
        out = self._impl.seal_many(ns, ds, ads)
        return out if type(out) is list else list(out)

    def decrypt_many(
        self,
        nonces: Sequence[bytes],
        datas: Sequence[bytes],
        associated_datas: Sequence[bytes] | None = None,
    ) -> list[bytes]:
        """``decrypt`` of each triple; ``DecryptionError`` if any item fails."""
        ns, ds, ads = self._checked_many(nonces, datas, associated_datas)
        out = self._impl.open_many(ns, ds, ads)
        if None in out:
            raise DecryptionError(f"item {out.index(None)}")
        return cast("list[bytes]", out)  # no None left

    def _check_lengths(self, nonce_lengths: set[int], data_lengths: set[int]) -> None:
        """Raise for any nonce or data length the class refuses."""
        if not nonce_lengths <= set(self._NONCE_SIZES):
            sizes = ", ".join(str(s) for s in self._NONCE_SIZES)
            raise UnsupportedAlgorithmError(f"{self._NAME} nonce must be {sizes} bytes")
        if data_lengths and max(data_lengths) > self._MAX_DATA:
            raise InputFormatError(f"{self._NAME} data is at most {self._MAX_DATA} bytes")

    def _checked(self, nonce: object, data: object, ad: object) -> tuple[bytes, bytes, bytes]:
        if (
            type(nonce) is bytes
            and type(data) is bytes
            and (ad is None or type(ad) is bytes)
            and len(nonce) in self._NONCE_SIZES
            and len(data) <= self._MAX_DATA
        ):
            return nonce, data, ad or b""  # the common case, in as few steps as possible
        n, d = require_bytes("nonce", nonce), require_bytes("data", data)
        self._check_lengths({len(n)}, {len(d)})
        return n, d, b"" if ad is None else require_bytes("associated_data", ad)

    def _checked_many(
        self, nonces: object, datas: object, ads: object
    ) -> tuple[list[bytes], list[bytes], list[bytes]]:
        # set(map(...)) keeps the per-item checks in C: they are on the batch's critical path
        ds = require_bytes_list("datas", datas)
        ns = require_bytes_list("nonces", nonces, len(ds))
        self._check_lengths(set(map(len, ns)), set(map(len, ds)))
        if ads is None:
            return ns, ds, [b""] * len(ds)
        return ns, ds, require_bytes_list("associated_datas", ads, len(ds))


class _Gcm(_NonceAead):
    """GCM (NIST SP 800-38D) with 12-byte nonces and 16-byte tags."""

    __slots__ = ()
    _NONCE_SIZES = (12,)
    _MAX_DATA = _fast.GCM_MAX_PLAINTEXT
    _ALGORITHM: ClassVar[_fast.Cipher]
    _KEY_SIZES: ClassVar[tuple[int, ...]]

    _impl: _fast.GcmImpl

    def __init__(self, key: bytes) -> None:
        material = require_key(key, self._KEY_SIZES, self._NAME)
        self._impl = _fast.gcm(self._ALGORITHM, material)

    def encrypt_flat(
        self,
        nonces: bytes,
        plaintexts: FlatBuffer,
        associated_data: bytes | FlatBuffer | None = None,
        *,
        head: bytes = b"",
    ) -> FlatBuffer:
        """Every plaintext sealed in one call: record ``i`` of the result is ``head || nonce i ||
        ciphertext i || tag i`` (``head``: the same bytes before every record, for example a
        format header; it is not authenticated unless it is in the associated data).

        ``nonces``: 12 bytes per plaintext, concatenated. ``associated_data``: one for every
        item (bytes or None) or one per item (a FlatBuffer of as many items)."""
        n = require_bytes("nonces", nonces)
        data = _flat("plaintexts", plaintexts)
        ad, ad_offsets = _flat_ad(associated_data, len(data))
        hd = require_bytes("head", head)
        if len(n) != 12 * len(data):
            raise UnsupportedAlgorithmError(f"{self._NAME} needs 12 nonce bytes per item")
        if data.offsets[-1] - data.offsets[0] > self._MAX_DATA:  # some item may be too long
            self._check_lengths({12}, set(map(len, data.items())))
        out, offsets = self._impl.seal_flat(n, data.data, data.offsets, hd, ad, ad_offsets)
        width = None if data.width is None else data.width + len(hd) + 28
        return FlatBuffer._trusted(out, offsets, width)

    def decrypt_flat(
        self,
        records: FlatBuffer,
        associated_data: bytes | FlatBuffer | None = None,
        *,
        skip: int = 0,
    ) -> FlatBuffer:
        """The plaintexts of records ``skip bytes || nonce (12) || ciphertext || tag (16)``, in
        one call (the ``skip`` bytes are not read: bind them through the associated data).
        ``DecryptionError`` naming the first failing item if any tag does not verify;
        ``InputFormatError`` if a record is shorter than ``skip + 28`` bytes."""
        data = _flat("records", records)
        ad, ad_offsets = _flat_ad(associated_data, len(data))
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            raise VaultkitTypeError("skip must be an int >= 0")
        plain, offsets, failed = self._impl.open_flat(data.data, data.offsets, skip, ad, ad_offsets)
        if failed is not None:
            raise DecryptionError(f"item {failed}")
        width = None if data.width is None else data.width - skip - 28
        return FlatBuffer._trusted(plain, offsets, width)


class SM4GCM(_Gcm):
    """SM4-GCM (RFC 8998; GCM of SP 800-38D over SM4): 16-byte key, 12-byte nonce."""

    __slots__ = ()
    _NAME = "SM4-GCM"
    _ALGORITHM = "SM4"
    _KEY_SIZES = (16,)


class AES256GCM(_Gcm):
    """AES-256-GCM (SP 800-38D): 32-byte key, 12-byte nonce."""

    __slots__ = ()
    _NAME = "AES-256-GCM"
    _ALGORITHM = "AES"
    _KEY_SIZES = (32,)


class AESGCM(_Gcm):
    """AES-GCM with a 16-, 24- or 32-byte key and a 12-byte nonce (interoperability, tests)."""

    __slots__ = ()
    _NAME = "AES-GCM"
    _ALGORITHM = "AES"
    _KEY_SIZES = (16, 24, 32)


class SM4CCM(_NonceAead):
    """SM4-CCM (RFC 8998; CCM of SP 800-38C over SM4): 16-byte key, 7- to 13-byte nonce
    (12 recommended), ``tag_length`` 4, 6, 8, 10, 12, 14 or 16 bytes (default 16)."""

    __slots__ = ()
    _NAME = "SM4-CCM"
    _NONCE_SIZES = (7, 8, 9, 10, 11, 12, 13)
    _impl: Ccm

    def __init__(self, key: bytes, *, tag_length: int = TAG_SIZE) -> None:
        material = require_key(key, (16,), self._NAME)
        if tag_length not in (4, 6, 8, 10, 12, 14, 16):
            raise UnsupportedAlgorithmError("SM4-CCM tag length must be 4, 6, ..., 16 bytes")
        self._impl = Ccm(_fast.block_cipher("SM4", material), tag_length)

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None = None) -> bytes:
        """The plaintext; ``DecryptionError`` when the tag does not verify."""
        n, d, a = super()._checked(nonce, data, associated_data)
        _ccm_length(n, len(d) - self._tag_length())  # the limit is on the plaintext
        out = self._impl.open(n, d, a)
        if out is None:
            raise DecryptionError()
        return bytes(out)

    def decrypt_many(
        self,
        nonces: Sequence[bytes],
        datas: Sequence[bytes],
        associated_datas: Sequence[bytes] | None = None,
    ) -> list[bytes]:
        """``decrypt`` of each triple; ``DecryptionError`` if any item fails."""
        ns, ds, ads = super()._checked_many(nonces, datas, associated_datas)
        tag = self._tag_length()
        for n, d in zip(ns, ds, strict=True):
            _ccm_length(n, len(d) - tag)
        out = self._impl.open_many(ns, ds, ads)
        if None in out:
            raise DecryptionError(f"item {out.index(None)}")
        return cast("list[bytes]", out)  # no None left

    def _tag_length(self) -> int:
        return self._impl.tag_length

    def _checked(self, nonce: object, data: object, ad: object) -> tuple[bytes, bytes, bytes]:
        n, d, a = super()._checked(nonce, data, ad)
        _ccm_length(n, len(d))
        return n, d, a

    def _checked_many(
        self, nonces: object, datas: object, ads: object
    ) -> tuple[list[bytes], list[bytes], list[bytes]]:
        ns, ds, a = super()._checked_many(nonces, datas, ads)
        for n, d in zip(ns, ds, strict=True):
            _ccm_length(n, len(d))
        return ns, ds, a


def _flat(name: str, value: object) -> FlatBuffer:
    if not isinstance(value, FlatBuffer):
        raise VaultkitTypeError(f"{name} must be a FlatBuffer")
    return value


def _flat_ad(ad: object, count: int) -> tuple[bytes | bytearray, array[int] | None]:
    """One associated data for all items, or a FlatBuffer's buffer and offsets (count items)."""
    if ad is None:
        return b"", None
    if isinstance(ad, FlatBuffer):
        if len(ad) != count:
            raise VaultkitTypeError(f"associated_data has {len(ad)} items, expected {count}")
        return ad.data, ad.offsets
    return require_bytes("associated_data", ad), None


def _ccm_length(nonce: bytes, plaintext_length: int) -> None:
    # SP 800-38C A.1: Plen < 2^(8q), q = 15 - n
    if plaintext_length >= 1 << (8 * (15 - len(nonce))):
        raise InputFormatError("CCM data too long for this nonce length")


class AESSIV(SecretHolder):
    """Deterministic authenticated encryption: AES-SIV (RFC 5297), via cryptography.

    Its own type because it is deterministic: equal (data, associated data) give equal
    ciphertexts, which reveals equality and nothing else. Key: 32, 48 or 64 bytes (two AES keys).
    ``associated_data`` is the RFC 5297 vector of strings (a list of byte strings, or one byte
    string); a nonce, when wanted, is passed as its last component (RFC 5297 section 3).
    Output: the 16-byte synthetic IV || ciphertext.
    """

    __slots__ = ("_siv",)

    def __init__(self, key: bytes) -> None:
        self._siv = _CryptographyAESSIV(require_key(key, (32, 48, 64), "AES-SIV"))

    def encrypt(self, data: bytes, associated_data: Sequence[bytes] | bytes | None = None) -> bytes:
        return self._siv.encrypt(require_bytes("data", data), _components(associated_data))

    def decrypt(self, data: bytes, associated_data: Sequence[bytes] | bytes | None = None) -> bytes:
        try:
            return self._siv.decrypt(require_bytes("data", data), _components(associated_data))
        except InvalidTag:
            raise DecryptionError() from None


def _components(ad: object) -> list[bytes] | None:
    if ad is None:
        return None
    if isinstance(ad, bytes | bytearray | memoryview):
        return [bytes(ad)]
    return require_bytes_list("associated_data", ad)
