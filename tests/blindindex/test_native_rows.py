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
