"""The native blind-index path (one C call: Luhn check, HMAC-SM3 and truncation of a batch already
in normal form) gives exactly the indexes of the Python path, and refuses the same inputs."""

from __future__ import annotations

import random

import pytest

from vaultkit.blindindex import BlindIndexer
from vaultkit.errors import InputFormatError
from vaultkit.hazmat import bindings
from vaultkit.identifiers import luhn_check_digit

pytestmark = pytest.mark.skipif(
    "native" not in bindings.available(), reason="the native extension is not built"
)

CTX = {"table": "customers", "column": "card_no"}


def _cards(rnd: random.Random, count: int, n: int) -> list[str]:
    out = []
    for _ in range(count):
        payload = "".join(rnd.choices("0123456789", k=n - 1))
        out.append(payload + luhn_check_digit(payload))
    return out


def _both(idx: BlindIndexer, values: list[str], kind: str, bits: int) -> list[bytes]:
    native = idx.compute_many("idx.sm3", values, context=CTX, bits=bits, kind=kind)
    with bindings.use("reference"):
        python = idx.compute_many("idx.sm3", values, context=CTX, bits=bits, kind=kind)
    assert native == python
    return native


@pytest.mark.parametrize("bits", [1, 7, 8, 13, 16, 32, 255, 256])
def test_cards_native_equals_python(idx: BlindIndexer, bits: int) -> None:
    rnd = random.Random(bits)
    for n in (12, 16, 19):
        values = _cards(rnd, 2500, n)  # more than one C chunk
        out = _both(idx, values, "card_no", bits)
        assert out[:3] == [
            idx.compute("idx.sm3", v, context=CTX, bits=bits, kind="card_no") for v in values[:3]
        ]
        assert {len(x) for x in out} == {(bits + 7) // 8}


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("mobile", ["13800138000", "19912345678"] * 700),
        ("account_no", ["6222021234567890128", "0123456789012345678"] * 700),
        ("text", ["abc", "x y", "ABC"] * 500),
        ("text", ["abc", "x\x00y", ""]),
        ("card_no", ["6222021234567890128", "6222 0212 3456 7890 128"]),
        ("card_no", ["6222021234567890128", "６222021234567890128"]),
        ("card_no", ["4111111111111111", "6222021234567890128"]),
    ],
)
def test_other_kinds_native_equals_python(idx: BlindIndexer, kind: str, values: list[str]) -> None:
    _both(idx, values, kind, 16)
    _both(idx, tuple(values), kind, 16)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("card_no", ["4111111111111111", "4111111\x0011111111"]),  # one width, a NUL inside
        ("account_no", ["0123456789", "01234\x005678"]),
        ("mobile", ["13800138000", "1380\x0013800"]),
    ],
)
def test_nul_inside_a_value_refused_alike(idx: BlindIndexer, kind: str, values: list[str]) -> None:
    errors = []
    backends: tuple[bindings.Backend, ...] = ("native", "reference")
    for backend in backends:
        with bindings.use(backend), pytest.raises(InputFormatError) as info:
            idx.compute_many("idx.sm3", values, context=CTX, bits=16, kind=kind)
        errors.append(str(info.value))
    assert errors[0] == errors[1]


@pytest.mark.parametrize(
    "bad", ["6222021234567890127", "62220212345678901a8", "6222-0212-3456-7890-127"]
)
def test_bad_cards_refused_alike(idx: BlindIndexer, bad: str) -> None:
    values = [*_cards(random.Random(1), 1500, 19), bad]
    errors = []
    backends: tuple[bindings.Backend, ...] = ("native", "reference")
    for backend in backends:
        with bindings.use(backend), pytest.raises(InputFormatError) as info:
            idx.compute_many("idx.sm3", values, context=CTX, bits=16, kind="card_no")
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_chunks_of_other_widths_equal_python(idx: BlindIndexer) -> None:
    """The native path joins and MACs the values a chunk at a time: chunks of different widths
    (16-digit cards, then 19-digit ones), a last partial chunk, a list and a tuple."""
    from vaultkit.blindindex import _indexer

    chunk = _indexer._ROWS_CHUNK
    rnd = random.Random(4)
    values = _cards(rnd, chunk, 16) + _cards(rnd, chunk + 37, 19) + _cards(rnd, 5, 12)
    for bits in (16, 13, 256):
        _both(idx, values, "card_no", bits)
    _both(idx, tuple(values), "card_no", 16)  # type: ignore[arg-type]
    _both(idx, ["13800138000"] * (chunk + 1) + ["13912345678"] * 3, "mobile", 24)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_bad_card_in_any_chunk_refused_alike(idx: BlindIndexer, where: str) -> None:
    """A bad card in a later chunk, after chunks already MACed, sends the whole batch to the
    per-value path, which names the rule, as the reference backend does."""
    from vaultkit.blindindex import _indexer

    values = _cards(random.Random(5), 2 * _indexer._ROWS_CHUNK + 100, 19)
    at = {"first": 3, "middle": _indexer._ROWS_CHUNK + 7, "last": len(values) - 1}[where]
    values[at] = values[at][:-1] + str((int(values[at][-1]) + 1) % 10)  # Luhn fails
    errors = []
    backends: tuple[bindings.Backend, ...] = ("native", "reference")
    for backend in backends:
        with bindings.use(backend), pytest.raises(InputFormatError) as info:
            idx.compute_many("idx.sm3", values, context=CTX, bits=16, kind="card_no")
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_rows_into_equals_rows() -> None:
    """``hmac_sm3_rows_into`` writes what ``hmac_sm3_rows`` returns, into a slice of a larger
    buffer, and refuses an output of another size or a read-only one."""
    from vaultkit.hazmat.bindings import _native_hash, _native_token

    rnd = random.Random(6)
    cards = "\x00".join(_cards(rnd, 77, 19)).encode()
    for key in (rnd.randbytes(32), _native_hash.HmacSm3(rnd.randbytes(32))):
        for bits in (1, 16, 61, 256):
            size = -(-bits // 8)
            want = _native_token.hmac_sm3_rows(key, cards, 77, 20, 19, bits, luhn=True)
            buf = bytearray(b"\xaa" * (79 * size))
            view = memoryview(buf)[size : 78 * size]
            assert _native_token.hmac_sm3_rows_into(key, cards, 77, 20, 19, bits, view, luhn=True)
            assert bytes(buf[size : 78 * size]) == want
            assert buf[:size] == buf[78 * size :] == b"\xaa" * size  # nothing outside
            with pytest.raises(ValueError):
                _native_token.hmac_sm3_rows_into(key, cards, 77, 20, 19, bits, buf, luhn=True)
    bad = bytearray(cards)
    bad[18] ^= 1  # the first card's check digit
    key, out = bytes(32), bytearray(77 * 2)
    assert not _native_token.hmac_sm3_rows_into(key, bytes(bad), 77, 20, 19, 16, out, luhn=True)
    assert _native_token.hmac_sm3_rows_into(key, b"", 0, 20, 19, 16, bytearray(), luhn=True)
    read_only: bytearray = bytes(154)  # type: ignore[assignment]  # refused at run time
    with pytest.raises((TypeError, BufferError)):
        _native_token.hmac_sm3_rows_into(key, cards, 77, 20, 19, 16, read_only, luhn=True)
