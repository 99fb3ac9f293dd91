"""Native backend, area "hash": SM3 (GB/T 32905-2016) and HMAC-SM3 (GM/T 0042-2015, RFC 2104)
in C (native/src/sm3.c, hmac_sm3.c; declared in vk_hash.h).

Same classes and methods as ``_reference_hash``. A batch is one C call: the messages joined into
one buffer, their lengths in one uint64 array, the digests written into one output buffer and
split with one struct call per 4096 digests. With AVX-512 (AVX2) the C side hashes 16 (8)
messages at a time. HMAC keys live in C memory as the two chaining values after K0 ^ ipad and
K0 ^ opad, wiped by ``vk_hmac_sm3_free`` when the object is collected.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vaultkit._nopickle import NoPickle
from vaultkit.errors import InputFormatError
from vaultkit.hazmat.bindings import native

if TYPE_CHECKING:
    from vaultkit.hazmat.bindings._native import CData

__all__ = ["HmacSm3", "Sm3"]

_ffi, _lib = native()

_DIGEST = 32
_GROUP = 4096
_new_uncleared = _ffi.new_allocator(should_clear_after_alloc=False)  # C writes every byte
_SPLIT_GROUP = struct.Struct(f"{_GROUP * '32s'}")


def _lengths(datas: Sequence[bytes], flat: bytes) -> CData:
    lens = array("Q", map(len, datas))
    if sum(lens) != len(flat):  # a non-bytes item joined differently: never trust it for memory
        raise TypeError("every message must be bytes")
    return _ffi.from_buffer("uint64_t[]", lens)


def _split(out: CData, count: int) -> list[bytes]:
    """count 32-byte digests from the C output buffer, as separate bytes objects: one struct
    call per 4096, each tuple appended to the list at once."""
    view = memoryview(_ffi.buffer(out))  # read without copying
    full = count - count % _GROUP
    digests: list[bytes] = []
    for off in range(0, full * _DIGEST, _GROUP * _DIGEST):
        digests += _SPLIT_GROUP.unpack_from(view, off)
    digests += struct.unpack_from(f"{(count - full) * '32s'}", view, full * _DIGEST)
    return digests


class Sm3:
    __slots__ = ()

    def digest(self, data: bytes) -> bytes:
        if type(data) is not bytes:
            data = bytes(data)
        out = _ffi.new("uint8_t[32]")
        _lib.vk_sm3_digest(data, len(data), out)
        return _ffi.buffer(out)[:]

    def digest_many(self, datas: Sequence[bytes]) -> list[bytes]:
        count = len(datas)
        if not count:
            return []
        flat = b"".join(datas)
        lens = _lengths(datas, flat)
        out = _new_uncleared("uint8_t[]", count * _DIGEST)
        _lib.vk_sm3_digest_many(flat, lens, count, out)
        return _split(out, count)


class HmacSm3(NoPickle):
    """HMAC-SM3 with the keyed chaining values precomputed in C."""

    __slots__ = ("_h",)
    _h: CData  # vk_hmac_sm3 *, freed (wiped) by vk_hmac_sm3_free

    def __init__(self, key: bytes) -> None:
        key = bytes(key)
        ptr = _lib.vk_hmac_sm3_new(key, len(key))
        if ptr == _ffi.NULL:
            raise MemoryError("HMAC-SM3 key")
        self._h = _ffi.gc(ptr, _lib.vk_hmac_sm3_free)

    def __repr__(self) -> str:
        return "<HmacSm3 (native)>"

    def digest(self, data: bytes) -> bytes:
        if type(data) is not bytes:
            data = bytes(data)
        out = _ffi.new("uint8_t[32]")
        _lib.vk_hmac_sm3_digest(self._h, data, len(data), out)
        return _ffi.buffer(out)[:]

    def digest_many(self, datas: Sequence[bytes]) -> list[bytes]:
        count = len(datas)
        if not count:
            return []
        flat = b"".join(datas)
        lens = _lengths(datas, flat)
        out = _new_uncleared("uint8_t[]", count * _DIGEST)
        _lib.vk_hmac_sm3_digest_many(self._h, flat, lens, count, out)
        return _split(out, count)

    def digest_flat(
        self, data: bytes, offsets: array[int], size: int = 32, last_mask: int = 0xFF
    ) -> bytes:
        """One C call (``vk_hmac_sm3_flat``), which checks the offsets against ``data``."""
        if type(data) is not bytes:
            data = bytes(data)
        if type(offsets) is not array or offsets.typecode != "Q" or len(offsets) < 1:
            raise InputFormatError("flat batch offsets are an array('Q') of count + 1 entries")
        if not 1 <= size <= _DIGEST or not 0 <= last_mask <= 0xFF:
            raise ValueError("size in 1..32 and last_mask in 0..255")
        count = len(offsets) - 1
        out = _new_uncleared("uint8_t[]", count * size)
        offs = _ffi.from_buffer("uint64_t[]", offsets)
        rc = _lib.vk_hmac_sm3_flat(self._h, count, data, len(data), offs, 0, 0, out, size,
                                   last_mask)  # fmt: skip
        if rc == -1:
            raise InputFormatError(_BAD_OFFSETS)
        if rc:
            raise MemoryError("HMAC-SM3 flat batch")
        return _ffi.buffer(out)[:]


_BAD_OFFSETS = "flat batch offsets must be count + 1 non-decreasing positions inside data"
