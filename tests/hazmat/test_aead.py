"""vaultkit.hazmat.aead: round trips, batch forms, typed errors, key hygiene, cross-checks."""

from __future__ import annotations

import pickle

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM as CryptoAESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
    InvalidKeyError,
    UnsupportedAlgorithmError,
    VaultkitTypeError,
)
from vaultkit.hazmat import aead

GCM_CLASSES = [(aead.SM4GCM, 16), (aead.AES256GCM, 32), (aead.AESGCM, 16), (aead.AESGCM, 24)]
NONCE_CLASSES = [*GCM_CLASSES, (aead.SM4CCM, 16)]


@pytest.mark.parametrize(("cls", "key_size"), NONCE_CLASSES)
def test_round_trip_and_batch(backend: str, cls: type, key_size: int) -> None:
    a = cls(bytes(range(key_size)))
    nonces = [bytes([i]) * 12 for i in range(20)]
    datas = [bytes(range(i * 7 % 256)) for i in range(20)]
    ads = [b"ctx" * i for i in range(20)]
    single = [a.encrypt(n, d, ad) for n, d, ad in zip(nonces, datas, ads)]
    assert a.encrypt_many(nonces, datas, ads) == single
    assert all(len(c) == len(d) + 16 for c, d in zip(single, datas))
    assert a.decrypt_many(nonces, single, ads) == datas
    assert [a.decrypt(n, c, ad) for n, c, ad in zip(nonces, single, ads)] == datas
    # associated_data None means empty
    assert a.encrypt(nonces[0], b"x", None) == a.encrypt(nonces[0], b"x", b"")
    assert a.encrypt_many(nonces[:2], datas[:2]) == a.encrypt_many(nonces[:2], datas[:2], [b""] * 2)
    assert a.encrypt_many([], [], []) == []


def test_sm4gcm_matches_cryptography(backend: str) -> None:
    key, nonce = bytes(range(16)), bytes(range(12))
    for size in (0, 1, 15, 16, 17, 32, 100, 4096 + 3):
        data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(b"ad")
        expected = enc.update(data) + enc.finalize() + enc.tag
        assert aead.SM4GCM(key).encrypt(nonce, data, b"ad") == expected


def test_aes256gcm_matches_cryptography(backend: str) -> None:
    key, nonce = bytes(range(32)), bytes(range(12))
    for size in (0, 1, 16, 33, 4099):
        data = bytes(size)
        expected = CryptoAESGCM(key).encrypt(nonce, data, b"ad")
        assert aead.AES256GCM(key).encrypt(nonce, data, b"ad") == expected


@pytest.mark.parametrize(("cls", "key_size"), NONCE_CLASSES)
def test_tampering_rejected(backend: str, cls: type, key_size: int) -> None:
    a = cls(bytes(key_size))
    nonce = bytes(12)
    c = a.encrypt(nonce, b"secret value", b"ad")
    for bad in (c[:-1], b"", c[:15], bytes([c[0] ^ 1]) + c[1:], c[:-1] + bytes([c[-1] ^ 0x80])):
        with pytest.raises(DecryptionError) as err:
            a.decrypt(nonce, bad, b"ad")
        assert "secret" not in str(err.value)
    with pytest.raises(DecryptionError):
        a.decrypt(nonce, c, b"ae")
    with pytest.raises(DecryptionError):
        a.decrypt(bytes(11) + b"\x01", c, b"ad")
    with pytest.raises(DecryptionError) as err2:
        a.decrypt_many([nonce, nonce], [c, c[:-1] + bytes([c[-1] ^ 1])], [b"ad", b"ad"])
    assert err2.value.where == "item 1"


@pytest.mark.parametrize(("cls", "key_size"), GCM_CLASSES)
def test_gcm_nonce_must_be_12_bytes(cls: type, key_size: int) -> None:
    a = cls(bytes(key_size))
    for size in (0, 8, 11, 13, 16):
        with pytest.raises(UnsupportedAlgorithmError):
            a.encrypt(bytes(size), b"x", b"")
        with pytest.raises(UnsupportedAlgorithmError):
            a.decrypt(bytes(size), bytes(17), b"")
        with pytest.raises(UnsupportedAlgorithmError):
            a.encrypt_many([bytes(size)], [b"x"], [b""])


def test_ccm_nonce_and_tag_sizes() -> None:
    for size in (6, 14, 16):
        with pytest.raises(UnsupportedAlgorithmError):
            aead.SM4CCM(bytes(16)).encrypt(bytes(size), b"x")
    for t in (4, 6, 8, 10, 12, 14, 16):
        c = aead.SM4CCM(bytes(16), tag_length=t)
        ct = c.encrypt(bytes(7), b"abc", b"")
        assert len(ct) == 3 + t and c.decrypt(bytes(7), ct) == b"abc"
    for t in (0, 2, 3, 5, 17, 18):
        with pytest.raises(UnsupportedAlgorithmError):
            aead.SM4CCM(bytes(16), tag_length=t)


def test_ccm_longest_plaintext_for_the_nonce_decrypts() -> None:
    # 13-byte nonce: q = 2, plaintexts up to 2^16 - 1 bytes; the limit is on the plaintext,
    # not on ciphertext || tag (which was refused on decryption)
    c = aead.SM4CCM(bytes(16))
    data = bytes(range(256)) * 255 + bytes(255)  # 65535 bytes
    ct = c.encrypt(bytes(13), data)
    assert c.decrypt(bytes(13), ct) == data
    assert c.decrypt_many([bytes(13)], [ct]) == [data]
    with pytest.raises(InputFormatError):
        c.encrypt(bytes(13), data + b"x")
    with pytest.raises(InputFormatError):
        c.decrypt(bytes(13), ct + b"x")


@pytest.mark.parametrize(
    ("cls", "bad_sizes"),
    [
        (aead.SM4GCM, (0, 15, 24, 32)),
        (aead.AES256GCM, (16, 24, 31, 33)),
        (aead.AESGCM, (0, 8, 20, 64)),
        (aead.SM4CCM, (15, 32)),
        (aead.AESSIV, (16, 24, 33)),
    ],
)
def test_bad_key_sizes(cls: type, bad_sizes: tuple[int, ...]) -> None:
    for size in bad_sizes:
        with pytest.raises(InvalidKeyError) as err:
            cls(bytes(size))
        assert "00" not in str(err.value)


def test_batch_argument_checks() -> None:
    a = aead.SM4GCM(bytes(16))
    with pytest.raises(VaultkitTypeError):
        a.encrypt_many([bytes(12)], [b"a", b"b"], None)
    with pytest.raises(VaultkitTypeError):
        a.encrypt_many([bytes(12)], [b"a"], [b"", b""])
    with pytest.raises(VaultkitTypeError):
        a.encrypt_many(bytes(12), [b"a"])  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        a.encrypt(bytes(12), "text")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "obj", [aead.SM4GCM(bytes(16)), aead.SM4CCM(bytes(16)), aead.AESSIV(bytes(32))]
)
def test_no_repr_no_pickle(obj: object) -> None:
    assert "key hidden" in repr(obj)
    with pytest.raises(TypeError):
        pickle.dumps(obj)


def test_aessiv_deterministic() -> None:
    s = aead.AESSIV(bytes(range(64)))
    c = s.encrypt(b"data", [b"a", b"b"])
    assert c == s.encrypt(b"data", [b"a", b"b"]) and len(c) == 4 + 16
    assert s.decrypt(c, [b"a", b"b"]) == b"data"
    assert s.encrypt(b"data", b"a") == s.encrypt(b"data", [b"a"])
    with pytest.raises(DecryptionError):
        s.decrypt(c, [b"b", b"a"])
    with pytest.raises(DecryptionError):
        s.decrypt(c[:-1] + bytes([c[-1] ^ 1]), [b"a", b"b"])


# -- properties --------------------------------------------------------------------------------

AEAD_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@AEAD_SETTINGS
@given(
    which=st.sampled_from(NONCE_CLASSES),
    key=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=12, max_size=12),
    data=st.binary(max_size=100),
    ad=st.binary(max_size=40),
    where=st.sampled_from(["ciphertext", "nonce", "ad"]),
    position=st.integers(min_value=0),
)
def test_round_trip_and_any_bit_flip_rejected(
    backend: str,
    which: tuple[type, int],
    key: bytes,
    nonce: bytes,
    data: bytes,
    ad: bytes,
    where: str,
    position: int,
) -> None:
    cls, key_size = which
    a = cls(key[:key_size])
    sealed = a.encrypt(nonce, data, ad)
    assert a.decrypt(nonce, sealed, ad) == data
    parts = {"ciphertext": sealed, "nonce": nonce, "ad": ad}
    target = parts[where]
    if not target:  # empty AD: flip a bit of the ciphertext||tag instead
        where, target = "ciphertext", sealed
    bit = position % (8 * len(target))
    flipped = bytearray(target)
    flipped[bit // 8] ^= 1 << (bit % 8)
    parts[where] = bytes(flipped)
    with pytest.raises(DecryptionError):
        a.decrypt(parts["nonce"], parts["ciphertext"], parts["ad"])
