"""Reference backend, area "hash": SM3 (GB/T 32905-2016) and HMAC-SM3 (GM/T 0042-2015,
RFC 2104) over cryptography/OpenSSL."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes, hmac

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
