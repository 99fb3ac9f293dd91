"""vaultkit.hazmat.hashes: batch forms agree with single ones; key checks (vectors elsewhere)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes as chashes
from cryptography.hazmat.primitives import hmac as chmac

from vaultkit.errors import InvalidKeyError, VaultkitTypeError
from vaultkit.hazmat import hashes

MESSAGES = [b"", b"a", b"abc", bytes(55), bytes(56), bytes(63), bytes(64), bytes(65), bytes(1000)]


def _cryptography_hmac_sm3(key: bytes, data: bytes) -> bytes:
    h = chmac.HMAC(key, chashes.SM3())
    h.update(data)
    return h.finalize()


def test_sm3_many_matches_single(backend: str) -> None:
    many = hashes.sm3_many(MESSAGES)
    assert many == [hashes.sm3(m) for m in MESSAGES]
    for m, d in zip(MESSAGES, many):
        h = chashes.Hash(chashes.SM3())
        h.update(m)
        assert d == h.finalize()
    assert hashes.sm3_many([]) == []


@pytest.mark.parametrize("key_size", [16, 32, 64, 65, 200])
def test_hmac_sm3_matches_cryptography(backend: str, key_size: int) -> None:
    key = bytes(range(key_size % 256)) + bytes(max(0, key_size - 256))
    key = (key * 2)[:key_size]
    many = hashes.hmac_sm3_many(key, MESSAGES)
    assert many == [_cryptography_hmac_sm3(key, m) for m in MESSAGES]
    assert hashes.hmac_sm3(key, b"abc") == many[2]


def test_hmac_sha256_matches_stdlib() -> None:
    key = bytes(range(32))
    for m in MESSAGES:
        expected = hmac.new(key, m, hashlib.sha256).digest()
        assert hashes.hmac_sha256(key, m) == expected
    assert hashes.hmac_sha256_many(key, MESSAGES) == [
        hmac.new(key, m, hashlib.sha256).digest() for m in MESSAGES
    ]


def test_argument_checks() -> None:
    for fn in (hashes.hmac_sm3, hashes.hmac_sha256):
        with pytest.raises(InvalidKeyError):
            fn(bytes(15), b"x")
        with pytest.raises(VaultkitTypeError):
            fn("k" * 32, b"x")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        hashes.sm3("abc")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        hashes.sm3_many(b"abc")  # type: ignore[arg-type]
