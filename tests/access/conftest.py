"""Fixtures for the access-control tests: a real key ring on disk with a few keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vaultkit.keys import Algorithm, KeyRing, LocalKMS


def kms(passphrase: str = "pw") -> LocalKMS:
    return LocalKMS(passphrase=passphrase, scrypt_n=2**10)


@pytest.fixture
def ring_path(tmp_path: Path) -> Path:
    with KeyRing.create(tmp_path / "ring.json", kms()) as r:
        r.create_keys(["customers.id_no", "customers.phone", "accounts.card_no"])
        r.create_key("customers.card_token", Algorithm.FF1_SM4)
        r.create_key("customers.name_bidx", Algorithm.HMAC_SM3)
    return tmp_path / "ring.json"


@pytest.fixture
def ring(ring_path: Path) -> Iterator[KeyRing]:
    r = KeyRing.open(ring_path, kms())
    yield r
    r.close()
