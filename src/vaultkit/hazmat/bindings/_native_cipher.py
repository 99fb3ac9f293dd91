"""Native backend, area "cipher": SM4 and AES blocks and GCM in C (native/src, vk_cipher.h).

Same classes and methods as ``_reference_cipher``. Arguments are assumed valid (the public
``vaultkit.hazmat`` classes check them); sizes that matter for memory safety are re-checked here
before every C call. Where the CPU lacks AES-NI, ``vk_cipher_new(VK_CIPHER_AES, ...)`` returns
NULL and the constructors return the reference implementation instead (OpenSSL), transparently.
Key schedules live in C memory, wiped by ``vk_cipher_free`` when the object is collected.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

from vaultkit.hazmat.bindings import _reference_cipher, native

__all__ = ["BlockCipher", "Gcm"]

_ffi, _lib = native()

_ALGORITHMS = {"SM4": _lib.VK_CIPHER_SM4, "AES": _lib.VK_CIPHER_AES}
_BLOCK = 16


def _algorithm_id(algorithm: str) -> int:
    try:
        return int(_ALGORITHMS[algorithm])
    except KeyError:
        raise ValueError("algorithm must be 'SM4' or 'AES'") from None


class _NoPickle:
    """Key-holding objects refuse pickling and never show material."""

    __slots__ = ()

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self).__name__} holds key material and cannot be pickled")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} (native)>"


class BlockCipher(_NoPickle):
    """ECB over whole 16-byte blocks with a C-owned key schedule."""

    __slots__ = ("_c",)

    def __new__(cls, algorithm: str, key: bytes) -> Any:
        ptr = _lib.vk_cipher_new(_algorithm_id(algorithm), key, len(key))
        if ptr == _ffi.NULL:
            if algorithm == "AES" and len(key) in (16, 24, 32):
                return _reference_cipher.BlockCipher(algorithm, key)  # no AES-NI here
            raise ValueError("invalid key size")
        self = super().__new__(cls)
        self._c = _ffi.gc(ptr, _lib.vk_cipher_free)
        return self

    def __init__(self, algorithm: str, key: bytes) -> None:
        pass  # all done in __new__

    def encrypt_blocks(self, data: bytes) -> bytes:
        n = len(data)
        if n % _BLOCK:
            raise ValueError("data must be a whole number of 16-byte blocks")
        out = _ffi.new("uint8_t[]", n)
        _lib.vk_cipher_encrypt_blocks(self._c, data, out, n // _BLOCK)
        return _ffi.buffer(out, n)[:]

    def decrypt_blocks(self, data: bytes) -> bytes:
        n = len(data)
        if n % _BLOCK:
            raise ValueError("data must be a whole number of 16-byte blocks")
        out = _ffi.new("uint8_t[]", n)
        _lib.vk_cipher_decrypt_blocks(self._c, data, out, n // _BLOCK)
        return _ffi.buffer(out, n)[:]


_TAG = 16
_NONCE = 12
_MAX_FIELD = 0xFFFFFFFF  # the batch calls take uint32 lengths


def _lengths(items: Sequence[bytes], name: str) -> Any:
    """uint32 array of the lengths of items (the batch calls' layout)."""
    lens = array("I", map(len, items))
    if lens.itemsize != 4:  # pragma: no cover - every supported platform has a 32-bit int
        lens = array("L", lens)
    if len(lens) and max(lens) > _MAX_FIELD:
        raise ValueError(f"a {name} is too long for the batch call")
    return lens


class Gcm(_NoPickle):
    """NIST SP 800-38D GCM, 12-byte nonces, 16-byte tags; sealed output is ciphertext || tag.

    The batch methods make one C call for all fields: the inputs are joined into flat buffers
    with uint32 length arrays, the output is one buffer sliced per field.
    """

    __slots__ = ("_g",)

    def __new__(cls, algorithm: str, key: bytes) -> Any:
        ptr = _lib.vk_gcm_new(_algorithm_id(algorithm), key, len(key))
        if ptr == _ffi.NULL:
            if algorithm == "AES" and len(key) in (16, 24, 32):
                return _reference_cipher.Gcm(algorithm, key)  # no AES-NI here
            raise ValueError("invalid key size")
        self = super().__new__(cls)
        self._g = _ffi.gc(ptr, _lib.vk_gcm_free)
        return self

    def __init__(self, algorithm: str, key: bytes) -> None:
        pass  # all done in __new__

    def seal(self, nonce: bytes, data: bytes, ad: bytes) -> bytes:
        if len(nonce) != _NONCE:
            raise ValueError("nonce must be 12 bytes")
        n = len(data)
        out = _ffi.new("uint8_t[]", n + _TAG)
        _lib.vk_gcm_seal(self._g, nonce, data, n, ad, len(ad), out)
        return _ffi.buffer(out, n + _TAG)[:]

    def open(self, nonce: bytes, data: bytes, ad: bytes) -> bytes | None:
        if len(nonce) != _NONCE:
            raise ValueError("nonce must be 12 bytes")
        n = len(data)
        if n < _TAG:
            return None
        out = _ffi.new("uint8_t[]", n - _TAG)
        if _lib.vk_gcm_open(self._g, nonce, data, n, ad, len(ad), out) != 0:
            return None
        return _ffi.buffer(out, n - _TAG)[:]

    def _batch(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> tuple[int, bytes, bytes, Any, bytes, Any]:
        count = len(datas)
        if len(nonces) != count or len(ads) != count:
            raise ValueError("nonces, datas and ads must have the same length")
        flat_nonces = b"".join(nonces)
        if len(flat_nonces) != _NONCE * count or any(len(x) != _NONCE for x in nonces):
            raise ValueError("every nonce must be 12 bytes")
        return (
            count,
            flat_nonces,
            b"".join(datas),
            _lengths(datas, "field"),
            b"".join(ads),
            _lengths(ads, "associated data"),
        )

    def seal_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]:
        count, flat_nonces, flat, lens, flat_ads, ad_lens = self._batch(nonces, datas, ads)
        if count == 0:
            return []
        total = len(flat) + _TAG * count
        out = _ffi.new("uint8_t[]", total)
        _lib.vk_gcm_seal_many(
            self._g, count, flat_nonces, flat, _ffi.from_buffer("uint32_t[]", lens),
            flat_ads, _ffi.from_buffer("uint32_t[]", ad_lens), out,
        )
        buf = _ffi.buffer(out, total)[:]
        result = []
        pos = 0
        for n in lens:
            end = pos + n + _TAG
            result.append(buf[pos:end])
            pos = end
        return result

    def open_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes | None]:
        count, flat_nonces, flat, lens, flat_ads, ad_lens = self._batch(nonces, datas, ads)
        if count == 0:
            return []
        total = sum(n - _TAG for n in lens if n >= _TAG)
        out = _ffi.new("uint8_t[]", max(total, 1))
        ok = _ffi.new("uint8_t[]", count)
        _lib.vk_gcm_open_many(
            self._g, count, flat_nonces, flat, _ffi.from_buffer("uint32_t[]", lens),
            flat_ads, _ffi.from_buffer("uint32_t[]", ad_lens), out, ok,
        )
        buf = _ffi.buffer(out, total)[:]
        verdicts = _ffi.buffer(ok, count)[:]
        result: list[bytes | None] = []
        pos = 0
        for n, good in zip(lens, verdicts):
            if n < _TAG:
                result.append(None)
                continue
            end = pos + n - _TAG
            result.append(buf[pos:end] if good else None)
            pos = end
        return result
