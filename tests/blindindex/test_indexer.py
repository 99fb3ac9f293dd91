"""Blind indexes through a real key ring: construction, normalization, compounds, rotation."""

from __future__ import annotations

import hashlib
import hmac
import pickle
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultkit.blindindex import BlindIndexer, Compound
from vaultkit.envelope import encode_context
from vaultkit.errors import InputFormatError, UnsupportedAlgorithmError, VaultkitTypeError
from vaultkit.hazmat.hashes import hmac_sm3
from vaultkit.keys import Algorithm, KeyRing, LocalKMS

CTX = {"table": "customers", "column": "card_no"}
fixtures = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _expected(mac, key: bytes, kind: str, bits: int, value: bytes) -> bytes:
    """The documented construction, computed independently."""
    label = (
        b"vaultkit/v1/blind-index\x00"
        + struct.pack(">I", len(kind))
        + kind.encode()
        + struct.pack(">H", bits)
        + encode_context(CTX)
    )
    full = mac(mac(key, label), value)
    n = (bits + 7) // 8
    out = bytearray(full[:n])
    if bits % 8:
        out[-1] &= (0xFF << (8 - bits % 8)) & 0xFF
    return bytes(out)


def _sha(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


@pytest.mark.parametrize("bits", [1, 7, 8, 13, 16, 32, 256])
def test_construction(idx: BlindIndexer, ring: KeyRing, bits: int) -> None:
    card = "6222021234567890128"
    sha_key = ring.primary_key("idx.sha").material
    got = idx.compute("idx.sha", card, context=CTX, bits=bits, kind="card_no")
    assert got == _expected(_sha, sha_key, "card_no", bits, card.encode())
    sm3_key = ring.primary_key("idx.sm3").material
    got = idx.compute("idx.sm3", card, context=CTX, bits=bits, kind="card_no")
    assert got == _expected(hmac_sm3, sm3_key, "card_no", bits, card.encode())
    assert len(got) == (bits + 7) // 8


def test_hmac_sm3_keyed_once_per_subkey(ring: KeyRing) -> None:
    """Issue 16: the subkey's HMAC-SM3 chaining values are kept (2 compressions per short value,
    not 4); single, batch and candidates agree with the documented construction."""
    idx = BlindIndexer(ring)  # a fresh indexer: the shared fixture has other subkeys
    sm3_key = ring.primary_key("idx.sm3").material
    cards = [f"62220212345678{i:04d}" for i in range(20)]
    for _ in range(3):
        one = [idx.compute("idx.sm3", c, context=CTX, bits=16, kind="text") for c in cards]
        many = idx.compute_many("idx.sm3", cards, context=CTX, bits=16, kind="text")
        assert one == many == [_expected(hmac_sm3, sm3_key, "text", 16, c.encode()) for c in cards]
    assert idx.candidates("idx.sm3", cards[0], context=CTX, bits=16, kind="text") == [one[0]]
    kept = len(idx._macs)  # (a count: no subkey bytes in a failure message)
    assert kept == 1  # one keyed HMAC for the one (key, kind, bits, context)


@fixtures
@given(st.lists(st.text(max_size=20), min_size=1, max_size=30), st.integers(1, 64))
def test_batch_equals_single(idx: BlindIndexer, values: list[str], bits: int) -> None:
    for key in ("idx.sm3", "idx.sha"):
        many = idx.compute_many(key, values, context=CTX, bits=bits)
        assert many == [idx.compute(key, v, context=CTX, bits=bits) for v in values]


def test_batch_fast_paths_agree(idx: BlindIndexer) -> None:
    cards = ["6222021234567890128", "4111111111111111", "6225880000000001"]
    for kind, values in [
        ("card_no", ["4111111111111111", "6225880000000001"]),  # one length: batch Luhn
        ("card_no", cards),  # mixed lengths: per value
        ("mobile", ["13800138000", "19912345678"]),
        ("account_no", ["6222021234567890128", "0123456789"]),
        ("text", ["abc", "x y", ""]),
    ]:
        many = idx.compute_many("idx.sm3", values, context=CTX, bits=16, kind=kind)
        one = [idx.compute("idx.sm3", v, context=CTX, bits=16, kind=kind) for v in values]
        assert many == one


@pytest.mark.parametrize("bits", [13, 16])
def test_empty_batch(idx: BlindIndexer, bits: int) -> None:
    assert idx.compute_many("idx.sm3", [], context=CTX, bits=bits, kind="card_no") == []


def test_normalization(idx: BlindIndexer) -> None:
    def same(kind: str, a: str, b: str) -> None:
        x = idx.compute("idx.sm3", a, context=CTX, bits=32, kind=kind)
        assert x == idx.compute("idx.sm3", b, context=CTX, bits=32, kind=kind)
        many = idx.compute_many("idx.sm3", [a, b], context=CTX, bits=32, kind=kind)
        assert many == [x, x]

    same("card_no", "6222021234567890128", "6222 0212 3456 7890 128")
    same("cn_id", "11010519491231002X", "11010519491231002x")
    same("mobile", "13800138000", "+86 138-0013-8000")
    same("email", "ZhangSan@Example.com", " zhangsan@example.com ")
    same("name", "欧阳  娜娜", "欧阳 娜娜")
    same("text", "ＡＢＣ１２３", "ABC123")
    same("account_no", "6222-0212-3456", "622202123456")


def test_invalid_identifiers_refused(idx: BlindIndexer) -> None:
    with pytest.raises(InputFormatError, match="Luhn") as info:
        idx.compute("idx.sm3", "6222021234567890127", context=CTX, bits=16, kind="card_no")
    assert "6222021234567890127" not in str(info.value)
    with pytest.raises(InputFormatError, match="Luhn"):
        idx.compute_many("idx.sm3", ["4111111111111112"] * 3, context=CTX, bits=16, kind="card_no")
    with pytest.raises(InputFormatError, match="check character"):
        idx.compute("idx.sm3", "110105194912310021", context=CTX, bits=16, kind="cn_id")


def test_lone_surrogate_refused_without_the_value(idx: BlindIndexer) -> None:
    """Not a UnicodeEncodeError, whose ``.object`` would be the whole value."""
    secret = "Zhang San \ud800 13812345678"
    for kind in ("text", "name", "email"):
        for compute in (
            lambda: idx.compute("idx.sm3", secret, context=CTX, bits=16, kind=kind),
            lambda: idx.compute_many("idx.sm3", [secret], context=CTX, bits=16, kind=kind),
        ):
            with pytest.raises(InputFormatError, match="surrogate") as info:
                compute()
            assert "13812345678" not in str(info.value) and "Zhang" not in str(info.value)
            assert info.value.__context__ is None
    with pytest.raises(InputFormatError, match="surrogate"):
        idx.compute(
            "idx.sm3", ("\ud800" + "x" * 20, 1990), context=CTX, bits=16,
            kind=Compound(("name", "birth_year")),
        )  # fmt: skip


def test_separation(idx: BlindIndexer) -> None:
    v = "6222021234567890128"
    base = idx.compute("idx.sm3", v, context=CTX, bits=32, kind="card_no")
    assert base != idx.compute(
        "idx.sm3", v, context={**CTX, "column": "x"}, bits=32, kind="card_no"
    )
    assert base != idx.compute("idx.sm3", v, context=CTX, bits=32, kind="text")
    assert base != idx.compute("idx.sha", v, context=CTX, bits=32, kind="card_no")
    # a shorter index is not a prefix of a longer one (the length is in the subkey)
    assert idx.compute("idx.sm3", v, context=CTX, bits=16, kind="card_no") != base[:2]


def test_compound(idx: BlindIndexer) -> None:
    kind = Compound(("card_last4", "birth_year"))
    full = idx.compute(
        "idx.sm3", ("6222021234567890128", "11010519491231002X"), context=CTX, bits=8, kind=kind
    )
    # queries from the parts alone find the same index
    assert full == idx.compute("idx.sm3", ("0128", "1949"), context=CTX, bits=8, kind=kind)
    assert full == idx.compute("idx.sm3", ("0128", 1949), context=CTX, bits=8, kind=kind)
    import datetime

    assert full == idx.compute(
        "idx.sm3", ("0128", datetime.date(1949, 12, 31)), context=CTX, bits=8, kind=kind
    )
    assert (
        idx.compute_many(
            "idx.sm3", [("0128", "1949"), ("0129", "1949")], context=CTX, bits=8, kind=kind
        )[0]
        == full
    )
    # the encoding is injective: moving characters between parts changes it
    k2 = Compound(("text", "text"))
    a = idx.compute("idx.sm3", ("ab", "c"), context=CTX, bits=64, kind=k2)
    assert a != idx.compute("idx.sm3", ("a", "bc"), context=CTX, bits=64, kind=k2)
    with pytest.raises(UnsupportedAlgorithmError):
        Compound(("card_middle",))
    with pytest.raises(VaultkitTypeError):
        idx.compute("idx.sm3", ("0128",), context=CTX, bits=8, kind=kind)
    with pytest.raises(InputFormatError):
        idx.compute("idx.sm3", ("0128", "19491"), context=CTX, bits=8, kind=kind)


def test_rotation_candidates(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path / "ring.json", LocalKMS(passphrase="p", scrypt_n=2**10))
    ring.create_key("idx", Algorithm.HMAC_SM3)
    idx = BlindIndexer(ring)
    v = "13800138000"
    old = idx.compute("idx", v, context=CTX, bits=32, kind="mobile")
    assert idx.candidates("idx", v, context=CTX, bits=32, kind="mobile") == [old]
    v2 = ring.rotate_key("idx")
    new = idx.compute("idx", v, context=CTX, bits=32, kind="mobile")
    assert new != old
    assert idx.compute("idx", v, context=CTX, bits=32, kind="mobile", version=v2 - 1) == old
    # during the rotation a lookup matches rows indexed under either version, primary first
    assert idx.candidates("idx", v, context=CTX, bits=32, kind="mobile") == [new, old]
    ring.retire_version("idx", v2 - 1)
    assert idx.candidates("idx", v, context=CTX, bits=32, kind="mobile") == [new]
    ring.close()


def test_bad_arguments(idx: BlindIndexer) -> None:
    with pytest.raises(UnsupportedAlgorithmError, match="HMAC"):
        idx.compute("col.enc", "x", context=CTX, bits=16)
    with pytest.raises(VaultkitTypeError):
        idx.compute("idx.sm3", "x", context=CTX, bits=0)
    with pytest.raises(VaultkitTypeError):
        idx.compute("idx.sm3", "x", context=CTX, bits=257)
    with pytest.raises(VaultkitTypeError):
        idx.compute("idx.sm3", 12, context=CTX, bits=16)
    with pytest.raises(UnsupportedAlgorithmError):
        idx.compute("idx.sm3", "x", context=CTX, bits=16, kind="iban")
    with pytest.raises(VaultkitTypeError):
        idx.compute_many("idx.sm3", "abc", context=CTX, bits=16)
    assert idx.compute("idx.sm3", b"raw", context=CTX, bits=16) == idx.compute(
        "idx.sm3", "raw", context=CTX, bits=16
    )


def test_no_secrets(idx: BlindIndexer) -> None:
    idx.compute("idx.sm3", "x", context=CTX, bits=16)
    assert repr(idx) == "<BlindIndexer>"
    with pytest.raises(TypeError):
        pickle.dumps(idx)


@pytest.mark.parametrize("bits", [1, 7, 16, 61, 255, 256])
def test_batch_of_cards_through_one_flat_buffer(idx: BlindIndexer, bits: int) -> None:
    # the native batch returns one flat buffer that compute_many slices: more than one struct
    # group (256) plus a partial one, every index equal to the single call's
    from vaultkit.identifiers import luhn_check_digit

    bodies = [f"622202{i * 7919:012d}"[:18] for i in range(600)]
    cards = [b + luhn_check_digit(b) for b in bodies]
    many = idx.compute_many("idx.sm3", cards, context=CTX, bits=bits, kind="card_no")
    assert len(many) == 600 and all(len(m) == -(-bits // 8) for m in many)
    for i in (0, 255, 256, 511, 512, 599):
        assert many[i] == idx.compute("idx.sm3", cards[i], context=CTX, bits=bits, kind="card_no")


@pytest.mark.parametrize("width", [1, 2, 5, 32])
@pytest.mark.parametrize("count", [0, 1, 255, 256, 257, 700, 4095, 4096, 4097, 9000])
def test_split_flat(width: int, count: int) -> None:
    from vaultkit.blindindex._indexer import split_flat

    flat = bytes(i % 251 for i in range(width * count))
    assert split_flat(flat, width) == [flat[i : i + width] for i in range(0, len(flat), width)]
