"""One-way verifiers: interoperable PHC strings, constant-time verify, hostile stored values."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultkit.errors import InputFormatError, InvalidKeyError, VaultkitTypeError
from vaultkit.policy import Verifier

FAST_ARGON = Verifier(memory_kib=64, passes=1, lanes=1)
FAST_SCRYPT = Verifier(algorithm="scrypt", scrypt_log2_n=6, scrypt_r=4)

# The reference implementation (P-H-C/phc-winner-argon2):
# echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e
REFERENCE = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"


def test_reference_argon2id_string_verifies() -> None:
    v = Verifier()
    assert v.verify("password", REFERENCE)
    assert not v.verify("passwore", REFERENCE)
    assert v.needs_rehash(REFERENCE)  # t=2, not the default 3


def test_default_parameters() -> None:
    stored = Verifier(memory_kib=65536, passes=3, lanes=4).hash("123456")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not Verifier().needs_rehash(stored)


@settings(max_examples=15, deadline=None)
@given(st.text(max_size=20), st.text(max_size=20))
def test_round_trip(secret: str, other: str) -> None:
    for v in (FAST_ARGON, FAST_SCRYPT):
        stored = v.hash(secret)
        assert len(secret) < 8 or secret not in stored
        assert v.verify(secret, stored)
        assert v.verify(secret, stored) is True
        if other != secret:
            assert not v.verify(other, stored)


def test_salted() -> None:
    assert FAST_ARGON.hash("123456") != FAST_ARGON.hash("123456")
    assert FAST_SCRYPT.hash("123456").startswith("$scrypt$ln=6,r=4,p=1$")


def test_pepper() -> None:
    peppered = Verifier(memory_kib=64, passes=1, lanes=1, pepper=b"k" * 32)
    stored = peppered.hash("123456")
    assert peppered.verify("123456", stored)
    assert not FAST_ARGON.verify("123456", stored)  # useless without the pepper
    assert "k" * 32 not in repr(peppered)
    with pytest.raises(TypeError):
        pickle.dumps(peppered)
    with pytest.raises(InvalidKeyError):
        Verifier(pepper=b"short")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "123456",
        "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
        "$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
        "$argon2id$v=19$m=64,t=99,p=1$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
        "$argon2id$v=19$m=64,t=1,p=1$!!!$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
        "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$AAAA",
        "$scrypt$ln=40,r=8,p=1$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
        "$scrypt$ln=10,r=8,p=2$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
        # each under its own cap, together 128 * 32 * 2^22 bytes = 16 GiB
        "$scrypt$ln=22,r=32,p=1$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
    ],
)
def test_hostile_stored_values_refused(stored: str) -> None:
    with pytest.raises(InputFormatError):
        FAST_ARGON.verify("password", stored)


def test_bad_arguments() -> None:
    with pytest.raises(VaultkitTypeError):
        Verifier(algorithm="md5")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        Verifier(passes=0)
    with pytest.raises(VaultkitTypeError):
        FAST_ARGON.hash(123456)  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        FAST_ARGON.verify("x", b"$argon2id$")  # type: ignore[arg-type]


def test_scrypt_memory_capped_and_odd_secrets_refused_without_the_secret() -> None:
    with pytest.raises(VaultkitTypeError, match="2 GiB"):
        Verifier(algorithm="scrypt", scrypt_log2_n=22, scrypt_r=8)
    Verifier(algorithm="scrypt", scrypt_log2_n=22, scrypt_r=4)  # 2 GiB: allowed
    secret = "correct horse \udc80 battery staple"
    with pytest.raises(InputFormatError, match="surrogate") as info:
        FAST_SCRYPT.hash(secret)
    assert "horse" not in str(info.value) and info.value.__context__ is None
