"""vaultkit.hazmat.ff1: argument checks, properties, and FF1-SM4 against an independent FF1.

No official FF1-with-SM4 vectors exist, so FF1-SM4 is compared with a second FF1 written here
from SP 800-38G in a different style (strings, gmssl's pure-Python SM4 as CIPH), which is first
checked against the NIST AES samples.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl.sm4 import SM4_ENCRYPT, CryptSM4
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hazmat.hazmat_vectors import standard_vectors
from vaultkit.errors import (
    DomainTooSmallError,
    InputFormatError,
    InvalidKeyError,
    UnsupportedAlgorithmError,
    VaultkitTypeError,
)
from vaultkit.hazmat.ff1 import DEFAULT_ALPHABET, FF1

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# -- an independent FF1 (SP 800-38G 6.2 Algorithm 7), strings and lists, for cross-checking ----


def independent_ff1_encrypt(
    ciph: Callable[[bytes], bytes], alphabet: str, x: str, tweak: bytes
) -> str:
    radix, n, t = len(alphabet), len(x), len(tweak)

    def num(s: str) -> int:
        return sum(alphabet.index(ch) * radix**k for k, ch in enumerate(reversed(s)))

    def to_str(value: int, m: int) -> str:
        chars = []
        for _ in range(m):
            chars.append(alphabet[value % radix])
            value //= radix
        return "".join(reversed(chars))

    u = n // 2
    v = n - u
    a, b = x[:u], x[u:]
    blen = 0
    while 256**blen < radix**v:  # b = ceil(ceil(v log2 radix) / 8): least b with 256^b >= radix^v
        blen += 1
    d = 4 * -(-blen // 4) + 4
    p = bytes([1, 2, 1, radix >> 16, (radix >> 8) & 255, radix & 255, 10, u & 255])
    p += n.to_bytes(4, "big") + t.to_bytes(4, "big")
    for i in range(10):
        q = tweak + b"\0" * ((-t - blen - 1) % 16) + bytes([i]) + num(b).to_bytes(blen, "big")
        y = bytes(16)
        data = p + q
        for j in range(0, len(data), 16):
            y = ciph(bytes(c ^ z for c, z in zip(data[j : j + 16], y)))
        s = y
        for j in range(1, -(-d // 16)):
            s += ciph(bytes(c ^ z for c, z in zip(y, j.to_bytes(16, "big"))))
        m = u if i % 2 == 0 else v
        c = (num(a) + int.from_bytes(s[:d], "big")) % radix**m
        a, b = b, to_str(c, m)
    return a + b


def _aes_ciph(key: bytes) -> Callable[[bytes], bytes]:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update


def _gmssl_sm4_ciph(key: bytes) -> Callable[[bytes], bytes]:
    c = CryptSM4()
    c.set_key(key, SM4_ENCRYPT)
    return lambda block: bytes(c.one_round(c.sk, list(block)))


def test_independent_ff1_matches_nist_samples() -> None:
    for v in standard_vectors()["ff1_nist_samples"]:
        ciph = _aes_ciph(bytes.fromhex(v["key"]))
        tweak = bytes.fromhex(v["tweak"])
        got = independent_ff1_encrypt(ciph, v["alphabet"], v["plaintext"], tweak)
        assert got == v["ciphertext"]


@pytest.mark.parametrize(
    ("alphabet", "value", "tweak"),
    [
        ("0123456789", "6222021234567890128", b""),
        ("0123456789", "110105194912310021", b"customers.id_no"),
        ("0123456789", "138001", bytes(range(40))),
        (DEFAULT_ALPHABET[:36], "0123456789abcdefghijklmnopqrstuvwxyz" * 3, b"t"),
        (DEFAULT_ALPHABET, "Zz09", b"\xff" * 17),
        ("01", "0" * 20, b"binary"),
    ],
)
def test_ff1_sm4_matches_independent(backend: str, alphabet: str, value: str, tweak: bytes) -> None:
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    expected = independent_ff1_encrypt(_gmssl_sm4_ciph(key), alphabet, value, tweak)
    f = FF1(key, cipher="SM4", alphabet=alphabet)
    assert f.encrypt(value, tweak) == expected
    assert f.decrypt(expected, tweak) == value


# -- argument checks ---------------------------------------------------------------------------


def test_construction_checks() -> None:
    with pytest.raises(InvalidKeyError):
        FF1(bytes(32), cipher="SM4")
    for size in (0, 8, 15, 20, 33):
        with pytest.raises(InvalidKeyError):
            FF1(bytes(size), cipher="AES")
    with pytest.raises(UnsupportedAlgorithmError):
        FF1(bytes(16), cipher="DES")  # type: ignore[arg-type]
    for radix in (0, 1, 65537):
        with pytest.raises(UnsupportedAlgorithmError):
            FF1(bytes(16), radix=radix)
    with pytest.raises(UnsupportedAlgorithmError):
        FF1(bytes(16), alphabet="0123456789", radix=16)
    with pytest.raises(UnsupportedAlgorithmError):
        FF1(bytes(16), alphabet="00123")
    with pytest.raises(VaultkitTypeError):
        FF1(bytes(16), radix="10")  # type: ignore[arg-type]
    assert FF1(bytes(16)).radix == 10 and FF1(bytes(16)).alphabet == "0123456789"
    assert FF1(bytes(16), alphabet="abcdef").radix == 6
    assert FF1(bytes(16), radix=100).alphabet is None
    assert FF1(bytes(16), radix=65536).min_length == 2


def test_value_checks(backend: str) -> None:
    f = FF1(bytes(16))
    for bad in ("12345a", "12 456", "١٢٣٤٥٦", "123456\n"):
        with pytest.raises(InputFormatError) as err:
            f.encrypt(bad)
        assert bad not in str(err.value)
        with pytest.raises(InputFormatError):
            f.encrypt_many(["123456", bad])
    for bad_digits in ([1, 2, 3, 4, 5, 10], [-1, 2, 3, 4, 5, 6]):
        with pytest.raises(InputFormatError):
            f.encrypt(bad_digits)
    with pytest.raises(VaultkitTypeError):
        f.encrypt([1, 2, 3, 4, 5, "6"])  # type: ignore[list-item]
    with pytest.raises(VaultkitTypeError):
        f.encrypt(123456)  # type: ignore[call-overload]
    with pytest.raises(VaultkitTypeError):
        f.encrypt("123456", "tweak")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        f.encrypt_many("123456")  # type: ignore[arg-type]
    for short in ("", "1", "12345"):
        with pytest.raises(DomainTooSmallError):
            f.encrypt(short)
    with pytest.raises(DomainTooSmallError):
        f.encrypt_many(["123456", "12345"])
    with pytest.raises(VaultkitTypeError):
        FF1(bytes(16), radix=1000).encrypt("123456")
    assert f.encrypt_many([]) == []


def test_unicode_alphabet(backend: str) -> None:
    alphabet = "甲乙丙丁戊己庚辛壬癸"
    f = FF1(bytes(16), alphabet=alphabet)
    token = f.encrypt("甲乙丙丁戊己庚")
    assert len(token) == 7 and set(token) <= set(alphabet)
    assert f.decrypt(token) == "甲乙丙丁戊己庚"
    digits = FF1(bytes(16)).encrypt("0123456")
    assert token == "".join(alphabet[int(c)] for c in digits)  # same numerals, other symbols
    with pytest.raises(InputFormatError):
        f.encrypt("甲乙丙丁戊己X")


def test_no_repr_no_pickle() -> None:
    f = FF1(bytes(range(16)))
    assert "key hidden" in repr(f)
    with pytest.raises(TypeError):
        pickle.dumps(f)


def test_tweak_changes_output(backend: str) -> None:
    f = FF1(bytes(32), cipher="AES")
    assert f.encrypt("4111111111111111", b"a") != f.encrypt("4111111111111111", b"b")


# -- properties --------------------------------------------------------------------------------


@st.composite
def _string_case(draw: st.DrawFn) -> tuple[FF1, list[str], bytes]:
    radix = draw(st.integers(2, 62))
    f = FF1(draw(st.binary(min_size=16, max_size=16)), cipher=draw(st.sampled_from(["SM4", "AES"])),
            radix=radix)  # fmt: skip
    alphabet = DEFAULT_ALPHABET[:radix]
    lengths = st.integers(f.min_length, f.min_length + 40)
    values = draw(
        st.lists(lengths.flatmap(lambda n: st.text(alphabet, min_size=n, max_size=n)), min_size=1,
                 max_size=8)
    )  # fmt: skip
    return f, values, draw(st.binary(max_size=40))


@SETTINGS
@given(case=_string_case())
def test_round_trip_strings(backend: str, case: tuple[FF1, list[str], bytes]) -> None:
    f, values, tweak = case
    tokens = f.encrypt_many(values, tweak)
    assert [len(t) for t in tokens] == [len(v) for v in values]
    assert all(set(t) <= set(f.alphabet or "") for t in tokens)
    assert tokens == [f.encrypt(v, tweak) for v in values]
    assert f.decrypt_many(tokens, tweak) == values
    assert f.decrypt(tokens[0], tweak) == values[0]


@st.composite
def _wide_case(draw: st.DrawFn) -> tuple[FF1, list[list[int]], bytes]:
    radix = draw(st.sampled_from([257, 1000, 4096, 40000, 65535, 65536]))
    f = FF1(bytes(16), cipher=draw(st.sampled_from(["SM4", "AES"])), radix=radix)
    value = st.lists(st.integers(0, radix - 1), min_size=f.min_length, max_size=30)
    return f, draw(st.lists(value, min_size=1, max_size=5)), draw(st.binary(max_size=20))


@SETTINGS
@given(case=_wide_case())
def test_round_trip_wide_radix(backend: str, case: tuple[FF1, list[list[int]], bytes]) -> None:
    f, values, tweak = case
    tokens = f.encrypt_many(values, tweak)
    assert [len(t) for t in tokens] == [len(v) for v in values]
    assert all(0 <= d < f.radix for t in tokens for d in t)
    assert f.decrypt_many(tokens, tweak) == values
    assert f.encrypt(values[0], tweak) == tokens[0]


def test_backends_agree() -> None:
    """Differential: every available backend gives the reference's tokens (mixed lengths)."""
    from vaultkit.hazmat import bindings

    values = [str(10**k + 7 * k)[: 6 + k % 14].zfill(6 + k % 14) for k in range(200)]
    out = {}
    for name in bindings.available():
        with bindings.use(name):
            for cipher, key in (("SM4", bytes(16)), ("AES", bytes(32))):
                out[(name, cipher)] = FF1(key, cipher=cipher).encrypt_many(values, b"tw")
                wide = FF1(key, cipher=cipher, radix=300)
                out[(name, cipher, 300)] = wide.encrypt_many([[k % 300] * 5 for k in range(50)])
    for (name, *rest), tokens in out.items():
        assert tokens == out[("reference", *rest)], name


def test_length_and_tweak_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """SP 800-38G 5.2 limits (2^32 - 1 numerals, 2^32 - 1 tweak bytes), lowered so the test does
    not allocate gigabytes: the checks read the module constants."""
    from vaultkit.hazmat import ff1 as ff1_module

    f = FF1(bytes(16))
    monkeypatch.setattr(ff1_module, "MAX_TWEAK", 8)
    assert f.encrypt("123456", bytes(8))
    for call in (
        lambda: f.encrypt("123456", bytes(9)),
        lambda: f.encrypt_many(["123456"], bytes(9)),
    ):
        with pytest.raises(InputFormatError):
            call()
    monkeypatch.setattr(ff1_module, "MAX_LENGTH", 10)
    assert f.encrypt("1" * 10)
    for call in (lambda: f.encrypt("1" * 11), lambda: f.encrypt([1] * 11)):
        with pytest.raises(InputFormatError):
            call()


def test_single_decrypt_keeps_every_check(backend: str) -> None:
    # decrypt's single-call fast path refuses what encrypt's does, with the same errors
    f = FF1(bytes(16))
    for bad in ("12345a", "１２３４５６", "123 456"):
        with pytest.raises(InputFormatError) as err:
            f.decrypt(bad)
        assert bad not in str(err.value)
    for short in ("", "1", "12345"):
        with pytest.raises(DomainTooSmallError):
            f.decrypt(short)
    with pytest.raises(VaultkitTypeError):
        f.decrypt("123456", "tweak")  # type: ignore[arg-type]
    assert f.decrypt(f.encrypt("123456", bytearray(b"t")), memoryview(b"t")) == "123456"


@settings(max_examples=80, deadline=None)
@given(
    digits=st.text("0123456789", min_size=6, max_size=24),
    tweak=st.binary(max_size=20),
    cipher=st.sampled_from(["SM4", "AES"]),
)
def test_decimal_single_calls_equal_the_batch_path(digits: str, tweak: bytes, cipher: str) -> None:
    """Issue 16: single calls on 6..19 decimal digits go straight to C (vk_ff1_crypt_digits:
    the digits in, the number out); they equal the batch path, leading zeros kept, and longer
    values or other characters take the general path with its errors."""
    f = FF1(bytes(32 if cipher == "AES" else 16), cipher=cipher)  # type: ignore[arg-type]
    token = f.encrypt(digits, tweak)
    assert token == f.encrypt_many([digits], tweak)[0] and len(token) == len(digits)
    assert f.decrypt(token, tweak) == digits == f.decrypt_many([token], tweak)[0]
    for bad in (digits[:-1] + "a", digits[:-1] + "٣", " " + digits[1:]):
        with pytest.raises(InputFormatError):
            f.encrypt(bad, tweak)
        with pytest.raises(InputFormatError):
            f.decrypt(bad, tweak)
