"""Native backend, area "cipher": SM4 and AES blocks and GCM in C (native/src, vk_cipher.h).

Same classes and methods as ``_reference_cipher``. Arguments are assumed valid (the public
``vaultkit.hazmat`` classes check them); sizes that matter for memory safety are re-checked here
before every C call. Where the CPU lacks AES-NI, ``vk_cipher_new(VK_CIPHER_AES, ...)`` returns
NULL and the constructors return the reference implementation instead (OpenSSL), transparently.
Key schedules live in C memory, wiped by ``vk_cipher_free`` when the object is collected.
"""

from __future__ import annotations

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


# GCM: the reference implementation until the native GCM lands.
Gcm = _reference_cipher.Gcm
