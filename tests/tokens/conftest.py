"""A real key ring (cheap scrypt cost) with FF1-SM4 and FF1-AES256 token keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tokens.token_keys import AES_KEY, SM4_KEY
from vaultkit.keys import Algorithm, KeyRing, LocalKMS
from vaultkit.tokens import Tokenizer


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyRing]:
    path = tmp_path_factory.mktemp("tokens") / "keyring.json"
    r = KeyRing.create(path, LocalKMS(passphrase="tokens test", scrypt_n=2**10))
    r.create_key(SM4_KEY, Algorithm.FF1_SM4)
    r.create_key(AES_KEY, Algorithm.FF1_AES256)
    r.create_key("tokens.hmac", Algorithm.HMAC_SM3)
    yield r
    r.close()


@pytest.fixture(scope="module")
def tok(ring: KeyRing) -> Tokenizer:
    return Tokenizer(ring)


@pytest.fixture(params=[SM4_KEY, AES_KEY])
def key(request: pytest.FixtureRequest) -> str:
    return str(request.param)
