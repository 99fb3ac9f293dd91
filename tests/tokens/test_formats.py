"""Token formats through a real key ring: round trips and the format invariants."""

from __future__ import annotations

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tokens.token_keys import AES_KEY, CTX, SM4_KEY
from vaultkit.identifiers import (
    USCC_ALPHABET,
    cn_id_check_char,
    is_cn_id,
    is_uscc,
    luhn_check_digit,
    luhn_residue,
    org_code_check_char,
    parse_cn_id,
    uscc_check_char,
)
from vaultkit.tokens import (
    ALPHANUMERIC,
    AlphabetFormat,
    CardFormat,
    CnIdFormat,
    Tokenizer,
    UsccFormat,
)

fixtures = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
keys = st.sampled_from([SM4_KEY, AES_KEY])


@st.composite
def cards(draw: st.DrawFn, lengths: tuple[int, int] = (16, 19)) -> str:
    n = draw(st.integers(*lengths))
    payload = draw(st.text("0123456789", min_size=n - 1, max_size=n - 1))
    return payload + luhn_check_digit(payload)


@st.composite
def cn_ids(draw: st.DrawFn) -> str:
    addr = draw(st.text("0123456789", min_size=6, max_size=6))
    day = draw(st.dates(datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)))
    body = f"{addr}{day:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return body + cn_id_check_char(body)


@st.composite
def usccs(draw: st.DrawFn) -> str:
    head = draw(st.text(USCC_ALPHABET, min_size=16, max_size=16))
    body = head + org_code_check_char(head[8:16])
    return body + uscc_check_char(body)


mobiles = st.builds(
    lambda a, b: "1" + a + b,
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=9, max_size=9),
)


def _round_trip(tok: Tokenizer, key: str, values: list[str], fmt: object) -> list[str]:
    tokens = tok.tokenize_many(key, values, format=fmt, context=CTX)  # type: ignore[arg-type]
    assert tok.detokenize_many(key, tokens, format=fmt, context=CTX) == values  # type: ignore[arg-type]
    # one at a time gives the same tokens as the batch
    assert [tok.tokenize(key, v, format=fmt, context=CTX) for v in values[:3]] == tokens[:3]  # type: ignore[arg-type]
    return tokens


@fixtures
@given(st.lists(cards(), min_size=1, max_size=8), keys)
def test_card_tokens(tok: Tokenizer, numbers: list[str], key: str) -> None:
    for number, token in zip(numbers, _round_trip(tok, key, numbers, "card")):
        assert len(token) == len(number) and token.isdigit()
        assert luhn_residue(token) == 0
        assert token[:6] == number[:6] and token[-4:] == number[-4:]


@fixtures
@given(st.lists(cards((14, 19)), min_size=1, max_size=8), keys)
def test_card_tokens_luhn_invalid_keep_8(tok: Tokenizer, numbers: list[str], key: str) -> None:
    fmt = CardFormat(keep_prefix=4, keep_suffix=4, luhn="invalid")
    for number, token in zip(numbers, _round_trip(tok, key, numbers, fmt)):
        assert luhn_residue(token) != 0  # never mistaken for a real card
        assert token[:4] == number[:4] and token[-4:] == number[-4:]


@fixtures
@given(st.lists(cards((18, 19)), min_size=1, max_size=8))
def test_card_tokens_keep_8_and_no_suffix(tok: Tokenizer, numbers: list[str]) -> None:
    for fmt in (CardFormat(keep_prefix=8), CardFormat(keep_suffix=0)):
        for number, token in zip(numbers, _round_trip(tok, SM4_KEY, numbers, fmt)):
            assert luhn_residue(token) == 0
            assert token[: fmt.keep_prefix] == number[: fmt.keep_prefix]


@fixtures
@given(st.lists(cn_ids(), min_size=1, max_size=8), keys, st.booleans())
def test_cn_id_tokens(tok: Tokenizer, ids: list[str], key: str, keep_sex: bool) -> None:
    fmt = CnIdFormat(keep_sex=keep_sex)
    for value, token in zip(ids, _round_trip(tok, key, ids, fmt)):
        assert len(token) == 18 and is_cn_id(token)  # real date, valid check character
        parsed = parse_cn_id(token)
        assert token[:6] == value[:6]
        assert datetime.date(1900, 1, 1) <= parsed.birth_date <= datetime.date(2099, 12, 31)
        if keep_sex:
            assert parsed.is_male == parse_cn_id(value).is_male


@fixtures
@given(st.lists(mobiles, min_size=1, max_size=8), keys)
def test_mobile_tokens(tok: Tokenizer, numbers: list[str], key: str) -> None:
    for number, token in zip(numbers, _round_trip(tok, key, numbers, "mobile")):
        assert len(token) == 11 and token.isdigit() and token[:3] == number[:3]


@fixtures
@given(st.lists(usccs(), min_size=1, max_size=8), keys)
def test_uscc_tokens(tok: Tokenizer, codes: list[str], key: str) -> None:
    for code, token in zip(codes, _round_trip(tok, key, codes, "uscc")):
        assert len(token) == 18 and set(token) <= set(USCC_ALPHABET)
        assert is_uscc(token, check_org_code=True)  # both check characters recomputed
        assert token[:8] == code[:8]


@fixtures
@given(st.lists(st.text(USCC_ALPHABET, min_size=17, max_size=17), min_size=1, max_size=5))
def test_uscc_tokens_without_org_code(tok: Tokenizer, bodies: list[str]) -> None:
    codes = [b + uscc_check_char(b) for b in bodies]
    for token in _round_trip(tok, SM4_KEY, codes, UsccFormat(org_code_check=False)):
        assert is_uscc(token)


@fixtures
@given(st.lists(st.text("0123456789", min_size=6, max_size=30), min_size=1, max_size=8), keys)
def test_digits_tokens(tok: Tokenizer, values: list[str], key: str) -> None:
    for value, token in zip(values, _round_trip(tok, key, values, "digits")):
        assert len(token) == len(value) and token.isdigit()


@fixtures
@given(st.lists(st.text(ALPHANUMERIC, min_size=4, max_size=30), min_size=1, max_size=8))
def test_alphanumeric_tokens(tok: Tokenizer, values: list[str]) -> None:
    for value, token in zip(values, _round_trip(tok, SM4_KEY, values, "alphanumeric")):
        assert len(token) == len(value) and set(token) <= set(ALPHANUMERIC)


@fixtures
@given(st.lists(st.text("abcdefghijklmnopqrstuvwxyz-", min_size=7, max_size=20), min_size=1))
def test_any_alphabet_with_kept_ends(tok: Tokenizer, values: list[str]) -> None:
    fmt = AlphabetFormat(alphabet="abcdefghijklmnopqrstuvwxyz-", keep_prefix=1, keep_suffix=1)
    for value, token in zip(values, _round_trip(tok, SM4_KEY, values, fmt)):
        assert token[0] == value[0] and token[-1] == value[-1] and len(token) == len(value)


def test_mixed_lengths_in_one_batch(tok: Tokenizer) -> None:
    numbers = ["4111111111111111", "6222021234567890128", "6250941006528599", "378282246310005"]
    fmt = CardFormat(keep_prefix=4, keep_suffix=4)
    assert _round_trip(tok, SM4_KEY, numbers, fmt)


def test_input_normalization(tok: Tokenizer) -> None:
    plain = tok.tokenize(SM4_KEY, "6222021234567890128", format="card", context=CTX)
    for form in (
        "6222 0212 3456 7890 128",
        "6222-0212-3456-7890-128",
        "６２２２０２１２３４５６７８９０１２８",
    ):
        assert tok.tokenize(SM4_KEY, form, format="card", context=CTX) == plain
    idt = tok.tokenize(SM4_KEY, "11010519491231002X", format="cn_id", context=CTX)
    assert tok.tokenize(SM4_KEY, "11010519491231002x", format="cn_id", context=CTX) == idt
    mob = tok.tokenize(SM4_KEY, "13800138000", format="mobile", context=CTX)
    assert tok.tokenize(SM4_KEY, "+86 138-0013-8000", format="mobile", context=CTX) == mob


def test_format_objects_equal_names(tok: Tokenizer) -> None:
    v = "6222021234567890128"
    assert tok.tokenize(SM4_KEY, v, format="card", context=CTX) == tok.tokenize(
        SM4_KEY, v, format=CardFormat(), context=CTX
    )


@fixtures
@given(
    st.lists(cards((19, 19)), min_size=1, max_size=8, unique=True),
    st.text(min_size=1, max_size=8),
    st.text(min_size=1, max_size=8),
)
def test_tokens_differ_across_contexts(tok: Tokenizer, numbers: list[str], a: str, b: str) -> None:
    """Different contexts give different tweaks, hence (over 10^8 middles) different tokens."""
    if a == b:
        return
    ta = tok.tokenize_many(SM4_KEY, numbers, format="card", context={"column": a})
    tb = tok.tokenize_many(SM4_KEY, numbers, format="card", context={"column": b})
    assert all(x != y for x, y in zip(ta, tb))
    assert tok.detokenize_many(SM4_KEY, tb, format="card", context={"column": b}) == numbers


@fixtures
@given(st.lists(mobiles, min_size=1, max_size=8, unique=True))
def test_tokens_differ_across_keys(tok: Tokenizer, numbers: list[str]) -> None:
    sm4 = tok.tokenize_many(SM4_KEY, numbers, format="mobile", context=CTX)
    aes = tok.tokenize_many(AES_KEY, numbers, format="mobile", context=CTX)
    assert all(x != y for x, y in zip(sm4, aes))
    # a permutation: distinct values give distinct tokens
    assert len(set(sm4)) == len(numbers)
