"""Reference backend, area "hash": SM3 (GB/T 32905-2016) and HMAC-SM3 (GM/T 0042-2015,
RFC 2104) over cryptography/OpenSSL."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import pairwise

from cryptography.hazmat.primitives import hashes, hmac

from vaultkit.errors import InputFormatError

__all__ = ["HmacSm3", "Sm3"]


class Sm3:
    __slots__ = ()

    def digest(self, data: bytes) -> bytes:
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize()

    def digest_many(self, datas: Sequence[bytes]) -> list[bytes]:
        return [self.digest(d) for d in datas]


class HmacSm3:
    """HMAC-SM3; the keyed state is built once and copied per message."""

    __slots__ = ("_base",)

    def __init__(self, key: bytes) -> None:
        self._base = hmac.HMAC(key, hashes.SM3())

    def digest(self, data: bytes) -> bytes:
        h = self._base.copy()
        h.update(data)
        return h.finalize()

    def digest_many(self, datas: Sequence[bytes]) -> list[bytes]:
        return [self.digest(d) for d in datas]

    def digest_flat(
        self, data: bytes, offsets: array[int], size: int = 32, last_mask: int = 0xFF
    ) -> bytes:
        count = _flat_args(data, offsets, size, last_mask)
        out = bytearray()
        for i in range(count):
            d = self.digest(bytes(data[offsets[i] : offsets[i + 1]]))
            out += d[: size - 1] + bytes((d[size - 1] & last_mask,))
        return bytes(out)


_BAD_OFFSETS = "flat batch offsets must be count + 1 non-decreasing positions inside data"


def _flat_args(data: bytes, offsets: array[int], size: int, last_mask: int) -> int:
    """The count of a flat batch after the checks the native backend makes (same errors)."""
    if type(offsets) is not array or offsets.typecode != "Q" or len(offsets) < 1:
        raise InputFormatError("flat batch offsets are an array('Q') of count + 1 entries")
    if not 1 <= size <= 32 or not 0 <= last_mask <= 0xFF:
        raise ValueError("size in 1..32 and last_mask in 0..255")
    if offsets[-1] > len(data) or any(a > b for a, b in pairwise(offsets)):
        raise InputFormatError(_BAD_OFFSETS)
    return len(offsets) - 1
