"""A real key ring with HMAC-SM3 and HMAC-SHA256 index keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vaultkit.blindindex import BlindIndexer
from vaultkit.keys import Algorithm, KeyRing, LocalKMS


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyRing]:
    path = tmp_path_factory.mktemp("blindindex") / "keyring.json"
    r = KeyRing.create(path, LocalKMS(passphrase="index test", scrypt_n=2**10))
    r.create_key("idx.sm3", Algorithm.HMAC_SM3)
    r.create_key("idx.sha", Algorithm.HMAC_SHA256)
    r.create_key("col.enc", Algorithm.SM4_GCM)
    yield r
    r.close()


@pytest.fixture(scope="module")
def idx(ring: KeyRing) -> BlindIndexer:
    return BlindIndexer(ring)
