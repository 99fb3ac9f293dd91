"""Native backend, area "ff1": NIST SP 800-38G FF1 over SM4 or AES in C (native/src/ff1.c,
declared in vk_ff1.h), on the native block ciphers (vk_cipher).

Same class and method as ``_reference_ff1``. ``crypt`` is one C call for the whole batch: the
numeral buffer as given, the lengths as a uint32 array, one output buffer. Arguments are assumed
valid (``vaultkit.hazmat.ff1.FF1`` checks lengths, numerals and the tweak); what matters for
memory safety (buffer size against the lengths) is re-checked here. Where the CPU lacks AES-NI,
``vk_ff1_new`` returns NULL for AES and :func:`make_ff1` returns the reference implementation.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vaultkit._nopickle import NoPickle
from vaultkit.hazmat.bindings import _reference_ff1, native
from vaultkit.hazmat.bindings._interface import Cipher, Ff1Digits, Ff1Impl

if TYPE_CHECKING:
    from vaultkit.hazmat.bindings._native import CData

__all__ = ["Ff1", "make_ff1"]

_ffi, _lib = native()

_crypt_one = _lib.vk_ff1_crypt_one  # in == out allowed (vk_ff1.h)
_from_buffer = _ffi.from_buffer

# vk_ff1_crypt_digits(handle, tweak, len(tweak), ascii_digits, length, decrypt): the number the
# output digits spell, or NOT_DIGITS (not 2..19 decimal digits, or radix not 10). For the hazmat
# FF1's single calls on decimal strings: no numeral translation, no output buffer in Python.
crypt_digits = _lib.vk_ff1_crypt_digits
NOT_DIGITS = 2**64 - 1
DIGITS_MAX = 19

_ALGORITHMS = {"SM4": _lib.VK_CIPHER_SM4, "AES": _lib.VK_CIPHER_AES}


class _NoAesNi(ValueError):
    """The CPU lacks AES-NI: the native FF1 cannot run AES here."""


def make_ff1(algorithm: Cipher, key: bytes, radix: int) -> Ff1Impl:
    """The native Ff1, or the reference one where the CPU cannot run it."""
    try:
        return Ff1(algorithm, key, radix)
    except _NoAesNi:
        return _reference_ff1.Ff1(algorithm, key, radix)


class Ff1(NoPickle):
    """FF1 (SP 800-38G 6.2) with the block cipher's key schedule in C memory (wiped on free)."""

    __slots__ = ("_f", "_width")
    _f: CData  # vk_ff1 *, freed (wiped) by vk_ff1_free
    _width: int

    def __init__(self, algorithm: str, key: bytes, radix: int) -> None:
        if algorithm not in _ALGORITHMS or not 2 <= radix <= 65536:
            raise ValueError("FF1 needs 'SM4' or 'AES' and a radix in 2..65536")
        if type(key) is not bytes:
            key = bytes(key)  # C gets a pointer and len(): a bytes subclass's len() may lie
        ptr = _lib.vk_ff1_new(_ALGORITHMS[algorithm], key, len(key), radix)
        if ptr == _ffi.NULL:
            if algorithm == "AES" and len(key) in (16, 24, 32):
                raise _NoAesNi("no AES-NI on this CPU")
            raise ValueError("invalid key size")
        self._f = _ffi.gc(ptr, _lib.vk_ff1_free)
        self._width = 1 if radix <= 256 else 2

    def __repr__(self) -> str:
        return "<Ff1 (native)>"

    def crypt_digits_handle(self) -> Ff1Digits:
        """``(crypt_digits, handle)``: the C call and this key's handle, for a caller that
        makes single calls on decimal strings itself (the hazmat FF1); see ``crypt_digits``."""
        return crypt_digits, self._f

    def crypt_one(self, numerals: bytes, tweak: bytes, decrypt: bool) -> bytearray:
        """``crypt`` of one value, every numeral of ``numerals``, in place in a new bytearray
        (single calls: no lengths array, no output copy, the least Python around the C call)."""
        if type(tweak) is not bytes:
            tweak = bytes(tweak)
        buf = bytearray(numerals)  # a copy whose len() is its size, whatever numerals is
        size = len(buf)
        ptr = _from_buffer(buf)
        if size % self._width or _crypt_one(
            self._f, tweak, len(tweak), ptr, ptr, size // self._width, decrypt
        ):
            raise ValueError("FF1 values need at least 2 whole numerals")
        return buf

    def crypt(self, numerals: bytes, lengths: Sequence[int], tweak: bytes, decrypt: bool) -> bytes:
        """numerals: every value's numerals concatenated (1 byte each when radix <= 256, else 2
        bytes little-endian); lengths[i]: numerals in value i. Output: same layout."""
        if type(numerals) is not bytes:
            numerals = bytes(numerals)
        if type(tweak) is not bytes:
            tweak = bytes(tweak)
        if type(lengths) is not array or lengths.typecode != "I" or lengths.itemsize != 4:
            lengths = array("I", lengths)
        size = len(numerals)
        if sum(lengths) * self._width != size:
            raise ValueError("numerals do not match the lengths")
        out = _ffi.new("uint8_t[]", size)
        rc = _lib.vk_ff1_crypt(
            self._f,
            tweak,
            len(tweak),
            numerals,
            out,
            _ffi.from_buffer("uint32_t[]", lengths),
            len(lengths),
            decrypt,
        )
        if rc:
            if min(lengths, default=2) < 2:
                raise ValueError("FF1 values need at least 2 numerals")
            raise MemoryError("FF1 work space")
        return _ffi.buffer(out, size)[:]
