"""The native token area (native/src/token.c through ``_native_token``) gives exactly the tokens
of the formats' pure-Python path (its fallback, on the reference backend), and refuses the same
inputs with the same errors."""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

import pytest

from tests.tokens.token_keys import CTX
from vaultkit.errors import InputFormatError
from vaultkit.hazmat import bindings
from vaultkit.hazmat.ff1 import FF1
from vaultkit.identifiers import cn_id_check_char, luhn_check_digit
from vaultkit.keys import Algorithm
from vaultkit.tokens import CardFormat, CnIdFormat, derive_tweak

pytestmark = pytest.mark.skipif(
    "native" not in bindings.available(), reason="the native extension is not built"
)

Ff1For = Callable[[int, "str | None"], FF1]
CIPHERS = [("SM4", 16, Algorithm.FF1_SM4), ("AES", 32, Algorithm.FF1_AES256)]


def _ff1_for(key: bytes, cipher: str, backend: bindings.Backend) -> Ff1For:
    with bindings.use(backend):
        made = FF1(key, cipher=cipher, radix=10)  # type: ignore[arg-type]
    return lambda radix, alphabet: made


def _pair(cipher: str, size: int) -> tuple[Ff1For, Ff1For]:
    key = random.Random(size).randbytes(size)
    return _ff1_for(key, cipher, "native"), _ff1_for(key, cipher, "reference")


def _cards(rnd: random.Random, count: int, n: int) -> list[str]:
    out = []
    for _ in range(count):
        payload = "".join(rnd.choices("0123456789", k=n - 1))
        out.append(payload + luhn_check_digit(payload))
    return out


def _id(day: datetime.date, seq: int, addr: str = "110105") -> str:
    body = f"{addr}{day:%Y%m%d}{seq:03d}"
    return body + cn_id_check_char(body)


def _ids(rnd: random.Random, count: int) -> list[str]:
    start, span = datetime.date(1900, 1, 1), 73_049
    edges = [
        datetime.date(1900, 1, 1),
        datetime.date(2099, 12, 31),
        datetime.date(2000, 2, 29),
        datetime.date(1904, 2, 29),
        datetime.date(2096, 2, 29),
        datetime.date(1999, 12, 31),
    ]
    days = edges + [start + datetime.timedelta(rnd.randrange(span)) for _ in range(count)]
    return [_id(d, rnd.randrange(1000)) for d in days]


@pytest.mark.parametrize(("cipher", "size", "algorithm"), CIPHERS)
@pytest.mark.parametrize(
    "fmt",
    [
        CardFormat(),
        CardFormat(luhn="invalid"),
        CardFormat(keep_prefix=8),
        CardFormat(keep_prefix=0, keep_suffix=0),
        CardFormat(keep_prefix=4, keep_suffix=4, luhn="invalid"),
        CardFormat(keep_prefix=6, keep_suffix=0, luhn="invalid"),
    ],
    ids=lambda f: f.label,
)
def test_card_native_equals_python(
    cipher: str, size: int, algorithm: Algorithm, fmt: CardFormat
) -> None:
    native, python = _pair(cipher, size)
    tweak = derive_tweak(algorithm, fmt.label, CTX)
    rnd = random.Random(fmt.label)
    for n in range(12, 20):
        if n - fmt.keep_prefix - fmt.keep_suffix < 6:
            continue
        values = _cards(rnd, 3000, n)  # 16-digit 6 + 4: cycle walking over several chunks
        tokens = fmt.tokenize_many(native, values, tweak)
        assert tokens == fmt.tokenize_many(python, values, tweak)
        assert fmt.detokenize_many(native, tokens, tweak) == values
    spaced = _cards(rnd, 1, 19)[0]
    spaced = spaced[:9] + " " + spaced[9:18]  # 19 characters with a space: 18 digits
    if 18 - fmt.keep_prefix - fmt.keep_suffix >= 6:
        same_width = [*_cards(rnd, 5, 19), spaced]  # one length, a space inside
        try:
            expected: object = fmt.tokenize_many(python, same_width, tweak)
        except InputFormatError as exc:
            expected = str(exc)
        try:
            got: object = fmt.tokenize_many(native, same_width, tweak)
        except InputFormatError as exc:
            got = str(exc)
        assert got == expected
    mixed = _cards(rnd, 50, 18) + _cards(rnd, 50, 19) + ["6222 0212 3456 7890 128"]
    tokens = fmt.tokenize_many(native, mixed, tweak)
    assert tokens == fmt.tokenize_many(python, mixed, tweak)
    assert fmt.detokenize_many(native, tokens, tweak) == [v.replace(" ", "") for v in mixed]


@pytest.mark.parametrize(("cipher", "size", "algorithm"), CIPHERS)
@pytest.mark.parametrize("keep_sex", [False, True])
def test_cn_id_native_equals_python(
    cipher: str, size: int, algorithm: Algorithm, keep_sex: bool
) -> None:
    native, python = _pair(cipher, size)
    fmt = CnIdFormat(keep_sex=keep_sex)
    tweak = derive_tweak(algorithm, fmt.label, CTX)
    values = _ids(random.Random(keep_sex), 5000)
    tokens = fmt.tokenize_many(native, values, tweak)
    assert tokens == fmt.tokenize_many(python, values, tweak)
    assert fmt.detokenize_many(native, tokens, tweak) == values
    lower = [values[0][:17] + "x" if values[0].endswith("X") else values[0], " " + values[1]]
    assert fmt.tokenize_many(native, lower, tweak) == fmt.tokenize_many(python, lower, tweak)


def _error(fn: Callable[[], object]) -> str:
    with pytest.raises(InputFormatError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize(
    "bad",
    [
        "6222021234567890121",  # Luhn
        "62220212345678901a8",  # not digits
        "62220212345",  # too short
    ],
)
def test_card_errors_match(bad: str) -> None:
    native, python = _pair("SM4", 16)
    fmt = CardFormat()
    good = _cards(random.Random(1), 5, 19)
    batch = [*good, bad, *good]
    assert _error(lambda: fmt.tokenize_many(native, batch, b"t")) == _error(
        lambda: fmt.tokenize_many(python, batch, b"t")
    )


@pytest.mark.parametrize(
    "bad",
    [
        _id(datetime.date(1990, 1, 1), 123)[:17] + "0",  # check character (unless it is 0)
        "11010519900230123" + "X",  # impossible date
        _id(datetime.date(1899, 12, 31), 1),  # real date outside the domain
        _id(datetime.date(2100, 1, 1), 1),
        "11010519900101A23X",
        "11010519000229123X",  # not a leap year
        "11010520010431123X",  # April has 30 days
        "11010519901301123X",  # month 13
        "11010519900001123X",  # month 00
        "11010519900100123X",  # day 00
        _id(datetime.date(2000, 2, 29), 1)[:17] + "Y",
    ],
)
@pytest.mark.parametrize("decrypt", [False, True])
def test_cn_id_errors_match(bad: str, decrypt: bool) -> None:
    native, python = _pair("SM4", 16)
    fmt = CnIdFormat()
    good = _ids(random.Random(2), 5)
    batch = [*good, bad, *good]
    run = fmt.detokenize_many if decrypt else fmt.tokenize_many
    assert _error(lambda: run(native, batch, b"t")) == _error(lambda: run(python, batch, b"t"))
