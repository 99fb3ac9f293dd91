"""The batch code computes exactly the documented construction (docs/tokens.md): a plain
per-value implementation of each format, over hazmat FF1, is the oracle."""

from __future__ import annotations

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tokens.test_formats import cards, cn_ids, mobiles
from tests.tokens.token_keys import CTX, SM4_KEY
from vaultkit.hazmat.ff1 import FF1
from vaultkit.identifiers import cn_id_check_char, luhn_residue
from vaultkit.keys import Algorithm, KeyRing
from vaultkit.tokens import CardFormat, CnIdFormat, Tokenizer, derive_tweak

fixtures = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
EPOCH = datetime.date(1900, 1, 1)


def _ff1(ring: KeyRing) -> FF1:
    return FF1(ring.primary_key(SM4_KEY).material, cipher="SM4", radix=10)


def _solve(number: str, pos: int, target: int) -> str:
    """Set the digit at ``pos`` from the right so the Luhn sum is ``target`` mod 10."""
    k = len(number) - 1 - pos
    for d in "0123456789":
        candidate = number[:k] + d + number[k + 1 :]
        if luhn_residue(candidate) == target:
            return candidate
    raise AssertionError("unreachable")


def _card(ff1: FF1, tweak: bytes, number: str, fmt: CardFormat) -> str:
    kp, ks = fmt.keep_prefix, fmt.keep_suffix
    n = len(number)
    m = n - kp - ks
    if m >= 7:
        free = ff1.encrypt(number[kp : kp + m - 1], tweak)
        token = _solve(number[:kp] + free + number[kp + m - 1 :], ks, 0)
    else:
        middle = number[kp : kp + m]
        while True:  # cycle walking until the number passes Luhn again
            middle = ff1.encrypt(middle, tweak)
            token = number[:kp] + middle + number[n - ks :]
            if luhn_residue(token) == 0:
                break
    return _solve(token, ks, 5) if fmt.luhn == "invalid" else token


def _cn_id(ff1: FF1, tweak: bytes, value: str, keep_sex: bool) -> str:
    born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    day, seq = (born - EPOCH).days, int(value[14:17])
    x = day * 1000 + (seq // 2 if keep_sex else seq)
    while True:
        x = int(ff1.encrypt(f"{x:08d}", tweak))
        if x // 1000 < 73_049 and (not keep_sex or x % 1000 < 500):
            break
    new_seq = 2 * (x % 1000) + seq % 2 if keep_sex else x % 1000
    body = f"{value[:6]}{EPOCH + datetime.timedelta(days=x // 1000):%Y%m%d}{new_seq:03d}"
    return body + cn_id_check_char(body)


@fixtures
@given(
    st.lists(cards((14, 19)), min_size=1, max_size=6),
    st.sampled_from([(6, 4), (4, 4), (6, 0), (8, 4), (0, 8)]),
    st.sampled_from(["valid", "invalid"]),
)
def test_card(
    ring: KeyRing, tok: Tokenizer, numbers: list[str], keep: tuple[int, int], luhn: str
) -> None:
    fmt = CardFormat(keep_prefix=keep[0], keep_suffix=keep[1], luhn=luhn)  # type: ignore[arg-type]
    numbers = [v for v in numbers if len(v) - sum(keep) >= 6]
    tweak = derive_tweak(Algorithm.FF1_SM4, fmt.label, CTX)
    expected = [_card(_ff1(ring), tweak, v, fmt) for v in numbers]
    assert tok.tokenize_many(SM4_KEY, numbers, format=fmt, context=CTX) == expected


@fixtures
@given(st.lists(cn_ids(), min_size=1, max_size=6), st.booleans())
def test_cn_id(ring: KeyRing, tok: Tokenizer, ids: list[str], keep_sex: bool) -> None:
    fmt = CnIdFormat(keep_sex=keep_sex)
    tweak = derive_tweak(Algorithm.FF1_SM4, fmt.label, CTX)
    expected = [_cn_id(_ff1(ring), tweak, v, keep_sex) for v in ids]
    assert tok.tokenize_many(SM4_KEY, ids, format=fmt, context=CTX) == expected


@fixtures
@given(st.lists(mobiles, min_size=1, max_size=6))
def test_mobile(ring: KeyRing, tok: Tokenizer, numbers: list[str]) -> None:
    tweak = derive_tweak(Algorithm.FF1_SM4, "mobile/3", CTX)
    expected = [v[:3] + _ff1(ring).encrypt(v[3:], tweak) for v in numbers]
    assert tok.tokenize_many(SM4_KEY, numbers, format="mobile", context=CTX) == expected
