"""SM3 (GB/T 32905-2016), HMAC-SM3 (GM/T 0042-2015 / RFC 2104) and HMAC-SHA256.

The ``*_many`` forms hash a whole batch in one backend call (the native backend does the batch in
C). HMAC keys must be at least 16 bytes. HMAC-SHA256 is always computed by cryptography/OpenSSL.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes as _hashes
from cryptography.hazmat.primitives import hmac as _hmac

from vaultkit.errors import InvalidKeyError
from vaultkit.hazmat import _fast
from vaultkit.hazmat._args import require_bytes, require_bytes_list

__all__ = [
    "DIGEST_SIZE",
    "MIN_HMAC_KEY_SIZE",
    "hmac_sha256",
    "hmac_sha256_many",
    "hmac_sm3",
    "hmac_sm3_many",
    "sm3",
    "sm3_many",
]

DIGEST_SIZE = 32
MIN_HMAC_KEY_SIZE = 16


def sm3(data: bytes) -> bytes:
    """The 32-byte SM3 digest of ``data``."""
    return bytes(_fast.sm3().digest(require_bytes("data", data)))


def sm3_many(datas: Sequence[bytes]) -> list[bytes]:
    """SM3 of each item."""
    items = require_bytes_list("datas", datas)
    return _as_list(_fast.sm3().digest_many(items))


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """The 32-byte HMAC-SM3 of ``data`` under ``key``."""
    impl = _fast.hmac_sm3(_hmac_key(key))
    return bytes(impl.digest(require_bytes("data", data)))


def hmac_sm3_many(key: bytes, datas: Sequence[bytes]) -> list[bytes]:
    """HMAC-SM3 of each item under one key."""
    impl = _fast.hmac_sm3(_hmac_key(key))
    return _as_list(impl.digest_many(require_bytes_list("datas", datas)))


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """The 32-byte HMAC-SHA256 of ``data`` under ``key`` (RFC 2104, FIPS 180-4)."""
    return hmac_sha256_many(key, [data])[0]


def hmac_sha256_many(key: bytes, datas: Sequence[bytes]) -> list[bytes]:
    """HMAC-SHA256 of each item under one key."""
    base = _hmac.HMAC(_hmac_key(key), _hashes.SHA256())
    out = []
    for data in require_bytes_list("datas", datas):
        h = base.copy()
        h.update(data)
        out.append(h.finalize())
    return out


def _as_list(digests: Sequence[bytes]) -> list[bytes]:
    """The backend's list as is (no per-item copy: this is on the batch's critical path)."""
    return digests if type(digests) is list else [bytes(d) for d in digests]


def _hmac_key(key: object) -> bytes:
    material = require_bytes("key", key)
    if len(material) < MIN_HMAC_KEY_SIZE:
        raise InvalidKeyError(f"HMAC key must be at least {MIN_HMAC_KEY_SIZE} bytes")
    return material
